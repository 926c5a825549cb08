//! Provides the ways to open a connection: to a server's endpoint (TCP, a Unix domain
//! socket), over any stream, or an in-memory pair for tests and examples.

use crate::config::Config;
use crate::connection::establish::{Side, establish};
use crate::connection::handle::Connection;
use crate::connection::transport::{AnyStream, Transport};
use crate::dispatch::Referenceable;
use crate::endpoint::{Endpoint, ToEndpoint};
use crate::error::ConnectError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Connects to a tartine server with the default [`Config`].
///
/// `endpoint` is an [`Endpoint`], text such as `"tcp://localhost:7000"`, `"127.0.0.1:7000"`
/// or `"unix:/run/app.sock"`, or a socket address (see [`ToEndpoint`]).
///
/// # Errors
/// When the endpoint does not parse ([`ConnectError::Endpoint`]), or the connection or the
/// handshake fails.
pub async fn connect(endpoint: impl ToEndpoint) -> Result<Connection, ConnectError> {
    connect_with(endpoint, Config::default()).await
}

/// Connects to a tartine server with `config`.
///
/// # Errors
/// As [`connect`].
pub async fn connect_with(
    endpoint: impl ToEndpoint,
    config: Config,
) -> Result<Connection, ConnectError> {
    match endpoint.to_endpoint()? {
        Endpoint::Tcp { host, port } => {
            let stream = connect_tcp(&host, port, config.connect_timeout).await?;
            let peer_addr = stream.peer_addr().ok();
            open(stream, peer_addr, config).await
        }
        #[cfg(feature = "tls")]
        Endpoint::Tls { host, port } => {
            let Some(tls) = config.tls_client.clone() else {
                return Err(ConnectError::TlsUnavailable);
            };
            let name = crate::tls::server_name(&host)?;
            let tcp = connect_tcp(&host, port, config.connect_timeout).await?;
            let peer_addr = tcp.peer_addr().ok();
            let connector = tokio_rustls::TlsConnector::from(tls.rustls);
            let mut stream =
                tokio::time::timeout(config.handshake_timeout, connector.connect(name, tcp))
                    .await
                    .map_err(|_| crate::tls::TlsError::Timeout)?
                    .map_err(|error| crate::tls::client_failure(error, &host))?;
            crate::tls::tune(stream.get_mut().1);
            // In TLS 1.3 the server checks a client certificate after the client is done:
            // its refusal arrives as an alert during tartine's handshake.
            open(stream, peer_addr, config)
                .await
                .map_err(|error| match error {
                    ConnectError::Handshake(crate::error::HandshakeError::Io(io))
                        if crate::tls::is_tls_error(&io) =>
                    {
                        ConnectError::Tls(crate::tls::client_failure(io, &host))
                    }
                    other => other,
                })
        }
        #[cfg(not(feature = "tls"))]
        Endpoint::Tls { .. } => Err(ConnectError::TlsUnavailable),
        #[cfg(unix)]
        Endpoint::Unix(path) => {
            let stream = within(
                config.connect_timeout,
                tokio::net::UnixStream::connect(path),
            )
            .await?;
            open(stream, None, config).await
        }
        #[cfg(not(unix))]
        Endpoint::Unix(_) => Err(ConnectError::Io(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "Unix domain sockets exist on Unix only",
        ))),
    }
}

/// Connects to `host:port`, with Nagle's algorithm off: looks the name up, then tries each of
/// its addresses in turn, the lookup and each attempt within `limit` (an address that drops
/// packets, such as a broken IPv6 route, leaves time for the next one).
///
/// # Errors
/// [`ConnectError::Io`]: the last address's error, the lookup's, or one of kind
/// [`TimedOut`](std::io::ErrorKind::TimedOut).
async fn connect_tcp(host: &str, port: u16, limit: Duration) -> Result<TcpStream, ConnectError> {
    let addresses = within(limit, tokio::net::lookup_host((host, port))).await?;
    let mut last = None;
    for address in addresses {
        match within(limit, TcpStream::connect(address)).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| {
        ConnectError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("`{host}` resolves to no address"),
        ))
    }))
}

/// Waits for `reaching` (a name lookup or a socket's connect) at most `limit`.
///
/// # Errors
/// [`ConnectError::Io`]: the connect's own error, or one of kind
/// [`TimedOut`](std::io::ErrorKind::TimedOut) past `limit`.
async fn within<T>(
    limit: Duration,
    reaching: impl Future<Output = std::io::Result<T>>,
) -> Result<T, ConnectError> {
    match tokio::time::timeout(limit, reaching).await {
        Ok(reached) => Ok(reached?),
        Err(_) => Err(ConnectError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {limit:?} (Config::connect_timeout)"),
        ))),
    }
}

/// Opens a connection over `stream`, any tokio stream already connected to a tartine server
/// (a TLS stream of your own, a pipe, a socket of another kind), with `config`.
///
/// # Errors
/// When the handshake fails.
pub async fn connect_stream<S>(stream: S, config: Config) -> Result<Connection, ConnectError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    open(AnyStream(stream), None, config).await
}

/// Runs the client's handshake on `stream`.
async fn open(
    stream: impl Transport,
    peer_addr: Option<SocketAddr>,
    config: Config,
) -> Result<Connection, ConnectError> {
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
