//! Provides connections: opening one (`establish.rs`), the reader task (`reader.rs`) that runs
//! the peer's calls (`incoming.rs`) and routes the replies to ours (`outgoing.rs`), the writer
//! task that coalesces frames (`writer.rs`), the `Connection` handle users hold (`handle.rs`),
//! and the streams a connection runs on (`transport.rs`).

pub(crate) mod establish;
pub(crate) mod handle;
pub(crate) mod incoming;
mod neighbours;
pub(crate) mod outgoing;
mod reader;
mod timer;
pub(crate) mod transport;
mod writer;
