//! Provides how a method's return value crosses the wire: by value (serde) or by reference (a
//! referenceable object, returned as `T` or `Arc<T>`, arrives as `Remote<T>`).

use super::local::Local;
use super::remote::Remote;
use crate::dispatch::Referenceable;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Marks [`Returns`] for serde values.
#[derive(Debug)]
pub enum ByValue {}
/// Marks [`Returns`] for referenceable objects returned by value.
#[derive(Debug)]
pub enum ByReference {}
/// Marks [`Returns`] for referenceable objects returned as `Arc<T>`.
#[derive(Debug)]
pub enum BySharedReference {}

/// How a returned value of type `Self` crosses the wire; `M` is a marker the compiler infers.
///
/// Generated proxies name the type the caller receives as `<R as Returns<M>>::Peer`: `R` itself
/// for serde types, `Remote<T>` for a referenceable `T` or `Arc<T>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the wire",
    note = "a value crosses the wire if it implements serde's `Serialize` and `Deserialize`, or if it is a `#[referenceable]` object (then the caller receives a `Remote<{Self}>`)"
)]
pub trait Returns<M>: Send + 'static {
    /// What the caller receives.
    type Peer: DeserializeOwned + Send + 'static;
    /// What is serialized.
    type Wire: Serialize;
    /// Converts the value into what is serialized.
    fn into_wire(self) -> Self::Wire;
}

impl<T: Serialize + DeserializeOwned + Send + 'static> Returns<ByValue> for T {
    type Peer = T;
    type Wire = T;
    fn into_wire(self) -> T {
        self
    }
}

impl<T: Referenceable> Returns<ByReference> for T {
    type Peer = Remote<T::Interface>;
    type Wire = Local<T>;
    fn into_wire(self) -> Local<T> {
        Local::new(self)
    }
}

impl<T: Referenceable> Returns<BySharedReference> for Arc<T> {
    type Peer = Remote<T::Interface>;
    type Wire = Local<T>;
    fn into_wire(self) -> Local<T> {
        Local::from_arc(self)
    }
}

/// Converts a returned value to what crosses the wire. Used by generated code.
pub fn into_wire<M, R: Returns<M>>(value: R) -> R::Wire {
    value.into_wire()
}
