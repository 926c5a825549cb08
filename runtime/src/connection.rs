//! Provides a connection: the handshake, one reader task that dispatches the peer's calls and
//! routes replies, one writer task that coalesces frames, and the handle users hold.

mod calls;
mod handle;
mod reader;
mod shared;
mod writer;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use calls::{Delivered, Incoming, Settle};
pub use handle::{Connection, ConnectionStats};
pub(crate) use handle::{Side, establish};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use reader::announce;
pub(crate) use shared::{KeepAlive, SessionRefused, Shared};
