//! Provides what every password store agrees to: the trait, its error, and the rules for
//! user names and work factors.

use super::super::scram::PasswordVerifier;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// The longest user name a store accepts, in bytes.
pub const MAX_USERNAME_LEN: usize = 256;

/// The fewest PBKDF2 iterations a store gives new passwords.
pub const MIN_ITERATIONS: u32 = 4096;

/// The most PBKDF2 iterations a store gives new passwords (the client's default ceiling is
/// lower: see `Config::max_login_iterations`).
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// Why a store could not do what it was asked.
///
/// No message holds a password or a verifier.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A user name that breaks the rule of [`check_username`].
    #[error("bad user name: {0}")]
    BadUsername(&'static str),
    /// An iteration count outside [`MIN_ITERATIONS`]..=[`MAX_ITERATIONS`].
    #[error("{0} iterations is outside {MIN_ITERATIONS}..={MAX_ITERATIONS}")]
    BadIterations(u32),
    /// The user to add exists already.
    #[error("user `{0}` exists already")]
    UserExists(String),
    /// The user to change or remove does not exist.
    #[error("no user `{0}`")]
    NoSuchUser(String),
    /// The password file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A line of the password file is not a user, a setting or a comment.
    #[error("{path}, line {line}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A stored verifier (a database row) does not parse.
    #[error("the stored verifier of `{username}` is corrupt: {reason}")]
    CorruptVerifier {
        /// Whose verifier.
        username: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The key to take is not on the identity's keyring.
    #[error("`{identity}` holds no key `{key}`")]
    NoSuchKey {
        /// The identity.
        identity: String,
        /// The key, as `service/perspective`.
        key: String,
    },
    /// This store keeps no keyring (keys live in SQLite, PostgreSQL or a `MemoryKeyring`).
    #[error("this store keeps no keyring: keys live in SQLite, PostgreSQL or a MemoryKeyring")]
    NoKeyring,
    /// The database could not be reached, or did not answer in time.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database refused a query.
    #[error("database error: {0}")]
    Database(String),
    /// The operating system gave no randomness for a salt.
    #[error("no randomness for a salt: {0}")]
    NoRandomness(std::io::Error),
}

/// Checks a user name against the rule every store follows: 1 to [`MAX_USERNAME_LEN`] bytes,
/// no control character, no `:`, no leading `#`, no space at either end.
///
/// # Errors
/// [`StoreError::BadUsername`], saying which part of the rule the name breaks.
pub fn check_username(username: &str) -> Result<(), StoreError> {
    if username.is_empty() {
        return Err(StoreError::BadUsername("empty"));
    }
    if username.len() > MAX_USERNAME_LEN {
        return Err(StoreError::BadUsername("longer than 256 bytes"));
    }
    if username.chars().any(char::is_control) {
        return Err(StoreError::BadUsername(
            "holds a control character (NUL, a line break, ...)",
        ));
    }
    if username.contains(':') {
        return Err(StoreError::BadUsername("holds a `:`"));
    }
    if username.starts_with('#') {
        return Err(StoreError::BadUsername("starts with `#`"));
    }
    if username.trim() != username {
        return Err(StoreError::BadUsername("starts or ends with a space"));
    }
    Ok(())
}

/// Checks an iteration count for new passwords.
///
/// # Errors
/// [`StoreError::BadIterations`] outside [`MIN_ITERATIONS`]..=[`MAX_ITERATIONS`].
pub fn check_iterations(iterations: u32) -> Result<u32, StoreError> {
    if (MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        Ok(iterations)
    } else {
        Err(StoreError::BadIterations(iterations))
    }
}

/// Where password verifiers are kept.
///
/// Implement it to keep users somewhere of your own (LDAP, a secrets manager); wrap it in a
/// `PasswordChecker` to log users in from it. Every method may fail, and a failure of
/// [`verifier`](Self::verifier) fails the login with `LoginError::StoreUnavailable`.
pub trait PasswordStore: Send + Sync + 'static {
    /// The verifier of `username`, or `None` if there is no such user.
    fn verifier(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<PasswordVerifier>, StoreError>> + Send;

    /// Adds a user; fails with [`StoreError::UserExists`] if there is one by that name.
    fn create_user(
        &self,
        username: &str,
        verifier: PasswordVerifier,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces the verifier of an existing user; fails with [`StoreError::NoSuchUser`] if
    /// there is none.
    fn set_verifier(
        &self,
        username: &str,
        verifier: PasswordVerifier,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes a user; fails with [`StoreError::NoSuchUser`] if there is none.
    fn delete_user(&self, username: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every user name, sorted.
    fn usernames(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// The PBKDF2 iterations new passwords get. The login of an unknown user is answered with
    /// a decoy of this work factor.
    fn iterations(&self) -> u32;

    /// Sets the PBKDF2 iterations new passwords get (existing users keep theirs until their
    /// password changes).
    fn set_iterations(
        &self,
        iterations: u32,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The work factor a store gives new passwords, readable without waiting.
#[derive(Debug)]
pub(crate) struct WorkFactor(AtomicU32);

impl WorkFactor {
    pub(crate) fn new(iterations: u32) -> Self {
        WorkFactor(AtomicU32::new(iterations))
    }

    pub(crate) fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn set(&self, iterations: u32) {
        self.0.store(iterations, Ordering::Relaxed);
    }
}

/// A warning if the file at `path` can be read by users other than its owner, who could then
/// attack the verifiers in it offline.
pub fn permission_warning(path: &std::path::Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then(|| {
            format!(
                "{} can be read by others (mode {mode:03o}): run `chmod 600 {0}`",
                path.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_username_rule() {
        for good in [
            "alice",
            "Bob Smith",
            "alice'; DROP TABLE users;--",
            "名前",
            "a#b",
        ] {
            assert!(check_username(good).is_ok(), "{good}");
        }
        let long = "x".repeat(MAX_USERNAME_LEN + 1);
        for bad in ["", "a\0b", "a\nb", "a:b", "#a", " a", "a ", long.as_str()] {
            assert!(check_username(bad).is_err(), "{bad:?}");
        }
        assert!(check_username(&"x".repeat(MAX_USERNAME_LEN)).is_ok());
    }
}
