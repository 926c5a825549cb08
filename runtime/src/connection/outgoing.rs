//! Provides our calls to the peer: encoding the arguments, waiting in a reply slot for the
//! matching reply, routing each reply the reader receives to its slot, and decoding it.

use crate::codec::{Codec, CodecError, DecodeLimits};
use crate::error::{CallError, RemoteError};
use crate::link::replies::{Abandoned, Delivered, Delivery, Incoming, Outcome};
use crate::link::shared::Shared;
use crate::refs::error::DecodeError;
use crate::refs::handle::{MethodTimeout, RemoteRef};
use crate::refs::scope;
use crate::reply::Held;
use crate::wire::{IdList, Message};
use bytes::BytesMut;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

impl RemoteRef {
    /// Calls `method` with `args` on a method that returns a plain value. Used by generated
    /// proxies. As [`call_value_with`](Self::call_value_with), whose future it returns.
    pub fn call_value<C: Codec, A: Serialize, R: DeserializeOwned + Send + 'static>(
        &self,
        method: &'static str,
        method_timeout: MethodTimeout,
        args: &A,
    ) -> impl Future<Output = Result<R, CallError>> {
        self.call_value_with::<C, R>(method, method_timeout, move |out: &mut BytesMut| {
            C::encode(args, out)
        })
    }

    /// Calls `method`, whose arguments `encode` appends one after another, on a method that
    /// returns a plain value. Used by generated proxies.
    pub async fn call_value_with<C: Codec, R: DeserializeOwned + Send + 'static>(
        &self,
        method: &'static str,
        method_timeout: MethodTimeout,
        encode: impl FnMut(&mut BytesMut) -> Result<(), CodecError>,
    ) -> Result<R, CallError> {
        let timeout = self.timeout(method_timeout);
        let shared = &self.inner.shared;
        let incoming = send(shared, self.inner.id, method, encode, timeout)?.await?;
        let reply = Received::new(shared, incoming);
        match reply.value_here::<C, R>() {
            Ok(value) => value,
            // Boxed: rare, and every call's future would otherwise carry its state.
            Err(reply) => Box::pin(reply.value_on_pool::<C, R>()).await,
        }
    }

    /// Calls `method`, whose arguments `encode` appends one after another, on a method that
    /// returns `Result<T, E>`. Used by generated proxies.
    pub async fn call_result_with<C, T, E>(
        &self,
        method: &'static str,
        method_timeout: MethodTimeout,
        encode: impl FnMut(&mut BytesMut) -> Result<(), CodecError>,
    ) -> Result<T, RemoteError<E>>
    where
        C: Codec,
        T: DeserializeOwned + Send + 'static,
        E: DeserializeOwned + Send + 'static,
    {
        let timeout = self.timeout(method_timeout);
        let shared = &self.inner.shared;
        let incoming = send(shared, self.inner.id, method, encode, timeout)?.await?;
        let reply = Received::new(shared, incoming);
        match reply.result_here::<C, T, E>() {
            Ok(result) => result,
            // Boxed: rare, and every call's future would otherwise carry its state.
            Err(reply) => Box::pin(reply.result_on_pool::<C, T, E>()).await,
        }
    }

    /// Calls `method` with `args` on a method that returns `Result<T, E>`. Used by generated
    /// proxies. As [`call_result_with`](Self::call_result_with), whose future it returns.
    pub fn call_result<C, A, T, E>(
        &self,
        method: &'static str,
        method_timeout: MethodTimeout,
        args: &A,
    ) -> impl Future<Output = Result<T, RemoteError<E>>>
    where
        C: Codec,
        A: Serialize,
        T: DeserializeOwned + Send + 'static,
        E: DeserializeOwned + Send + 'static,
    {
        self.call_result_with::<C, T, E>(method, method_timeout, move |out: &mut BytesMut| {
            C::encode(args, out)
        })
    }
}

