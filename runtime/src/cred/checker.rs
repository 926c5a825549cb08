//! Provides credential checkers: the trait, and the ready ones (in-memory passwords,
//! anonymous access, client certificates). Checkers over other password stores are in
//! `store`.

use super::credentials::{CredentialKind, Credentials, SessionEnd};
use super::error::LoginError;
use super::realm::AvatarId;
use super::scram::{DEFAULT_ITERATIONS, PasswordVerifier};
use super::store::contract::{
    PasswordStore, StoreError, WorkFactor, check_iterations, check_username,
};
use crate::lock::Lock;
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::future::Future;
use std::sync::Arc;

/// Verifies credentials and yields the avatar id they stand for (cred's `ICredentialsChecker`).
///
/// A password checker answers [`password_verifier`](Self::password_verifier) with the stored
/// verifier of a user; the runtime runs the challenge-response with it, and calls
/// [`check`](Self::check) only once the client's proof matches.
pub trait CredentialChecker: Send + Sync + 'static {
    /// The kinds of credentials this checker accepts.
    fn kinds(&self) -> &[CredentialKind];

    /// The stored verifier of `username`, or `None` if there is no such user.
    ///
    /// # Errors
    /// Fails the login, typically with [`LoginError::StoreUnavailable`] when the store cannot
    /// be reached; the server goes on serving.
    fn password_verifier(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<PasswordVerifier>, LoginError>> + Send {
        let _ = username;
        std::future::ready(Ok(None))
    }

    /// Turns proved credentials into an avatar id, or refuses them.
    fn check(
        &self,
        credentials: &Credentials,
    ) -> impl Future<Output = Result<AvatarId, LoginError>> + Send;

    /// As [`check`](Self::check), and says whether the login belongs to a session kept
    /// elsewhere, whose end must end it ([`Admission::ending_with`]). The default admits what
    /// `check` accepts, ended only from this server.
    fn admit(
        &self,
        credentials: &Credentials,
    ) -> impl Future<Output = Result<Admission, LoginError>> + Send {
        async move { self.check(credentials).await.map(Admission::new) }
    }

    /// The PBKDF2 iterations this checker gives its users (default
    /// [`DEFAULT_ITERATIONS`](super::DEFAULT_ITERATIONS)). Unknown users are answered with a
    /// decoy of this work factor, so they cannot be told from real ones by it.
    fn work_factor(&self) -> u32 {
        DEFAULT_ITERATIONS
    }
}

/// A [`CredentialChecker`], type-erased for the portal.
pub(crate) trait DynChecker: Send + Sync + 'static {
    fn kinds(&self) -> &[CredentialKind];
    fn password_verifier<'a>(
        &'a self,
        username: &'a str,
    ) -> BoxFuture<'a, Result<Option<PasswordVerifier>, LoginError>>;
    fn work_factor(&self) -> u32;
    fn admit<'a>(
        &'a self,
        credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Admission, LoginError>>;
}

impl<C: CredentialChecker> DynChecker for C {
    fn kinds(&self) -> &[CredentialKind] {
        CredentialChecker::kinds(self)
    }

    fn password_verifier<'a>(
        &'a self,
        username: &'a str,
    ) -> BoxFuture<'a, Result<Option<PasswordVerifier>, LoginError>> {
        Box::pin(CredentialChecker::password_verifier(self, username))
    }

    fn work_factor(&self) -> u32 {
        CredentialChecker::work_factor(self)
    }

    fn admit<'a>(
        &'a self,
        credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Admission, LoginError>> {
        Box::pin(CredentialChecker::admit(self, credentials))
    }
}

/// What a checker makes of proved credentials: who they are, and, if the login belongs to a
/// session kept elsewhere, the [`SessionEnd`] that ends it.
#[derive(Debug)]
pub struct Admission {
    pub(crate) id: AvatarId,
    pub(crate) ends: Option<SessionEnd>,
}

