//! Provides `Ref<I>`, a reference to an object of interface `I` that reads the same on both
//! sides: local on the side that owns the object, remote on the other. It is what the types of
//! a protocol crate hold, since they are compiled into both the server and the client.

use super::error::RefTag;
use super::handle::{RemoteRef, serialize_back};
use super::local::Local;
use super::remote::Remote;
use super::scope;
use crate::dispatch::Referenceable;
use crate::interface::Interface;
use crate::link::shared::Object;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// A reference to an object of interface `I` (a type, or `dyn Trait`), wherever the object
/// lives: one of ours ([`Ref::is_local`]) or one of the peer's ([`Ref::as_remote`]).
///
/// Sent to the peer, our object is exported and arrives as the peer's remote reference; the
/// peer's object goes back to it and arrives as its own. So one type serves a message that
/// travels both ways, such as an enum of a protocol crate holding references:
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tartine::Ref;
///
/// #[tartine::referenceable]
/// pub trait Game {
///     fn name(&self) -> String;
/// }
///
/// #[derive(Serialize, Deserialize)]
/// pub enum Seat {
///     Playing(Ref<dyn Game>),
///     Watching(Ref<dyn Game>),
/// }
/// ```
///
/// A reference that comes back to its owner is checked against `I` before the method runs: a
/// reference to an object of another interface is refused with
/// [`CallError::WrongReferenceType`](crate::CallError::WrongReferenceType).
pub struct Ref<I: Interface + ?Sized> {
    side: Side<I>,
}

enum Side<I: Interface + ?Sized> {
    Local(Arc<dyn Object>),
    Remote(Remote<I>),
}

impl<I: Interface + ?Sized> Ref<I> {
    /// A reference to a new object of ours.
    pub fn new<T: Referenceable<Interface = I>>(object: T) -> Self {
        Ref::from_arc(Arc::new(object))
    }

    /// A reference to an object of ours already shared.
    pub fn from_arc<T: Referenceable<Interface = I>>(object: Arc<T>) -> Self {
        Ref {
            side: Side::Local(object),
        }
    }

    /// Whether the object is ours.
    pub fn is_local(&self) -> bool {
        matches!(self.side, Side::Local(_))
    }

    /// Our object, if it is ours and a `T`.
    pub fn downcast<T: Referenceable<Interface = I>>(&self) -> Option<Arc<T>> {
        match &self.side {
            Side::Local(object) => Arc::clone(object).into_any().downcast::<T>().ok(),
            Side::Remote(_) => None,
        }
    }

    /// The peer's object, if it is the peer's.
    pub fn as_remote(&self) -> Option<&Remote<I>> {
        match &self.side {
            Side::Remote(remote) => Some(remote),
            Side::Local(_) => None,
        }
    }

    /// The peer's object, if it is the peer's; else gives `self` back.
    ///
    /// # Errors
    /// `self`, when the object is ours.
    pub fn into_remote(self) -> Result<Remote<I>, Self> {
        match self.side {
            Side::Remote(remote) => Ok(remote),
            side @ Side::Local(_) => Err(Ref { side }),
        }
    }
}

impl<I: Interface + ?Sized> From<Remote<I>> for Ref<I> {
    fn from(remote: Remote<I>) -> Self {
        Ref {
            side: Side::Remote(remote),
        }
    }
}

impl<I: Interface + ?Sized> From<&Remote<I>> for Ref<I> {
    fn from(remote: &Remote<I>) -> Self {
        Ref::from(remote.clone())
    }
}

impl<I: Interface + ?Sized, T: Referenceable<Interface = I>> From<Local<T>> for Ref<I> {
    fn from(local: Local<T>) -> Self {
        Ref::from_arc(local.into_arc())
    }
}

impl<I: Interface + ?Sized> Clone for Ref<I> {
    fn clone(&self) -> Self {
        Ref {
            side: match &self.side {
                Side::Local(object) => Side::Local(Arc::clone(object)),
                Side::Remote(remote) => Side::Remote(remote.clone()),
            },
        }
    }
}

impl<I: Interface + ?Sized> fmt::Debug for Ref<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.side {
            Side::Local(_) => f.debug_tuple("Ref::Local").field(&I::NAME).finish(),
            Side::Remote(remote) => f.debug_tuple("Ref::Remote").field(remote).finish(),
        }
    }
}

impl<I: Interface + ?Sized> Serialize for Ref<I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.side {
            Side::Local(object) => {
                let id = scope::export(Arc::clone(object)).map_err(S::Error::custom)?;
                RefTag::Sender(id).serialize(serializer)
            }
            Side::Remote(remote) => serialize_back(remote.reference(), serializer),
        }
    }
}

impl<'de, I: Interface + ?Sized> Deserialize<'de> for Ref<I> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match RefTag::deserialize(deserializer)? {
            RefTag::Sender(id) => scope::import(id)
                .map(|inner| Ref::from(Remote::from_ref(RemoteRef::from_inner(inner))))
                .map_err(D::Error::custom),
            RefTag::Receiver(id) => scope::resolve(id, I::NAME)
                .map(|object| Ref {
                    side: Side::Local(object),
                })
                .map_err(D::Error::custom),
        }
    }
}
