//! Provides what dispatching a call produces: a reply ready to be sent (a method that is not
//! `async` answers at once), the future of one, or why the call could not start.

use crate::wire::{Failure, FrameBuilder};
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// The future of one dispatched call.
pub type ReplyFuture = Pin<Box<dyn Future<Output = Reply> + Send + 'static>>;

/// A dispatched call: already answered, or running.
pub enum Started {
    /// The reply, ready.
    Ready(Reply),
    /// The call, still running: the connection's reader polls it.
    Running(ReplyFuture),
    /// The call, to run as a task of its own (`#[tartine(spawn)]`), on any worker thread.
    Spawn(ReplyFuture),
}

impl fmt::Debug for Started {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Started::Ready(reply) => f.debug_tuple("Ready").field(reply).finish(),
            Started::Running(_) => f.write_str("Running"),
            Started::Spawn(_) => f.write_str("Spawn"),
        }
    }
}

/// Why a call could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispatchError {
    /// The object has no such method.
    NoSuchMethod,
    /// The arguments did not decode: the failure the caller is told.
    Arguments(Failure),
    /// A viewable was called through a reference not handed out through an avatar of the type
    /// it expects.
    NotPermitted {
        /// The avatar interface the method expects.
        avatar: &'static str,
    },
    /// The arguments hold more items than a worker thread decodes: the runtime starts the
    /// call again off the workers.
    Costly,
}

/// The encoded outcome of a call, ready to be sent back.
#[derive(Debug)]
pub struct Reply(pub(crate) ReplyKind);

#[derive(Debug)]
pub(crate) enum ReplyKind {
    /// The method's value.
    Value(Encoded),
    /// The method's own error.
    Raised(Encoded),
    /// A framework failure.
    Failed(Failure),
    /// Sent already, by the task that ran the call (`#[tartine(spawn)]`).
    Sent,
}

impl Reply {
    /// The reply of a call that failed in the framework.
    pub(crate) fn failed(failure: Failure) -> Self {
        Reply(ReplyKind::Failed(failure))
    }
}

/// An encoded payload, awaiting its header, and the ids of our objects it hands over.
pub(crate) struct Encoded {
    pub(crate) frame: FrameBuilder,
    pub(crate) exports: Vec<u64>,
    /// The peer's objects the payload sends back: dropped once the frame is queued.
    pub(crate) held: Vec<Held>,
}

/// A reference kept alive until the frame that sends it back is queued.
pub(crate) type Held = std::sync::Arc<dyn std::any::Any + Send + Sync>;

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoded")
            .field("payload_len", &self.frame.payload_len())
            .field("exports", &self.exports)
            .finish()
    }
}
