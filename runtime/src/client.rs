//! Provides the ways to open a connection: to a TCP server, or an in-memory pair for tests and
//! examples.

use crate::config::Config;
use crate::connection::establish::{Side, establish};
use crate::connection::handle::Connection;
use crate::dispatch::Referenceable;
use crate::error::ConnectError;
use std::sync::Arc;
use tokio::net::{TcpStream, ToSocketAddrs};

/// Connects to a tartine server with the default [`Config`].
///
/// # Errors
/// When the TCP connection or the handshake fails.
pub async fn connect(addr: impl ToSocketAddrs) -> Result<Connection, ConnectError> {
    connect_with(addr, Config::default()).await
}

/// Connects to a tartine server with `config`.
///
/// # Errors
/// When the TCP connection or the handshake fails.
pub async fn connect_with(
    addr: impl ToSocketAddrs,
    config: Config,
) -> Result<Connection, ConnectError> {
    let stream = TcpStream::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    let peer_addr = stream.peer_addr().ok();
    let side = Side {
        config: Arc::new(config),
        root: None,
        peer_addr,
        client: true,
        pending_budget: None,
        pending_until_login: false,
        interfaces: Arc::default(),
    };
    Ok(establish(stream, side).await?)
}

/// Opens a connection over an in-memory pipe: returns the client side and the server side,
/// the server publishing `root`. Both behave as over TCP (same framing, same tables).
///
/// ```
/// # use tartine::referenceable;
/// pub struct Greeter;
///
/// #[referenceable]
/// impl Greeter {
///     pub fn greet(&self, name: String) -> String {
///         format!("hello, {name}")
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (client, _server) = tartine::connect_in_memory(Greeter).await?;
/// let greeter = client.root::<Greeter>()?;
/// assert_eq!(greeter.greet("ada".into()).await?, "hello, ada");
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// When the handshake fails (it does not over a pipe, unless the runtime is shutting down).
pub async fn connect_in_memory<T: Referenceable>(
    root: T,
) -> Result<(Connection, Connection), ConnectError> {
    let config = Arc::new(Config::default());
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let client = Side {
        config: Arc::clone(&config),
        root: None,
        peer_addr: None,
        client: true,
        pending_budget: None,
        pending_until_login: false,
        interfaces: Arc::default(),
    };
    let server = Side {
        config,
        root: Some(Arc::new(root)),
        peer_addr: None,
        client: false,
        pending_budget: None,
        pending_until_login: false,
        interfaces: Arc::default(),
    };
    let (client, server) = tokio::join!(establish(client_io, client), establish(server_io, server));
    Ok((client?, server?))
}
