//! Typed, capability-secure remote objects: Twisted's Perspective Broker, in Rust.
//!
//! A server hands each client *references* to objects. A client can call only the methods those
//! objects expose, and only on objects it was given, on the connection it was given them:
//! security comes from who holds which reference. tartine checks the types at compile time and
//! the references at run time, per connection.
//!
//! - [`#[referenceable]`](referenceable) on a trait of a protocol crate makes it an
//!   [`Interface`] that clients call as `Remote<dyn Trait>`, and on a server's
//!   `impl Trait for Type` lets peers call that type through it (see [Protocol crates]).
//!   In a program of one crate, it goes on an `impl` block instead and exposes its `pub`
//!   methods. Either way it generates the dispatch table (by method name) and a typed proxy,
//!   `{Name}Proxy`.
//! - [`Remote<T>`] is a reference to the peer's object of interface `T`; it dereferences to
//!   the proxy, so a remote call reads like a local async call. Each proxy method returns `Result<R, CallError>`, or
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
//! # Protocol crates
//!
//! A client should not link the server's code, and a type's module path should not be part of
//! the wire. So the interfaces go in a crate of their own, as traits, with the types that
//! cross the wire, and both sides depend on it:
//!
//! ```
//! // --- the protocol crate: traits and wire types, nothing else ---
//! mod protocol {
//!     use serde::{Deserialize, Serialize};
//!     use tartine::Ref;
//!
//!     #[derive(Debug, Serialize, Deserialize, thiserror::Error)]
//!     pub enum ShopError {
//!         #[error("out of stock: {0}")]
//!         OutOfStock(String),
//!     }
//!
//!     /// The wire name is set here: moving the trait breaks no peer.
//!     #[tartine::avatar(name = "shop.Customer")]
//!     pub trait Customer {
//!         fn name(&self) -> String;
//!         /// A reference to another interface: the server returns `Ref`s, the client
//!         /// receives `Remote`s.
//!         fn cart(&self) -> Ref<dyn Cart>;
//!     }
//!
//!     /// A viewable: each call gets the caller's avatar from the runtime. Its type is the
//!     /// server's business, named here by an associated type.
//!     #[tartine::viewable(name = "shop.Cart")]
//!     pub trait Cart {
//!         type Buyer;
//!         async fn add(&self, by: &Self::Buyer, item: String) -> Result<usize, ShopError>;
//!     }
//! }
//!
//! // --- the server crate ---
//! mod server {
//!     use super::protocol::{self, ShopError};
//!     use std::sync::{Arc, Mutex};
//!     use tartine::Ref;
//!
//!     pub struct Customer {
//!         pub name: String,
//!         pub cart: Arc<Cart>,
//!     }
//!
//!     #[tartine::avatar]
//!     impl protocol::Customer for Customer {
//!         fn name(&self) -> String {
//!             self.name.clone()
//!         }
//!         fn cart(&self) -> Ref<dyn protocol::Cart> {
//!             Ref::from_arc(self.cart.clone())
//!         }
//!     }
//!
//!     #[derive(Default)]
//!     pub struct Cart {
//!         items: Mutex<Vec<String>>,
//!     }
//!
//!     #[tartine::viewable]
//!     impl protocol::Cart for Cart {
//!         type Buyer = Customer;
//!         async fn add(&self, by: &Customer, item: String) -> Result<usize, ShopError> {
//!             if item == "unicorn" {
//!                 return Err(ShopError::OutOfStock(item));
//!             }
//!             let mut items = self.items.lock().unwrap();
//!             items.push(format!("{item} for {}", by.name));
//!             Ok(items.len())
//!         }
//!     }
//! }
//!
//! // --- the client crate: it names `protocol`, never `server` ---
//! # use tartine::cred::{AvatarId, LoggedIn, LoginError, Realm};
//! # struct Shop;
//! # impl Realm for Shop {
//! #     type Avatar = server::Customer;
//! #     type Mind = tartine::cred::NoMind;
//! #     async fn request_avatar(&self, id: AvatarId, _: Option<tartine::Remote<tartine::cred::NoMind>>)
//! #         -> Result<LoggedIn<server::Customer>, LoginError> {
//! #         Ok(LoggedIn::new(server::Customer { name: id.to_string(), cart: Default::default() }))
//! #     }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let portal = tartine::cred::Portal::new(Shop).with_checker(tartine::cred::AllowAnonymous);
//! # let server = tartine::Server::bind_portal("127.0.0.1:0", portal).await?;
//! # let addr = server.local_addr()?;
//! # tokio::spawn(server.run());
//! use tartine::Remote;
//! use tartine::cred::LoginCredentials;
//!
//! let connection = tartine::connect(addr).await?;
//! let me: Remote<dyn protocol::Customer> =
//!     connection.login(LoginCredentials::anonymous()).await?;
//! let cart: Remote<dyn protocol::Cart> = me.cart().await?;
//! // The proxy has no `by` parameter: the server learns the buyer from the runtime.
//! assert_eq!(cart.add("tartine".into()).await?, 1);
//! # Ok(())
//! # }
//! ```
//!
//! - `Remote<dyn Trait>` is the client's handle; `Remote<T>` of a concrete type is the same
//!   for the `impl`-block form.
//! - An interface's wire name is `name = ".."`, or else its crate's name (`CARGO_PKG_NAME`)
//!   and its trait or type name, as in `shop.Cart`. Two interfaces under one name would
//!   confuse a peer, so a server refuses them: `Server::bind` fails (`InvalidInput`, with a
//!   [`DuplicateInterface`]) when the signatures reachable from its root, or from its realm's
//!   avatar, name two interfaces under one name; and an interface hidden in a value of your
//!   own is refused, with a typed error, when a call would hand it out under a name another
//!   interface already has.
//! - A newer server may add methods: an older client goes on calling the others. A client
//!   that calls a method the server lacks gets [`CallError::NoSuchMethod`], and a call whose
//!   argument types changed gets [`CallError::BadArguments`] when its bytes do not decode as
//!   the new types (postcard is not self-describing: keep the old methods, add new ones);
//!   the connection stays up in both cases.
//! - [`Ref<dyn Trait>`](Ref) is a reference in the types the protocol shares: local on the
//!   side that owns the object, remote on the other, in both directions, nested in any serde
//!   value. [`Ref::downcast`] gives the server its own type back; a `Ref` of another
//!   interface is refused before the method runs.
//! - The trait's `async fn`s become `fn .. -> impl Future<Output = ..> + Send`, and each item
//!   gets `where Self: Sized`, so that `dyn Trait` names the interface; implementations
//!   write plain `async fn`s.
//!
//! [Protocol crates]: #protocol-crates
//!
//! # Endpoints and transports
//!
//! [`connect`] and [`Server::bind`] take an [`Endpoint`], or text that parses as one:
//! `tcp://host:port` (or `host:port`), `tls://host:port` (the `tls` feature) or `unix:/path`;
//! text that does not parse is an [`EndpointError`] saying what was expected. Any tokio stream
//! also carries a connection ([`connect_stream`], [`ServerHandle::serve_stream`]), and
//! [`ServerHandle::connect_in_memory`] opens one over a pipe, for tests. A stream a server
//! serves is admitted within the same limits as one it accepts; a Unix socket's or a stream's
//! peer has no IP address, so only the totals apply to it.
//!
//! With the `tls` feature, `Config::tls_server` holds the server's certificate and key
//! (`TlsServerConfig`, from PEM files) and `Config::tls_client` whom the client trusts
//! (`TlsClientConfig`: a CA file, or one pinned certificate). Only TLS 1.3 is spoken. The TLS
//! handshake of an accepted connection runs on its own task, within
//! [`Config::handshake_timeout`], so a slow client holds up no one; each failure is a typed
//! `TlsError` on the client. Over TLS a password login is bound to the TLS session: both sides
//! sign its `tls-exporter` value (RFC 9266) in the SCRAM transcript, so a man in the middle
//! who ends TLS with a certificate the client trusts, and relays the login, fails it. A server
//! that asks for client certificates lets a client log in with its own
//! (`LoginCredentials::certificate()`), checked by `cred::CertificateNames` or a checker of
//! your own.
//!
//! # Disconnects, reconnects and shutdown
//!
//! [`Connection::closed`] and [`Remote::disconnected`] resolve when a connection ends, with its
//! [`CloseReason`]. [`Reconnecting`] keeps a client connected to one endpoint: it reconnects
//! with capped, jittered [`Backoff`], logs in again, and reports [`ReconnectEvent`]s; nothing
//! is retried behind a caller's back. A server runs a login's logout action when the login ends or its
//! connection closes, then [`Server::on_disconnect`]'s hook; both run on a task of their own
//! on the runtime the connection closed on, so a lock held where it happened to close is not
//! taken from under its holder. [`ServerHandle::shutdown`] stops
//! accepting, lets each connection finish the calls it runs (a new call gets
//! [`CallError::ShuttingDown`]) and closes it; what still runs after the grace period is cut.
//!
//! # What crosses the wire
//!
//! - Any serde type, by value. For byte payloads use [`Bytes`] (or `serde_bytes`): a plain
//!   `Vec<u8>` is encoded element by element.
//! - A referenceable object, by reference: return it as `T`, `Arc<T>`, `Local<T>` or
//!   `Ref<I>`; the caller receives `Remote<I>`. In a signature, `Local`/`Remote` swap wherever
//!   the macro sees them, through generics too (a `Vec<Local<T>>` arrives as
//!   `Vec<Remote<T>>`, an `Either<Local<A>, Local<B>>` as `Either<Remote<A>, Remote<B>>`).
//! - Inside your own types (a struct or an enum that both sides decode), hold references as
//!   [`Ref<I>`](Ref), which reads the same on both sides. A `Local<T>` cannot be decoded there
//!   (on the other side it would be a `Remote<T>`), so a type of yours that holds one and
//!   derives `Deserialize` fails to compile; as a parameter, `Local<T>` is decoded alone or in
//!   `Vec`, `VecDeque`, `Option`, `Box`, tuples and arrays, and the macro refuses it elsewhere.
//!   Likewise a `Remote<T>` cannot be encoded there (its owner would have to decode its own
//!   `Local<T>`), so a type of yours that holds one and derives `Serialize` fails to compile;
//!   as an argument or a result, `Remote<T>` is sent back to its owner alone or in the same
//!   containers.
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
//!   capped, and so is the number of the peer's objects held from it ([`Config::max_exports`],
//!   which each side tells the other: a side exports at most the smaller of the two limits).
//! - Malformed, oversized or unknown frames close that one connection with a logged reason;
//!   bad arguments and unknown methods fail that one call with a typed error.
//! - Every call waits at most [`Config::call_timeout`] (30 s by default, a login's calls
//!   included); a method overrides it with `#[tartine(timeout = "5s")]` (or `"none"`), a
//!   caller with [`Remote::with_timeout`]. A call given up on is cancelled on the peer.
//! - A password login proves both sides before the client sends its mind: a client refuses a
//!   challenge with fewer PBKDF2 iterations than [`Config::min_login_iterations`] (or more
//!   than the maximum), and a server that cannot prove it holds the verifier never sees the
//!   mind. Failed logins are throttled per user name and per address; a throttled attempt
//!   answers, after the same delay, exactly as a wrong password does.
//!
//! # What one peer can cost
//!
//! Every resource a peer can make this side spend has a limit in [`Config`] (or, for the text
//! of its errors, a constant). With the defaults, on a server:
//!
//! | resource | at most | limit |
//! | --- | --- | --- |
//! | a frame being received | 16 MiB (reserved when its length arrives, touched as its bytes do) | `max_frame_size` |
//! | bytes queued for one peer, whoever queues them | 64 MiB; past it the peer is dropped as slow | `max_write_queue` |
//! | calls running for one connection | 1,024, holding 64 MiB of request frames | `max_calls_in_flight`, `max_in_flight_bytes` |
//! | references exported to one connection | 16,384 (about 300 bytes each, and about 32 more each while its release waits for a reply to be decoded) | `max_exports` |
//! | the peer's objects held from one connection | 16,384 (33 to about 70 bytes each in the table, with its spare room, and the `Remote` your code keeps); a peer that hands over more is closed | `max_exports` |
//! | logins on one connection | 16, and 16 logins in progress | `max_logins_per_connection` |
//! | nesting of a decoded value | 128 levels | `max_decode_depth` |
//! | items decoded from a payload | one per byte, plus 65,536 | `max_decode_items` |
//! | a decode on a worker thread | 16,384 items (about 1 ms for the costliest shapes) of a payload of 4 MiB at most; larger or costlier ones are decoded on the blocking pool, one at a time per connection | `max_inline_decode_items`, `max_inline_decode` |
//! | connections | 50,000 in all, 1,024 per address | `max_connections`, `max_connections_per_address` |
//! | connections not logged in yet (or in their handshake, the TLS one included) | 1,024 in all, the oldest dropped for a new one; 64 per address; 16 MiB of long frames among them all; 10 s to finish the handshake, 30 s to log in | `max_pending_connections`, `max_pending_per_address`, `max_pending_memory`, `handshake_timeout`, `login_timeout` |
//! | password guesses at one user | 10, then one every 6 s, from any number of connections and addresses | `failed_logins_per_user` |
//! | password guesses from one address | 20, then one per second, at any users | `failed_logins_per_address` |
//! | token logins from one address: checked at once; failed as made-up tokens | 64 at once; 20 failures, then one per second; the others refused without a question to the issuer | `max_token_checks_per_address`, `failed_logins_per_address` |
//! | failed logins on one connection | 5, then it is closed | `max_failed_logins_per_connection` |
//! | text of a peer's error kept in a `CallError` or `LoginError` (a method name, a reason) | 1 KiB, cut when decoded | [`wire::MAX_PEER_TEXT`] |
//!
//! A logged-in connection that does nothing holds under 4 KiB of server heap once it has been
//! silent for a second (it then lets its read buffer go), 7.6 KiB before; one pending its
//! login, 8.5 KiB (see `cargo run --release -p tartine-benches --bin costs`, and `--bin compare
//! -- --only idle`: 3.6 to 3.9 KiB). A decoded value can take more memory
//! than its bytes: each of its items (at most one per byte, plus 65,536) takes the size of its
//! type, so keep large fixed-size types (`[u64; 1000]`, an enum with one large variant) out of
//! the collections your methods take, or box them. Checking a password proof costs the
//! server a few microseconds of hashing: the key derivation (4,096 PBKDF2 iterations or more)
//! is the client's. The same limits protect a client from its server: replies are decoded on
//! the same budget, and a client refuses a weak or costly login challenge.
//!
//! # How it works
//!
//! The runtime is built in layers; each file imports only from the layers below it, and no
//! file imports one that imports it back (`tests/layers.rs` checks it). From the bottom:
//!
//! - **wire** (`wire/`): after a preamble (magic and version, `handshake.rs`), each message is
//!   one length-prefixed frame (`frame.rs`, the one encoder and decoder): a postcard header
//!   ([`wire::Message`], `message.rs`; the headers of every call are laid out by hand, byte for
//!   byte as postcard does, in `header.rs`) then the payload. The frame size is checked before
//!   anything is allocated for it; for connections that have not logged in, room for a long
//!   frame is made as its bytes arrive, from a budget they share. A header's list of references
//!   ([`wire::IdList`]) is counted against the receiver's `max_exports` (which its hello told
//!   the sender) before it is decoded. A [`Bytes`] of
//!   16 KiB or more is not copied into its frame: the codec hands it off as it is encoded
//!   (`spill.rs`), and the frame is written as its pieces, each from its own buffer.
//! - **codec** (`codec/`): payloads go through one seam (`seam.rs`); generated dispatch is
//!   generic over it and looks methods up by name, so another wire format can drive the same
//!   tables. Postcard is the native codec (`native.rs`), and every decode runs on a budget
//!   (`budget.rs`): nesting depth, and items against the payload's size. A call's arguments
//!   are encoded and decoded one after another (the bytes of their tuple), each through a
//!   witness made where its type is checked, so a type that cannot cross the wire is one
//!   compile error.
//! - **tables and perspectives** (`refs/table.rs`, `perspective.rs`): each connection has an
//!   export table (our objects, by id, each with the perspective it was handed out through)
//!   and an import table (the peer's objects we hold, and how many times each id came). A
//!   perspective is one login's avatar on one connection: `perspective.rs` is where the avatar
//!   a viewable receives is attached to references and read back for a call.
//! - **link** (`link/`): the state one connection's tasks, handles and references share
//!   (`shared.rs`), split by job: the tables, the reply slots of our calls (`replies.rs`), the
//!   outbox the writer drains, bounded in bytes (`outbox.rs`), the limits ([`Config`]) and the
//!   lifecycle (`lifecycle.rs`). A closing connection runs its users' code (its objects'
//!   drops, logout actions, then the close hook) on a task of its own (`after_close.rs`), not
//!   inside the `close` its caller made, who may hold a lock that code takes.
//! - **interfaces** (`interface.rs`, `refs/names.rs`): an [`Interface`] is what a peer calls:
//!   a type of its own, or `dyn Trait` of a protocol crate, named on the wire. A server checks,
//!   before it starts, that the interfaces its signatures name have distinct names, and
//!   refuses to hand out a second interface under a name already handed out.
//! - **references** (`refs/`): [`Remote`], [`Local`] and [`Ref`] reach the tables of the
//!   connection a message travels on through a per-message scope during (de)serialization
//!   (`scope.rs`; a payload of 512 bytes or less is first tried without one, and redone in one
//!   only if a reference reached for it);
//!   headers list the ids a payload hands over, so they are counted even when the payload is
//!   never decoded (`handover.rs`), and the last `Remote` dropped sends back exactly the count
//!   received.
//! - **dispatch** (`dispatch.rs`, `reply.rs`): the traits the macros implement, the
//!   [`CallContext`] a call runs in, and what a dispatched call produces. A method that is not
//!   `async` answers at once; an `async` one runs in the connection's reader task (no task per
//!   call), unless it is marked `#[tartine(spawn)]` or [`Config::spawn_calls`] is set.
//! - **connection** (`connection/`): the handshake and tasks (`establish.rs`); one reader task
//!   (`reader.rs`) that runs the peer's calls (`incoming.rs`) and routes replies to ours
//!   (`outgoing.rs`), holds replies back while a burst of frames is worked through (they
//!   leave every 16 frames, unless the peer runs on this thread: `neighbours.rs`), takes the
//!   rest of a burst straight from its read buffer, without a pass through its select, and writes
//!   the reply to a call that came alone at once; one writer task (`writer.rs`) that coalesces
//!   every ready frame into one write, its queue bounded when a frame is queued (small frames
//!   are copied into it whole, laid out by `wire::FrameBuilder`). A call alone on its
//!   connection is written at once by its caller; the first call of a new batch (several
//!   replies were taken on the connection since the last call) waits for the others in the
//!   queue, so that the batch usually leaves in one write (`link/replies.rs`). A frame with a
//!   large payload that finds nobody writing leaves at once from its sender, in vectored writes
//!   from its own buffers (`link/outbox.rs`); the writer takes what the socket left. A closed
//!   connection's last frames get one second to leave. If the runtime running these tasks
//!   shuts down, the connection closes ([`CloseReason::RuntimeGone`]) and its references fail
//!   at once wherever they are.
//! - **cred** (`cred/`): the portal's login service (`service.rs`) is the only object a new
//!   connection reaches. Each login creates a perspective, which every reference handed out
//!   through its avatar carries; a logout revokes them all. Failed password logins go through a
//!   throttle shared by the portal's connections (`throttle.rs`). Users live in password
//!   stores (`store/`: memory, a password file, SQLite, PostgreSQL), made from `--auth`
//!   strings (`auth.rs`); named services and the identity keyring are `services.rs` and
//!   `keyring.rs`.
//! - **server and client** (`server.rs`, `client.rs`): listeners (`server/listener.rs`: TCP,
//!   TLS, Unix sockets, bound from an [`Endpoint`], `endpoint.rs`) and connectors; the streams
//!   a connection runs on are split by `connection/transport.rs`, and TLS settings live in
//!   `tls.rs`; admission counts connections in all, per address and while pending
//!   (`server/admission.rs`), and the listen backlog is [`Config::listen_backlog`].
//! - **central** (`central/`): central authentication on top of all of the above: an
//!   authentication server (`server.rs`) whose sessions and tickets live in a session store
//!   (`sessions.rs`), the protocol it speaks with users and brokers (`protocol.rs`), and the
//!   brokers' checker, which keeps its own client link to it (`broker.rs`).
//!
//! # What the macros check
//!
//! Each rule is proved by a compile-fail case in `ui-tests/tests/fail/` (path below), whose
//! recorded error shows where it points and what it says.
//!
//! | rule | enforced by | case |
//! | --- | --- | --- |
//! | the macros go on an `impl` block of a plain, non-generic type, or on a trait; an `impl Trait for Type` must implement an interface trait | macro, rustc | `not_impl/on_struct.rs`, `not_impl/on_trait_impl.rs`, `not_impl/on_generic_impl.rs` |
//! | an interface trait is not generic; its methods take `&self`, are not generic, and have no `async` default body; it holds no associated items but a viewable's avatar type | macro | `interface/generic_trait.rs`, `interface/self_by_value.rs`, `interface/generic_method.rs`, `interface/async_default_body.rs`, `interface/associated_type_outside_a_viewable.rs` |
//! | what crosses the wire in a trait names no `Self` (but the viewable's avatar) | macro | `interface/self_on_the_wire.rs` |
//! | an implementation has the trait's methods only; wire names are unique in a trait | rustc, macro | `interface/not_in_the_interface.rs`, `interface/duplicate_method_name.rs` |
//! | a trait's arguments cross the wire; a viewable trait's proxy has no avatar parameter | rustc | `interface/argument_not_serde.rs`, `interface/passing_the_avatar.rs` |
//! | a `Remote<dyn Clock>` is not a `Remote<dyn Counter>`; only avatars are logged in to | rustc | `interface/wrong_interface.rs`, `interface/login_to_a_non_avatar.rs` |
//! | a method returning `Result` spells its error type (no alias) | macro | `signature/result_alias.rs` |
//! | a `Local<T>` is decoded as a parameter only (alone or in std containers); your own types hold `Ref<I>` | macro, rustc | `wire_types/local_in_a_generic.rs`, `wire_types/local_in_own_type.rs` |
//! | a `Remote<T>` is sent back as an argument or a result only (alone or in std containers); your own types hold `Ref<I>` | macro, rustc | `wire_types/remote_returned_in_a_generic.rs`, `wire_types/remote_in_own_type.rs` |
//! | exposed methods take `&self` (not `&mut self`, `self` or `self: Box<Self>`) | macro | `receiver/mut_self.rs`, `receiver/by_value_self.rs`, `receiver/boxed_self.rs` |
//! | exposed methods are not generic and take no `impl Trait` | macro | `signature/generic_method.rs`, `signature/impl_trait_param.rs` |
//! | parameters and results are owned, at any depth (`String`, not `&str`; `Option<String>`, not `Option<&str>`; `Local<T>` for our objects), and name no `impl Trait` | macro | `signature/borrowed_param.rs`, `signature/borrowed_inside.rs` |
//! | exposed methods are not `unsafe` | macro | `signature/unsafe_method.rs` |
//! | every broken rule of a block is reported at once, each at its tokens | macro | `signature/all_errors_at_once.rs` |
//! | after an error, uses of the type elsewhere raise nothing more | macro | `fallback/fallback_raises_no_second_wave.rs` |
//! | wire names are unique in a block (but for two methods under different `#[cfg]`s) | macro | `naming/duplicate_wire_name.rs`, `naming/duplicate_wire_name_beside_a_cfg.rs` |
//! | a type has one exposed block, so one interface (another interface takes a wrapper type); a second block is a conflict | rustc | `naming/exposed_twice.rs` |
//! | no exposed method is named as a method of `Remote<T>` itself (`disconnected`, `with_timeout`, `clone`...), which a call through it would reach instead | macro | `naming/shadowed_by_remote.rs` |
//! | a method's options go on the interface trait, not on its implementation | macro | `interface/options_on_the_impl.rs` |
//! | only `#[tartine(rename = "..")]`, `#[tartine(skip)]`, `#[tartine(timeout = "..")]` and `#[tartine(spawn)]`, on exposed methods; the macros take `name = ".."` only, printable ASCII of at most 1 KiB | macro | `options/unknown_option.rs`, `options/rename_on_local_method.rs`, `options/timeout_format.rs`, `options/timeout_on_local_method.rs`, `options/spawn_on_local_method.rs`, `options/macro_arguments.rs` |
//! | `#[viewable]` methods take the avatar first, and it is an avatar | macro, rustc | `viewable/missing_avatar.rs`, `viewable/avatar_not_first.rs`, `viewable/avatar_not_an_avatar.rs` |
//! | a viewable's proxy has no avatar parameter: a caller cannot name itself | rustc | `viewable/passing_the_avatar.rs` |
//! | arguments and results cross the wire (serde, or referenceable) | rustc | `wire_types/argument_not_serde.rs`, `wire_types/result_not_serde.rs`, `wire_types/local_of_non_referenceable.rs` |
//! | a proxy has only the exposed methods (calling another says it is not exposed), and no fields | rustc | `proxy/unexposed_method.rs`, `proxy/read_a_field.rs` |
//! | a `Remote<Group>` is not a `Remote<User>` | rustc | `proxy/wrong_reference_type.rs` |
//! | references cannot be forged: `Remote` and `RemoteRef` have no public constructor | rustc | `forge/build_remote.rs`, `forge/build_remote_ref.rs` |
//! | a realm returns avatars only; a login names an avatar (one error, at the type) | rustc | `realm/not_an_avatar.rs`, `realm/login_to_a_non_avatar.rs` |
//!
//! Pass cases in `ui-tests/tests/pass/` show that generated code uses absolute paths only
//! (`no_implicit_prelude.rs`, `shadowed_names.rs`), builds under `#![deny(missing_docs,
//! warnings)]` (`deny_lints.rs`), honours raw identifiers and `#[cfg]` (`raw_idents.rs`,
//! `cfg_methods.rs`), accepts every shape of argument and result (`shapes.rs`), and reads
//! `Self` in an `impl` block's signatures as the type (`self_in_signatures.rs`).

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables, unused_assignments))))]

