//! Provides checkers from strings, as Twisted's `--auth` options make them: an
//! [`AuthSource`] parsed from `memory:alice:pw`, `file:PATH`, `sqlite:PATH`,
//! `postgres://...` or `anonymous`, opened into an [`AnyChecker`] for a portal.
//!
//! Several sources combine: register each on the portal. A password login is checked by the
//! first password source that knows the user; `anonymous` admits anonymous logins beside
//! them.
//!
//! Two forms can put a password on the command line, where every user of the machine can
//! read it in the process list: `memory:` (the users' passwords), and a `postgres://` URL
//! with a password in it. Keep `memory:` for demos, and give PostgreSQL its password through
//! the `PGPASSWORD` variable or a `~/.pgpass` file.
//! [`AuthSource::exposes_a_password`] tells which; its `Display` hides the passwords.

use super::checker::{AllowAnonymous, CredentialChecker, InMemoryPasswords};
use super::credentials::{CredentialKind, Credentials};
use super::error::LoginError;
use super::realm::AvatarId;
use super::scram::PasswordVerifier;
use super::store::{AnyStore, PasswordChecker, PasswordFile, StoreError, check_username};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The forms an `--auth` option takes, for error messages and help texts.
pub const AUTH_FORMS: &str = "memory:USER:PASSWORD[:USER:PASSWORD...], file:PATH, sqlite:PATH, \
                              postgres://URL (or postgresql://URL), anonymous";

/// Where a server's users come from: one `--auth` option.
///
/// ```
/// use tartine::cred::AuthSource;
///
/// let source: AuthSource = "memory:alice:1234:bob:secret".parse()?;
/// assert!(source.exposes_a_password());
/// assert_eq!(source.to_string(), "memory:alice:***:bob:***");
/// let error = "ldap://example".parse::<AuthSource>().unwrap_err();
/// assert!(error.to_string().contains("file:PATH"));
/// # Ok::<(), tartine::cred::AuthSourceError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthSource {
    /// Users and passwords given in the option itself (`memory:alice:pw:bob:pw`).
    Memory(Vec<(String, String)>),
    /// A password file (`file:PATH`).
    File(PathBuf),
    /// A SQLite file (`sqlite:PATH`); needs the `sqlite` feature.
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://...`); needs the `postgres` feature.
    Postgres(String),
    /// Anonymous logins (`anonymous`).
    Anonymous,
}

/// Why an `--auth` option does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthSourceError {
    /// The option names no known kind of source.
    #[error("unknown --auth `{scheme}`: expected one of {AUTH_FORMS}")]
    UnknownScheme {
        /// What came before the first `:` (or the whole option).
        scheme: String,
    },
    /// `file:` or `sqlite:` without a path.
    #[error("--auth {scheme}: needs a path, as in `{scheme}:PATH`")]
    NoPath {
        /// The scheme.
        scheme: &'static str,
    },
    /// `memory:` with a user but no password, or nothing at all.
    #[error("--auth memory: expects USER:PASSWORD pairs, as in `memory:alice:1234:bob:secret`")]
    MemoryPairs,
    /// A `memory:` user name that breaks the user-name rule.
    #[error("--auth memory: user name {position}: {reason}")]
    BadUsername {
        /// Which user, from 1.
        position: usize,
        /// Which part of the rule it breaks.
        reason: String,
    },
    /// The source needs a cargo feature this build lacks.
    #[error("--auth {scheme}: this build has no {scheme} support (cargo feature `{feature}`)")]
    NotBuilt {
        /// The scheme.
        scheme: &'static str,
        /// The feature that brings it.
        feature: &'static str,
    },
}

impl FromStr for AuthSource {
    type Err = AuthSourceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "anonymous" {
            return Ok(AuthSource::Anonymous);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            if cfg!(not(feature = "postgres")) {
                return Err(AuthSourceError::NotBuilt {
                    scheme: "postgres",
                    feature: "postgres",
                });
            }
            return Ok(AuthSource::Postgres(text.to_owned()));
        }
        let (scheme, rest) = text.split_once(':').unwrap_or((text, ""));
        match scheme {
            "memory" => parse_memory(rest),
            "file" => Ok(AuthSource::File(path(rest, "file")?)),
            "sqlite" if cfg!(feature = "sqlite") => Ok(AuthSource::Sqlite(path(rest, "sqlite")?)),
            "sqlite" => Err(AuthSourceError::NotBuilt {
                scheme: "sqlite",
                feature: "sqlite",
            }),
            _ => Err(AuthSourceError::UnknownScheme {
                scheme: scheme.to_owned(),
            }),
        }
    }
}

