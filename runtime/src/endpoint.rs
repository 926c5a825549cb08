//! Provides [`Endpoint`], where a server listens and a client connects, parsed from text
//! (`tcp://host:port`, `tls://host:port`, `unix:/path`), and [`ToEndpoint`], what `connect`
//! and `Server::bind` accept in its place.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

/// Where a server listens and a client connects.
///
/// Parsed from text with [`str::parse`]:
///
/// | text | endpoint |
/// | --- | --- |
/// | `tcp://host:port`, or `host:port` | TCP; `host` is a name, an IPv4 address, or an IPv6 address in brackets (`[::1]`) |
/// | `tls://host:port` | TLS over TCP (the `tls` feature); the client checks the server's certificate against `host` |
/// | `unix:/path`, `unix:relative/path` | a Unix domain socket (Unix only) |
///
/// ```
/// use tartine::Endpoint;
///
/// let endpoint: Endpoint = "tcp://[::1]:7000".parse()?;
/// assert_eq!(endpoint, Endpoint::Tcp { host: "::1".into(), port: 7000 });
/// assert_eq!(endpoint.to_string(), "tcp://[::1]:7000");
///
/// let error = "tpc://localhost:7000".parse::<Endpoint>().unwrap_err();
/// assert!(error.to_string().contains("expected `tcp://host:port`"));
/// # Ok::<(), tartine::EndpointError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// Plain TCP.
    Tcp {
        /// A host name or an IP address (an IPv6 address without its brackets).
        host: String,
        /// The port; 0 lets a server pick one.
        port: u16,
    },
    /// TLS over TCP.
    Tls {
        /// A host name or an IP address; the client checks the server's certificate for it.
        host: String,
        /// The port; 0 lets a server pick one.
        port: u16,
    },
    /// A Unix domain socket, by its path.
    Unix(PathBuf),
}

/// Why a text is not an [`Endpoint`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not an endpoint: {reason}; expected `tcp://host:port`, `tls://host:port` or `unix:/path`"
)]
pub struct EndpointError {
    input: String,
    reason: &'static str,
}

impl EndpointError {
    fn new(input: &str, reason: &'static str) -> Self {
        EndpointError {
            input: input.to_owned(),
            reason,
        }
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if let Some(path) = input.strip_prefix("unix:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(EndpointError::new(input, "the socket's path is missing"));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        let (scheme, rest) = match input.split_once("://") {
            Some((scheme, rest)) => (Some(scheme), rest),
            None => (None, input),
        };
        let (host, port) = host_and_port(input, rest)?;
        match scheme {
            None | Some("tcp") => Ok(Endpoint::Tcp { host, port }),
            Some("tls") => Ok(Endpoint::Tls { host, port }),
            Some(_) => Err(EndpointError::new(input, "unknown scheme")),
        }
    }
}

/// Splits `host:port`, `[v6]:port`; `input` is the whole text, for the error.
fn host_and_port(input: &str, rest: &str) -> Result<(String, u16), EndpointError> {
    let Some((host, port)) = rest.rsplit_once(':') else {
        return Err(EndpointError::new(input, "the port is missing"));
    };
    let host = if let Some(bracketed) = host.strip_prefix('[') {
        let Some(v6) = bracketed.strip_suffix(']') else {
            return Err(EndpointError::new(input, "an IPv6 address lacks its `]`"));
        };
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(EndpointError::new(
                input,
                "the address in brackets is not IPv6",
            ));
        }
        v6
    } else if host.contains(':') {
        return Err(EndpointError::new(
            input,
            "an IPv6 address goes in brackets, as in `[::1]:7000`",
        ));
    } else {
        host
    };
    if host.is_empty() {
        return Err(EndpointError::new(input, "the host is missing"));
    }
    if host.contains(['/', '?', '#', '@', ' ']) {
        return Err(EndpointError::new(
            input,
            "a host is a name or an address, without a path, a user or spaces",
        ));
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| EndpointError::new(input, "the port is not a number from 0 to 65535"))?;
    Ok((host.to_owned(), port))
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, host, port) = match self {
            Endpoint::Tcp { host, port } => ("tcp", host, port),
            Endpoint::Tls { host, port } => ("tls", host, port),
            Endpoint::Unix(path) => return write!(f, "unix:{}", path.display()),
        };
        if host.contains(':') {
            write!(f, "{scheme}://[{host}]:{port}")
        } else {
            write!(f, "{scheme}://{host}:{port}")
        }
    }
}

