//! Provides the reply slots of our calls in flight on one connection: a call takes a slot
//! (and its call id), the reader fills the slot when the reply comes, and the caller's task is
//! woken to take it. One slot per call, no channel.

use crate::id_map::IdMap;
use crate::wire::Failure;
use bytes::Bytes;
use std::task::{Context, Poll, Waker};

/// A reply as the reader hands it to the waiting caller.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// The method's value.
    Value(Delivered),
    /// The method's own error.
    Raised(Delivered),
    /// A framework failure.
    Failed(Failure),
}

/// A received payload, not yet decoded, and the ids of the peer's objects its message handed
/// over (announced in the import table: whoever takes the reply settles them).
#[derive(Debug)]
pub(crate) struct Delivered {
    pub(crate) frame: Bytes,
    pub(crate) offset: usize,
    pub(crate) ids: Vec<u64>,
}

impl Incoming {
    /// The ids the reply's message handed over.
    pub(crate) fn into_ids(self) -> Vec<u64> {
        match self {
            Incoming::Value(delivered) | Incoming::Raised(delivered) => delivered.ids,
            Incoming::Failed(_) => Vec::new(),
        }
    }
}

enum Slot {
    /// No reply yet; the waker of the caller's task, once it polled.
    Waiting(Option<Waker>),
    /// The reply, not taken yet.
    Ready(Incoming),
}

/// The slots of our calls waiting for a reply, by call id.
#[derive(Default)]
pub(crate) struct ReplySlots {
    slots: IdMap<Slot>,
    next_call: u64,
    closed: bool,
}

/// What the reader does with a reply after [`ReplySlots::deliver`].
pub(crate) enum Delivery {
    /// Placed in its slot: wake this task (outside the lock).
    Placed(Option<Waker>),
    /// Nobody waits for it: the reader discards it.
    Unclaimed(Incoming),
}

/// What the caller's slot held when it stopped waiting.
pub(crate) enum Abandoned {
    /// No reply had come: the peer may stop running the call.
    Waiting,
    /// The reply had come: its references are to be settled.
    Replied(Incoming),
    /// The slot was gone (the connection closed).
    Gone,
}

impl ReplySlots {
    /// Takes a slot for a new call; returns its call id, or `None` once the connection closed.
    pub(crate) fn open(&mut self) -> Option<u64> {
        if self.closed {
            return None;
        }
        self.next_call += 1;
        let call = self.next_call;
        self.slots.insert(call, Slot::Waiting(None));
        Some(call)
    }

    /// Takes the reply of `call` if it came, else keeps the caller's waker. `Ready(None)`: the
    /// slot is gone (the connection closed).
    pub(crate) fn poll(&mut self, call: u64, cx: &mut Context<'_>) -> Poll<Option<Incoming>> {
        match self.slots.get_mut(&call) {
            None => Poll::Ready(None),
            Some(Slot::Waiting(waker)) => {
                match waker {
                    Some(known) if known.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Some(Slot::Ready(_)) => match self.slots.remove(&call) {
                Some(Slot::Ready(incoming)) => Poll::Ready(Some(incoming)),
                _ => Poll::Ready(None),
            },
        }
    }

    /// Places the reply of `call` in its slot.
    pub(crate) fn deliver(&mut self, call: u64, incoming: Incoming) -> Delivery {
        match self.slots.get_mut(&call) {
            Some(slot @ Slot::Waiting(_)) => {
                let waker = match std::mem::replace(slot, Slot::Ready(incoming)) {
                    Slot::Waiting(waker) => waker,
                    Slot::Ready(_) => None,
                };
                Delivery::Placed(waker)
            }
            // A second reply to one call, or a call nobody waits for.
            Some(Slot::Ready(_)) | None => Delivery::Unclaimed(incoming),
        }
    }

    /// The caller of `call` stops waiting: frees its slot.
    pub(crate) fn abandon(&mut self, call: u64) -> Abandoned {
        match self.slots.remove(&call) {
            Some(Slot::Waiting(_)) => Abandoned::Waiting,
            Some(Slot::Ready(incoming)) => Abandoned::Replied(incoming),
            None => Abandoned::Gone,
        }
    }

    /// Refuses new calls and frees the slots still waiting; returns their callers' wakers, who
    /// then find their slot gone. Replies that came before the close stay for their callers.
    pub(crate) fn close(&mut self) -> Vec<Waker> {
        self.closed = true;
        let mut wakers = Vec::new();
        self.slots.retain(|_, slot| match slot {
            Slot::Waiting(waker) => {
                wakers.extend(waker.take());
                false
            }
            Slot::Ready(_) => true,
        });
        wakers
    }

    /// How many calls wait for a reply.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn failed() -> Incoming {
        Incoming::Failed(Failure::Busy)
    }

    #[test]
    fn a_reply_reaches_its_caller_and_wakes_it() {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        let mut slots = ReplySlots::default();
        let call = slots.open().expect("open");
        assert!(slots.poll(call, &mut cx).is_pending());
        match slots.deliver(call, failed()) {
            Delivery::Placed(Some(waker)) => waker.wake(),
            _ => panic!("the caller waits"),
        }
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            slots.poll(call, &mut cx),
            Poll::Ready(Some(Incoming::Failed(Failure::Busy)))
        ));
        assert_eq!(slots.len(), 0);
    }

    #[test]
    fn replies_nobody_waits_for_go_back_to_the_reader() {
        let mut slots = ReplySlots::default();
        assert!(matches!(slots.deliver(7, failed()), Delivery::Unclaimed(_)));
        let call = slots.open().expect("open");
        assert!(matches!(
            slots.deliver(call, failed()),
            Delivery::Placed(None)
        ));
        assert!(
            matches!(slots.deliver(call, failed()), Delivery::Unclaimed(_)),
            "a second reply to one call"
        );
        assert!(matches!(slots.abandon(call), Abandoned::Replied(_)));
        assert!(matches!(slots.abandon(call), Abandoned::Gone));
    }

    #[test]
    fn closing_wakes_every_waiting_caller_and_refuses_new_calls() {
        let waker = Waker::from(Arc::new(CountingWaker(AtomicUsize::new(0))));
        let mut cx = Context::from_waker(&waker);
        let mut slots = ReplySlots::default();
        let waiting = slots.open().expect("open");
        let _ = slots.poll(waiting, &mut cx);
        let answered = slots.open().expect("open");
        let _ = slots.deliver(answered, failed());
        assert_eq!(slots.close().len(), 1);
        assert!(matches!(slots.poll(waiting, &mut cx), Poll::Ready(None)));
        assert!(
            matches!(slots.poll(answered, &mut cx), Poll::Ready(Some(_))),
            "a reply that came before the close is kept for its caller"
        );
        assert!(slots.open().is_none());
    }
}
