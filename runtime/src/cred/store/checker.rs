//! Provides the checker that logs users in from any password store.

use super::super::checker::CredentialChecker;
use super::super::credentials::{CredentialKind, Credentials};
use super::super::error::LoginError;
use super::super::realm::AvatarId;
use super::super::scram::PasswordVerifier;
use super::contract::{PasswordStore, check_username};
use std::sync::Arc;

/// Logs users in from a [`PasswordStore`]: a [`CredentialChecker`] for passwords.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tartine::cred::{PasswordChecker, PasswordFile};
///
/// let users = PasswordChecker::new(PasswordFile::open("users.passwd").await?);
/// # let _ = users;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PasswordChecker<S> {
    store: Arc<S>,
}

impl<S: PasswordStore> PasswordChecker<S> {
    /// A checker that reads `store` on every login.
    pub fn new(store: S) -> Self {
        PasswordChecker {
            store: Arc::new(store),
        }
    }

    /// The store, to add or remove users while the checker serves.
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl<S: PasswordStore> CredentialChecker for PasswordChecker<S> {
    fn kinds(&self) -> &[CredentialKind] {
        &[CredentialKind::Password]
    }

    async fn password_verifier(
        &self,
        username: &str,
    ) -> Result<Option<PasswordVerifier>, LoginError> {
        if check_username(username).is_err() {
            return Ok(None);
        }
        self.store.verifier(username).await.map_err(|error| {
            tracing::warn!(%error, "password store failed; login refused");
            LoginError::StoreUnavailable
        })
    }

    async fn check(&self, credentials: &Credentials) -> Result<AvatarId, LoginError> {
        match credentials {
            Credentials::Password(verified) => Ok(AvatarId::User(verified.username().to_owned())),
            _ => Err(LoginError::Unauthorized),
        }
    }

    fn work_factor(&self) -> u32 {
        self.store.iterations()
    }
}
