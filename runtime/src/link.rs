//! Provides the link layer: the state of one connection shared by its tasks, its handles and
//! its references (`shared.rs`), split by job into the outbox the writer drains (`outbox.rs`),
//! the reply slots of our calls (`replies.rs`), the lifecycle (`lifecycle.rs`), what the
//! transport knows of the channel (`channel.rs`), and the users' code a closed connection
//! still runs, off the caller of `close` (`after_close.rs`).

pub(crate) mod after_close;
pub(crate) mod channel;
pub(crate) mod lifecycle;
pub(crate) mod outbox;
pub(crate) mod replies;
pub(crate) mod shared;