/// Sends a call to the peer's object `target`, its arguments appended by `encode`; returns
/// its slot, to wait in for the reply, at most `timeout`. Sent without an await, and neither
/// an `async fn` nor behind one, so that the future a caller keeps while it waits holds the
/// slot and little else: calls in flight are moved around by whoever polls them.
fn send<'a>(
    shared: &'a Arc<Shared>,
    target: u64,
    method: &'static str,
    encode: impl FnMut(&mut BytesMut) -> Result<(), CodecError>,
    timeout: Option<Duration>,
) -> Result<Waiting<'a>, CallError> {
    if shared.is_closed() {
        return Err(CallError::ConnectionLost);
    }
    // What the arguments send back stays held until the call is answered.
    let (builder, exported, held) = scope::encode_with(shared, None, encode)?;
    if !shared.peer_takes(&exported) {
        shared.rollback(&exported);
        return Err(CallError::TooManyReferences {
            limit: shared.max_send_refs,
        });
    }
    let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
    let Some(opened) = shared.replies.lock().open(deadline) else {
        shared.rollback(&exported);
        return Err(CallError::ConnectionLost);
    };
    if opened.earliest {
        // The reader's timer must wake earlier.
        shared.earlier_deadline.store(true, Ordering::Release);
        shared.lifecycle.wake_reader();
    }
    let call = opened.call;
    // From here, dropping `waiting` frees the slot (and cancels the call once it is sent).
    let mut waiting = Waiting {
        shared,
        call,
        sent: false,
        _held: held,
    };
    let ids = IdList::encode(&exported);
    let message = Message::Call {
        call,
        target,
        method,
        exports: IdList::from_encoded(&ids),
    };
    let frame = builder.finish(&message).map_err(|error| {
        shared.rollback(&exported);
        CallError::Encode(error.to_string())
    })?;
    if frame.len() > shared.max_send_frame {
        shared.rollback(&exported);
        return Err(CallError::MessageTooLarge {
            size: frame.len(),
            limit: shared.max_send_frame,
        });
    }
    tracing::trace!(parent: &shared.span, call, target, method, "call sent");
    // Alone, nothing else waits: no batch to join, so no hop through the writer task.
    shared.send_built(frame, opened.alone);
    waiting.sent = true;
    Ok(waiting)
}

/// Waits in the reply slot of one call, until the reply comes or the reader's timer expires
/// the slot; dropped early, it frees the slot and tells the peer it may stop running the call.
struct Waiting<'a> {
    shared: &'a Arc<Shared>,
    call: u64,
    /// Whether the call left: only then is the peer told of a cancellation.
    sent: bool,
    /// The peer's objects the arguments send back, held until the call is answered.
    _held: Vec<Held>,
}

impl Future for Waiting<'_> {
    type Output = Result<Incoming, CallError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let polled = self.shared.replies.lock().poll(self.call, cx);
        let Poll::Ready(outcome) = polled else {
            return Poll::Pending;
        };
        // Taken, expired or gone: nothing left to free.
        self.sent = false;
        self.call = 0;
        Poll::Ready(match outcome {
            Outcome::Reply(incoming) => Ok(incoming),
            Outcome::TimedOut => Err(CallError::TimedOut),
            Outcome::Gone => Err(CallError::ConnectionLost),
        })
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.call == 0 {
            return;
        }
        let abandoned = self.shared.replies.lock().abandon(self.call);
        match abandoned {
            Abandoned::Waiting if self.sent => {
                self.shared
                    .send_header(&Message::Cancel { call: self.call });
            }
            Abandoned::Replied(incoming) => {
                if names_our_objects(&incoming) {
                    self.shared.reply_done();
                }
                self.shared.settle(&incoming.into_ids());
            }
            Abandoned::Waiting | Abandoned::Gone => {}
        }
    }
}

/// Hands a reply the reader received to its caller's slot; a reply nobody waits for is
/// discarded, settling its references.
pub(crate) fn deliver(shared: &Shared, call: u64, incoming: Incoming) {
    // Counted before the caller can take it: releases wait until it is decoded.
    let counted = names_our_objects(&incoming);
    if counted {
        shared.reply_waiting();
    }
    let delivery = shared.replies.lock().deliver(call, incoming);
    match delivery {
        Delivery::Placed(waker) => {
            if let Some(waker) = waker {
                waker.wake();
            }
        }
        Delivery::Unclaimed(incoming) => {
            tracing::trace!(parent: &shared.span, call, "reply for a call nobody waits for");
            if counted {
                shared.reply_done();
            }
            shared.settle(&incoming.into_ids());
        }
    }
}

/// Whether a reply's payload may name our objects (a value or a raised error may; a
/// framework failure does not).
fn names_our_objects(incoming: &Incoming) -> bool {
    matches!(incoming, Incoming::Value(_) | Incoming::Raised(_))
}

/// A reply taken from its slot, to be decoded; once dropped, the references its message
/// handed over are settled.
pub(crate) struct Received {
    shared: Arc<Shared>,
    incoming: Incoming,
    ids: Vec<u64>,
}

impl Drop for Received {
    fn drop(&mut self) {
        self.shared.settle(&self.ids);
        if names_our_objects(&self.incoming) {
            self.shared.reply_done();
        }
    }
}

impl Received {
    pub(crate) fn new(shared: &Arc<Shared>, mut incoming: Incoming) -> Self {
        let ids = match &mut incoming {
            Incoming::Value(delivered) | Incoming::Raised(delivered) => {
                std::mem::take(&mut delivered.ids)
            }
            Incoming::Failed(_) => Vec::new(),
        };
        Received {
            shared: Arc::clone(shared),
            incoming,
            ids,
        }
    }

    /// The limits of a decode on a worker, or `None` if the payload is too large for one.
    fn inline_limits(&self) -> Option<DecodeLimits> {
        let config = &self.shared.config;
        match &self.incoming {
            Incoming::Value(delivered) | Incoming::Raised(delivered) => (delivered.frame.len()
                <= config.max_inline_decode)
                .then(|| config.inline_decode_limits()),
            Incoming::Failed(_) => Some(config.inline_decode_limits()),
        }
    }

