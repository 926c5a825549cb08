//! Typed, capability-secure remote objects: Twisted's Perspective Broker, in Rust.
//!
//! A server hands each client *references* to objects. A client can call only the methods those
//! objects expose, and only on objects it was given, on the connection it was given them:
//! security comes from who holds which reference. tartine checks the types at compile time and
//! the references at run time, per connection.
//!
//! - [`#[referenceable]`](referenceable) on an `impl` block exposes its `pub` methods: it
//!   generates the dispatch table (by method name) and a typed proxy, `{Type}Proxy`.
//! - [`Remote<T>`] is a reference to the peer's `T`; it dereferences to the proxy, so a remote
//!   call reads like a local async call. Each proxy method returns `Result<R, CallError>`, or
//!   `Result<T, RemoteError<E>>` when the method returns `Result<T, E>`.
//! - [`Local<T>`] is one of our own objects that crosses the wire by reference: returned or
//!   passed, it arrives as a `Remote<T>`; handed back, it resolves to the original object.
//!
//! # Quickstart
//!
//! ```
//! use tartine::{Local, Remote, referenceable};
//!
//! pub struct Counter {
//!     start: u64,
//! }
//!
//! #[referenceable]
//! impl Counter {
//!     pub fn value(&self) -> u64 {
//!         self.start
//!     }
//! }
//!
//! pub struct Echo;
//!
//! #[referenceable]
//! impl Echo {
//!     pub async fn echo(&self, text: String) -> String {
//!         text
//!     }
//!
//!     /// Returned by value, a referenceable reaches the caller as a `Remote<Counter>`.
//!     pub fn counter(&self, start: u64) -> Counter {
//!         Counter { start }
//!     }
//!
//!     /// A reference the caller got from us, handed back: the original object.
//!     pub fn inspect(&self, counter: Local<Counter>) -> u64 {
//!         counter.start
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Over TCP: `Server::bind(addr, Echo)` and `tartine::connect(addr)`.
//! let (client, _server) = tartine::connect_in_memory(Echo).await?;
//! let echo: Remote<Echo> = client.root()?;
//! assert_eq!(echo.echo("hi".into()).await?, "hi");
//!
//! let counter: Remote<Counter> = echo.counter(41).await?;
//! assert_eq!(counter.value().await?, 41);
//! assert_eq!(echo.inspect(&counter).await?, 41);
//! # Ok(())
//! # }
//! ```
//!
//! # What crosses the wire
//!
//! - Any serde type, by value. For byte payloads use [`Bytes`] (or `serde_bytes`): a plain
//!   `Vec<u8>` is encoded element by element.
//! - A referenceable object, by reference: return it as `T`, `Arc<T>` or `Local<T>`; the caller
//!   receives `Remote<T>`. References may also be nested in serde values as `Local<T>` /
//!   `Remote<T>` (a `Vec<Local<T>>` arrives as `Vec<Remote<T>>`).
//! - A proxy takes `&Remote<T>` where the method declares `Local<T>` (hand back one of the
//!   callee's objects), and anything `Into<Local<T>>` where it declares `Remote<T>` (pass one
//!   of the caller's objects, which the callee can then call back).
//!
//! # Guarantees
//!
//! - References are per connection: ids of another connection, guessed ids and released ids
//!   all give [`CallError::NoSuchObject`]. Sending a `Remote<T>` over a connection other than
//!   the one it came from fails with [`CallError::ForeignReference`].
//! - A reference handed back is type-checked: a `Remote<Group>` where a `Local<User>` is
//!   expected fails with [`CallError::WrongReferenceType`].
//! - Dropping the last `Remote<T>` releases the object on its owner; a disconnect releases
//!   everything the connection held. The number of objects exported to one connection is
//!   capped ([`Config::max_exports`]).
//! - Malformed, oversized or unknown frames close that one connection with a logged reason;
//!   bad arguments and unknown methods fail that one call with a typed error.
//!
//! # What the macros check
//!
//! Each rule is proved by a compile-fail case in `ui-tests/tests/fail/` (path below), whose
//! recorded error shows where it points and what it says.
//!
//! | rule | enforced by | case |
//! | --- | --- | --- |
//! | the macros go on an inherent `impl` block of a plain, non-generic type | macro | `not_impl/on_struct.rs`, `not_impl/on_trait_impl.rs`, `not_impl/on_generic_impl.rs` |
//! | exposed methods take `&self` (not `&mut self`, `self` or `self: Box<Self>`) | macro | `receiver/mut_self.rs`, `receiver/by_value_self.rs`, `receiver/boxed_self.rs` |
//! | exposed methods are not generic and take no `impl Trait` | macro | `signature/generic_method.rs`, `signature/impl_trait_param.rs` |
//! | parameters are owned (`String`, not `&str`; `Local<T>` for our objects) | macro | `signature/borrowed_param.rs` |
//! | exposed methods are not `unsafe` | macro | `signature/unsafe_method.rs` |
//! | every broken rule of a block is reported at once, each at its tokens | macro | `signature/all_errors_at_once.rs` |
//! | after an error, uses of the type elsewhere raise nothing more | macro | `fallback/fallback_raises_no_second_wave.rs` |
//! | wire names are unique in a block | macro | `naming/duplicate_wire_name.rs` |
//! | only `#[tartine(rename = "..")]` and `#[tartine(skip)]`, on exposed methods; the macros take no arguments | macro | `options/unknown_option.rs`, `options/rename_on_local_method.rs`, `options/macro_arguments.rs` |
//! | `#[viewable]` methods take the avatar first, and it is an avatar | macro, rustc | `viewable/missing_avatar.rs`, `viewable/avatar_not_first.rs`, `viewable/avatar_not_an_avatar.rs` |
//! | a viewable's proxy has no avatar parameter: a caller cannot name itself | rustc | `viewable/passing_the_avatar.rs` |
//! | arguments and results cross the wire (serde, or referenceable) | rustc | `wire_types/argument_not_serde.rs`, `wire_types/result_not_serde.rs`, `wire_types/local_of_non_referenceable.rs` |
//! | a proxy has only the exposed methods, and no fields | rustc | `proxy/unexposed_method.rs`, `proxy/read_a_field.rs` |
//! | a `Remote<Group>` is not a `Remote<User>` | rustc | `proxy/wrong_reference_type.rs` |
//! | references cannot be forged: `Remote` and `RemoteRef` have no public constructor | rustc | `forge/build_remote.rs`, `forge/build_remote_ref.rs` |
//! | a realm returns avatars only | rustc | `realm/not_an_avatar.rs` |
//!
//! Pass cases in `ui-tests/tests/pass/` show that generated code uses absolute paths only
//! (`no_implicit_prelude.rs`, `shadowed_names.rs`), builds under `#![deny(missing_docs,
//! warnings)]` (`deny_lints.rs`), honours raw identifiers and `#[cfg]` (`raw_idents.rs`,
//! `cfg_methods.rs`), and accepts every shape of argument and result (`shapes.rs`).

