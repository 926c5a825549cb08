//! Provides the reader task: reads frames, runs the peer's calls (in this task, no task per
//! call), routes replies to waiting callers, and closes the connection on a protocol error.

use super::Shared;
use super::calls::{Delivered, Incoming, Settle};
use crate::dispatch::{CallContext, DispatchError, Reply, ReplyFuture, ReplyKind, Started};
use crate::error::{CloseReason, ProtocolError};
use crate::refs::{Exported, scope};
use crate::wire::{Failure, FrameCodec, FrameError, IdList, Message, decode_message, frame_error};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::{AbortHandle, Abortable};
use futures_util::stream::FuturesUnordered;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::AsyncRead;
use tokio_util::codec::FramedRead;

/// One call of the peer being run, and the size of the frame it came in (which its decoded
/// arguments may share). Its output is `None` if the method panicked.
struct InFlight<F> {
    call: u64,
    bytes: usize,
    future: F,
    span: tracing::Span,
}

/// A finished call: its id, its frame's size, and its outcome (`None` if it panicked).
type Finished<T> = (u64, usize, Option<T>);

impl<F: Future + Unpin> Future for InFlight<F> {
    type Output = Finished<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (call, bytes) = (self.call, self.bytes);
        let span = self.span.clone();
        let _entered = span.enter();
        match catch_unwind(AssertUnwindSafe(|| Pin::new(&mut self.future).poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready((call, bytes, Some(output))),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => {
                tracing::error!(call, "a remote method panicked");
                Poll::Ready((call, bytes, None))
            }
        }
    }
}

/// What the calls running on a connection hold: how many, and their frames' bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    calls: usize,
    bytes: usize,
}

/// A call that did not finish on its first poll: it can be cancelled by its caller.
type Running = InFlight<Abortable<ReplyFuture>>;

/// The reply for a call's outcome; a panic becomes [`Failure::Panicked`].
fn reply_or_panicked(reply: Option<Reply>) -> Reply {
    reply.unwrap_or(Reply(ReplyKind::Failed(Failure::Panicked)))
}

