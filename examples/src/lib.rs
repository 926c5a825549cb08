//! Runnable examples of tartine live in `examples/`.
