//! Provides outgoing calls: encoding the arguments, waiting for the matching reply, and decoding
//! it, plus the table of calls waiting for a reply.

use super::Shared;
use crate::codec::{Codec, CodecError, DecodeLimits};
use crate::error::{CallError, RemoteError};
use crate::id_map::IdMap;
use crate::refs::scope;
use crate::wire::{Failure, IdList, Message};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::oneshot;

/// Calls waiting for their reply, by call id.
#[derive(Default)]
pub(crate) struct PendingCalls {
    calls: IdMap<oneshot::Sender<Incoming>>,
    closed: bool,
}

impl PendingCalls {
    /// Refuses new calls and returns the waiting ones, whose callers then see the connection
    /// lost when they are dropped.
    pub(crate) fn close(&mut self) -> IdMap<oneshot::Sender<Incoming>> {
        self.closed = true;
        std::mem::take(&mut self.calls)
    }

    pub(crate) fn take(&mut self, call: u64) -> Option<oneshot::Sender<Incoming>> {
        self.calls.remove(&call)
    }

    pub(crate) fn len(&self) -> usize {
        self.calls.len()
    }
}

/// A reply as the reader hands it to the waiting caller.
#[derive(Debug)]
pub(crate) enum Incoming {
    Value(Delivered),
    Raised(Delivered),
    Failed(Failure),
}

/// A received payload, not yet decoded, with the references its message handed over.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub(crate) frame: Bytes,
    pub(crate) offset: usize,
    pub(crate) settle: Settle,
}

/// Ends the holds a message put on the ids it handed over, once it is decoded or discarded;
/// ids for which no `Remote` is alive are then released to the peer.
#[derive(Debug)]
pub(crate) struct Settle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) ids: Vec<u64>,
}

impl Drop for Settle {
    fn drop(&mut self) {
        if self.ids.is_empty() {
            return;
        }
        let releases: Vec<(u64, u64)> = {
            let mut imports = self.shared.imports.lock();
            self.ids
                .iter()
                .filter_map(|&id| imports.settle(id).map(|count| (id, count)))
                .collect()
        };
        for (id, count) in releases {
            self.shared.send_release(id, count);
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("id", &self.id).finish()
    }
}

/// Why a reply could not be decoded.
enum DecodeFailure {
    /// It holds more items than a worker decodes: decode it again off the workers.
    Costly,
    /// It is not what the method returns.
    Failed(CallError),
}

impl From<CallError> for DecodeFailure {
    fn from(error: CallError) -> Self {
        DecodeFailure::Failed(error)
    }
}

impl From<DecodeFailure> for CallError {
    /// Off the workers nothing is too costly: `Costly` only comes from a capped decode.
    fn from(failure: DecodeFailure) -> Self {
        match failure {
            DecodeFailure::Failed(error) => error,
            DecodeFailure::Costly => CallError::BadReply("too costly to decode".to_owned()),
        }
    }
}

impl Delivered {
    fn decode<C: Codec, T: DeserializeOwned>(
        &self,
        limits: DecodeLimits,
    ) -> Result<T, DecodeFailure> {
        let payload = self.frame.get(self.offset..).unwrap_or_default();
        let outcome = scope::run_decoding(&self.settle.shared, None, Some(&self.frame), || {
            C::decode::<T>(payload, limits)
        });
        if let Some(error) = outcome.error {
            return Err(error.into_call_error(false).into());
        }
        outcome.value.map_err(|error| match error {
            CodecError::Costly => DecodeFailure::Costly,
            other => CallError::BadReply(other.to_string()).into(),
        })
    }
}

impl Incoming {
    /// The limits of a decode on a worker, or `None` if the payload is too large for one.
    fn inline_limits(&self) -> Option<DecodeLimits> {
        match self {
            Incoming::Value(delivered) | Incoming::Raised(delivered) => {
                let config = &delivered.settle.shared.config;
                (delivered.frame.len() <= config.max_inline_decode)
                    .then(|| config.inline_decode_limits())
            }
            Incoming::Failed(_) => None,
        }
    }

    /// The limits of a decode off the workers.
    fn limits(&self) -> DecodeLimits {
        match self {
            Incoming::Value(delivered) | Incoming::Raised(delivered) => {
                delivered.settle.shared.config.decode_limits()
            }
            Incoming::Failed(_) => crate::Config::default().decode_limits(),
        }
    }

    /// Decodes a plain result: on this worker if it is cheap, else on the blocking pool.
    pub(crate) async fn into_value<C: Codec, R: DeserializeOwned + Send + 'static>(
        self,
    ) -> Result<R, CallError> {
        if let Some(limits) = self.inline_limits() {
            match self.value_within::<C, R>(limits) {
                Err(DecodeFailure::Costly) => {}
                Err(DecodeFailure::Failed(error)) => return Err(error),
                Ok(value) => return Ok(value),
            }
        }
        tokio::task::spawn_blocking(move || self.decode_value::<C, R>())
            .await
            .unwrap_or(Err(CallError::ConnectionLost))
    }

