//! Provides a server that publishes one root object (or a portal's login) to every
//! connection, on TCP, a Unix domain socket or any stream handed to it, and admits
//! connections within its limits.

mod admission;
mod listener;

use crate::config::Config;
use crate::connection::establish::{Side, establish};
use crate::connection::handle::Connection;
use crate::connection::transport::{AnyStream, Transport};
use crate::cred::Portal;
use crate::cred::service::{PORTAL_INTERFACE, PortalRoot};
use crate::dispatch::Referenceable;
use crate::endpoint::{Endpoint, ToEndpoint};
use crate::error::{CloseReason, ConnectError, HandshakeError};
use crate::link::shared::Object;
use crate::lock::Lock;
use crate::refs::names::{InterfaceNames, check_unique_names};
use crate::wire::MemoryBudget;
use admission::{Admission, Ticket};
use listener::{Accepted, Listener};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// A bound listener (TCP, TLS, or a Unix domain socket) that serves a root object; run it
/// with [`Server::run`].
///
/// The server lives as long as this value (or the future of [`Server::run`]): dropping it, or
/// aborting the task that runs `run`, shuts the server down at once, closing every connection.
/// For a graceful end, call [`ServerHandle::shutdown`].
///
/// ```no_run
/// # use tartine::{Server, referenceable};
/// pub struct Echo;
///
/// #[referenceable]
/// impl Echo {
///     pub async fn echo(&self, text: String) -> String {
///         text
///     }
/// }
///
/// # async fn serve() -> std::io::Result<()> {
/// let server = Server::bind("127.0.0.1:8787", Echo).await?;
/// server.run().await
/// # }
/// ```
pub struct Server {
    listener: Listener,
    state: Arc<ServerState>,
}

/// What a server publishes to each connection.
enum Root {
    /// The same object to every connection.
    Shared(Arc<dyn Object>),
    /// A login service of its own to each connection, in front of the portal.
    Portal(Portal),
}

impl Root {
    fn for_connection(&self) -> Arc<dyn Object> {
        match self {
            Root::Shared(object) => Arc::clone(object),
            Root::Portal(portal) => Arc::new(PortalRoot::new(Arc::clone(&portal.inner))),
        }
    }

    fn interface(&self) -> &'static str {
        match self {
            Root::Shared(object) => object.interface(),
            Root::Portal(_) => PORTAL_INTERFACE,
        }
    }
}

struct ServerState {
    root: Root,
    /// Shared by every connection.
    config: Arc<Config>,
    connections: Lock<HashMap<u64, Connection>>,
    /// Which accepted connections are kept: totals, per address, pending.
    admission: Arc<Admission>,
    /// The room long frames of pending connections share.
    pending_budget: Arc<MemoryBudget>,
    /// The interfaces the server hands out, by name, on all its connections.
    interfaces: Arc<InterfaceNames>,
    shutdown: CancellationToken,
    /// Told when the last open connection closes.
    emptied: Notify,
    /// Runs after each connection closed (see [`Server::on_disconnect`]).
    on_disconnect: Lock<Option<DisconnectHook>>,
}

/// What runs after each connection of a server closed.
type DisconnectHook = Arc<dyn Fn(&Disconnected) + Send + Sync>;

/// A connection of a server that closed: what its disconnect hook receives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Disconnected {
    /// The connection's process-unique id (as in its logs).
    pub connection: u64,
    /// The peer's address, if it had an IP address.
    pub peer_addr: Option<SocketAddr>,
    /// Why it closed.
    pub reason: CloseReason,
}

/// A handle to a running server: statistics, streams to serve, shutdown.
#[derive(Clone)]
pub struct ServerHandle {
    state: Arc<ServerState>,
}

