//! What every fuzz target shares: an allocator that aborts the run (a crash libFuzzer keeps)
//! when one allocation or the memory held passes what the targets may ever need.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest single allocation a target may make.
pub const MAX_ALLOCATION: usize = 4 * 1024 * 1024;

/// The most memory a target may hold at once.
pub const MAX_HELD: usize = 64 * 1024 * 1024;

/// The system allocator, with the limits above.
pub struct Limited;

static HELD: AtomicUsize = AtomicUsize::new(0);

fn check(size: usize) {
    let held = HELD.fetch_add(size, Ordering::Relaxed) + size;
    if size > MAX_ALLOCATION || held > MAX_HELD {
        std::process::abort();
    }
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are kept.
unsafe impl GlobalAlloc for Limited {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        check(new_size);
        // SAFETY: forwarded as is.
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}
