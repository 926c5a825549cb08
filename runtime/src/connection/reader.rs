//! Provides the reader task: reads frames, runs the peer's calls in this task (no task per
//! call, see `incoming.rs`), routes replies to our waiting calls (see `outgoing.rs`), answers
//! pings, and closes the connection on a protocol error or a silent peer.

use super::incoming::{self, InFlight, LargeCall, Load, Request, Start, reply_or_panicked};
use super::outgoing;
use super::timer::{Alarm, ConnectionTimer, FRAMES_PER_LOOK};
use crate::error::{CloseReason, ProtocolError};
use crate::link::lifecycle::ReaderSignal;
use crate::link::replies::{Delivered, Incoming};
use crate::link::shared::Shared;
use crate::refs::handover::announce;
use crate::reply::ReplyFuture;
use crate::wire::{FrameCodec, FrameError, Message, decode_message, frame_error};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::{AbortHandle, Abortable};
use futures_util::stream::FuturesUnordered;
use std::collections::HashMap;
use std::sync::Arc;
use std::task::Poll;
use tokio::io::AsyncRead;
use tokio_util::codec::{Decoder, FramedRead};

/// A read buffer this large is kept however long the connection stays idle.
const IDLE_READ_CAPACITY: usize = 256;

/// A call that did not finish on its first poll: it can be cancelled by its caller.
type Running = InFlight<Abortable<ReplyFuture>>;

/// While a burst of frames is worked through, the replies held leave every this many frames,
/// so that a peer on another thread starts on them while the rest are worked through.
const FRAMES_PER_FLUSH: u32 = 16;

