//! Provides the error types of tartine: call failures, connection failures and handshake failures.

use std::io;

/// Why a remote call failed for a reason of the framework, not of the method itself.
///
/// A method's own error type reaches the caller through [`RemoteError::Method`]; everything that
/// can go wrong around the call (the connection, the reference, the arguments) is a `CallError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The connection closed before the reply arrived, or was already closed.
    #[error("connection lost")]
    ConnectionLost,
    /// The target object does not exist on this connection: never exported to it, released, or
    /// belonging to another connection. All three look the same on purpose.
    #[error("no such object")]
    NoSuchObject,
    /// The target object exists but exposes no method of that name.
    #[error("no method `{method}` on `{interface}`")]
    NoSuchMethod {
        /// The interface of the target object.
        interface: String,
        /// The method name the caller asked for.
        method: String,
    },
    /// The arguments could not be decoded as the method's parameters (wrong types or count).
    #[error("bad arguments: {0}")]
    BadArguments(String),
    /// A reference handed back to its owner is not of the type the method expects.
    #[error("wrong reference type: expected `{expected}`, found `{found}`")]
    WrongReferenceType {
        /// The interface the parameter declares.
        expected: String,
        /// The interface of the object the reference points at.
        found: String,
    },
    /// A `Remote<T>` obtained on one connection was sent over another: references are only
    /// meaningful on the connection that handed them out.
    #[error("a reference obtained on another connection cannot be sent over this one")]
    ForeignReference,
    /// Exporting one more object would pass the limit of references exported to this connection.
    #[error("too many references exported to this connection (limit {limit})")]
    TooManyReferences {
        /// The configured limit.
        limit: usize,
    },
    /// The peer already runs as many calls from this connection as it allows.
    #[error("the peer is busy: too many calls in flight on this connection")]
    Busy,
    /// The server is shutting down: it finishes the calls it runs, and takes no new ones.
    #[error("the server is shutting down: it takes no new calls")]
    ShuttingDown,
    /// The encoded message is larger than the frame size limit.
    #[error("message of {size} bytes exceeds the frame size limit of {limit} bytes")]
    MessageTooLarge {
        /// The size of the encoded message.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The arguments (caller side) or the result (callee side) could not be encoded.
    #[error("could not encode: {0}")]
    Encode(String),
    /// The reply could not be decoded as the method's result type.
    #[error("bad reply: {0}")]
    BadReply(String),
    /// No reply came within [`Config::call_timeout`](crate::Config::call_timeout).
    #[error("no reply within the call timeout")]
    TimedOut,
    /// The method panicked on the remote side.
    #[error("the remote method panicked")]
    Panicked,
    /// A viewable was called through a reference that was not handed out through an avatar of
    /// the type it expects (or through no login at all).
    #[error("not permitted: this object is only reachable through a `{avatar}` login")]
    NotPermitted {
        /// The avatar interface the method expects.
        avatar: String,
    },
}

/// The outcome of a failed call on a method that returns `Result<T, E>`.
///
/// `Method(e)` is the method's own error, as it returned it; `Call(err)` is a framework
/// failure. Both are easy to tell apart in a `match`:
///
/// ```
/// # use tartine::{CallError, RemoteError};
/// # fn show(result: Result<u64, RemoteError<String>>) {
/// match result {
///     Ok(n) => println!("got {n}"),
///     Err(RemoteError::Method(reason)) => println!("the method refused: {reason}"),
///     Err(RemoteError::Call(CallError::ConnectionLost)) => println!("gone"),
///     Err(RemoteError::Call(other)) => println!("call failed: {other}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError<E> {
    /// The method ran and returned this error.
    #[error("{0}")]
    Method(E),
    /// The call failed in the framework.
    #[error(transparent)]
    Call(#[from] CallError),
}

impl<E> RemoteError<E> {
    /// The method's own error, if that is what this is.
    pub fn method_error(&self) -> Option<&E> {
        match self {
            RemoteError::Method(error) => Some(error),
            RemoteError::Call(_) => None,
        }
    }

    /// The framework failure, if that is what this is.
    pub fn call_error(&self) -> Option<&CallError> {
        match self {
            RemoteError::Method(_) => None,
            RemoteError::Call(error) => Some(error),
        }
    }
}

