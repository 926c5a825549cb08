//! Provides `Remote<T>`, a handle to an object of the peer, and the untyped `RemoteRef` its
//! generated proxy calls through.

use super::{RefError, RefTag, scope};
use crate::codec::Codec;
use crate::connection::{KeepAlive, Shared};
use crate::dispatch::Referenceable;
use crate::error::{CallError, RemoteError};
use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

/// A typed handle to an object owned by the peer of one connection.
///
/// It dereferences to `T`'s generated proxy, so `remote.method(args).await` calls the method on
/// the peer. It can only be obtained from the runtime: as a connection's root, or in a call's
/// result or arguments. It is meaningful only on the connection it came from: sending it over
/// another connection fails with [`CallError::ForeignReference`]. Dropping the last clone tells
/// the peer it may release the object.
pub struct Remote<T: Referenceable> {
    proxy: T::Proxy,
}

impl<T: Referenceable> Remote<T> {
    pub(crate) fn from_ref(reference: RemoteRef) -> Self {
        Remote {
            proxy: <T::Proxy as Proxy>::from_remote_ref(reference),
        }
    }

    fn reference(&self) -> &RemoteRef {
        self.proxy.remote_ref()
    }

    /// Whether `self` and `other` designate the same object of the peer.
    pub fn same_object<U: Referenceable>(&self, other: &Remote<U>) -> bool {
        Arc::ptr_eq(&self.reference().inner, &other.reference().inner)
    }

    /// Whether the connection this reference belongs to is closed.
    pub fn is_disconnected(&self) -> bool {
        self.reference().inner.shared.is_closed()
    }

    /// A handle to the same object whose calls wait at most `timeout` for their reply (`None`:
    /// for ever), whatever [`Config::call_timeout`](crate::Config::call_timeout) and the
    /// method's own `#[tartine(timeout = "..")]` say.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # pub struct Archive;
    /// # #[tartine::referenceable] impl Archive { pub async fn rebuild(&self) -> u64 { 0 } }
    /// # async fn run(archive: tartine::Remote<Archive>) -> Result<(), tartine::CallError> {
    /// let patient = archive.with_timeout(Some(Duration::from_secs(600)));
    /// let entries = patient.rebuild().await?;
    /// # Ok(()) }
    /// ```
    pub fn with_timeout(&self, timeout: Option<Duration>) -> Self {
        Remote::from_ref(RemoteRef {
            inner: Arc::clone(&self.reference().inner),
            timeout: Some(timeout),
        })
    }
}

impl<T: Referenceable> Deref for Remote<T> {
    type Target = T::Proxy;

    fn deref(&self) -> &T::Proxy {
        &self.proxy
    }
}

impl<T: Referenceable> Clone for Remote<T> {
    fn clone(&self) -> Self {
        Remote {
            proxy: self.proxy.clone(),
        }
    }
}

impl<T: Referenceable> fmt::Debug for Remote<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("interface", &T::INTERFACE)
            .field("id", &self.reference().inner.id)
            .field("connection", &self.reference().inner.shared.id)
            .finish()
    }
}

impl<T: Referenceable> Serialize for Remote<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let id = scope::send_back(&self.reference().inner).map_err(S::Error::custom)?;
        RefTag::Receiver(id).serialize(serializer)
    }
}

impl<'de, T: Referenceable> Deserialize<'de> for Remote<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match RefTag::deserialize(deserializer)? {
            RefTag::Sender(id) => {
                let inner = scope::import(id).map_err(D::Error::custom)?;
                Ok(Remote::from_ref(RemoteRef::from_inner(inner)))
            }
            RefTag::Receiver(_) => Err(D::Error::custom(scope::record(RefError::WrongDirection {
                expected: "sender",
            }))),
        }
    }
}

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
    /// How long calls through this handle wait, if set by [`Remote::with_timeout`].
    timeout: Option<Option<Duration>>,
}

/// A method's own call timeout, from `#[tartine(timeout = "..")]`. Used by generated code.
#[doc(hidden)]
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

impl fmt::Debug for RemoteRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteRef")
            .field("id", &self.inner.id)
            .field("connection", &self.inner.shared.id)
            .finish()
    }
}

/// What every clone of one `Remote` shares; its drop releases the peer's object.
pub(crate) struct RemoteInner {
    pub(crate) id: u64,
    pub(crate) shared: Arc<Shared>,
    _keepalive: Option<Arc<KeepAlive>>,
}

impl RemoteInner {
    pub(crate) fn new(id: u64, shared: Arc<Shared>) -> Arc<Self> {
        let keepalive = shared.keepalive();
        Arc::new(RemoteInner {
            id,
            shared,
            _keepalive: keepalive,
        })
    }
}

impl Drop for RemoteInner {
    fn drop(&mut self) {
        let released = self.shared.imports.lock().dropped(self.id, self);
        if let Some(count) = released {
            self.shared.send_release(self.id, count);
        }
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
    fn timeout(&self, method_timeout: MethodTimeout) -> Option<Duration> {
        self.timeout
            .or(method_timeout.0)
            .unwrap_or(self.inner.shared.config.call_timeout)
    }

    /// Calls `method` with `args` on a method that returns a plain value.
    #[doc(hidden)]
    pub async fn call_value<C: Codec, A: Serialize, R: DeserializeOwned + Send + 'static>(
        &self,
        method: &'static str,
        method_timeout: MethodTimeout,
        args: &A,
    ) -> Result<R, CallError> {
        let timeout = self.timeout(method_timeout);
        let reply = self
            .inner
            .shared
            .call::<C, A>(self.inner.id, method, args, timeout)
            .await?;
        reply.into_value::<C, R>().await
    }

    /// Calls `method` with `args` on a method that returns `Result<T, E>`.
    #[doc(hidden)]
    pub async fn call_result<C, A, T, E>(
        &self,
        method: &'static str,
        method_timeout: MethodTimeout,
        args: &A,
    ) -> Result<T, RemoteError<E>>
    where
        C: Codec,
        A: Serialize,
        T: DeserializeOwned + Send + 'static,
        E: DeserializeOwned + Send + 'static,
    {
        let timeout = self.timeout(method_timeout);
        let reply = self
            .inner
            .shared
            .call::<C, A>(self.inner.id, method, args, timeout)
            .await?;
        reply.into_result::<C, T, E>().await
    }
}

/// A reference to one of the peer's objects whose type is checked later (a login's avatar, a
/// realm's mind).
pub(crate) struct AnyRemote(pub(crate) RemoteRef);

impl Serialize for AnyRemote {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let id = scope::send_back(&self.0.inner).map_err(S::Error::custom)?;
        RefTag::Receiver(id).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AnyRemote {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match RefTag::deserialize(deserializer)? {
            RefTag::Sender(id) => {
                let inner = scope::import(id).map_err(D::Error::custom)?;
                Ok(AnyRemote(RemoteRef::from_inner(inner)))
            }
            RefTag::Receiver(_) => Err(D::Error::custom(scope::record(RefError::WrongDirection {
                expected: "sender",
            }))),
        }
    }
}