/// Runs until the peer goes away, the connection is closed locally, or the peer breaks the
/// protocol; then closes the connection. A peer on this thread (see `neighbours.rs`) cannot
/// run before the burst is over: its replies leave together at the end.
pub(crate) async fn run<R>(
    shared: Arc<Shared>,
    mut frames: FramedRead<R, FrameCodec>,
    peer_on_this_thread: bool,
) where
    R: AsyncRead + Unpin,
{
    let frames_per_flush = if peer_on_this_thread {
        u32::MAX
    } else {
        FRAMES_PER_FLUSH
    };
    let mut calls: FuturesUnordered<Running> = FuturesUnordered::new();
    // How to stop each running call, by the caller's call id (keys chosen by the peer: std's
    // keyed hasher; at most `max_calls_in_flight` of them).
    let mut cancels: HashMap<u64, AbortHandle> = HashMap::new();
    let mut fresh: Option<InFlight<ReplyFuture>> = None;
    // The bytes of the frames the running calls came in.
    let mut running_bytes = 0usize;
    let closed = shared.lifecycle.closed_for_reader();
    tokio::pin!(closed);
    let mut timer = ConnectionTimer::new(shared.config.keepalive);
    // Frames handled since the timer was last looked at: a peer that keeps sending does not
    // hold off our deadlines.
    let mut frames_unlooked = 0u32;
    // Whether the outbox holds our replies back while a burst of frames is worked through.
    let mut corked = false;
    // Frames worked through since the replies last left.
    let mut held_frames = 0u32;
    // Whether the server shuts down: no new calls, and the connection closes once the
    // running ones are done.
    let mut draining = false;
    let reason = 'reading: loop {
        if frames.read_buffer().capacity() > IDLE_READ_CAPACITY {
            timer.watch_idle();
        }
        if corked
            && (held_frames >= frames_per_flush
                || !frames.decoder().has_frame(frames.read_buffer()))
        {
            // The burst is over, or has run long enough: the replies held leave together,
            // from this task.
            corked = false;
            held_frames = 0;
            if let Err(error) = shared.outbox.uncork() {
                break CloseReason::Io(error.to_string());
            }
        }
        if draining && calls.is_empty() && !corked {
            break CloseReason::Local;
        }
        frames_unlooked += 1;
        if frames_unlooked >= FRAMES_PER_LOOK {
            frames_unlooked = 0;
            if let Some(alarm) = timer.alarm_now(&shared) {
                let receiving = timer.still_receiving(frames.read_buffer().len());
                if alarm == Alarm::Vanished && !receiving {
                    break CloseReason::PeerVanished;
                }
            }
        }
        tokio::select! {
            biased;
            signal = &mut closed => match signal {
                ReaderSignal::Closed => break CloseReason::Local,
                ReaderSignal::Drain => {
                    tracing::debug!(parent: &shared.span, running = calls.len(), "shutting down: no new calls");
                    draining = true;
                }
            },
            Some((call, bytes, outcome)) = calls.next(), if !calls.is_empty() => {
                cork(&shared, &mut corked);
                cancels.remove(&call);
                if cancels.is_empty() {
                    cancels.shrink_to(0);
                }
                running_bytes -= bytes;
                match outcome {
                    Some(Ok(reply)) => incoming::send_reply(&shared, call, reply),
                    Some(Err(_aborted)) => {}
                    None => incoming::send_reply(&shared, call, reply_or_panicked(None)),
                }
                if let Some(reason) = shared.lifecycle.take_close_after_reply() {
                    break reason;
                }
            }
            frame = frames.next() => {
                let mut next = frame;
                loop {
                    let frame = match next {
                        None => break 'reading CloseReason::PeerClosed,
                        Some(Err(error)) => break 'reading read_failed(&error),
                        Some(Ok(frame)) => frame,
                    };
                    // A burst of frames: the replies are held back until it is worked through.
                    // A frame alone has its reply written at once.
                    if frames.decoder().has_frame(frames.read_buffer()) {
                        cork(&shared, &mut corked);
                    }
                    if corked {
                        held_frames = held_frames.saturating_add(1);
                    }
                    timer.heard();
                    let load = Load { calls: calls.len(), bytes: running_bytes, draining };
                    let frame = frame.freeze();
                    let mut large = None;
                    if let Err(error) = handle_frame(&shared, frame, load, &mut fresh, &mut large, &mut cancels) {
                        tracing::warn!(parent: &shared.span, %error, "closing the connection");
                        break 'reading CloseReason::Protocol(error);
                    }
                    if let Some(large) = large {
                        // What is held leaves before the wait, which may be long.
                        held_frames = 0;
                        if std::mem::take(&mut corked)
                            && let Err(error) = shared.outbox.uncork()
                        {
                            break 'reading CloseReason::Io(error.to_string());
                        }
                        // Boxed: a rare wait, whose state every idle reader would carry.
                        fresh = Box::pin(large.start(&shared)).await;
                    }
                    // Poll a new call once at once: most finish on their first poll, and their
                    // reply then leaves without a detour through the set of running calls.
                    if let Some(mut call) = fresh.take() {
                        let polled = std::future::poll_fn(|cx| {
                            Poll::Ready(Pin::new(&mut call).poll(cx))
                        })
                        .await;
                        match polled {
                            Poll::Ready((id, _, reply)) => {
                                incoming::send_reply(&shared, id, reply_or_panicked(reply));
                                if let Some(reason) = shared.lifecycle.take_close_after_reply() {
                                    break 'reading reason;
                                }
                            }
                            Poll::Pending => {
                                let (handle, registration) = AbortHandle::new_pair();
                                cancels.insert(call.call, handle);
                                running_bytes += call.bytes;
                                calls.push(InFlight {
                                    call: call.call,
                                    bytes: call.bytes,
                                    future: Abortable::new(call.future, registration),
                                    span: call.span,
                                });
                            }
                        }
                    }
                    // A pending connection draws on its server's budget for long frames until
                    // it logs in.
                    if frames.decoder().is_budgeted() && shared.lifecycle.logged_in() {
                        frames.decoder_mut().leave_budget();
                    }
                    // The rest of a burst is taken from the read buffer here, without a pass
                    // through the select and its polls, while whole frames wait there and
                    // until the held replies or the timer are due (the top of the outer loop
                    // sees to them, as it does when the burst is over), or the connection
                    // closes or drains (the select hears it first).
                    if !corked
                        || held_frames >= frames_per_flush
                        || frames_unlooked.saturating_add(1) >= FRAMES_PER_LOOK
                        || !frames.decoder().has_frame(frames.read_buffer())
                        || closed.is_ready()
                    {
                        break;
                    }
                    frames_unlooked += 1;
                    next = match next_in_buffer(&mut frames) {
                        Ok(Some(frame)) => Some(Ok(frame)),
                        Ok(None) => break,
                        Err(error) => Some(Err(error)),
                    };
                }
            }
            // Last: a busy connection does not poll its timer on every frame.
            alarm = std::future::poll_fn(|cx| timer.poll_alarm(cx, &shared)) => {
                frames_unlooked = 0;
                let receiving = timer.still_receiving(frames.read_buffer().len());
                match alarm {
                    Alarm::Vanished if receiving => {}
                    Alarm::Vanished => break CloseReason::PeerVanished,
                    Alarm::Idle if frames.read_buffer().is_empty() => {
                        // Idle: the read buffer goes, and comes back with the next frame.
                        *frames.read_buffer_mut() = bytes::BytesMut::new();
                    }
                    Alarm::Idle | Alarm::Quiet => {}
                }
            }
        }
    };
    drop(calls);
    shared.close(reason);
}

