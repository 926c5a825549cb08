//! Provides `Remote<T>`, a typed handle to an object of the peer.

use super::handle::{Proxy, RemoteRef, deserialize_handed, serialize_back};
use crate::interface::Interface;
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

impl<T: Interface + ?Sized> Serialize for Remote<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_back(self.reference(), serializer)
    }
}

impl<'de, T: Interface + ?Sized> Deserialize<'de> for Remote<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_handed(deserializer).map(Remote::from_ref)
    }
}