/// A snapshot of a server's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ServerStats {
    /// Open connections.
    pub connections: usize,
    /// References exported, summed over the open connections (each root counts once).
    pub exports: usize,
    /// Logins open, summed over the open connections.
    pub logins: usize,
    /// Connections accepted and not settled yet: in their handshake, or, on a portal, not
    /// logged in (counted in `connections` once their handshake is done).
    pub pending: usize,
    /// Bytes of long frames pending connections hold together (bounded by
    /// [`Config::max_pending_memory`]).
    pub pending_memory: usize,
}

/// Dropping the server (its `run` future too, when the task running it is aborted) shuts it
/// down at once, unless a shutdown already runs: it stops accepting and closes every
/// connection, whose logout actions run.
impl Drop for Server {
    fn drop(&mut self) {
        if !self.state.shutdown.is_cancelled() {
            self.state.shutdown.cancel();
            self.state.close_all();
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("endpoint", &self.listener.local_endpoint().ok())
            .field("root", &self.state.root.interface())
            .finish()
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Server {
    /// Binds `endpoint` with the default [`Config`], publishing `root` to every connection.
    ///
    /// `endpoint` is an [`Endpoint`], text such as `"tcp://0.0.0.0:7000"`, `"127.0.0.1:7000"`
    /// or `"unix:/run/app.sock"`, or a socket address (see [`ToEndpoint`]).
    ///
    /// # Errors
    /// When the endpoint does not parse (`InvalidInput`, the [`EndpointError`](crate::EndpointError)
    /// inside) or cannot be bound.
    pub async fn bind<T: Referenceable>(endpoint: impl ToEndpoint, root: T) -> io::Result<Self> {
        Self::bind_with(endpoint, Arc::new(root), Config::default()).await
    }

    /// Binds `endpoint` with `config`, publishing the shared `root` to every connection.
    ///
    /// # Errors
    /// As [`Server::bind`].
    pub async fn bind_with<T: Referenceable>(
        endpoint: impl ToEndpoint,
        root: Arc<T>,
        config: Config,
    ) -> io::Result<Self> {
        Self::bind_root(endpoint, Root::Shared(root), config).await
    }

    /// Binds `endpoint` with the default [`Config`], serving `portal`: each connection
    /// reaches only the login until it logs in, and gets a reference to its avatar.
    ///
    /// # Errors
    /// As [`Server::bind`].
    pub async fn bind_portal(endpoint: impl ToEndpoint, portal: Portal) -> io::Result<Self> {
        Self::bind_portal_with(endpoint, portal, Config::default()).await
    }

    /// Binds `endpoint` with `config`, serving `portal`.
    ///
    /// # Errors
    /// As [`Server::bind`].
    pub async fn bind_portal_with(
        endpoint: impl ToEndpoint,
        portal: Portal,
        config: Config,
    ) -> io::Result<Self> {
        Self::bind_root(endpoint, Root::Portal(portal), config).await
    }

    async fn bind_root(endpoint: impl ToEndpoint, root: Root, config: Config) -> io::Result<Self> {
        let endpoint = endpoint
            .to_endpoint()
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let state = ServerState::new(root, config)?;
        let listener = Listener::bind(&endpoint, &state.config).await?;
        Ok(Server {
            listener,
            state: Arc::new(state),
        })
    }

    /// The TCP address the server listens on.
    ///
    /// # Errors
    /// When the socket cannot report it, or is a Unix socket (see [`Server::local_endpoint`]).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The endpoint the server listens on, with the port it picked if it was bound to port 0:
    /// what a client passes to [`connect`](crate::connect).
    ///
    /// # Errors
    /// When the socket cannot report its address.
    pub fn local_endpoint(&self) -> io::Result<Endpoint> {
        self.listener.local_endpoint()
    }

    /// Runs `hook` after each connection of this server closed, for whatever reason (the
    /// peer left, a limit, a shutdown), once its logout actions ran: per-connection cleanup
    /// that is not tied to a login.
    ///
    /// ```no_run
    /// # async fn serve(portal: tartine::cred::Portal) -> std::io::Result<()> {
    /// let server = tartine::Server::bind_portal("127.0.0.1:7000", portal)
    ///     .await?
    ///     .on_disconnect(|gone| tracing::info!(peer = ?gone.peer_addr, reason = %gone.reason, "left"));
    /// server.run().await
    /// # }
    /// ```
    pub fn on_disconnect(self, hook: impl Fn(&Disconnected) + Send + Sync + 'static) -> Self {
        *self.state.on_disconnect.lock() = Some(Arc::new(hook));
        self
    }

    /// A handle for statistics and shutdown, usable while the server runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            state: Arc::clone(&self.state),
        }
    }

    /// Accepts connections until [`ServerHandle::shutdown`]; each one is served on its own
    /// tasks, so a slow or hostile peer holds up no one else.
    ///
    /// # Errors
    /// Never in practice: accept errors (such as running out of file descriptors) are logged
    /// and retried.
    pub async fn run(self) -> io::Result<()> {
        let shutdown = self.state.shutdown.clone();
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok(Accepted::Tcp(stream, peer_addr)) => {
                    self.state.admit(Some(peer_addr), async move { Ok(stream) });
                }
                #[cfg(feature = "tls")]
                Ok(Accepted::Tls(stream, peer_addr, acceptor)) => {
                    self.state.admit(Some(peer_addr), async move {
                        let mut stream = acceptor.accept(stream).await?;
                        crate::tls::tune(stream.get_mut().1);
                        Ok(stream)
                    });
                }
                #[cfg(unix)]
                Ok(Accepted::Unix(stream)) => self.state.admit(None, async move { Ok(stream) }),
                Err(error) => {
                    tracing::warn!(%error, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        Ok(())
    }
}

impl ServerState {
    /// The open connections, taken out of the lock (closing one takes it again).
    fn open_connections(&self) -> Vec<Connection> {
        self.connections.lock().values().cloned().collect()
    }

    /// Closes every open connection at once.
    fn close_all(&self) {
        for connection in self.open_connections() {
            connection.shared.close(CloseReason::Local);
        }
    }

    /// Tells every open connection to take no new call and to close once its running ones
    /// are done.
    fn drain_all(&self) {
        for connection in self.open_connections() {
            connection.shared.lifecycle.drain();
        }
    }

    /// Resolves once no connection is open.
    async fn all_closed(&self) {
        loop {
            let emptied = self.emptied.notified();
            tokio::pin!(emptied);
            emptied.as_mut().enable();
            if self.connections.lock().is_empty() {
                return;
            }
            emptied.await;
        }
    }

    fn new(root: Root, config: Config) -> io::Result<Self> {
        // Before anything is bound: two interfaces under one name among those the server
        // can hand out (as far as its signatures show) would confuse its peers.
        let reachable = match &root {
            Root::Shared(object) => vec![object.interface_info()],
            Root::Portal(portal) => portal.inner.reachable.clone(),
        };
        check_unique_names(&reachable)
            .map_err(|duplicate| io::Error::new(io::ErrorKind::InvalidInput, duplicate))?;
        let interfaces = Arc::new(InterfaceNames::default());
        if let Root::Shared(object) = &root {
            // The first claim: it cannot fail.
            let _ = interfaces.claim(object.interface(), object.interface_key());
        }
        Ok(ServerState {
            connections: Lock::new(HashMap::new()),
            admission: Arc::new(Admission::new(&config)),
            pending_budget: Arc::new(MemoryBudget::new(config.max_pending_memory)),
            interfaces,
            shutdown: CancellationToken::new(),
            emptied: Notify::new(),
            on_disconnect: Lock::new(None),
            root,
            config: Arc::new(config),
        })
    }

    /// Serves the stream `opening` makes (at once, or after a TLS handshake), from
    /// `peer_addr` if it has an IP address, if the limits admit it: the opening, the
    /// handshake and the connection run on tasks of their own, each opening step within
    /// [`Config::handshake_timeout`].
    fn admit<S: Transport>(
        self: &Arc<Self>,
        peer_addr: Option<SocketAddr>,
        opening: impl Future<Output = io::Result<S>> + Send + 'static,
    ) {
        let ticket = match self.admission.admit(peer_addr.map(|addr| addr.ip())) {
            Ok(ticket) => ticket,
            Err(refusal) => {
                tracing::warn!(?peer_addr, ?refusal, "connection refused at accept");
                return;
            }
        };
        let portal = matches!(self.root, Root::Portal(_));
        let side = Side {
            config: Arc::clone(&self.config),
            root: Some(self.root.for_connection()),
            peer_addr,
            client: false,
            pending_budget: Some(Arc::clone(&self.pending_budget)),
            pending_until_login: portal,
            interfaces: Arc::clone(&self.interfaces),
        };
        let login_timeout = portal.then_some(self.config.login_timeout);
        let state = Arc::clone(self);
        tokio::spawn(async move {
            let handshake = tokio::select! {
                // Boxed: its state is freed once the handshake is done, rather than
                // held by this task for the connection's life.
                handshake = Box::pin(open(opening, side)) => handshake,
                () = ticket.evicted().cancelled() => {
                    tracing::info!(?peer_addr, "pending slots full; the oldest handshake is dropped");
                    return;
                }
                () = state.shutdown.cancelled() => return,
            };
            match handshake {
                Ok(connection) => state.track(connection, ticket, login_timeout).await,
                Err(error) => {
                    tracing::info!(?peer_addr, %error, "handshake failed");
                }
            }
        });
    }

    /// Lists `connection` while it is open. On a portal (`login_timeout` set), it stays pending
    /// until its first login, and is closed if none comes in time or if it is the oldest
    /// pending connection when a new one needs the room. Then this task ends: the connection's
    /// close takes it off the list and gives its place back.
    async fn track(
        self: &Arc<Self>,
        connection: Connection,
        ticket: Ticket,
        login_timeout: Option<Duration>,
    ) {
        let id = connection.shared.id;
        self.connections.lock().insert(id, connection.clone());
        if self.shutdown.is_cancelled() {
            // Shut down while its handshake ended: `shutdown` did not see it listed.
            connection.shared.close(CloseReason::Local);
        }
        let lifecycle = &connection.shared.lifecycle;
        match login_timeout {
            None => ticket.settled(),
            Some(timeout) => {
                tokio::select! {
                    () = lifecycle.logged_in_once() => ticket.settled(),
                    () = tokio::time::sleep(timeout) => {
                        if lifecycle.logged_in() {
                            ticket.settled();
                        } else {
                            tracing::info!(parent: &connection.shared.span, "no login in time; closing");
                            connection.shared.close(CloseReason::LoginTimeout);
                        }
                    }
                    () = ticket.evicted().cancelled() => {
                        tracing::info!(parent: &connection.shared.span, "pending slots full; the oldest pending connection is closed");
                        connection.shared.close(CloseReason::Busy);
                    }
                    () = lifecycle.closed() => {}
                    () = self.shutdown.cancelled() => connection.shared.close(CloseReason::Local),
                }
            }
        }
        let state = Arc::downgrade(self);
        let closing = Arc::downgrade(&connection.shared);
        lifecycle.on_close(Box::new(move || {
            if let Some(state) = state.upgrade() {
                let hook = state.on_disconnect.lock().clone();
                if let (Some(hook), Some(shared)) = (hook, closing.upgrade()) {
                    let disconnected = Disconnected {
                        connection: id,
                        peer_addr: shared.peer_addr,
                        reason: shared.lifecycle.reason().unwrap_or(CloseReason::Local),
                    };
                    // A panicking hook must not take the connection's task down with it.
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        hook(&disconnected)
                    }));
                    if ran.is_err() {
                        tracing::error!(connection = id, "the disconnect hook panicked");
                    }
                }
                let mut connections = state.connections.lock();
                connections.remove(&id);
                if connections.is_empty() {
                    state.emptied.notify_waiters();
                }
            }
            drop(ticket);
        }));
    }
}

