//! Provides the limits and timeouts of a connection.

use std::time::Duration;

/// Limits and timeouts of a connection; the defaults suit most servers.
///
/// ```
/// let mut config = tartine::Config::default();
/// config.max_frame_size = 1 << 20;
/// config.max_exports = 1_000;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The largest frame accepted or sent, in bytes (default 16 MiB). A peer announcing a
    /// larger frame is disconnected before anything is allocated for it.
    pub max_frame_size: usize,
    /// How many of our objects one connection's peer may hold references to at once (default
    /// 16,384). Past it, a call whose result would export one more fails with
    /// [`CallError::TooManyReferences`](crate::CallError::TooManyReferences).
    pub max_exports: usize,
    /// How many calls from the peer run at once on one connection (default 1,024). Further calls
    /// are answered [`CallError::Busy`](crate::CallError::Busy).
    pub max_calls_in_flight: usize,
    /// How long the opening handshake may take (default 10 s).
    pub handshake_timeout: Duration,
    /// How long a call waits for its reply before failing with
    /// [`CallError::TimedOut`](crate::CallError::TimedOut) (default: no limit). The peer may
    /// still run the call; its late reply is discarded (and any references in it released).
    pub call_timeout: Option<Duration>,
    /// How often a silent connection checks that its peer is still there (default 15 s). After
    /// one period without any frame it sends a ping (which the peer's runtime answers); after
    /// three, it closes the connection with
    /// [`CloseReason::PeerVanished`](crate::CloseReason::PeerVanished). `None` never checks.
    pub keepalive: Option<Duration>,
    /// How many connections a server holds at once, handshakes included (default 50,000).
    /// Past it, new connections are closed as soon as they are accepted.
    pub max_connections: usize,
    /// How long a connection to a portal may stay without a login before it is closed
    /// (default 30 s).
    pub login_timeout: Duration,
    /// How many bytes of replies may wait for a peer that does not read them (default 64 MiB).
    /// Past it the connection is closed with [`CloseReason::SlowPeer`](crate::CloseReason::SlowPeer).
    pub max_write_queue: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 * 1024 * 1024,
            max_exports: 16_384,
            max_calls_in_flight: 1_024,
            handshake_timeout: Duration::from_secs(10),
            max_write_queue: 64 * 1024 * 1024,
            login_timeout: Duration::from_secs(30),
            max_connections: 50_000,
            call_timeout: None,
            keepalive: Some(Duration::from_secs(15)),
        }
    }
}
