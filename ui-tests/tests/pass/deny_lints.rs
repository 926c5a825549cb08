//! A crate that denies missing docs and warnings still builds with generated proxies.
#![deny(missing_docs, warnings)]
//! Crate docs.

/// A documented object.
pub struct Documented;

#[tartine::referenceable]
impl Documented {
    /// A documented method.
    pub fn ping(&self) -> u64 {
        1
    }
}

fn main() {}