/// Opens the stream (a TLS handshake, say), then runs the connection's handshake on it.
async fn open<S: Transport>(
    opening: impl Future<Output = io::Result<S>>,
    side: Side,
) -> Result<Connection, HandshakeError> {
    let stream = tokio::time::timeout(side.config.handshake_timeout, opening)
        .await
        .map_err(|_| HandshakeError::Timeout)??;
    establish(stream, side).await
}

impl ServerHandle {
    /// Serves a connection over `stream`, any tokio stream (a pipe, a TLS stream of your
    /// own, a socket of a kind tartine does not bind), as if the server had accepted it: the
    /// same limits (counted as coming from no IP address), root and shutdown.
    ///
    /// # Panics
    /// Outside a tokio runtime, as `tokio::spawn` does: the connection runs on tasks of its own.
    ///
    /// ```
    /// # use tartine::{Server, referenceable};
    /// pub struct Echo;
    ///
    /// #[referenceable]
    /// impl Echo {
    ///     pub fn echo(&self, text: String) -> String {
    ///         text
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = Server::bind("127.0.0.1:0", Echo).await?;
    /// let handle = server.handle();
    /// let (ours, theirs) = tokio::io::duplex(64 * 1024);
    /// handle.serve_stream(theirs);
    /// let connection = tartine::connect_stream(ours, tartine::Config::default()).await?;
    /// let echo = connection.root::<Echo>()?;
    /// assert_eq!(echo.echo("hi".into()).await?, "hi");
    /// # Ok(())
    /// # }
    /// ```
    pub fn serve_stream<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        if self.state.shutdown.is_cancelled() {
            return;
        }
        self.state.admit(None, async move { Ok(AnyStream(stream)) });
    }

    /// Connects to this server over an in-memory pipe, with the default [`Config`]: what a
    /// test needs, with no socket.
    ///
    /// # Errors
    /// When the handshake fails (the server is shut down, or full).
    pub async fn connect_in_memory(&self) -> Result<Connection, ConnectError> {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        self.serve_stream(theirs);
        crate::client::connect_stream(ours, Config::default()).await
    }

    /// A snapshot of the open connections and the references they hold.
    pub fn stats(&self) -> ServerStats {
        let connections = self.state.open_connections();
        let (_, pending) = self.state.admission.counts();
        ServerStats {
            connections: connections.len(),
            exports: connections.iter().map(|c| c.stats().exports).sum(),
            logins: connections
                .iter()
                .map(|c| c.shared.lifecycle.logins())
                .sum(),
            pending,
            pending_memory: self.state.pending_budget.used(),
        }
    }

    /// Shuts the server down: stops accepting at once; each connection takes no new call
    /// (its caller gets [`CallError::ShuttingDown`](crate::CallError::ShuttingDown)), finishes
    /// those it runs, sends their replies and closes. Connections still running calls after
    /// `grace` are closed then (`Duration::ZERO`: at once). Each connection's logout actions
    /// run once, as it closes, then its disconnect hook ([`Server::on_disconnect`]).
    ///
    /// The shutdown proceeds whether or not the returned future is awaited; it resolves once
    /// every connection is closed.
    ///
    /// ```no_run
    /// # async fn stop(handle: tartine::ServerHandle) {
    /// handle.shutdown(std::time::Duration::from_secs(10)).await;
    /// # }
    /// ```
    pub fn shutdown(&self, grace: Duration) -> impl Future<Output = ()> + Send + use<> {
        let state = Arc::clone(&self.state);
        state.shutdown.cancel();
        state.drain_all();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if !grace.is_zero() => {
                let late = Arc::downgrade(&state);
                runtime.spawn(async move {
                    tokio::time::sleep(grace).await;
                    if let Some(state) = late.upgrade() {
                        state.close_all();
                    }
                });
            }
            _ => state.close_all(),
        }
        async move { state.all_closed().await }
    }
}