impl Admission {
    /// A login as `id`, ended only from this server (logout, disconnect).
    pub fn new(id: AvatarId) -> Self {
        Admission { id, ends: None }
    }

    /// A login as `id` that also ends when `ends` fires.
    pub fn ending_with(id: AvatarId, ends: SessionEnd) -> Self {
        Admission {
            id,
            ends: Some(ends),
        }
    }

    /// Who the credentials stand for.
    pub fn id(&self) -> &AvatarId {
        &self.id
    }
}

/// Users and passwords held in memory, as verifiers (never in clear): the store for tests and
/// demos. Clones share the same users, so a clone kept aside can add or remove users while
/// the portal serves.
///
/// ```
/// let checker = tartine::cred::InMemoryPasswords::new()
///     .with_user("alice", "1234")?
///     .with_user("bob", "secret")?;
/// # let _ = checker;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryPasswords {
    users: Arc<Lock<BTreeMap<String, PasswordVerifier>>>,
    iterations: Arc<WorkFactor>,
}

impl Default for InMemoryPasswords {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryPasswords {
    /// An empty database with the default work factor.
    pub fn new() -> Self {
        Self::with_iterations(DEFAULT_ITERATIONS)
    }

    /// An empty database whose new users get `iterations` PBKDF2 rounds.
    pub fn with_iterations(iterations: u32) -> Self {
        InMemoryPasswords {
            users: Arc::default(),
            iterations: Arc::new(WorkFactor::new(iterations.max(1))),
        }
    }

    /// Adds (or replaces) a user, deriving the verifier from `password` with a fresh random
    /// salt.
    ///
    /// # Errors
    /// If the operating system gives no randomness for the salt: the user is not added.
    pub fn add_user(&mut self, username: &str, password: &str) -> Result<(), std::io::Error> {
        let verifier = PasswordVerifier::new(password, self.iterations())?;
        self.users.lock().insert(username.to_owned(), verifier);
        Ok(())
    }

    /// Adds (or replaces) a user from a stored verifier.
    pub fn add_verifier(&mut self, username: &str, verifier: PasswordVerifier) {
        self.users.lock().insert(username.to_owned(), verifier);
    }

    /// Adds a user, builder style.
    ///
    /// # Errors
    /// As [`add_user`](Self::add_user).
    pub fn with_user(mut self, username: &str, password: &str) -> Result<Self, std::io::Error> {
        self.add_user(username, password)?;
        Ok(self)
    }

    /// The work factor new users get.
    pub fn iterations(&self) -> u32 {
        self.iterations.get()
    }
}

impl PasswordStore for InMemoryPasswords {
    async fn verifier(&self, username: &str) -> Result<Option<PasswordVerifier>, StoreError> {
        Ok(self.users.lock().get(username).cloned())
    }

    async fn create_user(
        &self,
        username: &str,
        verifier: PasswordVerifier,
    ) -> Result<(), StoreError> {
        check_username(username)?;
        match self.users.lock().entry(username.to_owned()) {
            Entry::Occupied(_) => Err(StoreError::UserExists(username.to_owned())),
            Entry::Vacant(entry) => {
                entry.insert(verifier);
                Ok(())
            }
        }
    }

    async fn set_verifier(
        &self,
        username: &str,
        verifier: PasswordVerifier,
    ) -> Result<(), StoreError> {
        match self.users.lock().get_mut(username) {
            Some(old) => {
                *old = verifier;
                Ok(())
            }
            None => Err(StoreError::NoSuchUser(username.to_owned())),
        }
    }

    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        match self.users.lock().remove(username) {
            Some(_) => Ok(()),
            None => Err(StoreError::NoSuchUser(username.to_owned())),
        }
    }

    async fn usernames(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.users.lock().keys().cloned().collect())
    }

    fn iterations(&self) -> u32 {
        self.iterations.get()
    }

    async fn set_iterations(&self, iterations: u32) -> Result<(), StoreError> {
        self.iterations.set(check_iterations(iterations)?);
        Ok(())
    }
}

