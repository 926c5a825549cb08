//! Provides the peer's calls to us: finding the target in the export table, checking the
//! connection's load, decoding the arguments and starting the method (on this worker, or on
//! the blocking pool when the arguments are large or costly), and sending the reply.

use crate::link::shared::{CallSite, Shared};
use crate::refs::handover::Handover;
use crate::refs::table::Exported;
use crate::reply::{DispatchError, Reply, ReplyFuture, ReplyKind, Started};
use crate::wire::{Failure, IdList, Message};
use bytes::Bytes;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tracing::Instrument;

/// One call of the peer being run, and the size of the frame it came in (which its decoded
/// arguments may share).
pub(crate) struct InFlight<F> {
    pub(crate) call: u64,
    pub(crate) bytes: usize,
    pub(crate) future: F,
    pub(crate) span: tracing::Span,
}

/// A finished call: its id, its frame's size, and its outcome (`None` if it panicked).
pub(crate) type Finished<T> = (u64, usize, Option<T>);

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
pub(crate) struct Load {
    pub(crate) calls: usize,
    pub(crate) bytes: usize,
    /// Whether the server is shutting down: new calls are refused.
    pub(crate) draining: bool,
}

/// One call the peer asked for, as its frame says.
pub(crate) struct Request<'a> {
    pub(crate) call: u64,
    pub(crate) target: u64,
    pub(crate) method: &'a str,
    pub(crate) frame: &'a Bytes,
    /// Where the arguments start in the frame.
    pub(crate) offset: usize,
}

/// What starting a call came to.
pub(crate) enum Start {
    /// Answered at once, or refused.
    Done,
    /// Still running.
    Running(InFlight<ReplyFuture>),
    /// Its arguments hold more items than a worker decodes: start it again off the workers.
    Costly,
    /// Its arguments are to be decoded off the workers: the reader starts it on the blocking
    /// pool.
    Large(LargeCall),
}

/// A call whose arguments are too large or too costly to decode on a worker: it is started on
/// the blocking pool, holding the ids its message handed over until then.
pub(crate) struct LargeCall {
    call: u64,
    target: u64,
    method: String,
    frame: Bytes,
    offset: usize,
    load: Load,
    handover: Handover,
}

impl LargeCall {
    /// Starts the call on the blocking pool; the reader waits for it (one at a time).
    pub(crate) async fn start(self, shared: &Arc<Shared>) -> Option<InFlight<ReplyFuture>> {
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
            drop(self.handover);
            match started {
                Start::Running(call) => Some(call),
                Start::Done | Start::Costly | Start::Large(_) => None,
            }
        });
        started.await.ok().flatten()
    }
}

