//! Provides the outbox: the queue of frames bound for one connection's peer, and the socket's
//! write half. The queue is bounded in bytes whoever queues (replies, our calls, releases,
//! other connections' code calling this peer).
//!
//! Frames leave in one of two ways. The connection's writer task takes every queued frame at
//! once and writes them in one go, waiting on the socket if it must. Or, when nobody is writing
//! and nothing is queued, the task that has a frame writes it at once, without waiting (a call
//! alone on its connection, the reader's replies at the end of a burst of frames): no hop
//! through the writer task. What such a write cannot finish is queued for the writer, in
//! order. While the reader works through a burst, it corks the outbox: replies gather, and
//! leave together when the burst ends, or every few frames (see `reader.rs`).
//!
//! Small frames arrive laid out whole (see [`FrameBuilder`](crate::wire::FrameBuilder)) and are
//! copied one after another into a run in the queue's own buffer, written as it lies; frames
//! with a large payload wait in their own buffers and are written from them. Such a frame alone
//! leaves at once too, in vectored writes from its own buffers; what the socket does not take
//! waits for the writer as slices of those buffers, not copies.

use crate::lock::Lock;
use crate::wire::{FRAME_OVERHEAD, LARGE_PAYLOAD, Outgoing, PREFIX_LEN};
use bytes::{Bytes, BytesMut};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::MutexGuard;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use tokio::io::AsyncWrite;

/// The write half of a connection's stream.
pub(crate) type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// A connection's write queue, and its stream's write half when nobody is writing.
pub(crate) struct Outbox {
    queue: Lock<Queue>,
    /// Bytes queued and not yet taken, with each frame's overhead.
    queued: AtomicUsize,
    limit: usize,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}

/// Something queued for the peer.
#[derive(Debug)]
pub(crate) enum Queued {
    /// A whole frame: its length prefix is written before it.
    Frame(Outgoing),
    /// Small frames laid out one after another, prefixes included, in the queue's own buffer:
    /// written as they are. `cost` is what they count against the queue.
    Run { bytes: BytesMut, cost: usize },
    /// The rest of a frame a direct write could not finish: written as it is (from its own
    /// buffer if it is large, the rest of a large payload say).
    Rest(Bytes),
}

impl Queued {
    fn cost(&self) -> usize {
        match self {
            Queued::Frame(frame) => frame.queued_cost(),
            Queued::Run { cost, .. } => *cost,
            Queued::Rest(rest) => rest.len() + FRAME_OVERHEAD,
        }
    }

    /// Whether the item is written from its own buffer by the writer task, rather than copied.
    fn is_large(&self) -> bool {
        match self {
            Queued::Frame(frame) => frame.is_large(),
            Queued::Run { .. } => false,
            Queued::Rest(rest) => rest.len() >= LARGE_PAYLOAD,
        }
    }
}

/// A run of laid-out frames starts with room for this many bytes.
const RUN_START: usize = 1024;

#[derive(Default)]
struct Queue {
    items: VecDeque<Queued>,
    /// The writer task, waiting for something to write.
    writer: Option<Waker>,
    /// Nothing more is queued: the writer ends once it wrote what is.
    ended: bool,
    /// The write half, when nobody is writing.
    io: Option<WriteHalf>,
    /// The reader is working through a burst of frames: hold what is queued.
    corked: bool,
    /// A direct write left the stream unflushed: the writer task flushes it.
    unflushed: bool,
    /// The writer task ended: a write half given back is dropped, not kept.
    writer_gone: bool,
}

impl Queue {
    /// Gives the queued frames buffers of their own: they wait for a writer busy elsewhere
    /// (perhaps on a peer that does not read), and must not keep larger buffers alive.
    fn detach(&mut self) {
        for item in &mut self.items {
            if let Queued::Frame(frame) = item {
                frame.detach();
            }
        }
    }

    /// Takes the writer's waker if it has something to do: items, a flush, or its end.
    fn writer_to_wake(&mut self) -> Option<Waker> {
        if self.items.is_empty() && !self.unflushed && !self.ended {
            None
        } else {
            self.writer.take()
        }
    }
}

/// The frame would take the queue past its limit: the peer does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow {
    pub(crate) limit: usize,
}

/// What the writer task is given.
pub(crate) enum Work {
    /// Frames to write, with the write half (to give back after).
    Write(WriteHalf),
    /// The queue ended and is empty: shut the write half.
    End(WriteHalf),
}

