//! Provides the portal: one realm and its credential checkers.

use super::checker::{CredentialChecker, CredentialKind, DynChecker};
use super::realm::{DynRealm, Realm};
use super::scram::{DEFAULT_ITERATIONS, KEY_LEN, Key, PasswordVerifier};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// Joins one [`Realm`] with the [`CredentialChecker`]s that admit users to it (cred's
/// `Portal`). A login picks the first checker that accepts its kind of credentials.
///
/// ```
/// use tartine::cred::{AllowAnonymous, InMemoryPasswords, Portal};
/// # use tartine::cred::{AvatarId, LoggedIn, LoginError, NoMind, Realm};
/// # use tartine::Remote;
/// # pub struct Guest;
/// # #[tartine::avatar] impl Guest { pub fn hello(&self) -> String { "hi".into() } }
/// # pub struct Lobby;
/// # impl Realm for Lobby {
/// #     type Avatar = Guest;
/// #     type Mind = NoMind;
/// #     async fn request_avatar(&self, _: AvatarId, _: Option<Remote<NoMind>>)
/// #         -> Result<LoggedIn<Guest>, LoginError> { Ok(LoggedIn::new(Guest)) }
/// # }
/// let portal = Portal::new(Lobby)
///     .with_checker(InMemoryPasswords::new().with_user("alice", "1234"))
///     .with_checker(AllowAnonymous);
/// # let _ = portal;
/// ```
#[derive(Clone)]
pub struct Portal {
    pub(crate) inner: Arc<PortalInner>,
}

pub(crate) struct PortalInner {
    pub(crate) realm: Box<dyn DynRealm>,
    pub(crate) checkers: Vec<Box<dyn DynChecker>>,
    /// Keys the decoy verifiers of unknown users.
    secret: Key,
    /// The work factor decoys use: the last one a real verifier had, so unknown users look
    /// like known ones.
    decoy_iterations: AtomicU32,
}

impl fmt::Debug for Portal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Portal")
            .field("checkers", &self.inner.checkers.len())
            .finish_non_exhaustive()
    }
}

fn random_secret() -> Key {
    let mut secret = [0u8; KEY_LEN];
    if getrandom::fill(&mut secret).is_err() {
        // The OS has no randomness to give: fall back on std's randomly seeded hasher keys.
        use std::hash::{BuildHasher, Hasher};
        for chunk in secret.chunks_mut(8) {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_usize(chunk.as_ptr() as usize);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes()[..chunk.len()]);
        }
    }
    secret
}

impl Portal {
    /// A portal to `realm`, with no checkers yet (so no login succeeds).
    pub fn new<R: Realm>(realm: R) -> Self {
        Portal {
            inner: Arc::new(PortalInner {
                realm: Box::new(realm),
                checkers: Vec::new(),
                secret: random_secret(),
                decoy_iterations: AtomicU32::new(DEFAULT_ITERATIONS),
            }),
        }
    }

    /// Registers a checker, builder style.
    ///
    /// Register checkers before the portal serves: a portal already shared keeps the checkers
    /// it had and this one is ignored with a warning.
    pub fn with_checker<C: CredentialChecker>(mut self, checker: C) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.checkers.push(Box::new(checker)),
            None => tracing::warn!("checker registered on a portal already in use; ignored"),
        }
        self
    }

    /// The kinds of credentials some checker accepts.
    pub fn credential_kinds(&self) -> Vec<CredentialKind> {
        self.inner
            .checkers
            .iter()
            .flat_map(|checker| checker.kinds().iter().copied())
            .collect()
    }
}

impl PortalInner {
    /// The first checker that accepts `kind`, by index.
    pub(crate) fn checker_for(&self, kind: CredentialKind) -> Option<(usize, &dyn DynChecker)> {
        self.checkers
            .iter()
            .enumerate()
            .find(|(_, checker)| checker.kinds().contains(&kind))
            .map(|(index, checker)| (index, &**checker))
    }

    /// The verifier of `username` from `checker`, or a decoy shaped like a real one.
    pub(crate) async fn verifier(
        &self,
        checker: &dyn DynChecker,
        username: &str,
    ) -> (PasswordVerifier, bool) {
        match checker.password_verifier(username).await {
            Some(verifier) => {
                self.decoy_iterations
                    .store(verifier.iterations(), Ordering::Relaxed);
                (verifier, true)
            }
            None => {
                let iterations = self.decoy_iterations.load(Ordering::Relaxed);
                (
                    PasswordVerifier::decoy(&self.secret, username, iterations),
                    false,
                )
            }
        }
    }
}
