//! Provides the outbox: the queue of frames one connection's writer drains, bounded in bytes
//! whoever queues (replies, our calls, releases, other connections' code calling this peer).

use crate::wire::Outgoing;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc;

/// The sending side of a connection's write queue.
#[derive(Debug)]
pub(crate) struct Outbox {
    queue: mpsc::UnboundedSender<Outgoing>,
    /// Bytes queued and not yet taken by the writer, with each frame's overhead.
    queued: AtomicUsize,
    limit: usize,
}

/// The frame would take the queue past its limit: the peer does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow {
    pub(crate) limit: usize,
}

/// The writer's side of the queue.
#[derive(Debug)]
pub(crate) struct Inbox {
    queue: mpsc::UnboundedReceiver<Outgoing>,
}

impl Outbox {
    /// A queue of at most `limit` bytes, and the writer's end of it.
    pub(crate) fn new(limit: usize) -> (Self, Inbox) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let outbox = Outbox {
            queue,
            queued: AtomicUsize::new(0),
            limit,
        };
        (outbox, Inbox { queue: receiver })
    }

    /// Queues `frame`, unless it would take the queue past its limit. A frame queued after the
    /// writer ended is dropped.
    ///
    /// # Errors
    /// [`Overflow`]: the frame is not queued, and the peer should be dropped as slow.
    pub(crate) fn push(&self, frame: Outgoing) -> Result<(), Overflow> {
        // Count before queueing: the writer may take the frame (and subtract) at once.
        let cost = frame.queued_cost();
        let queued = self
            .queued
            .fetch_add(cost, Ordering::AcqRel)
            .saturating_add(cost);
        if queued > self.limit {
            self.queued.fetch_sub(cost, Ordering::AcqRel);
            return Err(Overflow { limit: self.limit });
        }
        if self.queue.send(frame).is_err() {
            self.queued.fetch_sub(cost, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Bytes waiting for the writer, with each frame's overhead.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// The writer took `frame` off the queue.
    pub(crate) fn taken(&self, frame: &Outgoing) {
        self.queued.fetch_sub(frame.queued_cost(), Ordering::AcqRel);
    }
}

impl Inbox {
    /// The next frame; `None` once every outbox is gone.
    pub(crate) async fn recv(&mut self) -> Option<Outgoing> {
        self.queue.recv().await
    }

    /// The next frame if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<Outgoing> {
        self.queue.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn frame(len: usize) -> Outgoing {
        Outgoing {
            head: Bytes::new(),
            body: Bytes::from(vec![0; len]),
        }
    }

    #[tokio::test]
    async fn the_queue_is_bounded_in_bytes_with_an_overhead_per_frame() {
        let one = frame(100).queued_cost();
        let (outbox, mut inbox) = Outbox::new(2 * one);
        assert_eq!(outbox.push(frame(100)), Ok(()));
        assert_eq!(outbox.push(frame(100)), Ok(()));
        assert_eq!(outbox.push(frame(0)), Err(Overflow { limit: 2 * one }));
        assert_eq!(outbox.queued(), 2 * one);
        let taken = inbox.recv().await.expect("queued");
        outbox.taken(&taken);
        assert_eq!(outbox.queued(), one);
        assert_eq!(outbox.push(frame(100)), Ok(()), "room again");
    }
}
