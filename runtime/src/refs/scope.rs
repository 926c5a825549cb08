//! Provides the per-message scope that lets `Remote<T>` and `Local<T>` reach the tables of the
//! connection a payload is being encoded for or decoded from.
//!
//! serde gives (de)serializers no room for context, so the runtime sets the connection in a
//! thread-local stack for the duration of one synchronous encode or decode. The scope also
//! records which of our objects the payload hands over (for the message header, and to roll
//! them back if encoding fails) and the typed reason a reference was refused.

use super::{RefError, RemoteInner};
use crate::connection::Shared;
use crate::dispatch::Object;
use crate::session::Session;
use std::cell::RefCell;
use std::sync::Arc;

struct Scope {
    shared: Arc<Shared>,
    /// The login our exports are handed out through.
    perspective: Option<Arc<Session>>,
    /// The frame being decoded, so byte payloads can share its memory.
    frame: Option<bytes::Bytes>,
    exported: Vec<u64>,
    error: Option<RefError>,
}

thread_local! {
    static SCOPES: RefCell<Vec<Scope>> = const { RefCell::new(Vec::new()) };
}

/// What a scope saw while it was open.
pub(crate) struct Outcome<R> {
    pub(crate) value: R,
    /// Ids of our objects handed over, once per occurrence.
    pub(crate) exported: Vec<u64>,
    /// Why a reference was refused, if one was.
    pub(crate) error: Option<RefError>,
}

/// Pops the scope if `run` unwinds, rolling back what it exported.
struct PopOnUnwind {
    armed: bool,
}

impl Drop for PopOnUnwind {
    fn drop(&mut self) {
        if self.armed
            && let Some(scope) = SCOPES.with_borrow_mut(Vec::pop)
        {
            rollback(&scope.shared, &scope.exported);
        }
    }
}

/// Runs `f` with `shared` as the connection for references, and `perspective` as the login our
/// exports are handed out through.
pub(crate) fn run<R>(
    shared: &Arc<Shared>,
    perspective: Option<&Arc<Session>>,
    f: impl FnOnce() -> R,
) -> Outcome<R> {
    run_decoding(shared, perspective, None, f)
}

/// Like [`run`], while decoding from `frame`: byte payloads become slices of it.
pub(crate) fn run_decoding<R>(
    shared: &Arc<Shared>,
    perspective: Option<&Arc<Session>>,
    frame: Option<&bytes::Bytes>,
    f: impl FnOnce() -> R,
) -> Outcome<R> {
    SCOPES.with_borrow_mut(|scopes| {
        scopes.push(Scope {
            shared: Arc::clone(shared),
            perspective: perspective.cloned(),
            frame: frame.cloned(),
            exported: Vec::new(),
            error: None,
        });
    });
    let mut guard = PopOnUnwind { armed: true };
    let value = f();
    guard.armed = false;
    match SCOPES.with_borrow_mut(Vec::pop) {
        Some(scope) => Outcome {
            value,
            exported: scope.exported,
            error: scope.error,
        },
        None => Outcome {
            value,
            exported: Vec::new(),
            error: Some(RefError::NoScope),
        },
    }
}

/// Why a payload could not be encoded.
pub(crate) enum EncodeError {
    /// A reference in it was refused.
    Ref(RefError),
    /// The codec failed.
    Codec(crate::codec::CodecError),
}

/// Encodes `value` as the payload of a new frame for `shared`, exporting through
/// `perspective`; returns the frame and the ids it hands over. On failure, what it exported is
/// taken back.
pub(crate) fn encode_payload<C: crate::codec::Codec, T: serde::Serialize + ?Sized>(
    shared: &Arc<Shared>,
    perspective: Option<&Arc<Session>>,
    value: &T,
) -> Result<(crate::wire::FrameBuilder, Vec<u64>), EncodeError> {
    let mut frame = crate::wire::FrameBuilder::new();
    let outcome = run(shared, perspective, || C::encode(value, frame.payload()));
    match (outcome.error, outcome.value) {
        (None, Ok(())) => Ok((frame, outcome.exported)),
        (error, value) => {
            rollback(shared, &outcome.exported);
            Err(match (error, value) {
                (Some(error), _) => EncodeError::Ref(error),
                (None, Err(error)) => EncodeError::Codec(error),
                (None, Ok(())) => EncodeError::Ref(RefError::NoScope),
            })
        }
    }
}