/// The next frame if its bytes are all in the read buffer already: decoded as `frames` would,
/// without a read.
fn next_in_buffer<R>(
    frames: &mut FramedRead<R, FrameCodec>,
) -> Result<Option<bytes::BytesMut>, std::io::Error> {
    let mut buffer = std::mem::take(frames.read_buffer_mut());
    let decoded = frames.decoder_mut().decode(&mut buffer);
    *frames.read_buffer_mut() = buffer;
    decoded
}

/// Why the connection closes after a frame could not be read.
fn read_failed(error: &std::io::Error) -> CloseReason {
    match frame_error(error) {
        Some(FrameError::TooLarge { limit }) => CloseReason::FrameTooLarge { limit },
        Some(FrameError::BudgetExhausted { .. }) => CloseReason::Busy,
        None => CloseReason::Io(error.to_string()),
    }
}

/// Holds the replies back until the burst of frames being worked through is over.
fn cork(shared: &Shared, corked: &mut bool) {
    if !*corked {
        shared.outbox.cork();
        *corked = true;
    }
}

/// Handles one frame; a call that is to start off the workers is put in `large`.
fn handle_frame(
    shared: &Arc<Shared>,
    frame: Bytes,
    load: Load,
    fresh: &mut Option<InFlight<ReplyFuture>>,
    large: &mut Option<LargeCall>,
    cancels: &mut HashMap<u64, AbortHandle>,
) -> Result<(), ProtocolError> {
    let (message, offset) = decode_message(&frame)?;
    match message {
        Message::Hello { .. } => return Err(ProtocolError::UnexpectedHello),
        Message::Call {
            call,
            target,
            method,
            exports,
        } => {
            let ids = announce(shared, exports)?;
            let request = Request {
                call,
                target,
                method,
                frame: &frame,
                offset,
            };
            match incoming::receive(shared, &request, ids, load) {
                Start::Running(call) => *fresh = Some(call),
                Start::Large(call) => *large = Some(call),
                Start::Done | Start::Costly => {}
            }
        }
        Message::Return { call, exports } | Message::Raised { call, exports } => {
            let raised = matches!(message, Message::Raised { .. });
            let ids = announce(shared, exports)?;
            let delivered = Delivered { frame, offset, ids };
            let incoming = if raised {
                Incoming::Raised(delivered)
            } else {
                Incoming::Value(delivered)
            };
            outgoing::deliver(shared, call, incoming);
        }
        Message::Failed { call, failure } => {
            outgoing::deliver(shared, call, Incoming::Failed(failure));
        }
        Message::Release { target, count } => {
            shared.release_ours(target, count);
        }
        Message::Ping => shared.send_header(&Message::Pong),
        Message::Pong => {}
        Message::Cancel { call } => {
            if let Some(handle) = cancels.remove(&call) {
                handle.abort();
            }
        }
    }
    Ok(())
}
