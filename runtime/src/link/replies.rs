//! Provides the reply slots of our calls in flight on one connection: a call takes a slot
//! (and its call id), the reader fills the slot when the reply comes, and the caller's task is
//! woken to take it. One slot per call, no channel, and no timer per call: each slot keeps its
//! deadline, and the connection's reader runs one timer, at the earliest deadline, that expires
//! the slots whose time has come.

use crate::id_map::SequenceMap;
use crate::wire::Failure;
use bytes::Bytes;
use std::task::{Context, Poll, Waker};
use tokio::time::Instant;

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
    /// No reply yet: the waker of the caller's task, once it polled, and until when it waits.
    Waiting {
        waker: Option<Waker>,
        deadline: Option<Instant>,
    },
    /// The reply, not taken yet.
    Ready(Incoming),
    /// The deadline passed before the reply came.
    Expired,
}

/// The slots of our calls waiting for a reply, by call id.
#[derive(Default)]
pub(crate) struct ReplySlots {
    /// By call id, handed out in sequence.
    slots: SequenceMap<Slot>,
    closed: bool,
    /// No waiting slot has a deadline before this one.
    earliest: Option<Instant>,
    /// Replies taken (or given up on) since the last call opened, by any caller on this
    /// connection: more than one means calls are kept in flight together, and the next call is
    /// likely the first of a new batch.
    taken_since_open: u32,
}

/// What the caller finds in its slot.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The reply.
    Reply(Incoming),
    /// The deadline passed first.
    TimedOut,
    /// The slot is gone: the connection closed.
    Gone,
}

