//! Provides credentials: the kinds a client can present, and what a checker receives once
//! they are proved.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A kind of credentials a client can present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CredentialKind {
    /// No credentials: anonymous access.
    Anonymous,
    /// A username and a password, proved by challenge-response.
    Password,
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialKind::Anonymous => "anonymous",
            CredentialKind::Password => "password",
        })
    }
}

/// Credentials as a checker receives them, already proved where a proof applies.
#[derive(Debug)]
#[non_exhaustive]
pub enum Credentials {
    /// An anonymous login.
    Anonymous,
    /// A user who proved they know the password of `username`.
    Password(VerifiedPassword),
}

impl Credentials {
    /// The kind of these credentials.
    pub fn kind(&self) -> CredentialKind {
        match self {
            Credentials::Anonymous => CredentialKind::Anonymous,
            Credentials::Password(_) => CredentialKind::Password,
        }
    }
}

/// A username whose password the client proved it knows. Only the runtime makes one, after
/// checking the client's proof against the checker's
/// [`PasswordVerifier`](super::PasswordVerifier).
#[derive(Debug)]
pub struct VerifiedPassword {
    username: String,
}

impl VerifiedPassword {
    pub(crate) fn new(username: String) -> Self {
        VerifiedPassword { username }
    }

    /// The user who logged in.
    pub fn username(&self) -> &str {
        &self.username
    }
}
