//! Provides every limit and timeout of a connection, a server and a login, with its default and
//! what it bounds.

use std::time::Duration;

/// Limits and timeouts of connections, servers and logins; the defaults suit most servers.
///
/// Each limit bounds what a peer can make this side spend. The crate docs ("What one peer can
/// cost") add them up for the defaults.
///
/// ```
/// let mut config = tartine::Config::default();
/// config.max_frame_size = 1 << 20;
/// config.max_exports = 1_000;
/// config.call_timeout = Some(std::time::Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The largest frame accepted or sent, in bytes (default 16 MiB). A peer announcing a
    /// larger frame is disconnected before anything is allocated for it. Each side tells the
    /// other its limit in the handshake and sends nothing larger than the smaller of the two:
    /// a call or reply that would be larger fails with
    /// [`CallError::MessageTooLarge`](crate::CallError::MessageTooLarge), and the connection
    /// stays. Room for a frame is
    /// reserved when its length arrives and touched as its bytes do; for connections that have
    /// not logged in, it is made as the bytes arrive, from [`max_pending_memory`](Self::max_pending_memory).
    pub max_frame_size: usize,
    /// How deeply a decoded value may nest (default 128): every sequence, map, struct, tuple,
    /// enum, `Some` and newtype is one level. A deeper argument fails its call with
    /// [`CallError::BadArguments`](crate::CallError::BadArguments), before the stack is at risk.
    pub max_decode_depth: u32,
    /// How many items (sequence elements, map entries) a payload may hold beyond one per byte
    /// of its encoding (default 65,536). This bounds the work of decoding zero-sized elements,
    /// which take no bytes: decoding is linear in the size of the payload.
    pub max_decode_items: usize,
    /// The largest payload decoded on the runtime's worker threads (default 4 MiB); larger
    /// ones, arguments and replies alike, are decoded on tokio's blocking pool. A connection
    /// decodes one such call at a time.
    pub max_inline_decode: usize,
    /// How many items (sequence elements, map entries) a decode on a worker thread may take
    /// (default 16,384, about a millisecond at most): a payload that holds more is decoded
    /// again on tokio's blocking pool, so that no costly decode holds up a worker. Payloads
    /// of few items (a `Bytes`, a long string) stay on the worker whatever their size.
    pub max_inline_decode_items: usize,
    /// How many of our objects one connection's peer may hold references to at once, and how
    /// many of its objects we hold (default 16,384). Each side tells the other its limit in the
    /// handshake, and exports at most the smaller of the two: past it, a call whose result
    /// would export one more fails with
    /// [`CallError::TooManyReferences`](crate::CallError::TooManyReferences). A peer that hands
    /// over more than our limit of its objects is closed
    /// ([`ProtocolError::TooManyImports`](crate::ProtocolError::TooManyImports)).
    ///
    /// It also bounds what one message may hand us: at most this many references, each naming
    /// counting (a result holding one object in three places hands it over three times). A
    /// call or a reply handing over more than the peer takes fails with `TooManyReferences`
    /// instead of being sent.
    pub max_exports: usize,
    /// How many calls from the peer run at once on one connection (default 1,024). Further calls
    /// are answered [`CallError::Busy`](crate::CallError::Busy).
    pub max_calls_in_flight: usize,
    /// Whether each call of an `async` method runs as a tokio task of its own (default
    /// `false`). Calls otherwise run in their connection's reader task: cheapest, but the calls
    /// of one connection then share one worker thread at a time, and a method that computes
    /// for long delays that connection's other replies. A method marked
    /// `#[tartine(spawn)]` runs as a task of its own whatever this says, `async` or not.
    pub spawn_calls: bool,
    /// How many bytes of request frames the calls running on one connection may hold at once
    /// (default 64 MiB): a running call keeps the frame its arguments came in (a [`Bytes`](crate::Bytes)
    /// argument is a slice of it). A call that would pass it is answered
    /// [`CallError::Busy`](crate::CallError::Busy). Calls that answer at once hold nothing,
    /// and a call finds room whatever its size when no other call holds any.
    pub max_in_flight_bytes: usize,
    /// How long a client waits to reach a server: for the name lookup, then for the TCP (or
    /// Unix socket) connect to each address the name has, tried in turn (default 10 s each).
    /// When none answers in time, connecting fails with
    /// [`ConnectError::Io`](crate::ConnectError::Io) of kind
    /// [`TimedOut`](std::io::ErrorKind::TimedOut). Without it, an address that drops packets
    /// holds a connect for about two minutes.
    pub connect_timeout: Duration,
    /// How long the opening handshake may take (default 10 s).
    pub handshake_timeout: Duration,
    /// How long a call, the calls of a login included, waits for its reply before failing with
    /// [`CallError::TimedOut`](crate::CallError::TimedOut) (default 30 s; `None` waits for
    /// ever). The peer is told to stop running the call. A method overrides it with
    /// `#[tartine(timeout = "..")]`, a caller with [`Remote::with_timeout`](crate::Remote::with_timeout).
    pub call_timeout: Option<Duration>,
    /// How often a silent connection checks that its peer is still there (default 15 s). After
    /// one period without any frame it sends a ping (which the peer's runtime answers); after
    /// three, unless bytes of a frame still arrived meanwhile (a long frame over a slow link),
    /// it closes the connection with
    /// [`CloseReason::PeerVanished`](crate::CloseReason::PeerVanished). `None` never checks.
    pub keepalive: Option<Duration>,
    /// How many bytes may wait to be written to one peer (default 64 MiB), whoever queues them:
    /// replies, our own calls, or other connections' code calling this peer's objects. The
    /// frame that would pass the limit closes the connection with
    /// [`CloseReason::SlowPeer`](crate::CloseReason::SlowPeer). Each frame counts its bytes
    /// plus a fixed overhead of 64 bytes, so many tiny frames count too. Set below
    /// [`max_frame_size`](Self::max_frame_size), the queue also has room beside it for one
    /// frame of the largest size, so that a large frame does not make a peer that reads look
    /// slow: what waits for a peer is then at most the two limits together.
    pub max_write_queue: usize,
    /// How many connections a server holds at once, handshakes included (default 50,000).
    /// Past it, new connections are closed as soon as they are accepted.
    pub max_connections: usize,
    /// How many connections a server holds from one address at once (default 1,024). IPv6
    /// addresses count by their /64 prefix.
    pub max_connections_per_address: usize,
    /// How many connections may be pending at once on a server (default 1,024): in their
    /// handshake, or, on a portal, not logged in yet. Pending connections are counted apart
    /// from logged-in ones, so they cannot crowd real clients out: when the limit is reached,
    /// the oldest pending connection is closed to make room for the new one.
    pub max_pending_connections: usize,
    /// How many pending connections one address may hold at once (default 64); further ones
    /// are closed as soon as they are accepted. IPv6 addresses count by their /64 prefix.
    pub max_pending_per_address: usize,
    /// How many bytes of frames larger than a connection's initial read buffer all pending
    /// connections of a server may hold together while receiving them (default 16 MiB). A
    /// pending connection whose frame would pass it is closed with
    /// [`CloseReason::Busy`](crate::CloseReason::Busy). Logins are small frames, and never
    /// need any of it.
    pub max_pending_memory: usize,
    /// The listen backlog of a server's socket (default 1,024; the system may cap it, on Linux
    /// at `net.core.somaxconn`): how many connections the kernel queues before the server
    /// accepts them.
    pub listen_backlog: u32,
    /// How long a connection to a portal may stay without a login before it is closed
    /// (default 30 s).
    pub login_timeout: Duration,
    /// How many logins may be open at once on one connection (default 16). Further logins
    /// fail with [`LoginError::TooManyLogins`](crate::cred::LoginError::TooManyLogins). A
    /// perspective taken through an identity does not count that identity, which
    /// `Connection::login_service` ends at once: the connection may hold one login past the
    /// limit until the identity ends.
    pub max_logins_per_connection: usize,
    /// The fewest PBKDF2 iterations a client accepts from a server for a password login
    /// (default 4,096, SCRAM's minimum). A server asking for fewer would make a captured
    /// exchange cheap to crack, so the client refuses before sending any proof.
    pub min_login_iterations: u32,
    /// The most PBKDF2 iterations a client accepts from a server (default 1,000,000), so a
    /// hostile server cannot make a client spin.
    pub max_login_iterations: u32,
    /// Failed password logins allowed per user name, whatever address they come from (default:
    /// 10 at once, then one every 6 s). Past it, attempts for that user fail as if the
    /// password were wrong, even when it is right.
    pub failed_logins_per_user: RateLimit,
    /// Failed password logins, and token logins with a made-up token, allowed per peer
    /// address, whatever user they name (default: 20 at once, then one per second). Past it, a
    /// password login answers as a wrong password, and a token login is refused without asking
    /// its issuer. IPv6 addresses count by their /64 prefix.
    pub failed_logins_per_address: RateLimit,
    /// How many token logins from one peer address may be checked at once, whatever their
    /// outcome (default 64, at least 1): the questions their issuer (an authentication server)
    /// answers for that address at a time. Past it, a token login is refused without a
    /// question (`LoginError::Refused`). Only made-up tokens spend the address's
    /// [`failed_logins_per_address`](Self::failed_logins_per_address): one address gets at
    /// most this many plus that budget questions about made-up tokens in a burst; then, as the
    /// budget drains, about one a second on average, but in bursts of up to this many, each
    /// leaving the address refused (its password logins too) for about as many seconds.
    pub max_token_checks_per_address: u32,
    /// How many failed logins one connection may make before it is closed (default 5).
    pub max_failed_logins_per_connection: u32,
    /// How long the answer to a failed password login is held back (default 200 ms), the
    /// same whether the password was wrong, the user unknown, or the attempt throttled.
    pub failed_login_delay: Duration,
    /// The server's TLS settings, which a `tls://` endpoint needs to bind (none by default).
    #[cfg(feature = "tls")]
    pub tls_server: Option<crate::tls::TlsServerConfig>,
    /// The client's TLS settings, which a `tls://` endpoint needs to connect (none by
    /// default).
    #[cfg(feature = "tls")]
    pub tls_client: Option<crate::tls::TlsClientConfig>,
}