// The macros' generated code names the runtime `::tartine`, inside this crate too (the
// central authentication protocol, the fuzz targets' fixtures).
extern crate self as tartine;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod __fuzz;
#[doc(hidden)]
pub mod __private;
mod address;
pub mod central;
mod client;
mod codec;
mod config;
mod connection;
pub mod cred;
mod dispatch;
mod endpoint;
mod error;
mod id_map;
mod interface;
mod link;
mod lock;
mod payload;
mod perspective;
mod reconnect;
mod refs;
mod reply;
mod server;
#[cfg(feature = "tls")]
mod tls;
pub mod wire;

pub use client::{connect, connect_in_memory, connect_stream, connect_with};
pub use config::{Config, RateLimit};
pub use connection::handle::{Connection, ConnectionStats};
pub use dispatch::{Avatar, CallContext, Referenceable};
pub use endpoint::{Endpoint, EndpointError, ToEndpoint};
pub use error::{
    CallError, CloseReason, ConnectError, HandshakeError, ProtocolError, RemoteError, RootError,
};
pub use interface::{AvatarInterface, Interface};
pub use payload::Bytes;
pub use reconnect::{
    Backoff, ReconnectBuilder, ReconnectError, ReconnectEvent, ReconnectEvents, Reconnecting,
};
pub use refs::local::Local;
pub use refs::names::DuplicateInterface;
pub use refs::remote::Remote;
pub use refs::shared_ref::Ref;
pub use server::{Disconnected, Server, ServerHandle, ServerStats};
#[cfg(feature = "tls")]
pub use tls::{TlsClientConfig, TlsError, TlsServerConfig};

