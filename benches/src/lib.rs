//! Benchmarks of tartine: the objects and peers the criterion benches and the comparison
//! harness (`src/bin/compare.rs`) share.
//!
//! Three systems answer the same calls over loopback TCP: tartine, a raw tokio
//! length-delimited echo of the same bytes (the floor), and tarpc with the same methods.

pub mod alloc;
pub mod raw;
pub mod rpc;
pub mod stats;
pub mod tarpc_peer;
pub mod threads;
