//! Provides the protocol of central authentication: what a user's session, a broker's link
//! and a broker's mind answer, and the values that cross the wire between them.

use crate::cred::error::TokenError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The service name under which an authentication server hosts its two perspectives,
/// `user` and `broker`.
pub const AUTH_SERVICE: &str = "tartine.auth";

/// One login session at the authentication server: 16 random bytes, in hex.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionId(pub(crate) String);

impl SessionId {
    /// A fresh random id.
    pub(crate) fn random() -> Result<Self, std::io::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        Ok(SessionId(hex(&bytes)))
    }

    /// The session id `text` (as a store or a log shows it).
    pub fn from_text(text: impl Into<String>) -> Self {
        SessionId(text.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Bytes in lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// A ticket: a token that logs its user in at one broker (its audience), until it expires or
/// its session ends.
#[derive(Clone, Serialize, Deserialize)]
pub struct Ticket {
    /// The token: 32 random bytes, shown to the broker only (over TLS).
    pub token: Vec<u8>,
    /// The broker it is for.
    pub audience: String,
    /// How long it stays good, in milliseconds from when it was issued.
    pub lifetime_ms: u64,
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("audience", &self.audience)
            .field("lifetime_ms", &self.lifetime_ms)
            .finish_non_exhaustive()
    }
}

/// What the authentication server tells a broker of a good ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedTicket {
    /// Whose it is.
    pub username: String,
    /// The session it belongs to: when it ends, the broker ends the logins it admitted.
    pub session: SessionId,
    /// How long the session has left, in milliseconds (a duration, so that the two servers'
    /// clocks need not agree).
    pub session_left_ms: u64,
}

/// A user's session at the authentication server: what a password login there yields. Once
/// it has issued a ticket, it outlives this login until [`end_session`](Self::end_session), a
/// revocation or its expiry; without one, it ends with the login.
#[tartine_macros::avatar(name = "tartine.auth.User")]
pub trait AuthUser {
    /// A ticket for the broker named `audience`.
    async fn ticket(&self, audience: String) -> Result<Ticket, TokenError>;

    /// Ends this session: its tickets stop working at once, and every broker ends the logins
    /// they opened.
    async fn end_session(&self) -> Result<(), TokenError>;

    /// This session's id.
    fn session(&self) -> SessionId;
}

/// A broker's link to the authentication server: what a broker's login there yields.
#[tartine_macros::avatar(name = "tartine.auth.Broker")]
pub trait AuthBroker {
    /// Checks a token that `username` presented to this broker.
    async fn verify(&self, username: String, token: Vec<u8>) -> Result<VerifiedTicket, TokenError>;

    /// Which of `sessions` are still going (at most 10,000 asked at once).
    async fn active(&self, sessions: Vec<SessionId>) -> Result<Vec<SessionId>, TokenError>;
}

/// A broker's mind: the authentication server tells it when a session ends.
#[tartine_macros::referenceable(name = "tartine.auth.BrokerMind")]
pub trait BrokerMind {
    /// The session `session` ended (logged out, revoked or expired).
    async fn session_ended(&self, session: SessionId);
}