impl From<SocketAddr> for Endpoint {
    fn from(addr: SocketAddr) -> Self {
        Endpoint::Tcp {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

/// What `connect` and `Server::bind` accept as an endpoint: an [`Endpoint`], text that parses
/// as one (`"tcp://host:port"`, `"127.0.0.1:7000"`, `"unix:/run/app.sock"`), or a socket
/// address (`SocketAddr`, `(IpAddr, u16)`, `(&str, u16)`) for TCP.
pub trait ToEndpoint {
    /// The endpoint.
    ///
    /// # Errors
    /// When text does not parse as an endpoint.
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError>;
}

impl ToEndpoint for Endpoint {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        Ok(self.clone())
    }
}

impl ToEndpoint for str {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        self.parse()
    }
}

impl ToEndpoint for String {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        self.parse()
    }
}

impl ToEndpoint for SocketAddr {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        Ok(Endpoint::from(*self))
    }
}

impl ToEndpoint for (IpAddr, u16) {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        Ok(Endpoint::from(SocketAddr::from(*self)))
    }
}

impl ToEndpoint for (Ipv4Addr, u16) {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        Ok(Endpoint::from(SocketAddr::from(*self)))
    }
}

impl ToEndpoint for (Ipv6Addr, u16) {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        Ok(Endpoint::from(SocketAddr::from(*self)))
    }
}

impl ToEndpoint for (&str, u16) {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        let (host, port) = *self;
        let host = host
            .strip_prefix('[')
            .and_then(|host| host.strip_suffix(']'))
            .unwrap_or(host);
        Ok(Endpoint::Tcp {
            host: host.to_owned(),
            port,
        })
    }
}

impl<T: ToEndpoint + ?Sized> ToEndpoint for &T {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        (**self).to_endpoint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Endpoint, String> {
        text.parse::<Endpoint>().map_err(|error| error.to_string())
    }

    #[test]
    fn every_form_parses_and_prints_back() {
        for (text, endpoint) in [
            (
                "tcp://localhost:7000",
                Endpoint::Tcp {
                    host: "localhost".into(),
                    port: 7000,
                },
            ),
            (
                "tls://chat.example.org:443",
                Endpoint::Tls {
                    host: "chat.example.org".into(),
                    port: 443,
                },
            ),
            (
                "tcp://[::1]:0",
                Endpoint::Tcp {
                    host: "::1".into(),
                    port: 0,
                },
            ),
            ("unix:/run/app.sock", Endpoint::Unix("/run/app.sock".into())),
        ] {
            assert_eq!(parse(text), Ok(endpoint.clone()), "{text}");
            assert_eq!(endpoint.to_string(), text);
        }
        assert_eq!(
            parse("127.0.0.1:9"),
            Ok(Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 9
            })
        );
        assert_eq!(
            parse("unix://tmp/a.sock"),
            Ok(Endpoint::Unix("tmp/a.sock".into()))
        );
        assert_eq!(
            parse("unix:relative.sock"),
            Ok(Endpoint::Unix("relative.sock".into()))
        );
    }

    #[test]
    fn bad_text_says_what_is_wrong_and_what_was_expected() {
        for (text, reason) in [
            ("udp://host:1", "unknown scheme"),
            ("tcp://host", "the port is missing"),
            ("tcp://:80", "the host is missing"),
            ("tcp://host:http", "not a number from 0 to 65535"),
            ("tcp://host:65536", "not a number from 0 to 65535"),
            ("tcp://::1:80", "goes in brackets"),
            ("tcp://[::1:80", "lacks its `]`"),
            ("tcp://[host]:80", "not IPv6"),
            ("tcp://host/path:80", "without a path"),
            ("unix:", "path is missing"),
            ("", "the port is missing"),
        ] {
            let error = parse(text).expect_err(text);
            assert!(error.contains(reason), "{text}: {error}");
            assert!(
                error.contains("expected `tcp://host:port`, `tls://host:port` or `unix:/path`"),
                "{error}"
            );
        }
    }

    #[test]
    fn socket_addresses_are_tcp_endpoints() {
        let v6: SocketAddr = "[::1]:5".parse().expect("address");
        assert_eq!(
            v6.to_endpoint(),
            Ok(Endpoint::Tcp {
                host: "::1".into(),
                port: 5
            })
        );
        assert_eq!(
            ("[::1]", 5).to_endpoint(),
            Ok(Endpoint::Tcp {
                host: "::1".into(),
                port: 5
            })
        );
        assert_eq!("tcp://h:1".to_endpoint(), String::from("h:1").to_endpoint());
    }
}