thread_local! {
    /// Where a direct write lays its frames out, per thread.
    static SCRATCH: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

impl Outbox {
    /// A queue of at most `limit` bytes, with no write half yet.
    pub(crate) fn new(limit: usize) -> Self {
        Outbox {
            queue: Lock::new(Queue::default()),
            queued: AtomicUsize::new(0),
            limit,
        }
    }

    /// Hands the stream's write half to the outbox.
    pub(crate) fn install(&self, io: WriteHalf) {
        self.queue.lock().io = Some(io);
    }

    /// Drops the write half, now or when it is given back (the writer task ended).
    pub(crate) fn discard_io(&self) {
        let io = {
            let mut queue = self.queue.lock();
            queue.writer_gone = true;
            queue.io.take()
        };
        drop(io);
    }

    /// Puts the write half back after a write, unless the writer task is gone.
    fn put_back(queue: &mut Queue, io: WriteHalf) -> Option<WriteHalf> {
        if queue.writer_gone {
            Some(io)
        } else {
            queue.io = Some(io);
            None
        }
    }

    /// Counts `cost` against the limit, and locks the queue to take what it is counted for;
    /// `None` if the queue ended (the frame is dropped quietly, and not counted). A frame
    /// finds room in an empty queue whatever its size: the limit bounds what waits behind a
    /// peer that does not read, not the size of one frame (which the frame limit bounds).
    ///
    /// # Errors
    /// [`Overflow`]: nothing is counted, and the peer should be dropped as slow.
    fn reserve(&self, cost: usize) -> Result<Option<MutexGuard<'_, Queue>>, PushError> {
        let before = self.queued.fetch_add(cost, Ordering::AcqRel);
        if before != 0 && before.saturating_add(cost) > self.limit {
            self.queued.fetch_sub(cost, Ordering::AcqRel);
            return Err(PushError::Overflow(Overflow { limit: self.limit }));
        }
        let queue = self.queue.lock();
        if queue.ended {
            drop(queue);
            self.queued.fetch_sub(cost, Ordering::AcqRel);
            return Ok(None);
        }
        Ok(Some(queue))
    }

    /// Whether a frame pushed with `now` may be written at once: nobody writes, nothing waits.
    fn may_write_now(queue: &Queue, now: bool) -> bool {
        now && queue.items.is_empty() && !queue.corked && queue.io.is_some()
    }

    /// Wakes the writer for what was just queued, unless the reader holds it back.
    fn wake_writer(mut queue: MutexGuard<'_, Queue>) {
        if queue.corked {
            return;
        }
        let writer = queue.writer.take();
        drop(queue);
        if let Some(writer) = writer {
            writer.wake();
        }
    }

    /// Queues `frame`, unless it would take the queue past its limit. A frame queued after the
    /// queue ended is dropped. With `now`, the frame is written at once if nobody is writing
    /// and nothing is queued.
    ///
    /// # Errors
    /// [`Overflow`]: the frame is not queued, and the peer should be dropped as slow. An i/o
    /// error of a direct write.
    pub(crate) fn push(&self, mut frame: Outgoing, now: bool) -> Result<(), PushError> {
        let Some(mut queue) = self.reserve(frame.queued_cost())? else {
            return Ok(());
        };
        let direct = Self::may_write_now(&queue, now);
        if queue.io.is_none() && !queue.corked {
            // Somebody is writing, and may be waiting on the peer: the frame may wait long.
            frame.detach();
        }
        queue.items.push_back(Queued::Frame(frame));
        if direct {
            drop(queue);
            return self.write_now().map_err(PushError::Io);
        }
        Self::wake_writer(queue);
        Ok(())
    }

    /// Queues the small frame `laid_out` (its length prefix, header and payload, as
    /// [`FrameBuilder`](crate::wire::FrameBuilder) lays it out), copied after the small frames
    /// queued before it; otherwise as [`push`](Self::push).
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub(crate) fn push_laid_out(&self, laid_out: &[u8], now: bool) -> Result<(), PushError> {
        let cost = laid_out.len() + FRAME_OVERHEAD;
        let Some(mut queue) = self.reserve(cost)? else {
            return Ok(());
        };
        if Self::may_write_now(&queue, now)
            && let Some(mut io) = queue.io.take()
        {
            // Written from where it lies, no copy.
            drop(queue);
            self.queued.fetch_sub(cost, Ordering::AcqRel);
            let result = write_from(&mut io, laid_out);
            return self.after_direct_write(io, result).map_err(PushError::Io);
        }
        match queue.items.back_mut() {
            Some(Queued::Run {
                bytes,
                cost: run_cost,
            }) => {
                bytes.extend_from_slice(laid_out);
                *run_cost += cost;
            }
            _ => {
                let mut bytes = BytesMut::with_capacity(laid_out.len().max(RUN_START));
                bytes.extend_from_slice(laid_out);
                queue.items.push_back(Queued::Run { bytes, cost });
            }
        }
        Self::wake_writer(queue);
        Ok(())
    }

    /// Holds what is queued until [`uncork`](Self::uncork).
    pub(crate) fn cork(&self) {
        self.queue.lock().corked = true;
    }

    /// Lets what was held go: written at once if nobody is writing.
    ///
    /// # Errors
    /// An i/o error of the direct write.
    pub(crate) fn uncork(&self) -> io::Result<()> {
        let mut queue = self.queue.lock();
        queue.corked = false;
        if !queue.items.is_empty() {
            drop(queue);
            return self.write_now();
        }
        // Nothing held, but a direct write before the cork may have left the stream unflushed
        // (TLS) while the writer, woken to flush it, found the queue corked and went back to
        // sleep: wake it again, or those bytes wait for the next frame.
        let writer = queue.writer_to_wake();
        drop(queue);
        if let Some(writer) = writer {
            writer.wake();
        }
        Ok(())
    }

    /// Writes what is queued without waiting, if nobody is writing; queues what the socket
    /// does not take at once, for the writer task.
    fn write_now(&self) -> io::Result<()> {
        let (mut io, items) = {
            let mut queue = self.queue.lock();
            let small = !queue.items.iter().any(Queued::is_large);
            let frame_alone =
                queue.items.len() == 1 && matches!(queue.items.front(), Some(Queued::Frame(_)));
            if queue.corked || queue.items.is_empty() || !(small || frame_alone) {
                let writer = queue.writer.take();
                drop(queue);
                if let Some(writer) = writer {
                    writer.wake();
                }
                return Ok(());
            }
            let Some(io) = queue.io.take() else {
                // Somebody is writing: they take what is queued after, and it may wait long.
                queue.detach();
                return Ok(());
            };
            (io, std::mem::take(&mut queue.items))
        };
        let taken: usize = items.iter().map(Queued::cost).sum();
        self.queued.fetch_sub(taken, Ordering::AcqRel);
        let result = match items.front() {
            // A frame with a large payload, from its own buffers.
            Some(Queued::Frame(frame)) if items.len() == 1 && frame.is_large() => {
                let result = write_frame_from(&mut io, frame);
                return self.after_direct_write(io, result);
            }
            // A run alone (the usual case) is written from where it lies.
            Some(Queued::Run { bytes, .. }) if items.len() == 1 => write_from(&mut io, bytes),
            _ => Self::lay_out_and_write(&mut io, &items),
        };
        self.after_direct_write(io, result)
    }

    /// Puts the write half back after a direct write, and queues what the stream did not take
    /// (in order: an `Option` from a laid-out write, a `Vec` from a frame's pieces) in front of
    /// what was queued meanwhile, for the writer task.
    fn after_direct_write<L>(&self, io: WriteHalf, result: io::Result<(L, bool)>) -> io::Result<()>
    where
        L: IntoIterator<Item = Bytes>,
        L::IntoIter: DoubleEndedIterator,
    {
        let mut queue = self.queue.lock();
        let gone = Self::put_back(&mut queue, io);
        let (rest, flushed) = result?;
        queue.unflushed |= !flushed;
        for rest in rest.into_iter().rev() {
            let rest = Queued::Rest(rest);
            self.queued.fetch_add(rest.cost(), Ordering::AcqRel);
            queue.items.push_front(rest);
        }
        let writer = queue.writer_to_wake();
        drop(queue);
        drop(gone);
        if let Some(writer) = writer {
            writer.wake();
        }
        Ok(())
    }

    /// Lays `items` out one after another in this thread's scratch buffer and writes them
    /// without waiting; returns what the stream did not take, and whether it is flushed.
    fn lay_out_and_write(
        io: &mut WriteHalf,
        items: &VecDeque<Queued>,
    ) -> io::Result<(Option<Bytes>, bool)> {
        SCRATCH.with_borrow_mut(|scratch| {
            scratch.clear();
            for item in items {
                match item {
                    Queued::Frame(frame) => frame.put_whole(scratch)?,
                    Queued::Run { bytes, .. } => scratch.extend_from_slice(bytes),
                    Queued::Rest(rest) => scratch.extend_from_slice(rest),
                }
            }
            let written = write_from(io, scratch);
            if scratch.capacity() > 4 * 1024 {
                *scratch = BytesMut::new();
            }
            written
        })
    }

    /// Ends the queue: what is queued is still written, nothing more is taken.
    pub(crate) fn end(&self) {
        let writer = {
            let mut queue = self.queue.lock();
            queue.ended = true;
            queue.corked = false;
            queue.writer.take()
        };
        if let Some(writer) = writer {
            writer.wake();
        }
    }

    /// The writer task's wait: moves every queued item into `batch` (which must be empty) and
    /// lends the write half (also to flush, with nothing to write); or, once the queue ended
    /// and is empty, gives the write half for shutting. Waits while the reader corks the queue
    /// or somebody else is writing.
    pub(crate) fn poll_work(
        &self,
        cx: &mut Context<'_>,
        batch: &mut VecDeque<Queued>,
    ) -> Poll<Work> {
        let mut queue = self.queue.lock();
        if queue.ended
            && queue.items.is_empty()
            && !queue.unflushed
            && let Some(io) = queue.io.take()
        {
            return Poll::Ready(Work::End(io));
        }
        let work = !queue.items.is_empty() || queue.unflushed;
        if work && !queue.corked && queue.io.is_some() {
            queue.unflushed = false;
            std::mem::swap(&mut queue.items, batch);
            let taken: usize = batch.iter().map(Queued::cost).sum();
            self.queued.fetch_sub(taken, Ordering::AcqRel);
            if let Some(io) = queue.io.take() {
                return Poll::Ready(Work::Write(io));
            }
        }
        if queue.items.is_empty() {
            // Idle: no memory kept for frames.
            queue.items.shrink_to(0);
        }
        match &queue.writer {
            Some(known) if known.will_wake(cx.waker()) => {}
            _ => queue.writer = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The writer task gives the write half back.
    pub(crate) fn give_back(&self, io: WriteHalf) {
        let gone = Self::put_back(&mut self.queue.lock(), io);
        drop(gone);
    }

    /// Bytes waiting to be written, with each frame's overhead.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

/// Why a frame could not be queued or written.
#[derive(Debug)]
pub(crate) enum PushError {
    /// The queue is full.
    Overflow(Overflow),
    /// A direct write failed.
    Io(io::Error),
}

/// Writes `bytes` without waiting; returns what the stream did not take, and whether it is
/// flushed.
fn write_from(io: &mut WriteHalf, bytes: &[u8]) -> io::Result<(Option<Bytes>, bool)> {
    let (written, flushed) = write_without_waiting(io, bytes)?;
    let rest = (written < bytes.len())
        .then(|| Bytes::copy_from_slice(bytes.get(written..).unwrap_or_default()));
    Ok((rest, flushed))
}

/// Writes `frame` (length prefix, head and pieces) in vectored writes, without waiting;
/// returns what the stream did not take, and whether it is flushed. What is left of a large
/// piece stays a slice of it; what is left of a small one is copied, so that it keeps no
/// larger buffer alive while it waits.
fn write_frame_from(io: &mut WriteHalf, frame: &Outgoing) -> io::Result<(Vec<Bytes>, bool)> {
    let prefix = frame.prefix()?;
    // Each part in order, with the buffer it lies in if it may be shared (not the prefix).
    let parts = || {
        std::iter::once((&prefix[..], None)).chain(
            std::iter::once(&frame.head)
                .chain(frame.pieces())
                .map(|piece| (&piece[..], Some(piece))),
        )
    };
    let mut slices: Vec<IoSlice<'_>> = parts()
        .filter(|(part, _)| !part.is_empty())
        .map(|(part, _)| IoSlice::new(part))
        .collect();
    let mut unwritten = &mut slices[..];
    let total = PREFIX_LEN + frame.len();
    let mut left = total;
    let mut cx = Context::from_waker(Waker::noop());
    while left > 0 {
        match Pin::new(&mut *io).poll_write_vectored(&mut cx, unwritten) {
            Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(n)) if n > left => {
                return Err(io::Error::other(
                    "the stream took more bytes than it was given",
                ));
            }
            Poll::Ready(Ok(n)) => {
                left -= n;
                IoSlice::advance_slices(&mut unwritten, n);
            }
            Poll::Ready(Err(error)) => return Err(error),
            Poll::Pending => break,
        }
    }
    let flushed = poll_flushed(io, &mut cx)?;
    if left == 0 {
        return Ok((Vec::new(), flushed));
    }
    // Skip what was written; keep the rest of each part.
    let mut written = total - left;
    let mut rest = Vec::new();
    for (part, shared) in parts() {
        if written >= part.len() {
            written -= part.len();
            continue;
        }
        let tail = match shared {
            Some(piece) if piece.len() - written >= LARGE_PAYLOAD => piece.slice(written..),
            _ => Bytes::copy_from_slice(part.get(written..).unwrap_or_default()),
        };
        written = 0;
        rest.push(tail);
    }
    Ok((rest, flushed))
}

/// Writes as much of `bytes` as the stream takes without waiting; returns how much, and whether
/// the stream is flushed (a stream that buffers, TLS say, may not be at once: the writer task
/// flushes it then).
fn write_without_waiting(io: &mut WriteHalf, bytes: &[u8]) -> io::Result<(usize, bool)> {
    let mut cx = Context::from_waker(Waker::noop());
    let mut written = 0;
    while written < bytes.len() {
        let rest = bytes.get(written..).unwrap_or_default();
        match Pin::new(&mut *io).poll_write(&mut cx, rest) {
            Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(n)) => written += n,
            Poll::Ready(Err(error)) => return Err(error),
            Poll::Pending => break,
        }
    }
    let flushed = poll_flushed(io, &mut cx)?;
    Ok((written, flushed))
}

/// Flushes the stream without waiting: whether it is flushed (a stream that buffers, TLS say,
/// may not be at once: the writer task flushes it then).
fn poll_flushed(io: &mut WriteHalf, cx: &mut Context<'_>) -> io::Result<bool> {
    match Pin::new(&mut *io).poll_flush(cx) {
        Poll::Ready(result) => result.map(|()| true),
        Poll::Pending => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn frame(len: usize) -> Outgoing {
        Outgoing::new(Bytes::new(), Bytes::from(vec![7; len]))
    }

    /// A stream that takes `room` bytes, then waits.
    struct Tight {
        taken: Arc<Mutex<Vec<u8>>>,
        room: usize,
    }

    impl AsyncWrite for Tight {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.room);
            if n == 0 {
                return Poll::Pending;
            }
            self.room -= n;
            self.taken.lock().unwrap().extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn outbox(room: usize) -> (Outbox, Arc<Mutex<Vec<u8>>>) {
        let taken = Arc::new(Mutex::new(Vec::new()));
        let outbox = Outbox::new(1 << 20);
        outbox.install(Box::new(Tight {
            taken: Arc::clone(&taken),
            room,
        }));
        (outbox, taken)
    }

    #[test]
    fn a_frame_larger_than_the_limit_finds_room_only_in_an_empty_queue() {
        let outbox = Outbox::new(1_000);
        outbox.push(frame(5_000), false).expect("an empty queue");
        assert_eq!(outbox.queued(), frame(5_000).queued_cost());
        assert!(matches!(
            outbox.push(frame(0), false),
            Err(PushError::Overflow(Overflow { limit: 1_000 }))
        ));
        let outbox = Outbox::new(1_000);
        outbox.push(frame(100), false).expect("room");
        assert!(matches!(
            outbox.push(frame(5_000), false),
            Err(PushError::Overflow(Overflow { limit: 1_000 }))
        ));
        assert_eq!(outbox.queued(), frame(100).queued_cost(), "nothing counted");
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_with_an_overhead_per_frame() {
        let one = frame(100).queued_cost();
        let outbox = Outbox::new(2 * one);
        outbox.push(frame(100), false).expect("room");
        outbox.push(frame(100), false).expect("room");
        assert!(matches!(
            outbox.push(frame(0), false),
            Err(PushError::Overflow(Overflow { limit })) if limit == 2 * one
        ));
        assert_eq!(outbox.queued(), 2 * one);
    }

    #[test]
    fn a_frame_alone_is_written_at_once_and_the_rest_waits_in_order() {
        let (outbox, taken) = outbox(10);
        outbox.push(frame(20), true).expect("written");
        assert_eq!(taken.lock().unwrap().len(), 10, "what the stream took");
        outbox.push(frame(5), true).expect("queued");
        assert_eq!(taken.lock().unwrap().len(), 10, "queued behind the rest");
        let mut cx = Context::from_waker(Waker::noop());
        let mut batch = VecDeque::new();
        let Poll::Ready(Work::Write(_io)) = outbox.poll_work(&mut cx, &mut batch) else {
            panic!("the writer has work");
        };
        assert!(
            matches!(&batch[0], Queued::Rest(rest) if rest.len() == 14),
            "{batch:?}"
        );
        assert!(matches!(&batch[1], Queued::Frame(frame) if frame.body.len() == 5));
        assert_eq!(outbox.queued(), 0);
    }

    /// A stream that takes every write into a buffer it never flushes at once, as TLS does.
    struct Buffering;

    impl AsyncWrite for Buffering {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Pending
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Wakes(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_stream_left_unflushed_before_a_cork_is_flushed_when_it_uncorks_with_nothing_held() {
        let outbox = Outbox::new(1 << 20);
        outbox.install(Box::new(Buffering));
        let mut batch = VecDeque::new();
        let first = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&first));
        assert!(
            outbox
                .poll_work(&mut Context::from_waker(&waker), &mut batch)
                .is_pending()
        );
        // Written at once, but the stream keeps it buffered: the writer is woken to flush it.
        outbox
            .push_laid_out(&laid_out(3, 1), true)
            .expect("written");
        assert_eq!(first.0.load(Ordering::SeqCst), 1);
        // Before the writer runs, the reader corks for a burst: the writer finds the queue
        // corked and waits again.
        outbox.cork();
        let second = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&second));
        assert!(
            outbox
                .poll_work(&mut Context::from_waker(&waker), &mut batch)
                .is_pending()
        );
        // The burst queued nothing; uncorking must still have the stream flushed.
        outbox.uncork().expect("nothing to write");
        assert_eq!(second.0.load(Ordering::SeqCst), 1, "the writer is woken");
        let Poll::Ready(Work::Write(_io)) =
            outbox.poll_work(&mut Context::from_waker(&waker), &mut batch)
        else {
            panic!("the writer has a flush to do");
        };
        assert!(batch.is_empty(), "a flush alone");
    }

    /// A small frame as the frame builder lays it out: prefix, then `len` bytes.
    fn laid_out(len: usize, byte: u8) -> Vec<u8> {
        let mut frame = (len as u32).to_be_bytes().to_vec();
        frame.extend(std::iter::repeat_n(byte, len));
        frame
    }

    #[test]
    fn small_frames_queue_as_one_run_counted_per_frame_and_leave_in_order() {
        let (outbox, taken) = outbox(1 << 20);
        outbox.cork();
        outbox.push_laid_out(&laid_out(3, 1), true).expect("held");
        outbox.push_laid_out(&laid_out(5, 2), false).expect("held");
        assert_eq!(outbox.queued(), 7 + 9 + 2 * FRAME_OVERHEAD);
        assert_eq!(outbox.queue.lock().items.len(), 1, "one run");
        outbox.uncork().expect("written");
        let mut expected = laid_out(3, 1);
        expected.extend(laid_out(5, 2));
        assert_eq!(*taken.lock().unwrap(), expected);
        assert_eq!(outbox.queued(), 0);
    }

    #[test]
    fn a_run_the_stream_takes_in_part_leaves_its_rest_first() {
        let (outbox, taken) = outbox(6);
        outbox
            .push_laid_out(&laid_out(10, 1), true)
            .expect("written in part");
        assert_eq!(taken.lock().unwrap().len(), 6);
        outbox.push_laid_out(&laid_out(2, 2), true).expect("queued");
        let mut cx = Context::from_waker(Waker::noop());
        let mut batch = VecDeque::new();
        let Poll::Ready(Work::Write(_io)) = outbox.poll_work(&mut cx, &mut batch) else {
            panic!("the writer has work");
        };
        assert!(
            matches!(&batch[0], Queued::Rest(rest) if rest.len() == 8),
            "{batch:?}"
        );
        assert!(matches!(&batch[1], Queued::Run { bytes, .. } if bytes.len() == 6));
        assert_eq!(outbox.queued(), 0);
    }

    /// The writer task's next batch, which must be there.
    fn next_batch(outbox: &Outbox) -> VecDeque<Queued> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut batch = VecDeque::new();
        let Poll::Ready(Work::Write(io)) = outbox.poll_work(&mut cx, &mut batch) else {
            panic!("the writer has work");
        };
        outbox.give_back(io);
        batch
    }

    #[test]
    fn a_large_frame_alone_is_written_at_once_from_its_own_buffer() {
        let (outbox, taken) = outbox(1 << 20);
        let body: Vec<u8> = (0..LARGE_PAYLOAD as u32 * 2).map(|i| i as u8).collect();
        outbox
            .push(
                Outgoing::new(Bytes::from_static(b"hd"), Bytes::from(body.clone())),
                true,
            )
            .expect("written");
        let mut expected = ((body.len() + 2) as u32).to_be_bytes().to_vec();
        expected.extend_from_slice(b"hd");
        expected.extend_from_slice(&body);
        assert_eq!(*taken.lock().unwrap(), expected);
        assert_eq!(outbox.queued(), 0);
        assert!(outbox.queue.lock().items.is_empty());
    }

    #[test]
    fn what_a_stream_leaves_of_a_large_frame_waits_first_its_payload_not_copied() {
        // The stream takes the prefix, the head and 100 bytes of the body.
        let (outbox, taken) = outbox(4 + 2 + 100);
        let body = Bytes::from(vec![3u8; 3 * LARGE_PAYLOAD]);
        outbox
            .push(Outgoing::new(Bytes::from_static(b"hd"), body.clone()), true)
            .expect("written in part");
        assert_eq!(taken.lock().unwrap().len(), 106);
        outbox.push(frame(5), true).expect("queued behind");
        let batch = next_batch(&outbox);
        let Queued::Rest(rest) = &batch[0] else {
            panic!("the rest first: {batch:?}");
        };
        assert_eq!(rest.len(), body.len() - 100);
        assert_eq!(
            rest.as_ptr(),
            body[100..].as_ptr(),
            "a slice of the payload"
        );
        assert!(matches!(&batch[1], Queued::Frame(frame) if frame.body.len() == 5));
        assert_eq!(outbox.queued(), 0);
    }

    #[test]
    fn what_is_left_of_a_prefix_or_a_small_piece_is_copied() {
        // The stream takes 2 bytes of the prefix.
        let (first, taken) = outbox(2);
        let body = Bytes::from(vec![4u8; LARGE_PAYLOAD]);
        first
            .push(Outgoing::new(Bytes::new(), body.clone()), true)
            .expect("written in part");
        assert_eq!(taken.lock().unwrap().len(), 2);
        let batch = next_batch(&first);
        assert_eq!(batch.len(), 2, "{batch:?}");
        assert!(
            matches!(&batch[0], Queued::Rest(rest) if rest[..] == (body.len() as u32).to_be_bytes()[2..])
        );
        assert!(matches!(&batch[1], Queued::Rest(rest) if rest.as_ptr() == body.as_ptr()));
        // Taken up to one byte short of the end: that byte is copied, not kept as a slice.
        let (outbox, _) = outbox(4 + body.len() - 1);
        outbox
            .push(Outgoing::new(Bytes::new(), body.clone()), true)
            .expect("written in part");
        let batch = next_batch(&outbox);
        assert!(
            matches!(&batch[0], Queued::Rest(rest) if rest.len() == 1 && rest.as_ptr() != body[body.len() - 1..].as_ptr())
        );
    }

    #[test]
    fn a_large_frame_of_any_size_alone_is_written_at_once() {
        let taken = Arc::new(Mutex::new(Vec::new()));
        let outbox = Outbox::new(1 << 24);
        outbox.install(Box::new(Tight {
            taken: Arc::clone(&taken),
            room: usize::MAX,
        }));
        outbox.push(frame(8 << 20), true).expect("written");
        assert_eq!(taken.lock().unwrap().len(), 4 + (8 << 20));
        assert_eq!(outbox.queued(), 0);
    }

    #[test]
    fn large_frames_wait_for_a_corked_outbox_and_behind_each_other() {
        let (outbox, taken) = outbox(1 << 20);
        outbox.cork();
        outbox.push(frame(LARGE_PAYLOAD), true).expect("held");
        outbox.push(frame(LARGE_PAYLOAD + 1), true).expect("held");
        outbox.uncork().expect("nothing written");
        assert!(taken.lock().unwrap().is_empty(), "left for the writer");
        let batch = next_batch(&outbox);
        assert!(matches!(&batch[0], Queued::Frame(frame) if frame.body.len() == LARGE_PAYLOAD));
        assert!(matches!(&batch[1], Queued::Frame(frame) if frame.body.len() == LARGE_PAYLOAD + 1));
    }

    #[test]
    fn a_stream_that_claims_more_than_it_was_given_is_an_error_not_a_panic() {
        struct Boastful;
        impl AsyncWrite for Boastful {
            fn poll_write(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Poll::Ready(Ok(buf.len() + 1))
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
        let outbox = Outbox::new(1 << 20);
        outbox.install(Box::new(Boastful));
        assert!(matches!(
            outbox.push(frame(LARGE_PAYLOAD), true),
            Err(PushError::Io(_))
        ));
    }

    #[test]
    fn a_corked_outbox_holds_frames_until_uncorked() {
        let (outbox, taken) = outbox(1 << 20);
        outbox.cork();
        outbox.push(frame(3), true).expect("held");
        outbox.push(frame(4), true).expect("held");
        assert!(taken.lock().unwrap().is_empty());
        outbox.uncork().expect("written");
        assert_eq!(
            taken.lock().unwrap().len(),
            4 + 3 + 4 + 4,
            "both, with their prefixes"
        );
        assert_eq!(outbox.queued(), 0);
    }

    #[test]
    fn frames_waiting_for_a_busy_writer_let_go_of_shared_chunks() {
        let (outbox, _) = outbox(1 << 20);
        let mut cx = Context::from_waker(Waker::noop());
        let mut batch = VecDeque::new();
        outbox.push(frame(1), false).expect("room");
        let Poll::Ready(Work::Write(io)) = outbox.poll_work(&mut cx, &mut batch) else {
            panic!("the writer has work");
        };
        // The writer holds the stream: a frame cut from a larger buffer waits, on its own.
        let chunk = Bytes::from(vec![5u8; 1024]);
        let cut = chunk.slice(..10);
        outbox
            .push(Outgoing::new(Bytes::new(), cut.clone()), true)
            .expect("queued");
        outbox.give_back(io);
        batch.clear();
        assert!(matches!(
            outbox.poll_work(&mut cx, &mut batch),
            Poll::Ready(Work::Write(_))
        ));
        let Some(Queued::Frame(waited)) = batch.front() else {
            panic!("the frame waited");
        };
        assert_eq!(waited.body, cut);
        assert_ne!(waited.body.as_ptr(), cut.as_ptr(), "a copy of its own");
    }

    /// A stream that takes everything but flushes only when asked twice.
    struct LazyFlush {
        asked: usize,
    }

    impl AsyncWrite for LazyFlush {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.asked += 1;
            if self.asked < 2 {
                Poll::Pending
            } else {
                Poll::Ready(Ok(()))
            }
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_direct_write_left_unflushed_is_flushed_by_the_writer() {
        let outbox = Outbox::new(1 << 20);
        outbox.install(Box::new(LazyFlush { asked: 0 }));
        outbox.push(frame(3), true).expect("written");
        let mut cx = Context::from_waker(Waker::noop());
        let mut batch = VecDeque::new();
        assert!(
            matches!(
                outbox.poll_work(&mut cx, &mut batch),
                Poll::Ready(Work::Write(_))
            ),
            "the writer is given the stream to flush"
        );
        assert!(batch.is_empty(), "with nothing more to write");
    }

    #[test]
    fn an_ended_queue_is_drained_then_refuses() {
        let outbox = Outbox::new(1 << 20);
        outbox.push(frame(1), false).expect("room");
        outbox.end();
        outbox.push(frame(1), false).expect("dropped quietly");
        let mut cx = Context::from_waker(Waker::noop());
        let mut batch = VecDeque::new();
        outbox.install(Box::new(tokio::io::sink()));
        assert!(matches!(
            outbox.poll_work(&mut cx, &mut batch),
            Poll::Ready(Work::Write(_))
        ));
        assert_eq!(batch.len(), 1, "what was queued before the end is written");
    }
}
