//! Provides password stores: where a deployment keeps its users' password verifiers, and the
//! checker that logs users in from any of them.
//!
//! A store holds SCRAM verifiers (salt, work factor, `StoredKey`, `ServerKey`), never a
//! password. Four are ready:
//!
//! | store | made by | for |
//! | --- | --- | --- |
//! | [`InMemoryPasswords`](super::InMemoryPasswords) | code | tests, demos |
//! | [`PasswordFile`] | a file, one line per user | one server, users edited by hand or by `tartine-admin` |
//! | `SqliteStore` (feature `sqlite`) | a SQLite file | one server that keeps its users: the default |
//! | `PostgresStore` (feature `postgres`) | a PostgreSQL database | several brokers sharing one user base |
//!
//! [`PasswordChecker`] turns any store into a [`CredentialChecker`](super::CredentialChecker). It asks the store on every
//! login, so a user added, changed or removed (by `tartine-admin`, say) counts at the next
//! login, without a restart. A store that fails (a database that cannot be reached) fails the
//! login with [`LoginError::StoreUnavailable`](super::LoginError::StoreUnavailable), and the server goes on serving.
//!
//! User names follow one rule in every store ([`check_username`]): 1 to
//! [`MAX_USERNAME_LEN`] bytes, no control character (so no NUL and no line break), no `:`, no
//! leading `#`, no space at either end. A login under a name that breaks the rule fails as an
//! unknown user does, without reaching the store.

mod any;
mod checker;
pub(crate) mod contract;
mod file;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
mod text;

pub use any::AnyStore;
pub use checker::PasswordChecker;
pub use contract::{
    MAX_ITERATIONS, MAX_USERNAME_LEN, MIN_ITERATIONS, PasswordStore, StoreError, check_iterations,
    check_username, permission_warning,
};
pub use file::PasswordFile;
#[cfg(feature = "postgres")]
pub use sql::PostgresStore;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::QUERY_TIMEOUT;
#[cfg(feature = "sqlite")]
pub use sql::SqliteStore;
pub use text::{parse_verifier, verifier_text};
