//! Fuzzes `tartine::__fuzz::dispatch`, within the memory limits of `tartine_fuzz::Limited`; see
//! FUZZING.md.
#![no_main]

#[global_allocator]
static ALLOCATOR: tartine_fuzz::Limited = tartine_fuzz::Limited;

libfuzzer_sys::fuzz_target!(|data: &[u8]| tartine::__fuzz::dispatch(data));
