//! Provides [`AnyStore`]: one type for every ready store, chosen at run time (from an
//! `--auth` option, say).

use super::super::checker::InMemoryPasswords;
use super::super::keyring::{Keyring, PerspectiveKey};
use super::super::realm::AvatarId;
use super::super::scram::PasswordVerifier;
use super::contract::{PasswordStore, StoreError};
use super::file::PasswordFile;
#[cfg(feature = "postgres")]
use super::sql::PostgresStore;
#[cfg(feature = "sqlite")]
use super::sql::SqliteStore;

/// Any of the ready stores.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyStore {
    /// Users in memory.
    Memory(InMemoryPasswords),
    /// A password file.
    File(PasswordFile),
    /// A SQLite file.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    #[cfg(feature = "postgres")]
    Postgres(PostgresStore),
}

/// Calls the same method on whichever store `self` holds.
macro_rules! each_store {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($store) => $call,
            AnyStore::File($store) => $call,
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite($store) => $call,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres($store) => $call,
        }
    };
}

impl PasswordStore for AnyStore {
    async fn verifier(&self, username: &str) -> Result<Option<PasswordVerifier>, StoreError> {
        each_store!(self, store => store.verifier(username).await)
    }

    async fn create_user(
        &self,
        username: &str,
        verifier: PasswordVerifier,
    ) -> Result<(), StoreError> {
        each_store!(self, store => store.create_user(username, verifier).await)
    }

    async fn set_verifier(
        &self,
        username: &str,
        verifier: PasswordVerifier,
    ) -> Result<(), StoreError> {
        each_store!(self, store => store.set_verifier(username, verifier).await)
    }

    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        each_store!(self, store => store.delete_user(username).await)
    }

    async fn usernames(&self) -> Result<Vec<String>, StoreError> {
        each_store!(self, store => store.usernames().await)
    }

    fn iterations(&self) -> u32 {
        each_store!(self, store => PasswordStore::iterations(store))
    }

    async fn set_iterations(&self, iterations: u32) -> Result<(), StoreError> {
        each_store!(self, store => store.set_iterations(iterations).await)
    }
}

impl Keyring for AnyStore {
    async fn keys(&self, identity: &AvatarId) -> Result<Vec<PerspectiveKey>, StoreError> {
        match self {
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite(store) => store.keys(identity).await,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => store.keys(identity).await,
            _ => {
                let _ = identity;
                Err(StoreError::NoKeyring)
            }
        }
    }

    async fn grant(&self, identity: &AvatarId, key: &PerspectiveKey) -> Result<(), StoreError> {
        match self {
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite(store) => store.grant(identity, key).await,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => store.grant(identity, key).await,
            _ => {
                let _ = (identity, key);
                Err(StoreError::NoKeyring)
            }
        }
    }

    async fn revoke(&self, identity: &AvatarId, key: &PerspectiveKey) -> Result<(), StoreError> {
        match self {
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite(store) => store.revoke(identity, key).await,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => store.revoke(identity, key).await,
            _ => {
                let _ = (identity, key);
                Err(StoreError::NoKeyring)
            }
        }
    }
}
