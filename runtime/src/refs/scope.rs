//! Provides the per-message scope through which `Remote<T>` and `Local<T>` reach the tables of
//! the connection a payload is encoded for or decoded from, and the two entry points that open
//! it: [`encode`] and [`decode`].
//!
//! serde gives (de)serializers no room for context, so the scope is a thread-local stack, set
//! for the duration of one synchronous encode or decode. For the same reason a reference that
//! is refused can only fail its (de)serialization with a text error (and postcard drops even
//! the text), so the scope keeps the first typed refusal beside what the payload exported, and
//! [`encode`] and [`decode`] return it as their error. Nothing else reads it.
//!
//! Most payloads hold no reference at all (numbers, strings, small structs), and a scope costs
//! three reference-count round trips. So a small payload is first encoded or decoded *light*:
//! with no scope, only a flag that records whether anything reached for one. If something did
//! (a reference), the work is redone with a full scope; if nothing did, the result stands as it
//! is. Both ways give the same value; a byte string decoded light is copied rather than shared
//! with the frame.

use super::error::{DecodeError, EncodeError, RefError};
use super::table::Exported;
use crate::codec::{Codec, CodecError, DecodeLimits};
use crate::link::shared::{Object, RemoteInner, Shared};
use crate::perspective::Perspective;
use crate::reply::Held;
use crate::wire::FrameBuilder;
use bytes::Bytes;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

struct Scope {
    shared: Arc<Shared>,
    /// The perspective our exports are handed out through.
    perspective: Option<Arc<Perspective>>,
    /// The frame being decoded, so byte payloads can share its memory.
    frame: Option<Bytes>,
    exported: Vec<u64>,
    /// The peer's objects the payload sends back to it: held until the frame is queued, so
    /// that dropping the value they came from cannot release them before the peer reads it.
    held: Vec<Held>,
    /// Boxed: rare, and the scope is moved on every message.
    refusal: Option<Box<RefError>>,
}

thread_local! {
    static SCOPES: RefCell<Vec<Scope>> = const { RefCell::new(Vec::new()) };
    /// Whether a light run is on, and whether something reached for a scope during it.
    static LIGHT: Cell<Light> = const { Cell::new(Light::Off) };
}

/// The state of this thread's light run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Light {
    /// None: the stack of scopes answers.
    Off,
    /// A light run, and nothing reached for a scope yet.
    On,
    /// A light run, and something reached for a scope: its outcome is void.
    Wanted,
}

/// Payloads up to this size are first decoded light; a byte string decoded light is copied,
/// not shared with the frame, which is cheaper at this size.
const LIGHT_DECODE_MAX: usize = 512;

/// Puts back the light state a run replaced, also when the run unwinds.
struct RestoreLight(Light);

impl Drop for RestoreLight {
    fn drop(&mut self) {
        LIGHT.set(self.0);
    }
}

/// Runs `f` light: with no scope, recording whether anything reached for one. Returns `f`'s
/// value, or `None` if something did (then the work must be redone in a full scope).
fn run_light<R>(f: impl FnOnce() -> R) -> Option<R> {
    let restore = RestoreLight(LIGHT.replace(Light::On));
    let value = f();
    let wanted = LIGHT.get() == Light::Wanted;
    drop(restore);
    (!wanted).then_some(value)
}

/// Whether a light run is on; if so, records that a scope was wanted.
fn wanted_in_light_run() -> bool {
    match LIGHT.get() {
        Light::Off => false,
        Light::On | Light::Wanted => {
            LIGHT.set(Light::Wanted);
            true
        }
    }
}

/// Pops the scope if `run` ends by unwinding, and takes back what it exported.
struct PopOnUnwind;

impl Drop for PopOnUnwind {
    fn drop(&mut self) {
        if let Some(scope) = SCOPES.with_borrow_mut(Vec::pop) {
            scope.shared.rollback(&scope.exported);
        }
    }
}

/// What a scope saw: the ids of our objects the payload hands over, and the first refusal.
struct Seen {
    exported: Vec<u64>,
    held: Vec<Held>,
    refusal: Option<Box<RefError>>,
}

fn run<R>(
    shared: &Arc<Shared>,
    perspective: Option<&Arc<Perspective>>,
    frame: Option<&Bytes>,
    f: impl FnOnce() -> R,
) -> (R, Seen) {
    // A full scope inside a light run (a payload encoded while another is) answers itself.
    let _light = RestoreLight(LIGHT.replace(Light::Off));
    SCOPES.with_borrow_mut(|scopes| {
        scopes.push(Scope {
            shared: Arc::clone(shared),
            perspective: perspective.cloned(),
            frame: frame.cloned(),
            exported: Vec::new(),
            held: Vec::new(),
            refusal: None,
        });
    });
    let unwinding = PopOnUnwind;
    let value = f();
    std::mem::forget(unwinding);
    let seen = match SCOPES.with_borrow_mut(Vec::pop) {
        Some(scope) => Seen {
            exported: scope.exported,
            held: scope.held,
            refusal: scope.refusal,
        },
        None => Seen {
            exported: Vec::new(),
            held: Vec::new(),
            refusal: Some(Box::new(RefError::NoScope)),
        },
    };
    (value, seen)
}