impl CredentialChecker for InMemoryPasswords {
    fn kinds(&self) -> &[CredentialKind] {
        &[CredentialKind::Password]
    }

    fn password_verifier(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<PasswordVerifier>, LoginError>> + Send {
        std::future::ready(Ok(self.users.lock().get(username).cloned()))
    }

    fn check(
        &self,
        credentials: &Credentials,
    ) -> impl Future<Output = Result<AvatarId, LoginError>> + Send {
        std::future::ready(match credentials {
            Credentials::Password(verified)
                if self.users.lock().contains_key(verified.username()) =>
            {
                Ok(AvatarId::User(verified.username().to_owned()))
            }
            _ => Err(LoginError::Unauthorized),
        })
    }

    fn work_factor(&self) -> u32 {
        self.iterations()
    }
}

/// Lets anyone in as [`AvatarId::Anonymous`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAnonymous;

impl CredentialChecker for AllowAnonymous {
    fn kinds(&self) -> &[CredentialKind] {
        &[CredentialKind::Anonymous]
    }

    fn check(
        &self,
        credentials: &Credentials,
    ) -> impl Future<Output = Result<AvatarId, LoginError>> + Send {
        std::future::ready(match credentials {
            Credentials::Anonymous => Ok(AvatarId::Anonymous),
            _ => Err(LoginError::Unauthorized),
        })
    }
}

/// Logs in clients by the certificate their TLS handshake verified: a certificate that
/// names `name` (a DNS name or an IP address in its subject alternative names) logs in as the
/// user mapped to it. The server must ask for client certificates
/// (`TlsServerConfig::with_client_certificates`), whose authorities decide who may hold
/// which name; a certificate no mapping names is refused.
///
/// ```
/// use tartine::cred::CertificateNames;
///
/// let services = CertificateNames::new()
///     .with_name("billing.service.internal", "billing")
///     .with_name("mailer.service.internal", "mailer");
/// # let _ = services;
/// ```
#[cfg(feature = "tls")]
#[derive(Debug, Clone, Default)]
pub struct CertificateNames {
    names: Vec<(String, String)>,
}

#[cfg(feature = "tls")]
impl CertificateNames {
    /// No names yet.
    pub fn new() -> Self {
        CertificateNames::default()
    }

    /// Logs a certificate that names `name` in as `user`.
    pub fn with_name(mut self, name: impl Into<String>, user: impl Into<String>) -> Self {
        self.names.push((name.into(), user.into()));
        self
    }
}

#[cfg(feature = "tls")]
impl CredentialChecker for CertificateNames {
    fn kinds(&self) -> &[CredentialKind] {
        &[CredentialKind::Certificate]
    }

    fn check(
        &self,
        credentials: &Credentials,
    ) -> impl Future<Output = Result<AvatarId, LoginError>> + Send {
        let user = match credentials {
            Credentials::Certificate(certificate) => self
                .names
                .iter()
                .find(|(name, _)| certificate.is_valid_for(name))
                .map(|(_, user)| AvatarId::User(user.clone())),
            _ => None,
        };
        std::future::ready(user.ok_or(LoginError::Unauthorized))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_gets_a_random_salt_of_its_own() {
        let users = InMemoryPasswords::with_iterations(16)
            .with_user("alice", "same")
            .and_then(|users| users.with_user("bob", "same"))
            .expect("randomness");
        let users = users.users.lock();
        let (alice, bob) = (&users["alice"], &users["bob"]);
        assert_eq!(alice.salt().len(), 16);
        assert_ne!(alice.salt(), bob.salt(), "same password, different salts");
        assert_ne!(alice.salt(), b"alice", "never the user name");
        assert_ne!(alice.stored_key(), bob.stored_key());
    }
}