#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables, unused_assignments))))]

#[doc(hidden)]
pub mod __private;
mod client;
mod codec;
mod config;
mod connection;
pub mod cred;
mod dispatch;
mod error;
mod id_map;
mod lock;
mod payload;
mod refs;
mod server;
mod session;
pub mod wire;

pub use client::{connect, connect_in_memory, connect_with};
pub use codec::{Codec, CodecError, Postcard};
pub use config::Config;
pub use connection::{Connection, ConnectionStats};
pub use dispatch::{Avatar, CallContext, Referenceable};
pub use error::{
    CallError, CloseReason, ConnectError, HandshakeError, ProtocolError, RemoteError, RootError,
};
pub use payload::Bytes;
pub use refs::{ByReference, BySharedReference, ByValue, Local, Proxy, Remote, RemoteRef, Returns};
pub use server::{Server, ServerHandle, ServerStats};

/// Exposes the `pub` methods of an `impl` block to peers.
///
/// On `impl Foo { .. }` it generates:
/// - `impl Referenceable for Foo`: the dispatch table, by method name;
/// - `FooProxy`, the typed client proxy a `Remote<Foo>` dereferences to, with one `async`
///   method per exposed method.
///
/// Exposed methods are the `pub` ones, `async` or not, taking `&self`. Other methods stay
/// local. A proxy method takes the same arguments (with `Local<T>` and `Remote<T>` swapped, see
/// the crate docs) and returns `Result<R, CallError>`, or `Result<T, RemoteError<E>>` when the
/// method returns `Result<T, E>`.
///
/// ```
/// pub struct Calculator;
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize)]
/// pub enum MathError {
///     DivisionByZero,
/// }
///
/// #[tartine::referenceable]
/// impl Calculator {
///     pub fn divide(&self, a: i64, b: i64) -> Result<i64, MathError> {
///         if b == 0 { Err(MathError::DivisionByZero) } else { Ok(a / b) }
///     }
///
///     fn not_exposed(&self) {}
/// }
/// ```
pub use tartine_macros::referenceable;

/// Like [`#[referenceable]`](referenceable), for the object a login yields: also implements
/// [`Avatar`], which a [`Realm`](cred::Realm) must return.
///
/// ```
/// pub struct User {
///     name: String,
/// }
///
/// #[tartine::avatar]
/// impl User {
///     pub fn whoami(&self) -> String {
///         self.name.clone()
///     }
/// }
/// ```
pub use tartine_macros::avatar;

/// Like [`#[referenceable]`](referenceable), for an object many logins share (PB's
/// `Viewable`): each exposed method takes the caller's avatar as its first parameter after
/// `&self` (`from: &User` or `from: Arc<User>`). The proxy has no such parameter: the runtime
/// supplies the avatar of the login through which the caller obtained its reference, never
/// anything the caller sent. Reached through no login, or through a login whose avatar is not
/// of that type, a call fails with [`CallError::NotPermitted`].
///
/// ```
/// # pub struct User { name: String }
/// # #[tartine::avatar] impl User { pub fn name(&self) -> String { self.name.clone() } }
/// pub struct Board {
///     posts: std::sync::Mutex<Vec<String>>,
/// }
///
/// #[tartine::viewable]
/// impl Board {
///     /// Callers post as themselves: they cannot name anyone else.
///     pub fn post(&self, from: &User, text: String) -> usize {
///         let mut posts = self.posts.lock().unwrap();
///         posts.push(format!("<{}> {text}", from.name));
///         posts.len()
///     }
/// }
/// ```
pub use tartine_macros::viewable;