/// Encodes `value` as the payload of a new frame for `shared`, exporting our objects in it
/// through `perspective`; returns the frame and the ids it hands over. On failure, what it
/// exported is taken back.
pub(crate) fn encode<C: Codec, T: serde::Serialize + ?Sized>(
    shared: &Arc<Shared>,
    perspective: Option<&Arc<Perspective>>,
    value: &T,
) -> Result<(FrameBuilder, Vec<u64>, Vec<Held>), EncodeError> {
    encode_with(shared, perspective, |out| C::encode(value, out))
}

/// As [`encode`], with `encode` appending the payload (a call's arguments, one after another).
/// Also returns the peer's objects the payload sends back, to keep until the frame is queued.
pub(crate) fn encode_with(
    shared: &Arc<Shared>,
    perspective: Option<&Arc<Perspective>>,
    mut encode: impl FnMut(&mut bytes::BytesMut) -> Result<(), CodecError>,
) -> Result<(FrameBuilder, Vec<u64>, Vec<Held>), EncodeError> {
    let mut frame = FrameBuilder::new();
    if let Some(encoded) = run_light(|| frame.encode(&mut encode)) {
        return match encoded {
            Ok(()) => Ok((frame, Vec::new(), Vec::new())),
            Err(error) => Err(EncodeError::Codec(error)),
        };
    }
    frame.clear_payload();
    let (encoded, seen) = run(shared, perspective, None, || frame.encode(&mut encode));
    let error = match (seen.refusal, encoded) {
        (None, Ok(())) => return Ok((frame, seen.exported, seen.held)),
        (Some(refusal), _) => EncodeError::Refused(*refusal),
        (None, Err(error)) => EncodeError::Codec(error),
    };
    shared.rollback(&seen.exported);
    Err(error)
}

/// Decodes `payload`, which lies in `frame`, as a `T` received on `shared`, within `limits`.
pub(crate) fn decode<C: Codec, T: serde::de::DeserializeOwned>(
    shared: &Arc<Shared>,
    frame: &Bytes,
    payload: &[u8],
    limits: DecodeLimits,
) -> Result<T, DecodeError> {
    if payload.len() <= LIGHT_DECODE_MAX
        && let Some(decoded) = run_light(|| C::decode::<T>(payload, limits))
    {
        return decoded.map_err(DecodeError::Codec);
    }
    let (decoded, seen) = run(shared, None, Some(frame), || {
        C::decode::<T>(payload, limits)
    });
    match (seen.refusal, decoded) {
        (None, Ok(value)) => Ok(value),
        (Some(refusal), _) => Err(DecodeError::Refused(*refusal)),
        (None, Err(error)) => Err(DecodeError::Codec(error)),
    }
}

