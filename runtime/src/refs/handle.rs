//! Provides `RemoteRef`, the untyped handle to one of the peer's objects that every typed
//! proxy wraps, and the `Proxy` trait the generated proxies implement. Calls through a handle
//! are made in `connection/outgoing.rs`.

use super::error::{RefError, RefTag};
use super::scope;
use crate::link::shared::RemoteInner;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Implemented by the proxies `#[referenceable]` generates; not meant to be implemented by hand.
pub trait Proxy: Clone + Send + Sync + 'static {
    /// Wraps an untyped reference.
    fn from_remote_ref(reference: RemoteRef) -> Self;
    /// The untyped reference this proxy calls through.
    fn remote_ref(&self) -> &RemoteRef;
}

/// The untyped reference inside every proxy. It has no public constructor: only the runtime
/// makes one, when a reference arrives on a connection.
#[derive(Clone)]
pub struct RemoteRef {
    pub(crate) inner: Arc<RemoteInner>,
    /// How long calls through this handle wait, if set by `Remote::with_timeout`.
    pub(crate) timeout: Option<Option<Duration>>,
}

impl fmt::Debug for RemoteRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteRef")
            .field("id", &self.inner.id)
            .field("connection", &self.inner.shared.id)
            .finish()
    }
}

impl RemoteRef {
    /// The reference every clone of `inner` shares. (Not named `new`: nothing outside the
    /// runtime may make one.)
    pub(crate) fn from_inner(inner: Arc<RemoteInner>) -> Self {
        RemoteRef {
            inner,
            timeout: None,
        }
    }

    /// How long a call of a method with `method_timeout` waits: this handle's timeout, else
    /// the method's, else the connection's.
    pub(crate) fn timeout(&self, method_timeout: MethodTimeout) -> Option<Duration> {
        self.timeout
            .or(method_timeout.0)
            .unwrap_or(self.inner.shared.config.call_timeout)
    }
}

/// A method's own call timeout, from `#[tartine(timeout = "..")]`. Used by generated code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodTimeout(Option<Option<Duration>>);

impl MethodTimeout {
    /// The method sets none: [`Config::call_timeout`](crate::Config::call_timeout) applies.
    pub const DEFAULT: MethodTimeout = MethodTimeout(None);
    /// The method's calls wait for ever.
    pub const NEVER: MethodTimeout = MethodTimeout(Some(None));

    /// The method's calls wait at most `millis` milliseconds.
    pub const fn millis(millis: u64) -> Self {
        MethodTimeout(Some(Some(Duration::from_millis(millis))))
    }
}

/// Serializes a handle to the peer's object: it goes back to its owner, by the owner's id.
pub(crate) fn serialize_back<S: Serializer>(
    reference: &RemoteRef,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let id = scope::send_back(&reference.inner).map_err(S::Error::custom)?;
    RefTag::Receiver(id).serialize(serializer)
}

/// Deserializes a handle to one of the sender's objects.
pub(crate) fn deserialize_handed<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<RemoteRef, D::Error> {
    match RefTag::deserialize(deserializer)? {
        RefTag::Sender(id) => scope::import(id)
            .map(RemoteRef::from_inner)
            .map_err(D::Error::custom),
        RefTag::Receiver(_) => Err(D::Error::custom(scope::refuse(RefError::WrongDirection {
            expected: "sender",
        }))),
    }
}

/// A reference to one of the peer's objects whose type is checked later (a login's avatar, a
/// realm's mind).
pub(crate) struct AnyRemote(pub(crate) RemoteRef);

impl Serialize for AnyRemote {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_back(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for AnyRemote {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_handed(deserializer).map(AnyRemote)
    }
}
