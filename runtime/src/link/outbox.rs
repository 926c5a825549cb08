//! Provides the outbox: the queue of frames one connection's writer drains, bounded in bytes
//! whoever queues (replies, our calls, releases, other connections' code calling this peer).
//! The writer takes every queued frame at once, and an idle outbox keeps almost no memory.

use crate::lock::Lock;
use crate::wire::Outgoing;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

/// Frames an idle queue keeps room for.
const IDLE_FRAMES: usize = 4;

/// A connection's write queue.
#[derive(Debug)]
pub(crate) struct Outbox {
    queue: Lock<Queue>,
    /// Bytes queued and not yet taken by the writer, with each frame's overhead.
    queued: AtomicUsize,
    limit: usize,
}

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Outgoing>,
    /// The writer, waiting for frames.
    writer: Option<Waker>,
    /// No frame is queued any more: the writer ends once it wrote what is queued.
    ended: bool,
}

/// The frame would take the queue past its limit: the peer does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow {
    pub(crate) limit: usize,
}

impl Outbox {
    /// A queue of at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Outbox {
            queue: Lock::new(Queue::default()),
            queued: AtomicUsize::new(0),
            limit,
        }
    }

    /// Queues `frame`, unless it would take the queue past its limit. A frame queued after
    /// the queue ended is dropped.
    ///
    /// # Errors
    /// [`Overflow`]: the frame is not queued, and the peer should be dropped as slow.
    pub(crate) fn push(&self, frame: Outgoing) -> Result<(), Overflow> {
        let cost = frame.queued_cost();
        let queued = self
            .queued
            .fetch_add(cost, Ordering::AcqRel)
            .saturating_add(cost);
        if queued > self.limit {
            self.queued.fetch_sub(cost, Ordering::AcqRel);
            return Err(Overflow { limit: self.limit });
        }
        let writer = {
            let mut queue = self.queue.lock();
            if queue.ended {
                drop(queue);
                self.queued.fetch_sub(cost, Ordering::AcqRel);
                return Ok(());
            }
            queue.frames.push_back(frame);
            queue.writer.take()
        };
        if let Some(writer) = writer {
            writer.wake();
        }
        Ok(())
    }

    /// Ends the queue: what is queued is still written, nothing more is taken.
    pub(crate) fn end(&self) {
        let writer = {
            let mut queue = self.queue.lock();
            queue.ended = true;
            queue.writer.take()
        };
        if let Some(writer) = writer {
            writer.wake();
        }
    }

    /// Moves every queued frame into `batch` (which must be empty): `Ready(true)`; or
    /// `Ready(false)` once the queue ended and is empty; else keeps the writer's waker.
    pub(crate) fn poll_take(
        &self,
        cx: &mut Context<'_>,
        batch: &mut VecDeque<Outgoing>,
    ) -> Poll<bool> {
        let mut queue = self.queue.lock();
        if !queue.frames.is_empty() {
            std::mem::swap(&mut queue.frames, batch);
            let taken: usize = batch.iter().map(Outgoing::queued_cost).sum();
            self.queued.fetch_sub(taken, Ordering::AcqRel);
            return Poll::Ready(true);
        }
        if queue.ended {
            return Poll::Ready(false);
        }
        queue.frames.shrink_to(IDLE_FRAMES);
        match &queue.writer {
            Some(known) if known.will_wake(cx.waker()) => {}
            _ => queue.writer = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Bytes waiting for the writer, with each frame's overhead.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::task::Waker;

    fn frame(len: usize) -> Outgoing {
        Outgoing {
            head: Bytes::new(),
            body: Bytes::from(vec![0; len]),
        }
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_with_an_overhead_per_frame() {
        let mut cx = Context::from_waker(Waker::noop());
        let one = frame(100).queued_cost();
        let outbox = Outbox::new(2 * one);
        assert_eq!(outbox.push(frame(100)), Ok(()));
        assert_eq!(outbox.push(frame(100)), Ok(()));
        assert_eq!(outbox.push(frame(0)), Err(Overflow { limit: 2 * one }));
        assert_eq!(outbox.queued(), 2 * one);
        let mut batch = VecDeque::new();
        assert_eq!(outbox.poll_take(&mut cx, &mut batch), Poll::Ready(true));
        assert_eq!(batch.len(), 2, "every queued frame at once");
        assert_eq!(outbox.queued(), 0);
        assert_eq!(outbox.push(frame(100)), Ok(()), "room again");
    }

    #[test]
    fn an_ended_queue_is_drained_then_refuses() {
        let mut cx = Context::from_waker(Waker::noop());
        let outbox = Outbox::new(1 << 20);
        outbox.push(frame(1)).expect("room");
        outbox.end();
        outbox.push(frame(1)).expect("dropped quietly");
        let mut batch = VecDeque::new();
        assert_eq!(outbox.poll_take(&mut cx, &mut batch), Poll::Ready(true));
        assert_eq!(batch.len(), 1, "what was queued before the end is written");
        batch.clear();
        assert_eq!(outbox.poll_take(&mut cx, &mut batch), Poll::Ready(false));
        assert_eq!(outbox.queued(), 0);
    }
}
