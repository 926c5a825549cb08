//! Provides the link layer: the state of one connection shared by its tasks, its handles and
//! its references (`shared.rs`), split by job into the outbox the writer drains (`outbox.rs`),
//! the reply slots of our calls (`replies.rs`), the lifecycle (`lifecycle.rs`), and what the
//! transport knows of the channel (`channel.rs`).

pub(crate) mod channel;
pub(crate) mod lifecycle;
pub(crate) mod outbox;
pub(crate) mod replies;
pub(crate) mod shared;
