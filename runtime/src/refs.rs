//! Provides references: the per-connection export and import tables (`table.rs`), the handles
//! users hold (`Remote<T>` for the peer's objects, `Local<T>` for our own, `Ref<I>` for either,
//! in the types a protocol crate shares), how a method's
//! result crosses by value or by reference (`transfer.rs`), and the per-message scope through
//! which (de)serialization reaches the tables (`scope.rs`).

pub(crate) mod error;
pub(crate) mod handle;
pub(crate) mod handover;
pub(crate) mod local;
pub(crate) mod names;
pub(crate) mod remote;
pub(crate) mod scope;
pub(crate) mod shared_ref;
pub(crate) mod table;
pub(crate) mod transfer;