/// Receives a call of the peer whose message handed over `ids`: starts it on this worker
/// unless its frame is large or its decode turns out costly; then it is returned as a
/// [`Start::Large`], for the blocking pool.
pub(crate) fn receive(
    shared: &Arc<Shared>,
    request: &Request<'_>,
    ids: Vec<u64>,
    load: Load,
) -> Start {
    let handover = Handover::new(shared, ids);
    if request.frame.len() <= shared.config.max_inline_decode {
        match start_call(shared, request, load, true) {
            Start::Costly => {}
            started => return started,
        }
    }
    Start::Large(LargeCall {
        call: request.call,
        target: request.target,
        method: request.method.to_owned(),
        frame: request.frame.clone(),
        offset: request.offset,
        load,
        handover,
    })
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
    // The peer's method name, as logs show it (the whole name is what dispatch looks up).
    let logged = crate::wire::prefix(method, crate::wire::MAX_PEER_TEXT);
    tracing::trace!(parent: &shared.span, call, target, method = logged, "call received");
    let exported = shared.tables.exports.lock().exported(target);
    let Some(Exported {
        object,
        perspective,
    }) = exported
    else {
        send_failure(shared, call, Failure::NoSuchObject);
        return Start::Done;
    };
    if load.draining {
        send_failure(shared, call, Failure::ShuttingDown);
        return Start::Done;
    }
    let too_many = load.calls >= shared.config.max_calls_in_flight;
    // A call finds room whatever its size when no other holds any: the limit bounds what
    // calls hold together, not one frame (which the frame limit bounds).
    let too_large = load.bytes != 0
        && load.bytes.saturating_add(frame.len()) > shared.config.max_in_flight_bytes;
    if too_many || too_large {
        send_failure(shared, call, Failure::Busy);
        return Start::Done;
    }
    let site = CallSite {
        shared: Arc::clone(shared),
        perspective,
        frame: frame.clone(),
        inline,
    };
    // Checked first, so that a call costs no span when no subscriber wants one (with tracing's
    // `log` feature on, a disabled span is still offered to `log`, field by field).
    let span = if tracing::level_enabled!(tracing::Level::DEBUG) {
        tracing::debug_span!(parent: &shared.span, "tartine.call", call, target, method = logged)
    } else {
        tracing::Span::none()
    };
    let entered = span.enter();
    let interface = object.interface();
    // A method that is not `async` runs right here: contain its panics too.
    let started = catch_unwind(AssertUnwindSafe(|| {
        object.dispatch_native(method, args, site)
    }));
    drop(entered);
    let failure = match started {
        Err(_) => {
            tracing::error!(parent: &shared.span, call, method, "a remote method panicked");
            Failure::Panicked
        }
        Ok(Ok(Started::Ready(reply))) => {
            send_reply(shared, call, reply);
            return Start::Done;
        }
        Ok(Ok(Started::Running(future))) => {
            let future = if shared.config.spawn_calls {
                spawn(shared, call, future, &span)
            } else {
                future
            };
            return Start::Running(InFlight {
                call,
                bytes: frame.len(),
                future,
                span,
            });
        }
        Ok(Ok(Started::Spawn(future))) => {
            return Start::Running(InFlight {
                call,
                bytes: frame.len(),
                future: spawn(shared, call, future, &span),
                span,
            });
        }
        Ok(Err(DispatchError::Costly)) => return Start::Costly,
        Ok(Err(DispatchError::NoSuchMethod)) => Failure::NoSuchMethod {
            interface: interface.to_owned(),
            // The peer's own name, sent back as it would keep it.
            method: crate::wire::peer_text(method),
        },
        Ok(Err(DispatchError::Arguments(failure))) => failure,
        Ok(Err(DispatchError::NotPermitted { avatar })) => Failure::NotPermitted {
            avatar: avatar.to_owned(),
        },
    };
    send_failure(shared, call, failure);
    Start::Done
}

/// Runs `future` as a task of its own, on any worker, which sends its reply itself (no hop
/// through the reader); returns the future of its end, which aborts the task if dropped first
/// (the call was cancelled, or the connection closed).
fn spawn(
    shared: &Arc<Shared>,
    call: u64,
    future: ReplyFuture,
    span: &tracing::Span,
) -> ReplyFuture {
    let shared = Arc::clone(shared);
    let task = AbortOnDrop(tokio::spawn(
        async move {
            let reply = future.await;
            send_reply(&shared, call, reply);
        }
        .instrument(span.clone()),
    ));
    Box::pin(async move {
        let mut task = task;
        match (&mut task.0).await {
            Ok(()) => Reply(ReplyKind::Sent),
            Err(error) => {
                if error.is_panic() {
                    tracing::error!("a remote method panicked");
                }
                Reply::failed(Failure::Panicked)
            }
        }
    })
}

/// Aborts a spawned call when its reply is no longer awaited.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The reply for a call's outcome; a panic becomes [`Failure::Panicked`].
pub(crate) fn reply_or_panicked(reply: Option<Reply>) -> Reply {
    reply.unwrap_or(Reply::failed(Failure::Panicked))
}

/// Sends a framework failure as the reply to `call`, as [`send_reply`] does.
fn send_failure(shared: &Shared, call: u64, failure: Failure) {
    shared.send_header_with(&Message::Failed { call, failure }, true);
}

/// Sends the reply of `call`.
pub(crate) fn send_reply(shared: &Shared, call: u64, reply: Reply) {
    let (encoded, raised) = match reply.0 {
        ReplyKind::Value(encoded) => (encoded, false),
        ReplyKind::Raised(encoded) => (encoded, true),
        ReplyKind::Failed(failure) => return send_failure(shared, call, failure),
        ReplyKind::Sent => return,
    };
    if !shared.peer_takes(&encoded.exports) {
        shared.rollback(&encoded.exports);
        let limit = shared.max_send_refs;
        return send_failure(shared, call, Failure::TooManyReferences { limit });
    }
    let limit = shared.max_send_frame;
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
            shared.rollback(&encoded.exports);
            return send_failure(shared, call, Failure::Encode(error.to_string()));
        }
    };
    let size = frame.len();
    if size > limit {
        shared.rollback(&encoded.exports);
        return send_failure(shared, call, Failure::ReplyTooLarge { size, limit });
    }
    // Written at once if nobody writes and nothing is held back (the reader holds replies
    // back while a burst of frames is worked through).
    shared.send_built(frame, true);
    // Only now may the references the reply sends back be released.
    drop(encoded.held);
}