/// Exposes the `pub` methods of an `impl` block to peers.
///
/// On `impl Foo { .. }` it generates:
/// - `impl Referenceable for Foo`: the dispatch table, by method name;
/// - `FooProxy`, the typed client proxy a `Remote<Foo>` dereferences to, with one `async`
///   method per exposed method.
///
/// Exposed methods are the `pub` ones, `async` or not, taking `&self`. Other methods stay
/// local. Options on a method: `#[tartine(rename = "name")]` (its name on the wire),
/// `#[tartine(skip)]` (keep a `pub` method local), `#[tartine(timeout = "5s")]` (how long
/// callers wait, `"none"` for ever) and `#[tartine(spawn)]`.
///
/// A call runs in its connection's reader task: a method that is not `async` answers at once,
/// and an `async` one is polled there. That is the cheapest, but the calls of one connection
/// then use one worker thread at a time. Mark a method that computes for long (more than some
/// tens of microseconds) `#[tartine(spawn)]`: each of its calls runs as a task of its own, so
/// one connection's calls use every worker, and the connection's other replies are not held
/// up. [`Config::spawn_calls`] does the same for every `async` method.
///
/// A proxy method takes the same arguments (with `Local<T>` and `Remote<T>` swapped, see the
/// crate docs) and returns `Result<R, CallError>`, or `Result<T, RemoteError<E>>` when the
/// method returns `Result<T, E>`.
///
/// A type is either sent by reference (exposed with this macro) or by value (serde), not
/// both: an exposed type that also derives `Serialize` is ambiguous as a method's result, and
/// is sent as a copy where it sits in a tuple, a `Box` or a map. Copy its data into a plain
/// serde type when a peer should get a snapshot.
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
///     /// Computes for a while: its calls run on any worker, not in the connection's reader.
///     #[tartine(spawn)]
///     pub fn factor(&self, n: u64) -> Vec<u64> {
///         let (mut n, mut factors, mut d) = (n, Vec::new(), 2);
///         while d * d <= n {
///             while n % d == 0 {
///                 factors.push(d);
///                 n /= d;
///             }
///             d += 1;
///         }
///         if n > 1 {
///             factors.push(n);
///         }
///         factors
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
/// A reference carries the login it was handed out through: a viewable returned by a method of
/// an avatar (or of anything reached through it) is seen through that avatar. One the server
/// sends in a call of its own (to a client's mind, say) carries no login, and its viewable
/// methods answer `NotPermitted`; hand viewables out through the avatar.
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

/// The README's examples, compiled and run as doctests so the quickstart stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
