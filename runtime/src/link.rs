//! Provides the link layer: the state of one connection shared by its tasks, its handles and
//! its references (`shared.rs`), split by job into the outbox the writer drains (`outbox.rs`),
//! the reply slots of our calls (`replies.rs`) and the lifecycle (`lifecycle.rs`).

pub(crate) mod lifecycle;
pub(crate) mod outbox;
pub(crate) mod replies;
pub(crate) mod shared;