/// Takes back one sending of each id, after the message that carried them was not sent.
pub(crate) fn rollback(shared: &Shared, exported: &[u64]) {
    if exported.is_empty() {
        return;
    }
    let dropped: Vec<_> = {
        let mut exports = shared.exports.lock();
        exported
            .iter()
            .filter_map(|&id| exports.release(id, 1))
            .collect()
    };
    drop(dropped);
}

fn with_scope<R>(f: impl FnOnce(&mut Scope) -> Result<R, RefError>) -> Result<R, RefError> {
    SCOPES.with_borrow_mut(|scopes| match scopes.last_mut() {
        None => Err(RefError::NoScope),
        Some(scope) => {
            let result = f(scope);
            if let Err(error) = &result
                && scope.error.is_none()
            {
                scope.error = Some(error.clone());
            }
            result
        }
    })
}

/// Exports `object` to the scope's connection, through the scope's perspective; returns its id.
pub(crate) fn export(object: Arc<dyn Object>) -> Result<u64, RefError> {
    with_scope(|scope| {
        let session = scope.perspective.clone();
        let id = scope.shared.exports.lock().export(object, session)?;
        scope.exported.push(id);
        Ok(id)
    })
}

/// Records that the payload hands over our export `id`, whose sending its exporter counted
/// already (a login's avatar, exported before the reply is encoded).
pub(crate) fn hand_over(id: u64) -> Result<u64, RefError> {
    with_scope(|scope| {
        scope.exported.push(id);
        Ok(id)
    })
}

/// Resolves our export `id` to the object, checking it is a `T`.
pub(crate) fn resolve<T: crate::Referenceable>(id: u64) -> Result<Arc<T>, RefError> {
    let object = with_scope(|scope| {
        let exports = scope.shared.exports.lock();
        let object = exports.get(id).ok_or(RefError::NoSuchObject)?;
        if object.interface() != T::INTERFACE {
            return Err(RefError::WrongType {
                expected: T::INTERFACE.to_owned(),
                found: object.interface().to_owned(),
            });
        }
        Ok(Arc::clone(object))
    })?;
    let found = object.interface();
    object.into_any().downcast::<T>().map_err(|_| {
        record(RefError::WrongType {
            expected: T::INTERFACE.to_owned(),
            found: found.to_owned(),
        })
    })
}

/// The id under which `remote` may be sent back to its owner on the scope's connection.
pub(crate) fn send_back(remote: &RemoteInner) -> Result<u64, RefError> {
    with_scope(|scope| {
        if Arc::ptr_eq(&scope.shared, &remote.shared) {
            Ok(remote.id)
        } else {
            Err(RefError::Foreign)
        }
    })
}

/// The inner of a `Remote` for the peer's object `id`, announced by the message being decoded.
pub(crate) fn import(id: u64) -> Result<Arc<RemoteInner>, RefError> {
    with_scope(|scope| {
        let shared = &scope.shared;
        shared
            .imports
            .lock()
            .attach(id, || RemoteInner::new(id, Arc::clone(shared)))
    })
}

/// Records `error` as the reason the current payload failed, and returns it.
pub(crate) fn record(error: RefError) -> RefError {
    let _ = with_scope(|_| Err::<(), _>(error.clone()));
    error
}

/// `data` as a slice of the frame being decoded, if it lies within it.
pub(crate) fn frame_slice(data: &[u8]) -> Option<bytes::Bytes> {
    SCOPES.with_borrow(|scopes| {
        let frame = scopes.last()?.frame.as_ref()?;
        let start = (data.as_ptr() as usize).checked_sub(frame.as_ptr() as usize)?;
        let end = start.checked_add(data.len())?;
        (end <= frame.len()).then(|| frame.slice(start..end))
    })
}

/// Our export `id`, whatever its type, with the login it was handed out through; `None` if
/// the table does not hold it (which is not a refusal: the caller decides).
pub(crate) fn find_exported(id: u64) -> Result<Option<super::Exported>, RefError> {
    with_scope(|scope| Ok(scope.shared.exports.lock().exported(id)))
}