fn path(text: &str, scheme: &'static str) -> Result<PathBuf, AuthSourceError> {
    if text.is_empty() {
        return Err(AuthSourceError::NoPath { scheme });
    }
    Ok(PathBuf::from(text))
}

fn parse_memory(text: &str) -> Result<AuthSource, AuthSourceError> {
    let parts: Vec<&str> = text.split(':').collect();
    if text.is_empty() || !parts.len().is_multiple_of(2) {
        return Err(AuthSourceError::MemoryPairs);
    }
    let mut users = Vec::with_capacity(parts.len() / 2);
    for (index, pair) in parts.chunks(2).enumerate() {
        let [username, password] = pair else {
            return Err(AuthSourceError::MemoryPairs);
        };
        check_username(username).map_err(|error| AuthSourceError::BadUsername {
            position: index + 1,
            reason: error.to_string(),
        })?;
        users.push(((*username).to_owned(), (*password).to_owned()));
    }
    Ok(AuthSource::Memory(users))
}

impl AuthSource {
    /// Whether this option holds a password, which anyone on the machine can read in the
    /// process list: `memory:` always, a PostgreSQL URL when it has a password in it.
    pub fn exposes_a_password(&self) -> bool {
        match self {
            AuthSource::Memory(_) => true,
            AuthSource::Postgres(url) => redact_url(url) != *url,
            _ => false,
        }
    }

    /// The store behind a password source (`memory:`, `file:`, `sqlite:`, `postgres://`);
    /// `None` for `anonymous`.
    ///
    /// # Errors
    /// What the store says when it cannot be opened: a missing or corrupt file, a database
    /// that cannot be reached.
    pub async fn open_store(&self) -> Result<Option<AnyStore>, StoreError> {
        Ok(Some(match self {
            AuthSource::Anonymous => return Ok(None),
            AuthSource::Memory(users) => {
                let mut store = InMemoryPasswords::new();
                for (username, password) in users {
                    store.add_verifier(
                        username,
                        PasswordVerifier::new(password, store.iterations())
                            .map_err(StoreError::NoRandomness)?,
                    );
                }
                AnyStore::Memory(store)
            }
            AuthSource::File(path) => AnyStore::File(PasswordFile::open(path).await?),
            #[cfg(feature = "sqlite")]
            AuthSource::Sqlite(path) => {
                AnyStore::Sqlite(super::store::SqliteStore::open(path).await?)
            }
            #[cfg(feature = "postgres")]
            AuthSource::Postgres(url) => {
                AnyStore::Postgres(super::store::PostgresStore::connect(url).await?)
            }
            #[allow(unreachable_patterns)]
            other => {
                return Err(StoreError::Database(format!(
                    "{other}: not built into this binary"
                )));
            }
        }))
    }

    /// Opens the source into a checker for a portal.
    ///
    /// # Errors
    /// As [`open_store`](Self::open_store).
    pub async fn open(&self) -> Result<AnyChecker, StoreError> {
        Ok(AnyChecker(match self.open_store().await? {
            Some(store) => Inner::Passwords(PasswordChecker::new(store)),
            None => Inner::Anonymous(AllowAnonymous),
        }))
    }
}

impl fmt::Display for AuthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthSource::Anonymous => f.write_str("anonymous"),
            AuthSource::Memory(users) => {
                f.write_str("memory")?;
                for (username, _) in users {
                    write!(f, ":{username}:***")?;
                }
                Ok(())
            }
            AuthSource::File(path) => write!(f, "file:{}", path.display()),
            AuthSource::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            AuthSource::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for AuthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthSource({self})")
    }
}

/// `url` with the password of its user info and any `password=` parameter hidden.
fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// A checker opened from an [`AuthSource`]: passwords from any ready store, or anonymous
/// logins.
#[derive(Debug, Clone)]
pub struct AnyChecker(Inner);