    /// Decodes a `Result`: on this worker if it is cheap, else on the blocking pool.
    pub(crate) async fn into_result<C, T, E>(self) -> Result<T, RemoteError<E>>
    where
        C: Codec,
        T: DeserializeOwned + Send + 'static,
        E: DeserializeOwned + Send + 'static,
    {
        if let Some(limits) = self.inline_limits() {
            match self.result_within::<C, T, E>(limits) {
                Err(DecodeFailure::Costly) => {}
                Err(DecodeFailure::Failed(error)) => return Err(RemoteError::Call(error)),
                Ok(result) => return result,
            }
        }
        tokio::task::spawn_blocking(move || self.decode_result::<C, T, E>())
            .await
            .unwrap_or(Err(RemoteError::Call(CallError::ConnectionLost)))
    }

    /// Decodes a plain result, wherever the caller runs.
    pub(crate) fn decode_value<C: Codec, R: DeserializeOwned>(&self) -> Result<R, CallError> {
        Ok(self.value_within::<C, R>(self.limits())?)
    }

    /// Decodes a `Result`, wherever the caller runs.
    pub(crate) fn decode_result<C: Codec, T: DeserializeOwned, E: DeserializeOwned>(
        &self,
    ) -> Result<T, RemoteError<E>> {
        self.result_within::<C, T, E>(self.limits())
            .unwrap_or_else(|failure| Err(RemoteError::Call(failure.into())))
    }

    fn value_within<C: Codec, R: DeserializeOwned>(
        &self,
        limits: DecodeLimits,
    ) -> Result<R, DecodeFailure> {
        match self {
            Incoming::Value(delivered) => delivered.decode::<C, R>(limits),
            Incoming::Raised(_) => Err(CallError::BadReply(
                "the peer raised an error from a method that declares none".to_owned(),
            )
            .into()),
            Incoming::Failed(failure) => Err(CallError::from(failure.clone()).into()),
        }
    }

    /// The outer `Result` fails to decode; the inner one is the call's outcome.
    #[allow(clippy::type_complexity)]
    fn result_within<C: Codec, T: DeserializeOwned, E: DeserializeOwned>(
        &self,
        limits: DecodeLimits,
    ) -> Result<Result<T, RemoteError<E>>, DecodeFailure> {
        match self {
            Incoming::Value(delivered) => Ok(Ok(delivered.decode::<C, T>(limits)?)),
            Incoming::Raised(delivered) => {
                Ok(Err(RemoteError::Method(delivered.decode::<C, E>(limits)?)))
            }
            Incoming::Failed(failure) => Ok(Err(RemoteError::Call(failure.clone().into()))),
        }
    }
}

/// Removes a call from the pending table if its caller stops waiting.
struct PendingGuard<'a> {
    shared: &'a Shared,
    call: u64,
    armed: bool,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let waiting = self.shared.pending.lock().take(self.call);
        if waiting.is_some() {
            // The reply has not come: tell the peer it may stop running the call.
            self.shared
                .send_header(&Message::Cancel { call: self.call });
        }
    }
}

impl Shared {
    /// Sends a call to the peer's object `target` and waits for the reply, at most `timeout`.
    pub(crate) async fn call<C: Codec, A: Serialize>(
        self: &Arc<Self>,
        target: u64,
        method: &'static str,
        args: &A,
        timeout: Option<Duration>,
    ) -> Result<Incoming, CallError> {
        if self.is_closed() {
            return Err(CallError::ConnectionLost);
        }
        let call = self.next_call.fetch_add(1, Ordering::Relaxed);
        let (builder, exported) =
            scope::encode_payload::<C, A>(self, None, args).map_err(|error| match error {
                scope::EncodeError::Ref(error) => error.into_call_error(true),
                scope::EncodeError::Codec(error) => CallError::Encode(error.to_string()),
            })?;
        let ids = IdList::encode(&exported);
        let frame = builder
            .finish(&Message::Call {
                call,
                target,
                method,
                exports: IdList::from_encoded(&ids),
            })
            .map_err(|error| {
                scope::rollback(self, &exported);
                CallError::Encode(error.to_string())
            })?;
        if frame.len() > self.config.max_frame_size {
            scope::rollback(self, &exported);
            return Err(CallError::MessageTooLarge {
                size: frame.len(),
                limit: self.config.max_frame_size,
            });
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        {
            let mut pending = self.pending.lock();
            if pending.closed {
                drop(pending);
                scope::rollback(self, &exported);
                return Err(CallError::ConnectionLost);
            }
            pending.calls.insert(call, reply_tx);
        }
        let mut guard = PendingGuard {
            shared: self,
            call,
            armed: true,
        };
        tracing::trace!(parent: &self.span, call, target, method, "call sent");
        self.send(frame);
        let reply = match timeout {
            None => reply_rx.await.map_err(|_| CallError::ConnectionLost),
            Some(limit) => match tokio::time::timeout(limit, reply_rx).await {
                Ok(reply) => reply.map_err(|_| CallError::ConnectionLost),
                Err(_) => return Err(CallError::TimedOut),
            },
        };
        guard.armed = false;
        reply
    }
}