/// Runs until the peer goes away, the connection is closed locally, or the peer breaks the
/// protocol; then closes the connection.
pub(crate) async fn run<R>(shared: Arc<Shared>, mut frames: FramedRead<R, FrameCodec>)
where
    R: AsyncRead + Unpin,
{
    let mut calls: FuturesUnordered<Running> = FuturesUnordered::new();
    // How to stop each running call, by the caller's call id (keys chosen by the peer: std's
    // keyed hasher; at most `max_calls_in_flight` of them).
    let mut cancels: HashMap<u64, AbortHandle> = HashMap::new();
    let mut fresh: Option<InFlight<ReplyFuture>> = None;
    // The bytes of the frames the running calls came in.
    let mut running_bytes = 0usize;
    let closed = shared.closing.cancelled();
    tokio::pin!(closed);
    let mut keepalive = shared.config.keepalive.map(|period| {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks
    });
    // Whether a frame came since the last keepalive tick, and how many ticks found none.
    let mut heard = false;
    let mut silent_periods = 0u32;
    let reason = loop {
        tokio::select! {
            biased;
            () = &mut closed => break CloseReason::Local,
            Some((call, bytes, outcome)) = calls.next(), if !calls.is_empty() => {
                cancels.remove(&call);
                running_bytes -= bytes;
                match outcome {
                    Some(Ok(reply)) => send_reply(&shared, call, reply),
                    Some(Err(_aborted)) => {}
                    None => send_reply(&shared, call, reply_or_panicked(None)),
                }
                if let Some(reason) = shared.take_close_after_reply() {
                    break reason;
                }
            }
            frame = frames.next() => match frame {
                None => break CloseReason::PeerClosed,
                Some(Err(error)) => {
                    break match frame_error(&error) {
                        Some(FrameError::TooLarge { limit }) => CloseReason::FrameTooLarge { limit },
                        Some(FrameError::BudgetExhausted { .. }) => CloseReason::Busy,
                        None => CloseReason::Io(error.to_string()),
                    };
                }
                Some(Ok(frame)) => {
                    heard = true;
                    let load = Load { calls: calls.len(), bytes: running_bytes };
                    let frame = frame.freeze();
                    let mut large = None;
                    if let Err(error) = handle_frame(&shared, frame, load, &mut fresh, &mut large, &mut cancels) {
                        tracing::warn!(parent: &shared.span, %error, "closing the connection");
                        break CloseReason::Protocol(error);
                    }
                    if let Some(large) = large {
                        fresh = large.start(&shared).await;
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
                                send_reply(&shared, id, reply_or_panicked(reply));
                                if let Some(reason) = shared.take_close_after_reply() {
                                    break reason;
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
                    if frames.decoder().is_budgeted() && shared.logged_in() {
                        frames.decoder_mut().leave_budget();
                    }
                }
            },
            // Last: a busy connection does not poll its timer on every frame.
            _ = tick(&mut keepalive), if keepalive.is_some() => {
                if std::mem::take(&mut heard) {
                    silent_periods = 0;
                    continue;
                }
                silent_periods += 1;
                if silent_periods >= 3 {
                    break CloseReason::PeerVanished;
                }
                shared.send_header(&Message::Ping);
            }
        }
    };
    drop(calls);
    shared.close(reason);
}

/// The next tick of the keepalive timer; never, without one.
async fn tick(keepalive: &mut Option<tokio::time::Interval>) {
    match keepalive {
        Some(ticks) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// One call the peer asked for, as its frame says.
struct Request<'a> {
    call: u64,
    target: u64,
    method: &'a str,
    frame: &'a Bytes,
    /// Where the arguments start in the frame.
    offset: usize,
}

/// What starting a call came to.
enum Start {
    /// Answered at once, or refused.
    Done,
    /// Still running.
    Running(InFlight<ReplyFuture>),
    /// Its arguments hold more items than a worker decodes: start it again off the workers.
    Costly,
}

/// A call whose arguments are too large or too costly to decode on a worker: it is started on
/// the blocking pool, holding the ids its message handed over until then.
struct LargeCall {
    call: u64,
    target: u64,
    method: String,
    frame: Bytes,
    offset: usize,
    load: Load,
    settle: Settle,
}

impl LargeCall {
    /// Starts the call on the blocking pool; the reader waits for it (one at a time).
    async fn start(self, shared: &Arc<Shared>) -> Option<InFlight<ReplyFuture>> {
        let shared = Arc::clone(shared);
        let started = tokio::task::spawn_blocking(move || {
            let request = Request {
                call: self.call,
                target: self.target,
                method: &self.method,
                frame: &self.frame,
                offset: self.offset,
            };
            let started = start_call(&shared, &request, self.load, false);
            drop(self.settle);
            match started {
                Start::Running(call) => Some(call),
                Start::Done | Start::Costly => None,
            }
        });
        started.await.ok().flatten()
    }
}

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
        Message::Hello { .. } => Err(ProtocolError::UnexpectedHello),
        Message::Call {
            call,
            target,
            method,
            exports,
        } => {
            let settle = announce(shared, exports)?;
            let request = Request {
                call,
                target,
                method,
                frame: &frame,
                offset,
            };
            // On this worker first, unless the frame is large; a decode that turns out costly
            // stops early and goes to the blocking pool.
            if frame.len() <= shared.config.max_inline_decode {
                match start_call(shared, &request, load, true) {
                    Start::Done => return Ok(()),
                    Start::Running(call) => {
                        *fresh = Some(call);
                        return Ok(());
                    }
                    Start::Costly => {}
                }
            }
            *large = Some(LargeCall {
                call,
                target,
                method: method.to_owned(),
                frame: frame.clone(),
                offset,
                load,
                settle,
            });
            Ok(())
        }
        Message::Return { call, exports } => {
            let settle = announce(shared, exports)?;
            deliver(
                shared,
                call,
                Incoming::Value(Delivered {
                    frame: frame.clone(),
                    offset,
                    settle,
                }),
            );
            Ok(())
        }
        Message::Raised { call, exports } => {
            let settle = announce(shared, exports)?;
            deliver(
                shared,
                call,
                Incoming::Raised(Delivered {
                    frame: frame.clone(),
                    offset,
                    settle,
                }),
            );
            Ok(())
        }
        Message::Failed { call, failure } => {
            deliver(shared, call, Incoming::Failed(failure));
            Ok(())
        }
        Message::Release { target, count } => {
            let released = shared.exports.lock().release(target, count);
            drop(released);
            Ok(())
        }
        Message::Ping => {
            shared.send_header(&Message::Pong);
            Ok(())
        }
        Message::Pong => Ok(()),
        Message::Cancel { call } => {
            if let Some(handle) = cancels.remove(&call) {
                handle.abort();
            }
            Ok(())
        }
    }
}

/// Counts the references a message hands over, before its payload is decoded or discarded.
/// The list is checked against the limit before anything is allocated for it.
pub(crate) fn announce(shared: &Arc<Shared>, exports: IdList<'_>) -> Result<Settle, ProtocolError> {
    let ids = if exports.is_empty() {
        Vec::new()
    } else {
        exports.decode(shared.config.max_exports)?
    };
    if !ids.is_empty() {
        let mut imports = shared.imports.lock();
        for &id in &ids {
            imports.announce(id);
        }
    }
    Ok(Settle {
        shared: Arc::clone(shared),
        ids,
    })
}

/// Hands a reply to its caller; a reply nobody waits for is dropped, settling its references.
fn deliver(shared: &Shared, call: u64, incoming: Incoming) {
    let waiting = shared.pending.lock().take(call);
    match waiting {
        Some(caller) => {
            let _ = caller.send(incoming);
        }
        None => tracing::trace!(parent: &shared.span, call, "reply for a call nobody waits for"),
    }
}

/// Decodes the arguments of `request` and starts its method; `inline` caps the decode at what
/// a worker thread may take.
fn start_call(shared: &Arc<Shared>, request: &Request<'_>, load: Load, inline: bool) -> Start {
    let Request {
        call,
        target,
        method,
        frame,
        offset,
    } = *request;
    let args = frame.get(offset..).unwrap_or_default();
    tracing::trace!(parent: &shared.span, call, target, method, "call received");
    let exported = shared.exports.lock().exported(target);
    let Some(Exported { object, session }) = exported else {
        send_failure(shared, call, Failure::NoSuchObject);
        return Start::Done;
    };
    let too_many = load.calls >= shared.config.max_calls_in_flight;
    let too_large = load.bytes.saturating_add(frame.len()) > shared.config.max_in_flight_bytes;
    if too_many || too_large {
        send_failure(shared, call, Failure::Busy);
        return Start::Done;
    }
    let cx = CallContext {
        shared: Arc::clone(shared),
        perspective: session,
        inline,
    };
    let span = tracing::debug_span!(parent: &shared.span, "tartine.call", call, target, method);
    let entered = span.enter();
    let outcome = scope::run_decoding(shared, None, Some(frame), || {
        // A method that is not `async` runs right here: contain its panics too.
        catch_unwind(AssertUnwindSafe(|| {
            Arc::clone(&object).dispatch_native(method, args, &cx)
        }))
    });
    drop(entered);
    let started = match outcome.value {
        Ok(started) => started,
        Err(_) => {
            tracing::error!(parent: &shared.span, call, method, "a remote method panicked");
            send_failure(shared, call, Failure::Panicked);
            return Start::Done;
        }
    };
    match (started, outcome.error) {
        (Ok(Started::Ready(reply)), _) => send_reply(shared, call, reply),
        (Ok(Started::Running(future)), _) => {
            return Start::Running(InFlight {
                call,
                bytes: frame.len(),
                future,
                span,
            });
        }
        (Err(_), Some(error)) => send_failure(shared, call, error.into_failure()),
        (Err(DispatchError::Costly), None) => return Start::Costly,
        (Err(DispatchError::NoSuchMethod), None) => send_failure(
            shared,
            call,
            Failure::NoSuchMethod {
                interface: object.interface().to_owned(),
                method: method.to_owned(),
            },
        ),
        (Err(DispatchError::BadArguments(reason)), None) => {
            send_failure(shared, call, Failure::BadArguments(reason));
        }
        (Err(DispatchError::NotPermitted { avatar }), None) => {
            let avatar = avatar.to_owned();
            send_failure(shared, call, Failure::NotPermitted { avatar });
        }
    }
    Start::Done
}

fn send_failure(shared: &Shared, call: u64, failure: Failure) {
    shared.send_header(&Message::Failed { call, failure });
}

fn send_reply(shared: &Shared, call: u64, reply: Reply) {
    let (encoded, raised) = match reply.0 {
        ReplyKind::Value(encoded) => (encoded, false),
        ReplyKind::Raised(encoded) => (encoded, true),
        ReplyKind::Failed(failure) => return send_failure(shared, call, failure),
    };
    let limit = shared.config.max_frame_size;
    let ids = IdList::encode(&encoded.exports);
    let exports = IdList::from_encoded(&ids);
    let message = if raised {
        Message::Raised { call, exports }
    } else {
        Message::Return { call, exports }
    };
    let frame = match encoded.frame.finish(&message) {
        Ok(frame) => frame,
        Err(error) => {
            scope::rollback(shared, &encoded.exports);
            return send_failure(shared, call, Failure::Encode(error.to_string()));
        }
    };
    let size = frame.len();
    if size > limit {
        scope::rollback(shared, &encoded.exports);
        return send_failure(shared, call, Failure::ReplyTooLarge { size, limit });
    }
    shared.send(frame);
}
