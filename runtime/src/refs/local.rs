//! Provides `Local<T>`, a shared handle to one of our own referenceable objects, which crosses
//! the wire by reference.

use super::error::{RefError, RefTag};
use super::scope;
use crate::dispatch::{Referenceable, interface_name};
use crate::link::shared::Object;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// One of our own referenceable objects, shared, that crosses the wire by reference.
///
/// Sent to the peer, it arrives as a `Remote<T>` (the object is exported to that connection,
/// under one id however often it is sent). As a method parameter, `Local<T>` accepts a
/// reference the caller got from us and hands back: it resolves to the original object, and a
/// reference to an object of another type, of another connection, or unknown is refused with
/// a typed error before the method runs.
///
/// The type names any `T`, so that a signature naming a `Local` of a type that is not
/// referenceable is one error, where the generated code decodes it; everything a `Local` does
/// needs `T: Referenceable`.
pub struct Local<T> {
    object: Arc<T>,
}

impl<T: Referenceable> Local<T> {
    /// Wraps a new object.
    pub fn new(object: T) -> Self {
        Local {
            object: Arc::new(object),
        }
    }

    /// Wraps an object already shared.
    pub fn from_arc(object: Arc<T>) -> Self {
        Local { object }
    }

    /// The shared object.
    pub fn as_arc(&self) -> &Arc<T> {
        &self.object
    }

    /// Unwraps the shared object.
    pub fn into_arc(self) -> Arc<T> {
        self.object
    }

    /// Whether `self` and `other` are the same object.
    pub fn ptr_eq(&self, other: &Local<T>) -> bool {
        Arc::ptr_eq(&self.object, &other.object)
    }
}

impl<T: Referenceable> From<T> for Local<T> {
    fn from(object: T) -> Self {
        Local::new(object)
    }
}

impl<T: Referenceable> From<Arc<T>> for Local<T> {
    fn from(object: Arc<T>) -> Self {
        Local::from_arc(object)
    }
}

impl<T: Referenceable> Deref for Local<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.object
    }
}

impl<T: Referenceable> Clone for Local<T> {
    fn clone(&self) -> Self {
        Local {
            object: Arc::clone(&self.object),
        }
    }
}

impl<T: Referenceable + fmt::Debug> fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Local").field(&self.object).finish()
    }
}

impl<T: Referenceable> Serialize for Local<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let object: Arc<dyn Object> = Arc::clone(&self.object) as Arc<dyn Object>;
        let id = scope::export(object).map_err(S::Error::custom)?;
        RefTag::Sender(id).serialize(serializer)
    }
}

mod sealed {
    /// Implemented by nothing.
    pub trait Never {}
}

/// Never implemented: it is the bound of `Local<T>`'s `Deserialize`, so that a `Local` in a
/// value of your own fails to compile with this message.
#[diagnostic::on_unimplemented(
    message = "a `Local<{Self}>` cannot be decoded inside a value: on the other side it is the peer's `Remote`",
    label = "hold a `Ref` here",
    note = "in a type both sides decode, hold `tartine::Ref<I>` (`Ref<{Self}>`, or `Ref<dyn Trait>`), which is local on the side that owns the object and remote on the other; `Local<T>` is decoded only as a method's parameter"
)]
pub trait DecodedAsParameterOnly: sealed::Never {}

impl<'de, T: Referenceable + DecodedAsParameterOnly> Deserialize<'de> for Local<T> {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(D::Error::custom("a `Local` is decoded as a parameter only"))
    }
}

/// A `Local<T>` as a parameter receives it: one of our objects the peer hands back, checked to
/// be a `T`. `Local<T>` itself has no `Deserialize`: a `Local` inside a value of your own would
/// be the peer's `Remote` on the other side, so that fails to compile; hold a
/// [`Ref`](crate::Ref) there. Used by generated code, for parameters that spell `Local<T>`
/// (alone, or in `Vec`, `Option`, `Box`, tuples and arrays).
#[doc(hidden)]
pub struct HandedBack<T>(Local<T>);

impl<T> fmt::Debug for HandedBack<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandedBack")
    }
}

impl<T> From<HandedBack<T>> for Local<T> {
    fn from(handed: HandedBack<T>) -> Self {
        handed.0
    }
}

impl<'de, T: Referenceable> Deserialize<'de> for HandedBack<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match RefTag::deserialize(deserializer)? {
            RefTag::Receiver(id) => {
                let interface = interface_name::<T>();
                let object = scope::resolve(id, interface).map_err(D::Error::custom)?;
                // The interface matched; another type may implement it too.
                object
                    .into_any()
                    .downcast::<T>()
                    .map(|object| HandedBack(Local::from_arc(object)))
                    .map_err(|_| {
                        D::Error::custom(scope::refuse(RefError::WrongType {
                            expected: std::any::type_name::<T>().to_owned(),
                            found: format!("another implementation of {interface}"),
                        }))
                    })
            }
            RefTag::Sender(_) => Err(D::Error::custom(scope::refuse(RefError::WrongDirection {
                expected: "receiver",
            }))),
        }
    }
}