/// Decodes, with `f`, the values that follow one another in `payload` (a call's arguments),
/// which lies in `frame`, received on `shared`, within `limits` for them all.
pub(crate) fn decode_each<C: Codec, R>(
    shared: &Arc<Shared>,
    frame: &Bytes,
    payload: &[u8],
    limits: DecodeLimits,
    mut f: impl FnMut(&mut C::Reader<'_>) -> Result<R, CodecError>,
) -> Result<R, DecodeError> {
    if payload.len() <= LIGHT_DECODE_MAX
        && let Some(decoded) = run_light(|| C::decode_each(payload, limits, &mut f))
    {
        return decoded.map_err(DecodeError::Codec);
    }
    let (decoded, seen) = run(shared, None, Some(frame), || {
        C::decode_each(payload, limits, f)
    });
    match (seen.refusal, decoded) {
        (None, Ok(value)) => Ok(value),
        (Some(refusal), _) => Err(DecodeError::Refused(*refusal)),
        (None, Err(error)) => Err(DecodeError::Codec(error)),
    }
}

/// Runs `f` on the innermost scope; a refusal it returns is kept as the payload's (the first
/// one only).
fn with_scope<R>(f: impl FnOnce(&mut Scope) -> Result<R, RefError>) -> Result<R, RefError> {
    if wanted_in_light_run() {
        return Err(RefError::NoScope);
    }
    SCOPES.with_borrow_mut(|scopes| match scopes.last_mut() {
        None => Err(RefError::NoScope),
        Some(scope) => {
            let result = f(scope);
            if let Err(error) = &result
                && scope.refusal.is_none()
            {
                scope.refusal = Some(Box::new(error.clone()));
            }
            result
        }
    })
}

/// Exports `object` to the scope's connection, through the scope's perspective; returns its id.
pub(crate) fn export(object: Arc<dyn Object>) -> Result<u64, RefError> {
    with_scope(|scope| {
        let perspective = scope.perspective.clone();
        let mut exports = scope.shared.tables.exports.lock();
        let key = object.interface_key();
        if !exports.has_claimed(key.id) {
            // Once per interface and connection: the names are the server's, shared.
            scope.shared.interfaces.claim(object.interface(), key)?;
            exports.remember_claim(key.id);
        }
        let id = exports.export(object, perspective)?;
        drop(exports);
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

/// Resolves our export `id`, checking its interface is `interface`.
pub(crate) fn resolve(id: u64, interface: &'static str) -> Result<Arc<dyn Object>, RefError> {
    with_scope(|scope| {
        let exports = scope.shared.tables.exports.lock();
        let object = exports.get(id).ok_or(RefError::NoSuchObject)?;
        if object.interface() != interface {
            return Err(RefError::WrongType {
                expected: interface.to_owned(),
                found: object.interface().to_owned(),
            });
        }
        Ok(Arc::clone(object))
    })
}

/// Our export `id`, whatever its type, with its perspective; `None` if the table does not
/// hold it (which is no refusal: the caller decides).
pub(crate) fn find_exported(id: u64) -> Result<Option<Exported<dyn Object>>, RefError> {
    with_scope(|scope| Ok(scope.shared.tables.exports.lock().exported(id)))
}

/// The id under which `remote` may be sent back to its owner on the scope's connection.
pub(crate) fn send_back(remote: &Arc<RemoteInner>) -> Result<u64, RefError> {
    with_scope(|scope| {
        if Arc::ptr_eq(&scope.shared, &remote.shared) {
            scope.held.push(Arc::clone(remote) as Held);
            Ok(remote.id)
        } else {
            Err(RefError::Foreign)
        }
    })
}

/// What every handle to the peer's object `id` shares; the message being decoded announced it.
pub(crate) fn import(id: u64) -> Result<Arc<RemoteInner>, RefError> {
    with_scope(|scope| {
        let shared = &scope.shared;
        shared
            .tables
            .imports
            .lock()
            .attach(id, || RemoteInner::new(id, Arc::clone(shared)))
    })
}

/// Refuses a reference for `refusal` (it points the wrong way, say); returns the refusal.
pub(crate) fn refuse(refusal: RefError) -> RefError {
    let _ = with_scope(|_| Err::<(), _>(refusal.clone()));
    refusal
}

/// `data` as a slice of the frame being decoded, if it lies within it, with the frame's length.
pub(crate) fn frame_slice(data: &[u8]) -> Option<(Bytes, usize)> {
    if LIGHT.get() != Light::Off {
        // Light runs are for small payloads: the bytes are copied.
        return None;
    }
    SCOPES.with_borrow(|scopes| {
        let frame = scopes.last()?.frame.as_ref()?;
        let start = (data.as_ptr() as usize).checked_sub(frame.as_ptr() as usize)?;
        let end = start.checked_add(data.len())?;
        (end <= frame.len()).then(|| (frame.slice(start..end), frame.len()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_light_run_that_reaches_for_no_scope_stands() {
        assert_eq!(run_light(|| 7), Some(7));
        assert_eq!(LIGHT.get(), Light::Off, "the state is put back");
    }

    #[test]
    fn a_light_run_that_reaches_for_a_scope_is_void() {
        let outcome = run_light(|| hand_over(5));
        assert!(outcome.is_none(), "to be redone in a full scope");
        assert_eq!(LIGHT.get(), Light::Off);
        // Outside any run, no scope is no scope: an error, and no light state left behind.
        assert!(matches!(hand_over(5), Err(RefError::NoScope)));
        assert_eq!(LIGHT.get(), Light::Off);
    }

    #[test]
    fn byte_strings_decoded_light_are_copies() {
        let frame = Bytes::from_static(b"payload");
        assert_eq!(run_light(|| frame_slice(&frame[..3])), Some(None));
    }

    #[test]
    fn a_light_run_that_unwinds_puts_the_state_back() {
        let unwound = std::panic::catch_unwind(|| run_light(|| panic!("in the payload")));
        assert!(unwound.is_err());
        assert_eq!(LIGHT.get(), Light::Off);
    }
}
