//! Provides cred: who may log in, and what they get.
//!
//! A [`Portal`] joins one [`Realm`], which makes avatars, with [`CredentialChecker`]s, which
//! verify credentials and yield an [`AvatarId`]. A server that publishes a portal
//! ([`Server::bind_portal`](crate::Server::bind_portal)) exposes nothing but the login until a
//! client logs in; the client then gets a `Remote` to its own avatar and nothing else.
//!
//! Passwords never cross the wire and the server never needs them in clear: the login is a
//! salted challenge-response of the SCRAM-SHA-256 family. The server stores a
//! [`PasswordVerifier`] (salt, work factor, and two keys derived from the password); each login
//! gets a fresh server nonce and its challenge answers once, so a captured exchange cannot be
//! replayed. Unknown users and wrong passwords fail alike, after the same work. The client also
//! checks the server's signature, so a server that does not hold the verifier is caught.
//!
//! Where users are kept is a [`PasswordStore`]: in memory, a password file, SQLite or
//! PostgreSQL (see [`store`]); [`PasswordChecker`] logs users in from any of them. An
//! [`AuthSource`] makes a checker from an `--auth` string, as Twisted's strcred does.
//!
//! One listener can host several named [`Services`], as the older cred did: a client proves
//! who it is once, gets a [`Remote<Identity>`](Identity), and takes up the perspectives its
//! [`Keyring`] holds keys to, several per service if need be.

mod auth;
mod checker;
pub(crate) mod client;
mod credentials;
pub(crate) mod error;
mod keyring;
mod portal;
mod realm;
pub mod scram;
pub(crate) mod service;
mod services;
pub mod store;
mod throttle;

pub use auth::{AUTH_FORMS, AnyChecker, AuthSource, AuthSourceError};
#[cfg(feature = "tls")]
pub use checker::CertificateNames;
pub use checker::{Admission, AllowAnonymous, CredentialChecker, InMemoryPasswords};
pub use client::{Login, LoginCredentials};
pub use credentials::{
    CredentialKind, Credentials, PresentedToken, SessionEnd, VerifiedCertificate, VerifiedPassword,
};
pub use error::{LoginError, TokenError};
pub use keyring::{ANONYMOUS_IDENTITY, Keyring, MemoryKeyring, PerspectiveKey};
pub use portal::{LoginStats, Portal};
pub use realm::{AvatarId, LoggedIn, NoMind, Realm};
pub use scram::{DEFAULT_ITERATIONS, PasswordVerifier};
pub use services::{Identity, IdentityProxy, Service, Services};
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
#[cfg(feature = "sqlite")]
pub use store::SqliteStore;
pub use store::{AnyStore, PasswordChecker, PasswordFile, PasswordStore, StoreError};
