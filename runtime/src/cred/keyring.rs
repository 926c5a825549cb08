//! Provides the keyring: which perspectives, in which services, each identity may take up
//! (the older cred's `(service name, perspective name)` keys).
//!
//! An identity proves who it is once; afterwards it asks for a perspective by key, and gets
//! it only if its keyring holds that key at the moment it asks: a key granted or revoked
//! counts at the next request, without a restart.

use super::realm::AvatarId;
use super::store::contract::StoreError;
use crate::lock::Lock;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// The name under which stores keep the keys of anonymous identities: user names cannot start
/// with `#`, so no user can hold it.
pub const ANONYMOUS_IDENTITY: &str = "#anonymous";

/// A key to one perspective of one service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PerspectiveKey {
    /// The service's name, as the server hosts it.
    pub service: String,
    /// The perspective's name within the service.
    pub perspective: String,
}

impl PerspectiveKey {
    /// The key to `perspective` in `service`.
    pub fn new(service: impl Into<String>, perspective: impl Into<String>) -> Self {
        PerspectiveKey {
            service: service.into(),
            perspective: perspective.into(),
        }
    }
}

impl fmt::Display for PerspectiveKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.service, self.perspective)
    }
}

/// The name a store keeps an identity's keys under.
pub(crate) fn identity_name(identity: &AvatarId) -> &str {
    match identity {
        AvatarId::Anonymous => ANONYMOUS_IDENTITY,
        AvatarId::User(name) => name,
    }
}

/// Where the keys of identities are kept.
pub trait Keyring: Send + Sync + 'static {
    /// The keys `identity` holds, sorted.
    fn keys(
        &self,
        identity: &AvatarId,
    ) -> impl Future<Output = Result<Vec<PerspectiveKey>, StoreError>> + Send;

    /// Gives `identity` the key (holding it already is no error).
    fn grant(
        &self,
        identity: &AvatarId,
        key: &PerspectiveKey,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes the key from `identity`; fails with [`StoreError::NoSuchKey`] if it held none.
    fn revoke(
        &self,
        identity: &AvatarId,
        key: &PerspectiveKey,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Keys held in memory. Clones share the same keys, so a clone kept aside can grant and
/// revoke while the server runs.
///
/// ```
/// use tartine::cred::{AvatarId, MemoryKeyring, PerspectiveKey};
///
/// let keyring = MemoryKeyring::new()
///     .with_key(AvatarId::User("alice".into()), PerspectiveKey::new("chat", "member"))
///     .with_key(AvatarId::User("alice".into()), PerspectiveKey::new("chat", "moderator"));
/// # let _ = keyring;
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryKeyring {
    keys: Arc<Lock<HashMap<AvatarId, BTreeSet<PerspectiveKey>>>>,
}

impl MemoryKeyring {
    /// No keys yet.
    pub fn new() -> Self {
        MemoryKeyring::default()
    }

    /// Gives `identity` the key, builder style.
    pub fn with_key(self, identity: AvatarId, key: PerspectiveKey) -> Self {
        self.keys.lock().entry(identity).or_default().insert(key);
        self
    }
}

impl Keyring for MemoryKeyring {
    async fn keys(&self, identity: &AvatarId) -> Result<Vec<PerspectiveKey>, StoreError> {
        Ok(self
            .keys
            .lock()
            .get(identity)
            .map(|keys| keys.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn grant(&self, identity: &AvatarId, key: &PerspectiveKey) -> Result<(), StoreError> {
        self.keys
            .lock()
            .entry(identity.clone())
            .or_default()
            .insert(key.clone());
        Ok(())
    }

    async fn revoke(&self, identity: &AvatarId, key: &PerspectiveKey) -> Result<(), StoreError> {
        let mut keys = self.keys.lock();
        let removed = keys.get_mut(identity).is_some_and(|held| held.remove(key));
        if !removed {
            return Err(StoreError::NoSuchKey {
                identity: identity_name(identity).to_owned(),
                key: key.to_string(),
            });
        }
        if keys.get(identity).is_some_and(BTreeSet::is_empty) {
            keys.remove(identity);
        }
        Ok(())
    }
}

/// A [`Keyring`], type-erased for the services.
pub(crate) trait DynKeyring: Send + Sync + 'static {
    fn keys<'a>(
        &'a self,
        identity: &'a AvatarId,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<PerspectiveKey>, StoreError>>;
}

impl<K: Keyring> DynKeyring for K {
    fn keys<'a>(
        &'a self,
        identity: &'a AvatarId,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<PerspectiveKey>, StoreError>> {
        Box::pin(Keyring::keys(self, identity))
    }
}
