//! Provides the listening sockets a server accepts on: TCP, TLS over TCP, or a Unix domain
//! socket, bound from an [`Endpoint`].

use crate::config::Config;
use crate::endpoint::Endpoint;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// A bound listening socket.
pub(super) enum Listener {
    Tcp(TcpListener),
    #[cfg(feature = "tls")]
    Tls(TcpListener, tokio_rustls::TlsAcceptor),
    #[cfg(unix)]
    Unix {
        listener: tokio::net::UnixListener,
        /// Removed when the listener is dropped.
        path: PathBuf,
    },
}

/// A connection a listener accepted.
pub(super) enum Accepted {
    Tcp(TcpStream, SocketAddr),
    /// Its TLS handshake is still to run, on the connection's task.
    #[cfg(feature = "tls")]
    Tls(TcpStream, SocketAddr, tokio_rustls::TlsAcceptor),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl Listener {
    /// Binds `endpoint`, with `config`'s backlog and TLS settings.
    pub(super) async fn bind(endpoint: &Endpoint, config: &Config) -> io::Result<Self> {
        let backlog = config.listen_backlog;
        match endpoint {
            Endpoint::Tcp { host, port } => Ok(Listener::Tcp(
                listen_tcp((host.as_str(), *port), backlog).await?,
            )),
            #[cfg(feature = "tls")]
            Endpoint::Tls { host, port } => {
                let Some(tls) = &config.tls_server else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "a `tls://` endpoint needs the server's TLS settings (`Config::tls_server`)",
                    ));
                };
                let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::clone(&tls.rustls));
                let listener = listen_tcp((host.as_str(), *port), backlog).await?;
                Ok(Listener::Tls(listener, acceptor))
            }
            #[cfg(not(feature = "tls"))]
            Endpoint::Tls { .. } => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a `tls://` endpoint needs the `tls` feature",
            )),
            Endpoint::Unix(path) => bind_unix(path),
        }
    }

    /// Accepts the next connection.
    pub(super) async fn accept(&self) -> io::Result<Accepted> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok(Accepted::Tcp(stream, peer))
            }
            #[cfg(feature = "tls")]
            Listener::Tls(listener, acceptor) => {
                let (stream, peer) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok(Accepted::Tls(stream, peer, acceptor.clone()))
            }
            #[cfg(unix)]
            Listener::Unix { listener, .. } => {
                let (stream, _) = listener.accept().await?;
                Ok(Accepted::Unix(stream))
            }
        }
    }

    /// The TCP address bound, if this is TCP.
    pub(super) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Listener::Tcp(listener) => listener.local_addr(),
            #[cfg(feature = "tls")]
            Listener::Tls(listener, _) => listener.local_addr(),
            #[cfg(unix)]
            Listener::Unix { .. } => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a Unix socket has no IP address: see `Server::local_endpoint`",
            )),
        }
    }

    /// The endpoint bound (with the port a server picked for port 0).
    pub(super) fn local_endpoint(&self) -> io::Result<Endpoint> {
        match self {
            Listener::Tcp(listener) => listener.local_addr().map(Endpoint::from),
            #[cfg(feature = "tls")]
            Listener::Tls(listener, _) => listener.local_addr().map(|addr| Endpoint::Tls {
                host: addr.ip().to_string(),
                port: addr.port(),
            }),
            #[cfg(unix)]
            Listener::Unix { path, .. } => Ok(Endpoint::Unix(path.clone())),
        }
    }
}

#[cfg(unix)]
impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Binds a Unix socket at `path`. A socket file left by a server that is gone (nothing
/// answers on it) is replaced; a live one, or any other file, is an error.
#[cfg(unix)]
fn bind_unix(path: &std::path::Path) -> io::Result<Listener> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(metadata) = std::fs::symlink_metadata(path) {
        if !metadata.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("a server already listens on {}", path.display()),
                ));
            }
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                std::fs::remove_file(path)?;
            }
            Err(error) => return Err(error),
        }
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    Ok(Listener::Unix {
        listener,
        path: path.to_owned(),
    })
}

#[cfg(not(unix))]
fn bind_unix(_: &std::path::Path) -> io::Result<Listener> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Unix domain sockets exist on Unix only",
    ))
}

/// Binds a listening TCP socket on the first address of `addr` that binds, with `backlog`.
async fn listen_tcp(addr: impl tokio::net::ToSocketAddrs, backlog: u32) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        // As std's `TcpListener::bind` does on Unix: a restarted server can bind at once.
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(backlog)) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    }))
}
