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

/// Stands for a method the server keeps to itself, in the bound of its stand-in on the proxy.
#[derive(Debug)]
pub enum PrivateMethod {}

/// Never implemented: a call of a method the server keeps to itself fails to compile, at the
/// call, with this message.
#[diagnostic::on_unimplemented(
    message = "this method is not exposed to peers, so a `Remote` cannot call it",
    label = "not exposed",
    note = "peers call the `pub` methods of a `#[referenceable]` `impl` block (without `#[tartine(skip)]`), or the methods of an interface trait: make it one of those to call it remotely"
)]
pub trait Exposed {}

/// What calling a method the server keeps to itself would return: nothing can.
#[derive(Debug)]
pub enum Never {}

/// The call of a method the server keeps to itself, which never compiles: a future of the
/// shape of a call's (so that no second error follows the first), which never resolves.
#[derive(Debug)]
pub struct NotExposedCall(Never);

impl std::future::Future for NotExposedCall {
    type Output = Result<Never, crate::CallError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.0 {}
    }
}
