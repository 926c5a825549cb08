//! Provides central authentication: users log in once, by password, to an authentication
//! server, and every other broker accepts the tickets of that login instead of the password,
//! which only ever goes to the authentication server.
//!
//! - The **authentication server** ([`AuthServer`]) is a tartine server. A user's password
//!   login there yields a [`Remote<dyn AuthUser>`](AuthUser) holding a new session, kept in
//!   a [`SessionStore`] (SQLite or PostgreSQL, so that a restart logs no one out). Once a
//!   ticket of it was issued, the session outlives that connection, until its logout, its
//!   revocation or its expiry (8 hours by default); a session that never had a ticket ends
//!   with its login, since nothing else could use it.
//! - The user asks the session for a **ticket** for one broker by name (its audience): 32
//!   random bytes, good for 10 minutes and never past its session, kept by the server as a
//!   hash.
//! - The user logs in at that broker with [`LoginCredentials::token`].
//!   The broker's [`CentralAuth`] checker asks the authentication server over a link of its
//!   own, logged in as the broker: the server answers only if the ticket's audience is the
//!   asking broker, so broker B cannot replay Alice's ticket at broker C.
//!
//! **Why opaque tickets checked online, not signed tokens checked offline.** A signed token
//! (ed25519, HMAC) can be checked without the issuer, but then a logout only takes effect
//! when every broker has read a revocation feed, and a broker that misses the feed accepts a
//! revoked token until it expires. Here every new login asks the issuer, so a logout or a
//! revocation refuses new logins everywhere at once, with nothing to replicate. The costs:
//! one round trip to the authentication server per login, and no new token logins while it
//! is down ([`LoginError::AuthServerUnavailable`]);
//! logins already made go on. No clock is compared across machines: the authentication
//! server alone judges expiry and tells brokers how long a session has left, as a duration.
//!
//! **Open sessions end** when their session ends: at once for brokers linked when the
//! authentication server announces a logout or revocation (it calls each broker's mind);
//! by the broker's own timer at the session's expiry; and otherwise at the broker's next
//! recheck (every 30 seconds by default, and as soon as a lost link is made again).
//!
//! **Tickets are bound** to their user, their audience and their session, not to an
//! address (addresses change behind NAT and proxies): a stolen ticket works only at its
//! broker, for its user, until it expires or its session ends. Send tickets over TLS only.

mod broker;
pub(crate) mod protocol;
mod server;
pub(crate) mod sessions;

pub use broker::{CentralAuth, CentralAuthBuilder};
pub use protocol::{
    AUTH_SERVICE, AuthBroker, AuthUser, BrokerMind, SessionId, Ticket, VerifiedTicket,
};
pub use server::{AuthAdmin, AuthServer};
pub use sessions::{MemorySessions, SessionRecord, SessionStore, TicketRecord};

use crate::connection::handle::Connection;
use crate::cred::{LoginCredentials, LoginError};
use crate::refs::remote::Remote;

/// Logs in to the authentication server at the other end of `connection`, and returns the
/// new session.
///
/// # Errors
/// Those of a login ([`LoginError::Unauthorized`], ...); [`LoginError::NotPermitted`] if
/// the peer is no authentication server, or the account is a broker's.
pub async fn login(
    connection: &Connection,
    credentials: LoginCredentials,
) -> Result<Remote<dyn AuthUser>, LoginError> {
    connection
        .login_service::<dyn AuthUser>(AUTH_SERVICE, credentials)
        .await
}
