//! Provides a TCP server that publishes one root object to every connection.

use crate::config::Config;
use crate::connection::Side;
use crate::connection::{Connection, establish};
use crate::cred::{Portal, PortalRoot};
use crate::dispatch::{Object, Referenceable};
use crate::lock::Lock;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio_util::sync::CancellationToken;

/// A bound TCP listener that serves a root object; run it with [`Server::run`].
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
    listener: TcpListener,
    root: Root,
    config: Config,
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
            Root::Portal(_) => crate::cred::PORTAL_INTERFACE,
        }
    }
}

struct ServerState {
    connections: Lock<HashMap<u64, Connection>>,
    /// Connections accepted and not yet closed, handshakes included.
    open: AtomicUsize,
    shutdown: CancellationToken,
}

/// A handle to a running server: statistics and shutdown.
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
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.listener.local_addr().ok())
            .field("root", &self.root.interface())
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
    /// Binds `addr` with the default [`Config`], publishing `root` to every connection.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind<T: Referenceable>(addr: impl ToSocketAddrs, root: T) -> io::Result<Self> {
        Self::bind_with(addr, Arc::new(root), Config::default()).await
    }

    /// Binds `addr` with `config`, publishing the shared `root` to every connection.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind_with<T: Referenceable>(
        addr: impl ToSocketAddrs,
        root: Arc<T>,
        config: Config,
    ) -> io::Result<Self> {
        Self::bind_root(addr, Root::Shared(root), config).await
    }

    /// Binds `addr` with the default [`Config`], serving `portal`: each connection reaches
    /// only the login until it logs in, and gets a reference to its avatar.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind_portal(addr: impl ToSocketAddrs, portal: Portal) -> io::Result<Self> {
        Self::bind_portal_with(addr, portal, Config::default()).await
    }

    /// Binds `addr` with `config`, serving `portal`.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind_portal_with(
        addr: impl ToSocketAddrs,
        portal: Portal,
        config: Config,
    ) -> io::Result<Self> {
        Self::bind_root(addr, Root::Portal(portal), config).await
    }

    async fn bind_root(addr: impl ToSocketAddrs, root: Root, config: Config) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Server {
            listener,
            root,
            config,
            state: Arc::new(ServerState {
                connections: Lock::new(HashMap::new()),
                open: AtomicUsize::new(0),
                shutdown: CancellationToken::new(),
            }),
        })
    }

    /// The address the server listens on.
    ///
    /// # Errors
    /// When the socket cannot report it.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
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
            let (stream, peer_addr) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(slot) = ConnectionSlot::take(&self.state, self.config.max_connections) else {
                tracing::warn!(%peer_addr, limit = self.config.max_connections, "too many connections; refused");
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let login_timeout =
                matches!(self.root, Root::Portal(_)).then_some(self.config.login_timeout);
            let side = Side {
                config: self.config.clone(),
                root: Some(self.root.for_connection()),
                peer_addr: Some(peer_addr),
                parent: Some(shutdown.clone()),
                client: false,
            };
            let state = Arc::clone(&self.state);
            tokio::spawn(async move {
                let _slot = slot;
                match establish(stream, side).await {
                    Ok(connection) => state.track(connection, login_timeout).await,
                    Err(error) => {
                        tracing::info!(%peer_addr, %error, "handshake failed");
                    }
                }
            });
        }
        Ok(())
    }
}

/// One of the server's `max_connections` places, held from accept to close.
struct ConnectionSlot {
    state: Arc<ServerState>,
}

impl ConnectionSlot {
    fn take(state: &Arc<ServerState>, limit: usize) -> Option<Self> {
        let taken = state
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < limit).then_some(open + 1)
            })
            .is_ok();
        taken.then(|| ConnectionSlot {
            state: Arc::clone(state),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.state.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ServerState {
    /// Keeps `connection` listed while it is open; closes it if it does not log in within
    /// `login_timeout`, when one applies.
    async fn track(&self, connection: Connection, login_timeout: Option<Duration>) {
        let id = connection.shared.id;
        self.connections.lock().insert(id, connection.clone());
        if let Some(timeout) = login_timeout {
            tokio::select! {
                () = tokio::time::sleep(timeout) => {
                    if !connection.shared.logged_in() {
                        tracing::info!(parent: &connection.shared.span, "no login in time; closing");
                        connection.shared.close(crate::CloseReason::LoginTimeout);
                    }
                }
                _ = connection.closed() => {}
            }
        }
        connection.closed().await;
        self.connections.lock().remove(&id);
    }
}

impl ServerHandle {
    /// A snapshot of the open connections and the references they hold.
    pub fn stats(&self) -> ServerStats {
        let connections: Vec<Connection> =
            self.state.connections.lock().values().cloned().collect();
        ServerStats {
            connections: connections.len(),
            exports: connections.iter().map(|c| c.stats().exports).sum(),
            logins: connections.iter().map(|c| c.shared.session_count()).sum(),
        }
    }

    /// Stops accepting and closes every connection.
    pub fn shutdown(&self) {
        self.state.shutdown.cancel();
    }
}
