//! Provides the error of a failed login or logout.

use super::credentials::CredentialKind;
use crate::error::{CallError, RemoteError};
use serde::{Deserialize, Serialize};

/// Why a login or logout failed.
///
/// Unknown users and wrong passwords are both [`LoginError::Unauthorized`], on purpose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LoginError {
    /// The credentials are wrong: unknown user or wrong password (the two are not told apart).
    #[error(
        "unauthorized: unknown user or wrong password (or, over TLS, a login relayed through another TLS session)"
    )]
    Unauthorized,
    /// The portal has no checker for this kind of credentials.
    #[error("no checker accepts {0} credentials")]
    NoChecker(CredentialKind),
    /// A certificate login on a connection whose TLS handshake showed no verified client
    /// certificate (plain TCP, or a server that does not ask for one).
    #[error("no client certificate: the connection's TLS handshake verified none")]
    NoCertificate,
    /// The challenge was already answered, or never issued on this connection.
    #[error("unknown challenge: each challenge answers once, on the connection that asked for it")]
    UnknownChallenge,
    /// Too many logins are in progress on this connection: 16 password logins being proved,
    /// or 16 others (anonymous, certificate, token) being checked.
    #[error("too many logins in progress on this connection")]
    TooManyChallenges,
    /// The connection holds as many logins as it may
    /// ([`Config::max_logins_per_connection`](crate::Config::max_logins_per_connection)).
    #[error("too many logins on this connection (limit {limit})")]
    TooManyLogins {
        /// The limit.
        limit: usize,
    },
    /// The connection holds as many references as it may, so the avatar cannot be handed out
    /// ([`Config::max_exports`](crate::Config::max_exports)); the login was undone.
    #[error("too many references on this connection to hand out the avatar (limit {limit})")]
    TooManyReferences {
        /// The limit.
        limit: usize,
    },
    /// The server asked for login parameters this client refuses: too few or too many PBKDF2
    /// iterations ([`Config::min_login_iterations`](crate::Config::min_login_iterations)), or
    /// a salt too short or too long (client side). Nothing was sent that depends on the
    /// password.
    #[error("the server's challenge is refused: {0}")]
    UnsafeChallenge(#[serde(deserialize_with = "crate::wire::bounded")] String),
    /// The token was refused by its issuer; says why.
    #[error("token refused: {0}")]
    Token(TokenError),
    /// The server that issued the token cannot be reached to check it: a central
    /// authentication server that is down. Logins already made go on; try again later.
    #[error("the authentication server is unavailable; try again later")]
    AuthServerUnavailable,
    /// The store that keeps the users' passwords cannot be reached (a database that is down
    /// or does not answer in time). The server goes on serving; try again later.
    #[error("the password store is unavailable; try again later")]
    StoreUnavailable,
    /// A checker or the realm refused the login for a reason of its own.
    #[error("login refused: {0}")]
    Refused(#[serde(deserialize_with = "crate::wire::bounded")] String),
    /// The identity may not take up that perspective: the server hosts no such service or
    /// perspective, or the identity's keyring lacks the key. The three are not told apart, so
    /// no one can list a server's services by asking.
    #[error("not permitted: no such service or perspective, or no key to it")]
    NotPermitted,
    /// The reference is not an avatar of a login on this connection (logout).
    #[error("not an avatar of a login on this connection")]
    NotLoggedIn,
    /// The server's answer did not prove it holds the password verifier (client side).
    #[error("the server did not prove it knows the password verifier")]
    ServerNotVerified,
    /// The login yielded an avatar of another type than asked for (client side).
    #[error("the avatar is `{found}`, not `{expected}`")]
    WrongAvatarType {
        /// The avatar type asked for.
        #[serde(deserialize_with = "crate::wire::bounded")]
        expected: String,
        /// The avatar type the server gave.
        #[serde(deserialize_with = "crate::wire::bounded")]
        found: String,
    },
    /// The peer publishes no portal (client side).
    #[error("the peer offers no login")]
    NoPortal,
    /// The login exchange itself failed (client side).
    #[error("login call failed: {0}")]
    #[serde(skip)]
    Call(CallError),
    /// Something failed on the server that is not the client's fault.
    #[error("internal error: {0}")]
    Internal(#[serde(deserialize_with = "crate::wire::bounded")] String),
}

impl From<CallError> for LoginError {
    fn from(error: CallError) -> Self {
        LoginError::Call(error)
    }
}

impl From<RemoteError<LoginError>> for LoginError {
    fn from(error: RemoteError<LoginError>) -> Self {
        match error {
            RemoteError::Method(error) => error,
            RemoteError::Call(error) => LoginError::Call(error),
        }
    }
}

/// Why a central authentication server refuses a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TokenError {
    /// No such token was issued: forged, changed, or cut short.
    #[error("unknown token")]
    Unknown,
    /// The token is for another server (its audience): it cannot be replayed elsewhere.
    #[error("the token is for another server")]
    WrongAudience,
    /// The token, or the session it belongs to, is past its lifetime.
    #[error("the token has expired")]
    Expired,
    /// The session the token belongs to was ended (logged out or revoked).
    #[error("the token's session has ended")]
    Revoked,
    /// The token belongs to another user than the one who presents it.
    #[error("the token belongs to another user")]
    WrongUser,
    /// The session asked for tickets faster than the server allows
    /// (`AuthServer::tickets_per_minute`); try again in a minute.
    #[error("too many tickets asked for; try again later")]
    TooManyTickets,
    /// The caller may not do this (asking for a ticket as a broker, checking one as a user).
    #[error("not permitted")]
    NotPermitted,
    /// The authentication server's session store failed.
    #[error("the session store is unavailable")]
    StoreUnavailable,
}
