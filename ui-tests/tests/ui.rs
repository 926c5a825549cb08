//! The compile-fail and compile-pass suite of tartine's macros. See `README.md` for the drift
//! policy: snapshots are recorded with Rust 1.95.

#[rustversion::attr(
    not(stable(1.95)),
    ignore = "ui snapshots are recorded with Rust 1.95; see ui-tests/README.md"
)]
#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/pass/*.rs");
    cases.compile_fail("tests/fail/**/*.rs");
}
