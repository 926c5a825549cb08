//! Compile-fail and compile-pass tests of tartine's macros live in `tests/`.
