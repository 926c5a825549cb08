//! Used by code that `#[referenceable]` generates. Not public API: may change in any release.

pub use crate::codec::{Codec, CodecError, DecodeLimits, Postcard};
pub use crate::dispatch::{CallContext, decode_args, perspective, reply_result, reply_value};
pub use crate::interface::{AvatarInterface, Interface};
pub use crate::refs::handle::{MethodTimeout, Proxy, RemoteRef};
pub use crate::refs::transfer::{ByReference, BySharedReference, ByValue, Returns, into_wire};
pub use crate::reply::{DispatchError, Reply, ReplyFuture, Started};
pub use serde;
pub use std::boxed::Box;
pub use std::sync::Arc;

/// Implemented by every type a method may take as an argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the wire as an argument",
    note = "derive serde's `Serialize` and `Deserialize` for it, or take a reference to an object: `Local<T>` for one of yours handed back, `Remote<T>` for one of the caller's"
)]
pub trait Argument: serde::de::DeserializeOwned + Send + 'static {}

impl<T: serde::de::DeserializeOwned + Send + 'static> Argument for T {}

/// Fails to compile unless `T` can be an argument: generated for each parameter, at its type.
pub fn assert_argument<T: Argument>() {}

/// Fails to compile unless `A` is an avatar: generated for the avatar parameter of viewables.
pub fn assert_avatar<A: crate::dispatch::Avatar>() {}
