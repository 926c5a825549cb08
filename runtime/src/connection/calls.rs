//! Provides outgoing calls: encoding the arguments, waiting for the matching reply, and decoding
//! it, plus the table of calls waiting for a reply.

use super::Shared;
use crate::codec::Codec;
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

impl Delivered {
    fn decode<C: Codec, T: DeserializeOwned>(&self) -> Result<T, CallError> {
        let payload = self.frame.get(self.offset..).unwrap_or_default();
        let outcome = scope::run_decoding(&self.settle.shared, None, Some(&self.frame), || {
            C::decode::<T>(payload, self.settle.shared.config.decode_limits())
        });
        if let Some(error) = outcome.error {
            return Err(error.into_call_error(false));
        }
        outcome
            .value
            .map_err(|error| CallError::BadReply(error.to_string()))
    }
}

impl Incoming {
    /// Whether decoding this reply should leave the runtime's workers: its payload is larger
    /// than [`Config::max_inline_decode`](crate::Config::max_inline_decode).
    fn is_large(&self) -> bool {
        match self {
            Incoming::Value(delivered) | Incoming::Raised(delivered) => {
                delivered.frame.len() > delivered.settle.shared.config.max_inline_decode
            }
            Incoming::Failed(_) => false,
        }
    }

    /// Decodes a plain result; a large one on the blocking pool.
    pub(crate) async fn into_value<C: Codec, R: DeserializeOwned + Send + 'static>(
        self,
    ) -> Result<R, CallError> {
        if !self.is_large() {
            return self.decode_value::<C, R>();
        }
        tokio::task::spawn_blocking(move || self.decode_value::<C, R>())
            .await
            .unwrap_or(Err(CallError::ConnectionLost))
    }

    /// Decodes a `Result`; a large one on the blocking pool.
    pub(crate) async fn into_result<C, T, E>(self) -> Result<T, RemoteError<E>>
    where
        C: Codec,
        T: DeserializeOwned + Send + 'static,
        E: DeserializeOwned + Send + 'static,
    {
        if !self.is_large() {
            return self.decode_result::<C, T, E>();
        }
        tokio::task::spawn_blocking(move || self.decode_result::<C, T, E>())
            .await
            .unwrap_or(Err(RemoteError::Call(CallError::ConnectionLost)))
    }

    pub(crate) fn decode_value<C: Codec, R: DeserializeOwned>(self) -> Result<R, CallError> {
        match self {
            Incoming::Value(delivered) => delivered.decode::<C, R>(),
            Incoming::Raised(_) => Err(CallError::BadReply(
                "the peer raised an error from a method that declares none".to_owned(),
            )),
            Incoming::Failed(failure) => Err(failure.into()),
        }
    }

    pub(crate) fn decode_result<C: Codec, T: DeserializeOwned, E: DeserializeOwned>(
        self,
    ) -> Result<T, RemoteError<E>> {
        match self {
            Incoming::Value(delivered) => Ok(delivered.decode::<C, T>()?),
            Incoming::Raised(delivered) => Err(RemoteError::Method(delivered.decode::<C, E>()?)),
            Incoming::Failed(failure) => Err(RemoteError::Call(failure.into())),
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
