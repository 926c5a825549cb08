//! Provides the portal: one realm and its credential checkers.

use super::checker::{CredentialChecker, DynChecker};
use super::credentials::CredentialKind;
use super::error::LoginError;
use super::realm::{DynRealm, Realm};
use super::scram::{KEY_LEN, Key, PasswordVerifier};
use super::throttle::Throttle;
use crate::dispatch::Referenceable;
use crate::refs::names::InterfaceInfo;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Joins one [`Realm`] with the [`CredentialChecker`]s that admit users to it (cred's
/// `Portal`). A login picks the first checker that accepts its kind of credentials; a password login, the
/// first password checker that knows the user.
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
///     .with_checker(InMemoryPasswords::new().with_user("alice", "1234")?)
///     .with_checker(AllowAnonymous);
/// # let _ = portal;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Portal {
    pub(crate) inner: Arc<PortalInner>,
}

pub(crate) struct PortalInner {
    pub(crate) realm: Box<dyn DynRealm>,
    /// Every interface a login can yield (the avatar's, and with named services, those of
    /// their perspectives), and through them what logins can be handed.
    pub(crate) reachable: Vec<InterfaceInfo>,
    pub(crate) checkers: Vec<Box<dyn DynChecker>>,
    /// Keys the decoy verifiers of unknown users; drawn at the first login attempt.
    secret: OnceLock<Key>,
    /// Failed password logins, per user name and per address, and made-up tokens per address.
    pub(crate) throttle: Throttle,
    pub(crate) stats: Counters,
}

/// The counters behind [`LoginStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) succeeded: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) throttled: AtomicU64,
}

/// Password logins a portal has seen, since it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LoginStats {
    /// Proofs that matched.
    pub succeeded: u64,
    /// Proofs that were checked and failed: wrong passwords and unknown users.
    pub failed: u64,
    /// Attempts refused unchecked by the failed-login throttle (answered as failures).
    pub throttled: u64,
}

impl fmt::Debug for Portal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Portal")
            .field("checkers", &self.inner.checkers.len())
            .finish_non_exhaustive()
    }
}

impl Portal {
    /// A portal to `realm`, with no checkers yet (so no login succeeds).
    pub fn new<R: Realm>(realm: R) -> Self {
        Self::from_parts(
            Box::new(realm),
            InterfaceInfo::of::<<R::Avatar as Referenceable>::Interface>(),
            Vec::new(),
            Vec::new(),
        )
    }

    /// A portal to a type-erased realm whose logins yield `avatar`, and through it the
    /// interfaces of `more`.
    pub(crate) fn from_parts(
        realm: Box<dyn DynRealm>,
        avatar: InterfaceInfo,
        more: Vec<InterfaceInfo>,
        checkers: Vec<Box<dyn DynChecker>>,
    ) -> Self {
        let mut reachable = vec![avatar];
        reachable.extend(more);
        Portal {
            inner: Arc::new(PortalInner {
                reachable,
                realm,
                checkers,
                secret: OnceLock::new(),
                throttle: Throttle::new(),
                stats: Counters::default(),
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

    /// The password logins this portal has seen: how many succeeded, failed, or were refused
    /// unchecked by the failed-login throttle.
    pub fn stats(&self) -> LoginStats {
        let counters = &self.inner.stats;
        LoginStats {
            succeeded: counters.succeeded.load(Ordering::Relaxed),
            failed: counters.failed.load(Ordering::Relaxed),
            throttled: counters.throttled.load(Ordering::Relaxed),
        }
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

    /// The verifier of `username` and the checker that holds it: the first password checker
    /// that knows the user. For an unknown user, a decoy shaped like a real verifier: the
    /// same salt for the same name every time, and the first password checker's work factor.
    ///
    /// # Errors
    /// [`LoginError::NoChecker`] without a password checker; what a checker's store says when
    /// it fails ([`LoginError::StoreUnavailable`]); [`LoginError::Internal`] if the operating
    /// system has no randomness for the decoys' secret: logins then fail rather than fall back
    /// on a guessable one.
    pub(crate) async fn verifier(
        &self,
        username: &str,
    ) -> Result<(usize, PasswordVerifier, bool), LoginError> {
        let secret = self.secret()?;
        let mut first = None;
        for (index, checker) in self.checkers.iter().enumerate() {
            if !checker.kinds().contains(&CredentialKind::Password) {
                continue;
            }
            first.get_or_insert((index, checker.work_factor()));
            if let Some(verifier) = checker.password_verifier(username).await? {
                return Ok((index, verifier, true));
            }
        }
        let (index, work_factor) = first.ok_or(LoginError::NoChecker(CredentialKind::Password))?;
        Ok((
            index,
            PasswordVerifier::decoy(secret, username, work_factor),
            false,
        ))
    }

    fn secret(&self) -> Result<&Key, LoginError> {
        if let Some(secret) = self.secret.get() {
            return Ok(secret);
        }
        let mut secret = [0u8; KEY_LEN];
        getrandom::fill(&mut secret)
            .map_err(|error| LoginError::Internal(format!("no randomness: {error}")))?;
        Ok(self.secret.get_or_init(|| secret))
    }
}
