//! Provides what a peer sees of an object: its interface, named on the wire, with its methods
//! and the typed proxy a [`Remote`](crate::Remote) calls through.
//!
//! An interface is either a type (`#[referenceable] impl Echo { .. }`: `Echo` is its own
//! interface, for programs in one crate) or a trait of a protocol crate that both sides share
//! (`#[referenceable] trait Chat { .. }`: the interface is `dyn Chat`, and any type the server
//! writes `#[referenceable] impl Chat for ..` for implements it).

use crate::refs::handle::Proxy;
use crate::refs::names::InterfaceInfo;
use std::any::TypeId;

/// An interface peers call: its name on the wire, its methods, and its typed proxy.
/// Implemented by `#[referenceable]`, `#[avatar]` and `#[viewable]`, for the type of an `impl`
/// block or for `dyn Trait`; not meant to be implemented by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an interface peers can call",
    note = "add `#[tartine::referenceable]` to `impl {Self} {{ .. }}`, or to the trait of a protocol crate (then name it `dyn Trait`)"
)]
pub trait Interface {
    /// The name that identifies the interface on the wire: the `name = ".."` of its
    /// attribute, else its crate's name and its type or trait name, as in `chat.Group`.
    const NAME: &'static str;
    /// The wire names of the methods peers may call.
    const METHODS: &'static [&'static str];
    /// The generated typed proxy a `Remote<Self>` dereferences to.
    #[doc(hidden)]
    type Proxy: Proxy;

    /// The interfaces the signatures of this one name (returned, taken, or inside standard
    /// containers): what a server that serves it may hand out. Generated.
    #[doc(hidden)]
    fn references() -> Vec<InterfaceInfo> {
        Vec::new()
    }
}

/// An interface a login can yield: `login::<A>()` returns a `Remote<A>`. Implemented by
/// `#[avatar]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an avatar, so no login yields it",
    note = "a login yields the avatar interface the server's realm makes: mark that `impl` block or trait `#[tartine::avatar]`, and name it here"
)]
pub trait AvatarInterface: Interface {}

impl InterfaceInfo {
    /// The information of `I`.
    pub fn of<I: Interface + ?Sized + 'static>() -> Self {
        InterfaceInfo {
            name: I::NAME,
            id: TypeId::of::<I>(),
            type_name: std::any::type_name::<I>(),
            references: I::references,
        }
    }
}
