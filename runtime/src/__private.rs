//! Used by code that `#[referenceable]` generates. Not public API: may change in any release.

pub use crate::codec::{Codec, Postcard};
pub use crate::dispatch::{CallContext, DispatchError, Reply, ReplyFuture, into_wire};
pub use crate::refs::{Proxy, RemoteRef, Returns};
pub use serde;
pub use std::boxed::Box;
pub use std::sync::Arc;

/// Fails to compile unless `A` is an avatar: generated for the avatar parameter of viewables.
pub fn assert_avatar<A: crate::Avatar>() {}
