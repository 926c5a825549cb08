//! Used by code that `#[referenceable]` generates. Not public API: may change in any release.

pub use crate::codec::{Codec, CodecError, DecodeLimits, Postcard};
pub use crate::dispatch::{
    CallContext, decode_args, decode_each_arg, perspective, reply_result, reply_value,
};
pub use crate::interface::{AvatarInterface, Interface};
pub use crate::refs::handle::{MethodTimeout, Proxy, RemoteRef};
pub use crate::refs::local::HandedBack;
pub use crate::refs::names::InterfaceInfo;
pub use crate::refs::remote::SentBack;
pub use crate::refs::transfer::{ByReference, BySharedReference, ByValue, Returns, into_wire};
pub use crate::reply::{DispatchError, Reply, ReplyFuture, Started};
pub use bytes::BytesMut;
pub use serde;
pub use std::boxed::Box;
pub use std::sync::Arc;

/// Implemented by every type a method may take as an argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the wire as an argument",
    note = "derive serde's `Serialize` and `Deserialize` for it, or take a reference to an object: `Ref<dyn Trait>`, `Local<T>` for one of yours handed back, or `Remote<T>` for one of the caller's"
)]
pub trait Argument: serde::Serialize + serde::de::DeserializeOwned + Send + 'static {}

/// Not recommended in errors: a type that is not an argument is one error, naming `Argument`,
/// rather than one per serde trait it lacks.
#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static> Argument for T {}

/// What a parameter that holds a reference is decoded as (`Local<T>` as `HandedBack<T>`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the wire as an argument",
    note = "a parameter holding references is made of `Local<T>`, `Remote<T>` and `Ref<I>` of referenceable types and interfaces, in serde values"
)]
pub trait Decodable: serde::de::DeserializeOwned + Send + 'static {}

impl<T: serde::de::DeserializeOwned + Send + 'static> Decodable for T {}

/// Fails to compile unless `T` can be decoded as a parameter: generated for each parameter
/// that holds a reference, at its type.
pub fn assert_argument<T: Decodable>() {}

/// How one argument of type `T` is encoded and decoded with `C`, made where `T: Argument` is
/// checked ([`argument`]): the code that uses it needs no bound on `T`, so a type that cannot
/// cross the wire is one error, at the type, however many places (proxy, dispatch) use it.
pub struct Witness<C: Codec, T> {
    encode: fn(&T, &mut BytesMut) -> Result<(), CodecError>,
    decode: for<'a, 'b> fn(&'a mut C::Reader<'b>) -> Result<T, CodecError>,
}

impl<C: Codec, T> Clone for Witness<C, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: Codec, T> Copy for Witness<C, T> {}

impl<C: Codec, T> std::fmt::Debug for Witness<C, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Witness")
    }
}

impl<C: Codec, T> Witness<C, T> {
    /// Appends `value`'s encoding to `out`.
    ///
    /// # Errors
    /// As [`Codec::encode`].
    pub fn encode(&self, value: &T, out: &mut BytesMut) -> Result<(), CodecError> {
        (self.encode)(value, out)
    }

    /// Reads the next argument.
    ///
    /// # Errors
    /// As [`Codec::read`].
    pub fn decode(&self, reader: &mut C::Reader<'_>) -> Result<T, CodecError> {
        (self.decode)(reader)
    }
}

/// Checks that `T` can be an argument, and says how to encode and decode it: generated once
/// for each plain parameter in the proxy and in the dispatch, at the parameter's type.
pub fn argument<C: Codec, T: Argument>() -> Witness<C, T> {
    Witness {
        encode: |value, out| C::encode(value, out),
        decode: |reader| C::read::<T>(reader),
    }
}

/// Holds when a `Remote<I>` hands back one of the peer's `T`s (`I` is `T`'s interface): the
/// bound of a proxy argument that the method declares as `Local<T>`. A bound of the proxy
/// method, it is checked where the method is called, so a `Local` of a type that is not
/// referenceable is one error, at the signature (from the dispatch), not one more here.
#[diagnostic::on_unimplemented(
    message = "this argument hands back one of the peer's `{Self}` objects, not a `Remote<{I}>`",
    label = "expected a `Remote` of `{Self}`'s interface",
    note = "the method takes a `Local<{Self}>`: pass a reference to a `{Self}` that the peer gave you"
)]
pub trait HandsBack<I: ?Sized> {}

impl<T: crate::dispatch::Referenceable> HandsBack<T::Interface> for T {}

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
pub trait Exposed: sealed::Sealed {}

mod sealed {
    /// Implemented by nothing: no one can implement [`Exposed`](super::Exposed), so the
    /// stand-in of a method the server keeps to itself can never be called.
    pub trait Sealed {}
}

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

/// Finds the interface a type of a signature names, if any, by autoref specialization:
/// `(&&&&Probe::<T>::new()).interface_info()` picks the first of these that applies: `Ref<I>`
/// names `I`; `Local<T>` and `Arc<T>` name `T`'s interface; a referenceable `T` names its own;
/// anything else, none. Used by the generated `Interface::references`.
pub mod probe {
    use crate::dispatch::Referenceable;
    use crate::interface::Interface;
    use crate::refs::local::Local;
    use crate::refs::names::InterfaceInfo;
    use crate::refs::shared_ref::Ref;
    use std::marker::PhantomData;
    use std::sync::Arc;

    /// Stands for the type `T` of a signature.
    #[derive(Debug)]
    pub struct Probe<T>(PhantomData<fn() -> T>);

    impl<T> Probe<T> {
        /// A probe of `T`.
        pub fn new() -> Self {
            Probe(PhantomData)
        }
    }

    impl<T> Default for Probe<T> {
        fn default() -> Self {
            Probe::new()
        }
    }

    /// `Ref<I>` names `I`.
    pub trait ViaRef {
        /// The interface named.
        fn interface_info(&self) -> Option<InterfaceInfo>;
    }

    impl<I: Interface + ?Sized + 'static> ViaRef for &&&Probe<Ref<I>> {
        fn interface_info(&self) -> Option<InterfaceInfo> {
            Some(InterfaceInfo::of::<I>())
        }
    }

    /// `Local<T>` and `Arc<T>` name `T`'s interface.
    pub trait ViaHandle {
        /// The interface named.
        fn interface_info(&self) -> Option<InterfaceInfo>;
    }

    impl<T: Referenceable> ViaHandle for &&Probe<Local<T>> {
        fn interface_info(&self) -> Option<InterfaceInfo> {
            Some(InterfaceInfo::of::<T::Interface>())
        }
    }

    impl<T: Referenceable> ViaHandle for &&Probe<Arc<T>> {
        fn interface_info(&self) -> Option<InterfaceInfo> {
            Some(InterfaceInfo::of::<T::Interface>())
        }
    }

    /// A referenceable `T` names its interface.
    pub trait ViaReferenceable {
        /// The interface named.
        fn interface_info(&self) -> Option<InterfaceInfo>;
    }

    impl<T: Referenceable> ViaReferenceable for &Probe<T> {
        fn interface_info(&self) -> Option<InterfaceInfo> {
            Some(InterfaceInfo::of::<T::Interface>())
        }
    }

    /// Any other type names none.
    pub trait ViaNothing {
        /// No interface.
        fn interface_info(&self) -> Option<InterfaceInfo>;
    }

    impl<T> ViaNothing for Probe<T> {
        fn interface_info(&self) -> Option<InterfaceInfo> {
            None
        }
    }
}
