//! Benchmarks of tartine.