/// Why the opening handshake of a connection failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The peer does not speak tartine: its first bytes are not tartine's magic.
    #[error("the peer does not speak tartine (bad magic)")]
    BadMagic,
    /// The peer speaks another version of the protocol.
    #[error("protocol version mismatch: we speak {ours}, the peer speaks {theirs}")]
    VersionMismatch {
        /// Our protocol version.
        ours: u8,
        /// The peer's protocol version.
        theirs: u8,
    },
    /// The peer's first message was not a well-formed hello.
    #[error("the peer's first message is not a hello: {0}")]
    BadHello(String),
    /// The handshake did not complete within the configured time.
    #[error("the handshake timed out")]
    Timeout,
    /// The peer closed the connection during the handshake.
    #[error("the peer closed the connection during the handshake")]
    Closed,
    /// The peer speaks TLS: reach it with a `tls://` endpoint.
    #[error("the peer speaks TLS: connect to it with a `tls://` endpoint")]
    PeerSpeaksTls,
    /// Reading or writing the socket failed.
    #[error("i/o error during the handshake: {0}")]
    Io(#[from] io::Error),
}

/// Why connecting to a server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The connection could not be established (TCP or Unix socket).
    #[error("could not connect: {0}")]
    Io(#[from] io::Error),
    /// The connection was established but the handshake failed.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// The endpoint's text does not parse.
    #[error(transparent)]
    Endpoint(#[from] crate::endpoint::EndpointError),
    /// A `tls://` endpoint, but this build has no TLS (the `tls` feature), or no TLS
    /// settings were given ([`Config::tls_client`](crate::Config)).
    #[error(
        "a `tls://` endpoint needs the `tls` feature and the client's TLS settings (`Config::tls_client`)"
    )]
    TlsUnavailable,
    /// The TLS handshake failed: the server's certificate is not trusted, not valid for the
    /// host, or expired; the peer does not speak TLS; and so on.
    #[cfg(feature = "tls")]
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// Why the root object of a connection could not be obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RootError {
    /// The peer publishes no root object.
    #[error("the peer publishes no root object")]
    NoRoot,
    /// The peer's root object is of another type.
    #[error("the peer's root object is `{found}`, not `{expected}`")]
    WrongType {
        /// The interface the caller asked for.
        expected: String,
        /// The interface of the peer's root object.
        found: String,
    },
    /// The connection is closed.
    #[error("connection lost")]
    ConnectionLost,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer closed the connection.
    #[error("the peer closed the connection")]
    PeerClosed,
    /// This side closed the connection (every handle dropped, `close` called, or server shutdown).
    #[error("closed locally")]
    Local,
    /// The peer sent a frame larger than the configured limit.
    #[error("the peer sent a frame larger than the limit of {limit} bytes")]
    FrameTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The peer stopped reading: more than [`Config::max_write_queue`](crate::Config::max_write_queue)
    /// bytes waited for it.
    #[error("the peer does not read what it asked for (more than {limit} bytes waiting)")]
    SlowPeer {
        /// The configured limit.
        limit: usize,
    },
    /// The peer did not log in within [`Config::login_timeout`](crate::Config::login_timeout).
    #[error("no login within the allowed time")]
    LoginTimeout,
    /// Nothing came from the peer for three keepalive periods, pings unanswered.
    #[error("the peer stopped answering")]
    PeerVanished,
    /// The server had no room for a pending connection: the budget for long frames of
    /// pending connections was spent, or the connection was the oldest pending one when the
    /// pending slots were full (see [`Config::max_pending_connections`](crate::Config::max_pending_connections)).
    #[error("the server is busy: no room for a connection that has not logged in")]
    Busy,
    /// The connection failed to log in too many times
    /// ([`Config::max_failed_logins_per_connection`](crate::Config::max_failed_logins_per_connection)).
    #[error("too many failed logins on this connection")]
    TooManyFailedLogins,
    /// The tokio runtime that ran the connection's tasks shut down.
    #[error("the runtime running the connection shut down")]
    RuntimeGone,
    /// The peer broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// Reading or writing the socket failed.
    #[error("i/o error: {0}")]
    Io(String),
}

/// A violation of the wire protocol by the peer; the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The frame starts with a message kind this version does not know.
    #[error("unknown message kind {0}")]
    UnknownMessageKind(u64),
    /// The frame could not be decoded as a message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A hello arrived after the handshake.
    #[error("unexpected hello after the handshake")]
    UnexpectedHello,
    /// A message announced more references than the limit allows.
    #[error("a message announces {count} references, more than the limit of {limit}")]
    TooManyAnnouncedReferences {
        /// How many the message announced (each naming counts).
        count: usize,
        /// The limit: the receiver's [`Config::max_exports`](crate::Config::max_exports), which
        /// it tells the sender in its hello.
        limit: usize,
    },
    /// The peer handed over more of its objects than we hold at once.
    #[error("the peer hands over more than the limit of {limit} of its objects held at once")]
    TooManyImports {
        /// The limit: the receiver's [`Config::max_exports`](crate::Config::max_exports), which
        /// it tells the sender in its hello.
        limit: usize,
    },
}