    fn decode<C: Codec, T: DeserializeOwned>(
        &self,
        delivered: &Delivered,
        limits: DecodeLimits,
    ) -> Result<T, DecodeError> {
        let payload = delivered.frame.get(delivered.offset..).unwrap_or_default();
        scope::decode::<C, T>(&self.shared, &delivered.frame, payload, limits)
    }

    /// Decodes a plain result on this worker if it is cheap; gives the reply back otherwise,
    /// for [`value_on_pool`](Self::value_on_pool). Not an `async fn` taking the reply: a
    /// call's future would then carry the reply while it waits.
    fn value_here<C: Codec, R: DeserializeOwned>(self) -> Result<Result<R, CallError>, Self> {
        if let Some(limits) = self.inline_limits() {
            match self.value_within::<C, R>(limits) {
                Err(Some(error)) if error.is_costly() => {}
                Err(Some(error)) => return Ok(Err(error.into())),
                Err(None) => return Ok(Err(self.not_a_value())),
                Ok(value) => return Ok(Ok(value)),
            }
        }
        Err(self)
    }

    /// Decodes a plain result on the blocking pool.
    async fn value_on_pool<C: Codec, R: DeserializeOwned + Send + 'static>(
        self,
    ) -> Result<R, CallError> {
        tokio::task::spawn_blocking(move || self.decode_value::<C, R>())
            .await
            .unwrap_or(Err(CallError::ConnectionLost))
    }

    /// Decodes a `Result` on this worker if it is cheap; gives the reply back otherwise, as
    /// [`value_here`](Self::value_here).
    #[allow(clippy::type_complexity)]
    fn result_here<C: Codec, T: DeserializeOwned, E: DeserializeOwned>(
        self,
    ) -> Result<Result<T, RemoteError<E>>, Self> {
        if let Some(limits) = self.inline_limits() {
            match self.result_within::<C, T, E>(limits) {
                Err(error) if error.is_costly() => {}
                Err(error) => return Ok(Err(RemoteError::Call(error.into()))),
                Ok(result) => return Ok(result),
            }
        }
        Err(self)
    }

    /// Decodes a `Result` on the blocking pool.
    async fn result_on_pool<C, T, E>(self) -> Result<T, RemoteError<E>>
    where
        C: Codec,
        T: DeserializeOwned + Send + 'static,
        E: DeserializeOwned + Send + 'static,
    {
        tokio::task::spawn_blocking(move || self.decode_result::<C, T, E>())
            .await
            .unwrap_or(Err(RemoteError::Call(CallError::ConnectionLost)))
    }

    /// Decodes a plain result, wherever the caller runs.
    pub(crate) fn decode_value<C: Codec, R: DeserializeOwned>(&self) -> Result<R, CallError> {
        match self.value_within::<C, R>(self.shared.config.decode_limits()) {
            Ok(value) => Ok(value),
            Err(Some(error)) => Err(error.into()),
            Err(None) => Err(self.not_a_value()),
        }
    }

    /// Decodes a `Result`, wherever the caller runs.
    pub(crate) fn decode_result<C: Codec, T: DeserializeOwned, E: DeserializeOwned>(
        &self,
    ) -> Result<T, RemoteError<E>> {
        self.result_within::<C, T, E>(self.shared.config.decode_limits())
            .unwrap_or_else(|error| Err(RemoteError::Call(error.into())))
    }

    /// The value, or why it did not decode (`None`: the reply is no value at all).
    fn value_within<C: Codec, R: DeserializeOwned>(
        &self,
        limits: DecodeLimits,
    ) -> Result<R, Option<DecodeError>> {
        match &self.incoming {
            Incoming::Value(delivered) => self.decode::<C, R>(delivered, limits).map_err(Some),
            Incoming::Raised(_) | Incoming::Failed(_) => Err(None),
        }
    }

    /// What a reply that is no value means to a caller that expects one.
    fn not_a_value(&self) -> CallError {
        match &self.incoming {
            Incoming::Failed(failure) => CallError::from(failure.clone()),
            _ => CallError::BadReply(
                "the peer raised an error from a method that declares none".to_owned(),
            ),
        }
    }

    /// The outer `Result` fails to decode; the inner one is the call's outcome.
    #[allow(clippy::type_complexity)]
    fn result_within<C: Codec, T: DeserializeOwned, E: DeserializeOwned>(
        &self,
        limits: DecodeLimits,
    ) -> Result<Result<T, RemoteError<E>>, DecodeError> {
        match &self.incoming {
            Incoming::Value(delivered) => Ok(Ok(self.decode::<C, T>(delivered, limits)?)),
            Incoming::Raised(delivered) => Ok(Err(RemoteError::Method(
                self.decode::<C, E>(delivered, limits)?,
            ))),
            Incoming::Failed(failure) => Ok(Err(RemoteError::Call(failure.clone().into()))),
        }
    }
}