/// A new slot: its call id, whether its deadline is now the earliest (the reader's timer
/// must then be set earlier), and whether it is alone: the only call waiting, and not the
/// first of a new batch (at most one reply was taken on the connection since the last call
/// opened). A call alone is written at once by its caller; the calls of a batch gather in
/// the write queue for the writer task, and usually leave in one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opened {
    pub(crate) call: u64,
    pub(crate) earliest: bool,
    pub(crate) alone: bool,
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
    /// Takes a slot for a new call that waits until `deadline` at most; `None` once the
    /// connection closed.
    pub(crate) fn open(&mut self, deadline: Option<Instant>) -> Option<Opened> {
        if self.closed {
            return None;
        }
        let call = self.slots.push(Slot::Waiting {
            waker: None,
            deadline,
        });
        let earliest = match (deadline, self.earliest) {
            (Some(deadline), Some(earliest)) if deadline >= earliest => false,
            (Some(deadline), _) => {
                self.earliest = Some(deadline);
                true
            }
            (None, _) => false,
        };
        let batch_ended = std::mem::take(&mut self.taken_since_open) > 1;
        Some(Opened {
            call,
            earliest,
            alone: self.slots.len() == 1 && !batch_ended,
        })
    }

    /// Takes the outcome of `call` if there is one, else keeps the caller's waker.
    pub(crate) fn poll(&mut self, call: u64, cx: &mut Context<'_>) -> Poll<Outcome> {
        match self.slots.get_mut(call) {
            None => Poll::Ready(Outcome::Gone),
            Some(Slot::Waiting { waker, .. }) => {
                match waker {
                    Some(known) if known.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Some(Slot::Ready(_) | Slot::Expired) => {
                self.taken_since_open = self.taken_since_open.saturating_add(1);
                match self.slots.remove(call) {
                    Some(Slot::Ready(incoming)) => Poll::Ready(Outcome::Reply(incoming)),
                    Some(Slot::Expired) => Poll::Ready(Outcome::TimedOut),
                    _ => Poll::Ready(Outcome::Gone),
                }
            }
        }
    }

    /// Places the reply of `call` in its slot.
    pub(crate) fn deliver(&mut self, call: u64, incoming: Incoming) -> Delivery {
        match self.slots.get_mut(call) {
            Some(slot @ Slot::Waiting { .. }) => {
                let waker = match std::mem::replace(slot, Slot::Ready(incoming)) {
                    Slot::Waiting { waker, .. } => waker,
                    _ => None,
                };
                Delivery::Placed(waker)
            }
            // A second reply to one call, a late one, or one nobody waits for.
            Some(Slot::Ready(_) | Slot::Expired) | None => Delivery::Unclaimed(incoming),
        }
    }

    /// The caller of `call` stops waiting: frees its slot.
    pub(crate) fn abandon(&mut self, call: u64) -> Abandoned {
        self.taken_since_open = self.taken_since_open.saturating_add(1);
        match self.slots.remove(call) {
            Some(Slot::Waiting { .. }) => Abandoned::Waiting,
            Some(Slot::Ready(incoming)) => Abandoned::Replied(incoming),
            Some(Slot::Expired) | None => Abandoned::Gone,
        }
    }

    /// The earliest deadline of a waiting slot, at most (the reader's timer).
    pub(crate) fn earliest(&self) -> Option<Instant> {
        self.earliest
    }

    /// Expires the waiting slots whose deadline is `now` or before; returns their call ids and
    /// their callers' wakers, and finds the next earliest deadline.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<(u64, Option<Waker>)> {
        let mut expired = Vec::new();
        let mut earliest: Option<Instant> = None;
        for (call, slot) in self.slots.iter_mut() {
            let Slot::Waiting {
                waker,
                deadline: Some(deadline),
            } = slot
            else {
                continue;
            };
            if *deadline <= now {
                expired.push((call, waker.take()));
                *slot = Slot::Expired;
            } else if earliest.is_none_or(|earliest| *deadline < earliest) {
                earliest = Some(*deadline);
            }
        }
        self.earliest = earliest;
        expired
    }

    /// Refuses new calls and frees the slots still waiting; returns their callers' wakers, who
    /// then find their slot gone. Replies that came before the close stay for their callers.
    pub(crate) fn close(&mut self) -> Vec<Waker> {
        self.closed = true;
        let mut wakers = Vec::new();
        self.slots.retain(|slot| match slot {
            Slot::Waiting { waker, .. } => {
                wakers.extend(waker.take());
                false
            }
            Slot::Ready(_) => true,
            Slot::Expired => false,
        });
        self.earliest = None;
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
        let call = slots.open(None).expect("open").call;
        assert!(slots.poll(call, &mut cx).is_pending());
        match slots.deliver(call, failed()) {
            Delivery::Placed(Some(waker)) => waker.wake(),
            _ => panic!("the caller waits"),
        }
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            slots.poll(call, &mut cx),
            Poll::Ready(Outcome::Reply(Incoming::Failed(Failure::Busy)))
        ));
        assert_eq!(slots.len(), 0);
    }

    #[test]
    fn a_call_is_alone_unless_others_wait_or_a_batch_of_replies_was_just_taken() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut slots = ReplySlots::default();
        let mut answer = |slots: &mut ReplySlots, call: u64| {
            assert!(matches!(slots.deliver(call, failed()), Delivery::Placed(_)));
            assert!(slots.poll(call, &mut cx).is_ready());
        };
        // One call after another: each is alone.
        let first = slots.open(None).expect("open");
        assert!(first.alone);
        answer(&mut slots, first.call);
        let second = slots.open(None).expect("open");
        assert!(second.alone, "one reply taken, then one call");
        assert!(!slots.open(None).expect("open").alone, "another waits");
        // A caller with calls in flight takes their replies, then opens the next batch: its
        // first call joins the others in the write queue.
        let mut slots = ReplySlots::default();
        let batch: Vec<u64> = (0..3)
            .map(|_| slots.open(None).expect("open").call)
            .collect();
        for call in batch {
            answer(&mut slots, call);
        }
        let next = slots.open(None).expect("open");
        assert!(!next.alone, "the first call of a new batch");
        answer(&mut slots, next.call);
        assert!(slots.open(None).expect("open").alone, "the batch is over");
    }

    #[test]
    fn replies_nobody_waits_for_go_back_to_the_reader() {
        let mut slots = ReplySlots::default();
        assert!(matches!(slots.deliver(7, failed()), Delivery::Unclaimed(_)));
        let call = slots.open(None).expect("open").call;
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
        let waiting = slots.open(None).expect("open").call;
        let _ = slots.poll(waiting, &mut cx);
        let answered = slots.open(None).expect("open").call;
        let _ = slots.deliver(answered, failed());
        assert_eq!(slots.close().len(), 1);
        assert!(matches!(
            slots.poll(waiting, &mut cx),
            Poll::Ready(Outcome::Gone)
        ));
        assert!(
            matches!(
                slots.poll(answered, &mut cx),
                Poll::Ready(Outcome::Reply(_))
            ),
            "a reply that came before the close is kept for its caller"
        );
        assert!(slots.open(None).is_none());
    }

    #[test]
    fn deadlines_expire_in_order_and_late_replies_are_unclaimed() {
        let mut cx = Context::from_waker(Waker::noop());
        let now = Instant::now();
        let at = |millis| Some(now + std::time::Duration::from_millis(millis));
        let mut slots = ReplySlots::default();
        let late = slots.open(at(300)).expect("open");
        assert!(late.earliest, "the first deadline sets the timer");
        let soon = slots.open(at(100)).expect("open");
        assert!(soon.earliest, "an earlier one moves it");
        let later = slots.open(at(200)).expect("open");
        assert!(!later.earliest);
        let never = slots.open(None).expect("open");
        assert_eq!(slots.earliest(), at(100));
        let expired = slots.expire(now + std::time::Duration::from_millis(150));
        assert_eq!(
            expired.iter().map(|(call, _)| *call).collect::<Vec<_>>(),
            [soon.call]
        );
        assert_eq!(slots.earliest(), at(200), "the next deadline");
        assert!(matches!(
            slots.poll(soon.call, &mut cx),
            Poll::Ready(Outcome::TimedOut)
        ));
        assert_eq!(
            slots.expire(now + std::time::Duration::from_secs(10)).len(),
            2
        );
        assert!(matches!(
            slots.deliver(late.call, failed()),
            Delivery::Unclaimed(_)
        ));
        assert!(slots.poll(never.call, &mut cx).is_pending());
        assert_eq!(slots.earliest(), None);
    }
}