#[derive(Debug, Clone)]
enum Inner {
    Passwords(PasswordChecker<AnyStore>),
    Anonymous(AllowAnonymous),
}

impl AnyChecker {
    /// The password store behind this checker; `None` for anonymous logins.
    pub fn store(&self) -> Option<&AnyStore> {
        match &self.0 {
            Inner::Passwords(checker) => Some(checker.store()),
            Inner::Anonymous(_) => None,
        }
    }
}

impl CredentialChecker for AnyChecker {
    fn kinds(&self) -> &[CredentialKind] {
        match &self.0 {
            Inner::Passwords(checker) => checker.kinds(),
            Inner::Anonymous(checker) => checker.kinds(),
        }
    }

    async fn password_verifier(
        &self,
        username: &str,
    ) -> Result<Option<PasswordVerifier>, LoginError> {
        match &self.0 {
            Inner::Passwords(checker) => checker.password_verifier(username).await,
            Inner::Anonymous(checker) => checker.password_verifier(username).await,
        }
    }

    async fn check(&self, credentials: &Credentials) -> Result<AvatarId, LoginError> {
        match &self.0 {
            Inner::Passwords(checker) => checker.check(credentials).await,
            Inner::Anonymous(checker) => checker.check(credentials).await,
        }
    }

    fn work_factor(&self) -> u32 {
        match &self.0 {
            Inner::Passwords(checker) => checker.work_factor(),
            Inner::Anonymous(checker) => checker.work_factor(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses() {
        assert_eq!("anonymous".parse(), Ok(AuthSource::Anonymous));
        assert_eq!(
            "memory:alice:1234:bob:".parse(),
            Ok(AuthSource::Memory(vec![
                ("alice".into(), "1234".into()),
                ("bob".into(), String::new())
            ]))
        );
        assert_eq!(
            "file:/etc/tartine/users".parse(),
            Ok(AuthSource::File("/etc/tartine/users".into()))
        );
    }

    #[test]
    fn bad_forms_say_what_was_expected() {
        let unknown = "ldap:x".parse::<AuthSource>().unwrap_err();
        assert_eq!(
            unknown,
            AuthSourceError::UnknownScheme {
                scheme: "ldap".into()
            }
        );
        for form in [
            "memory:",
            "file:PATH",
            "sqlite:PATH",
            "postgres://",
            "anonymous",
        ] {
            assert!(unknown.to_string().contains(form), "{unknown}");
        }
        assert_eq!(
            "memory:alice".parse::<AuthSource>(),
            Err(AuthSourceError::MemoryPairs)
        );
        assert_eq!(
            "memory:".parse::<AuthSource>(),
            Err(AuthSourceError::MemoryPairs)
        );
        assert_eq!(
            "file:".parse::<AuthSource>(),
            Err(AuthSourceError::NoPath { scheme: "file" })
        );
        assert!(matches!(
            "memory:#x:pw".parse::<AuthSource>(),
            Err(AuthSourceError::BadUsername { position: 1, .. })
        ));
        assert!(matches!(
            "anonymous:yes".parse::<AuthSource>(),
            Err(AuthSourceError::UnknownScheme { .. })
        ));
    }

    #[test]
    fn passwords_are_hidden_and_flagged() {
        let cases = [
            (
                "postgres://tartine:hunter2@db:5432/users",
                "postgres://tartine:***@db:5432/users",
                true,
            ),
            (
                "postgres://tartine@db/users",
                "postgres://tartine@db/users",
                false,
            ),
            (
                "postgresql://db/users?user=t&password=hunter2",
                "postgresql://db/users?user=t&password=***",
                true,
            ),
            (
                "postgres:///users?host=/run/postgresql",
                "postgres:///users?host=/run/postgresql",
                false,
            ),
        ];
        for (url, shown, exposes) in cases {
            let source = AuthSource::Postgres(url.to_owned());
            assert_eq!(source.to_string(), shown);
            assert_eq!(format!("{source:?}"), format!("AuthSource({shown})"));
            assert_eq!(source.exposes_a_password(), exposes, "{url}");
        }
        assert!(!AuthSource::File("x".into()).exposes_a_password());
    }
}
