//! Provides `Remote<T>`, a typed handle to an object of the peer.

use super::handle::{Proxy, RemoteRef, deserialize_handed, serialize_back};
use crate::error::CloseReason;
use crate::interface::Interface;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

/// A typed handle to an object owned by the peer of one connection, through its interface `T`
/// (a type, or `dyn Trait` for the trait of a protocol crate).
///
/// It dereferences to `T`'s generated proxy, so `remote.method(args).await` calls the method on
/// the peer. It can only be obtained from the runtime: as a connection's root, or in a call's
/// result or arguments. It is meaningful only on the connection it came from: sending it over
/// another connection fails with [`CallError::ForeignReference`](crate::CallError). Dropping
/// the last clone tells the peer it may release the object.
pub struct Remote<T: Interface + ?Sized> {
    proxy: T::Proxy,
}

impl<T: Interface + ?Sized> Remote<T> {
    pub(crate) fn from_ref(reference: RemoteRef) -> Self {
        Remote {
            proxy: <T::Proxy as Proxy>::from_remote_ref(reference),
        }
    }

    pub(crate) fn reference(&self) -> &RemoteRef {
        self.proxy.remote_ref()
    }

    /// Whether `self` and `other` designate the same object of the peer.
    pub fn same_object<U: Interface + ?Sized>(&self, other: &Remote<U>) -> bool {
        Arc::ptr_eq(&self.reference().inner, &other.reference().inner)
    }

    /// Whether the connection this reference belongs to is closed.
    pub fn is_disconnected(&self) -> bool {
        self.reference().inner.shared.is_closed()
    }

    /// Waits until the connection this reference belongs to is closed; returns why. A server
    /// holding a client's mind learns this way that the client is gone.
    pub async fn disconnected(&self) -> CloseReason {
        let shared = &self.reference().inner.shared;
        shared.lifecycle.closed().await;
        shared.lifecycle.reason().unwrap_or(CloseReason::Local)
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

impl<T: Interface + ?Sized> Deref for Remote<T> {
    type Target = T::Proxy;

    fn deref(&self) -> &T::Proxy {
        &self.proxy
    }
}

impl<T: Interface + ?Sized> Clone for Remote<T> {
    fn clone(&self) -> Self {
        Remote {
            proxy: self.proxy.clone(),
        }
    }
}

impl<T: Interface + ?Sized> fmt::Debug for Remote<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("interface", &T::NAME)
            .field("id", &self.reference().inner.id)
            .field("connection", &self.reference().inner.shared.id)
            .finish()
    }
}

mod sealed {
    /// Implemented by nothing.
    pub trait Never {}
}

/// Never implemented: it is the bound of `Remote<T>`'s `Serialize`, so that a `Remote` in a
/// value of your own fails to compile with this message.
#[diagnostic::on_unimplemented(
    message = "a `Remote<{Self}>` cannot be encoded inside a value: on the other side it is the owner's `Local`",
    label = "hold a `Ref` here",
    note = "in a type both sides encode and decode, hold `tartine::Ref<I>` (`Ref<{Self}>`, or `Ref<dyn Trait>`), which is remote on one side and local on the side that owns the object; `Remote<T>` is sent back only as a method's argument or result"
)]
pub trait EncodedAsArgumentOnly: sealed::Never {}

/// `Remote<T>` is encoded only where the generated code sees it (as [`SentBack`]); this impl
/// exists to carry the message of `EncodedAsArgumentOnly`.
impl<T: Interface + ?Sized + EncodedAsArgumentOnly> Serialize for Remote<T> {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom(
            "a `Remote` is encoded as an argument or result only",
        ))
    }
}

/// A `Remote<T>` as an argument or a result sends it: back to the peer that owns the object,
/// which receives it as its `Local<T>`. `Remote<T>` itself has no `Serialize`: inside a value
/// of your own, the peer would decode a `Remote` where it owns a `Local`, so that fails to
/// compile; hold a [`Ref`](crate::Ref) there. Used by generated code, for arguments and
/// results that spell `Remote<T>` (alone, or in `Vec`, `VecDeque`, `Option`, `Box`, tuples and
/// arrays).
#[doc(hidden)]
pub struct SentBack<T: Interface + ?Sized>(Remote<T>);

impl<T: Interface + ?Sized> SentBack<T> {
    /// Sends `remote` back.
    pub fn new(remote: Remote<T>) -> Self {
        SentBack(remote)
    }

    /// Sends a clone of `remote` back.
    pub fn of(remote: &Remote<T>) -> Self {
        SentBack(remote.clone())
    }
}

impl<T: Interface + ?Sized> fmt::Debug for SentBack<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SentBack").field(&self.0).finish()
    }
}

impl<T: Interface + ?Sized> Serialize for SentBack<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_back(self.0.reference(), serializer)
    }
}

impl<'de, T: Interface + ?Sized> Deserialize<'de> for Remote<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_handed(deserializer).map(Remote::from_ref)
    }
}