/// A budget of events: `burst` at once, then one more every `refill`.
///
/// ```
/// # use std::time::Duration;
/// let limit = tartine::RateLimit::new(5, Duration::from_secs(10));
/// assert_eq!(limit.burst, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// How many events may come at once.
    pub burst: u32,
    /// How long it takes to earn one more event.
    pub refill: Duration,
}

impl RateLimit {
    /// `burst` events at once, then one more every `refill`.
    pub fn new(burst: u32, refill: Duration) -> Self {
        RateLimit { burst, refill }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 * 1024 * 1024,
            max_decode_depth: 128,
            max_decode_items: 65_536,
            max_inline_decode: 4 * 1024 * 1024,
            max_inline_decode_items: 16_384,
            max_exports: 16_384,
            max_calls_in_flight: 1_024,
            spawn_calls: false,
            max_in_flight_bytes: 64 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            call_timeout: Some(Duration::from_secs(30)),
            keepalive: Some(Duration::from_secs(15)),
            max_write_queue: 64 * 1024 * 1024,
            max_connections: 50_000,
            max_connections_per_address: 1_024,
            max_pending_connections: 1_024,
            max_pending_per_address: 64,
            max_pending_memory: 16 * 1024 * 1024,
            listen_backlog: 1_024,
            login_timeout: Duration::from_secs(30),
            max_logins_per_connection: 16,
            min_login_iterations: crate::cred::scram::DEFAULT_ITERATIONS,
            max_login_iterations: 1_000_000,
            failed_logins_per_user: RateLimit::new(10, Duration::from_secs(6)),
            failed_logins_per_address: RateLimit::new(20, Duration::from_secs(1)),
            max_token_checks_per_address: 64,
            max_failed_logins_per_connection: 5,
            failed_login_delay: Duration::from_millis(200),
            #[cfg(feature = "tls")]
            tls_server: None,
            #[cfg(feature = "tls")]
            tls_client: None,
        }
    }
}

impl Config {
    /// The decoding limits of payloads.
    pub(crate) fn decode_limits(&self) -> crate::codec::DecodeLimits {
        crate::codec::DecodeLimits::new(self.max_decode_depth, self.max_decode_items)
    }

    /// The decoding limits of payloads decoded on a worker thread.
    pub(crate) fn inline_decode_limits(&self) -> crate::codec::DecodeLimits {
        self.decode_limits().inline(self.max_inline_decode_items)
    }
}
