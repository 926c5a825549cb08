//! Provides the SQL stores: SQLite, a file that is the embedded default, and PostgreSQL, one
//! user base for several brokers. Both go through sqlx with the same schema, migrations and
//! queries: a user is a row `(username, verifier)`, the verifier in its text form
//! (`SCRAM-SHA-256$...`), settings are rows `(name, value)`, and the keyring's keys rows
//! `(identity, service, perspective)`.
//!
//! Every query reads the database, so a user added, changed or removed by another process
//! (`tartine-admin`, another broker) counts at the next login. Each operation waits at most
//! [`QUERY_TIMEOUT`] for a connection and its answer; past that it fails with
//! [`StoreError::Unavailable`], and the pool connects again once the database is back.

use super::super::keyring::{Keyring, PerspectiveKey, identity_name};
use super::super::realm::AvatarId;
use super::super::scram::{DEFAULT_ITERATIONS, PasswordVerifier};
#[cfg(feature = "sqlite")]
use super::contract::permission_warning;
use super::contract::{PasswordStore, StoreError, WorkFactor, check_iterations, check_username};
use super::text::{parse_verifier, verifier_text};
use crate::central::protocol::{SessionId, hex};
use crate::central::sessions::{SessionRecord, SessionStore, TicketRecord};
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long one store operation may wait for a connection and its answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// The schema, in migrations that both databases run alike: `(version, description, SQL)`.
/// A migration once released never changes (the databases keep its checksum); add another.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "tartine users and settings",
        "CREATE TABLE tartine_users (
             username TEXT PRIMARY KEY,
             verifier TEXT NOT NULL
         );
         CREATE TABLE tartine_settings (
             name TEXT PRIMARY KEY,
             value TEXT NOT NULL
         );",
    ),
    (
        2,
        "tartine keyring",
        "CREATE TABLE tartine_keys (
             identity TEXT NOT NULL,
             service TEXT NOT NULL,
             perspective TEXT NOT NULL,
             PRIMARY KEY (identity, service, perspective)
         );",
    ),
    (
        3,
        "tartine central authentication sessions",
        "CREATE TABLE tartine_sessions (
             id TEXT PRIMARY KEY,
             username TEXT NOT NULL,
             expires_at BIGINT NOT NULL,
             ended BOOLEAN NOT NULL
         );
         CREATE INDEX tartine_sessions_by_user ON tartine_sessions (username);
         CREATE TABLE tartine_tickets (
             hash TEXT PRIMARY KEY,
             session TEXT NOT NULL,
             audience TEXT NOT NULL,
             expires_at BIGINT NOT NULL
         );",
    ),
];

/// The migrator of [`MIGRATIONS`], under its own table name.
fn migrator() -> Migrator {
    let mut migrator = Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    );
    migrator.dangerous_set_table_name("tartine_migrations");
    migrator
}

/// What a failed query means for the caller.
fn store_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(error) => StoreError::Database(error.message().to_owned()),
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("no connection to the database within the timeout".into())
        }
        sqlx::Error::Io(error) => StoreError::Unavailable(error.to_string()),
        sqlx::Error::PoolClosed => StoreError::Unavailable("the store was closed".into()),
        // Configuration errors may quote the database URL, and with it a password.
        sqlx::Error::Configuration(_) => {
            StoreError::Database("the database settings are invalid".into())
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// Runs one store operation within [`QUERY_TIMEOUT`].
async fn bounded<T>(
    operation: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(QUERY_TIMEOUT, operation).await {
        Ok(result) => result.map_err(store_error),
        Err(_) => Err(StoreError::Unavailable(format!(
            "no answer from the database within {} s",
            QUERY_TIMEOUT.as_secs()
        ))),
    }
}

fn migrate_error(error: sqlx::migrate::MigrateError) -> StoreError {
    match error {
        sqlx::migrate::MigrateError::Execute(error) => store_error(error),
        other => StoreError::Database(format!("migrating the schema: {other}")),
    }
}

/// The operations of a store over one sqlx pool, for both databases.
macro_rules! sql_store {
    ($(#[$meta:meta])* $name:ident, $pool:ty) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name {
            pool: $pool,
            work_factor: Arc<WorkFactor>,
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("iterations", &self.work_factor.get())
                    .finish_non_exhaustive()
            }
        }

        impl $name {
            /// Migrates the schema of a connected pool and reads the settings.
            async fn from_pool(pool: $pool) -> Result<Self, StoreError> {
                tokio::time::timeout(QUERY_TIMEOUT * 4, migrator().run(&pool))
                    .await
                    .map_err(|_| StoreError::Unavailable("migrating the schema took too long".into()))?
                    .map_err(migrate_error)?;
                let iterations: Option<String> = bounded(
                    sqlx::query_scalar("SELECT value FROM tartine_settings WHERE name = 'iterations'")
                        .fetch_optional(&pool),
                )
                .await?;
                let iterations = match iterations {
                    Some(text) => text.parse().map_err(|_| {
                        StoreError::Database(format!("the `iterations` setting is not a number: {text}"))
                    })?,
                    None => DEFAULT_ITERATIONS,
                };
                Ok($name {
                    pool,
                    work_factor: Arc::new(WorkFactor::new(iterations)),
                })
            }

            /// Closes the store's connections; operations after it fail with
            /// [`StoreError::Unavailable`].
            pub async fn close(&self) {
                self.pool.close().await;
            }
        }

        impl PasswordStore for $name {
            async fn verifier(&self, username: &str) -> Result<Option<PasswordVerifier>, StoreError> {
                let text: Option<String> = bounded(
                    sqlx::query_scalar("SELECT verifier FROM tartine_users WHERE username = $1")
                        .bind(username)
                        .fetch_optional(&self.pool),
                )
                .await?;
                text.map(|text| {
                    parse_verifier(&text).map_err(|reason| StoreError::CorruptVerifier {
                        username: username.to_owned(),
                        reason,
                    })
                })
                .transpose()
            }

            async fn create_user(
                &self,
                username: &str,
                verifier: PasswordVerifier,
            ) -> Result<(), StoreError> {
                check_username(username)?;
                let done = bounded(
                    sqlx::query(
                        "INSERT INTO tartine_users (username, verifier) VALUES ($1, $2)
                         ON CONFLICT (username) DO NOTHING",
                    )
                    .bind(username)
                    .bind(verifier_text(&verifier))
                    .execute(&self.pool),
                )
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::UserExists(username.to_owned()));
                }
                Ok(())
            }

            async fn set_verifier(
                &self,
                username: &str,
                verifier: PasswordVerifier,
            ) -> Result<(), StoreError> {
                let done = bounded(
                    sqlx::query("UPDATE tartine_users SET verifier = $2 WHERE username = $1")
                        .bind(username)
                        .bind(verifier_text(&verifier))
                        .execute(&self.pool),
                )
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NoSuchUser(username.to_owned()));
                }
                Ok(())
            }

            async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
                let done = bounded(
                    sqlx::query("DELETE FROM tartine_users WHERE username = $1")
                        .bind(username)
                        .execute(&self.pool),
                )
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NoSuchUser(username.to_owned()));
                }
                Ok(())
            }

            async fn usernames(&self) -> Result<Vec<String>, StoreError> {
                let mut names: Vec<String> = bounded(
                    sqlx::query_scalar("SELECT username FROM tartine_users").fetch_all(&self.pool),
                )
                .await?;
                names.sort();
                Ok(names)
            }

            fn iterations(&self) -> u32 {
                self.work_factor.get()
            }

            async fn set_iterations(&self, iterations: u32) -> Result<(), StoreError> {
                check_iterations(iterations)?;
                bounded(
                    sqlx::query(
                        "INSERT INTO tartine_settings (name, value) VALUES ('iterations', $1)
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    )
                    .bind(iterations.to_string())
                    .execute(&self.pool),
                )
                .await?;
                self.work_factor.set(iterations);
                Ok(())
            }
        }

        impl Keyring for $name {
            async fn keys(&self, identity: &AvatarId) -> Result<Vec<PerspectiveKey>, StoreError> {
                let keys: Vec<(String, String)> = bounded(
                    sqlx::query_as(
                        "SELECT service, perspective FROM tartine_keys WHERE identity = $1
                         ORDER BY service, perspective",
                    )
                    .bind(identity_name(identity))
                    .fetch_all(&self.pool),
                )
                .await?;
                Ok(keys
                    .into_iter()
                    .map(|(service, perspective)| PerspectiveKey { service, perspective })
                    .collect())
            }

            async fn grant(&self, identity: &AvatarId, key: &PerspectiveKey) -> Result<(), StoreError> {
                bounded(
                    sqlx::query(
                        "INSERT INTO tartine_keys (identity, service, perspective) VALUES ($1, $2, $3)
                         ON CONFLICT (identity, service, perspective) DO NOTHING",
                    )
                    .bind(identity_name(identity))
                    .bind(&key.service)
                    .bind(&key.perspective)
                    .execute(&self.pool),
                )
                .await?;
                Ok(())
            }

            async fn revoke(&self, identity: &AvatarId, key: &PerspectiveKey) -> Result<(), StoreError> {
                let done = bounded(
                    sqlx::query(
                        "DELETE FROM tartine_keys
                         WHERE identity = $1 AND service = $2 AND perspective = $3",
                    )
                    .bind(identity_name(identity))
                    .bind(&key.service)
                    .bind(&key.perspective)
                    .execute(&self.pool),
                )
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NoSuchKey {
                        identity: identity_name(identity).to_owned(),
                        key: key.to_string(),
                    });
                }
                Ok(())
            }
        }

        impl SessionStore for $name {
            async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
                bounded(
                    sqlx::query(
                        "INSERT INTO tartine_sessions (id, username, expires_at, ended)
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(session.id.as_str())
                    .bind(&session.username)
                    .bind(millis_to_sql(session.expires_at))
                    .bind(session.ended)
                    .execute(&self.pool),
                )
                .await?;
                Ok(())
            }

            async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
                let row: Option<(String, i64, bool)> = bounded(
                    sqlx::query_as(
                        "SELECT username, expires_at, ended FROM tartine_sessions WHERE id = $1",
                    )
                    .bind(id.as_str())
                    .fetch_optional(&self.pool),
                )
                .await?;
                Ok(row.map(|(username, expires_at, ended)| SessionRecord {
                    id: id.clone(),
                    username,
                    expires_at: millis_from_sql(expires_at),
                    ended,
                }))
            }

            async fn end_session(&self, id: &SessionId, keep_until: u64) -> Result<bool, StoreError> {
                let done = bounded(
                    sqlx::query(
                        "UPDATE tartine_sessions SET ended = $2,
                           expires_at = CASE WHEN expires_at > $4 THEN $4 ELSE expires_at END
                         WHERE id = $1 AND ended = $3",
                    )
                    .bind(id.as_str())
                    .bind(true)
                    .bind(false)
                    .bind(millis_to_sql(keep_until))
                    .execute(&self.pool),
                )
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn end_sessions_of(
                &self,
                username: &str,
                keep_until: u64,
            ) -> Result<Vec<SessionId>, StoreError> {
                let mut ended: Vec<String> = bounded(
                    sqlx::query_scalar(
                        "UPDATE tartine_sessions SET ended = $2,
                           expires_at = CASE WHEN expires_at > $4 THEN $4 ELSE expires_at END
                         WHERE username = $1 AND ended = $3
                         RETURNING id",
                    )
                    .bind(username)
                    .bind(true)
                    .bind(false)
                    .bind(millis_to_sql(keep_until))
                    .fetch_all(&self.pool),
                )
                .await?;
                ended.sort();
                Ok(ended.into_iter().map(SessionId).collect())
            }

            async fn end_sessions_past(
                &self,
                username: &str,
                keep: usize,
                now: u64,
            ) -> Result<Vec<SessionId>, StoreError> {
                let mut ended: Vec<String> = bounded(
                    sqlx::query_scalar(
                        "UPDATE tartine_sessions SET ended = $2, expires_at = $4
                         WHERE username = $1 AND ended = $3 AND expires_at > $4
                           AND id NOT IN (
                             SELECT id FROM tartine_sessions
                             WHERE username = $1 AND ended = $3 AND expires_at > $4
                             ORDER BY expires_at DESC, id DESC
                             LIMIT $5)
                         RETURNING id",
                    )
                    .bind(username)
                    .bind(true)
                    .bind(false)
                    .bind(millis_to_sql(now))
                    .bind(i64::try_from(keep).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool),
                )
                .await?;
                ended.sort();
                Ok(ended.into_iter().map(SessionId).collect())
            }

            async fn create_ticket(&self, ticket: &TicketRecord) -> Result<(), StoreError> {
                bounded(
                    sqlx::query(
                        "INSERT INTO tartine_tickets (hash, session, audience, expires_at)
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(hex(&ticket.hash))
                    .bind(ticket.session.as_str())
                    .bind(&ticket.audience)
                    .bind(millis_to_sql(ticket.expires_at))
                    .execute(&self.pool),
                )
                .await?;
                Ok(())
            }

            async fn ticket(&self, hash: &[u8; 32]) -> Result<Option<TicketRecord>, StoreError> {
                let row: Option<(String, String, i64)> = bounded(
                    sqlx::query_as(
                        "SELECT session, audience, expires_at FROM tartine_tickets WHERE hash = $1",
                    )
                    .bind(hex(hash))
                    .fetch_optional(&self.pool),
                )
                .await?;
                Ok(row.map(|(session, audience, expires_at)| TicketRecord {
                    hash: *hash,
                    session: SessionId(session),
                    audience,
                    expires_at: millis_from_sql(expires_at),
                }))
            }

            async fn prune(&self, now: u64) -> Result<(), StoreError> {
                let now = millis_to_sql(now);
                bounded(
                    sqlx::query("DELETE FROM tartine_tickets WHERE expires_at <= $1")
                        .bind(now)
                        .execute(&self.pool),
                )
                .await?;
                bounded(
                    sqlx::query("DELETE FROM tartine_sessions WHERE expires_at <= $1")
                        .bind(now)
                        .execute(&self.pool),
                )
                .await?;
                Ok(())
            }
        }
    };
}

/// A time in Unix milliseconds, as the SQL column keeps it.
fn millis_to_sql(millis: u64) -> i64 {
    i64::try_from(millis).unwrap_or(i64::MAX)
}

/// A time from its SQL column.
fn millis_from_sql(millis: i64) -> u64 {
    u64::try_from(millis).unwrap_or(0)
}

#[cfg(feature = "sqlite")]
sql_store!(
    /// Users kept in a SQLite file: the embedded default for a server that keeps its users
    /// (feature `sqlite`). A new file is made readable by its owner alone; opening one that
    /// others can read logs a warning.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tartine::cred::StoreError> {
    /// use tartine::cred::{PasswordChecker, SqliteStore};
    ///
    /// let users = PasswordChecker::new(SqliteStore::open("users.db").await?);
    /// # let _ = users;
    /// # Ok(())
    /// # }
    /// ```
    SqliteStore,
    sqlx::SqlitePool
);

#[cfg(feature = "sqlite")]
impl SqliteStore {
    /// Opens the SQLite file at `path`, creating it (mode `0600`) and its schema if needed.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the file cannot be made, [`StoreError::Unavailable`] or
    /// [`StoreError::Database`] if SQLite cannot open it.
    pub async fn open(path: impl AsRef<std::path::Path>) -> Result<Self, StoreError> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
        let path = path.as_ref().to_owned();
        let created = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(&path) {
                    Ok(_) => Ok(()),
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                    Err(source) => Err(StoreError::Io { path, source }),
                }
            })
            .await
        };
        created.map_err(|error| StoreError::Unavailable(error.to_string()))??;
        if let Some(warning) = permission_warning(&path) {
            tracing::warn!("{warning}");
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(QUERY_TIMEOUT);
        let pool = bounded(
            SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(QUERY_TIMEOUT)
                .connect_with(options),
        )
        .await?;
        Self::from_pool(pool).await
    }
}

#[cfg(feature = "postgres")]
sql_store!(
    /// Users kept in PostgreSQL: one user base for several brokers (feature `postgres`).
    /// Each broker asks the database at every login, so a user added or removed anywhere
    /// counts at the next login at every broker.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tartine::cred::StoreError> {
    /// use tartine::cred::{PasswordChecker, PostgresStore};
    ///
    /// let users = PostgresStore::connect("postgres://tartine@db.internal/users").await?;
    /// let users = PasswordChecker::new(users);
    /// # let _ = users;
    /// # Ok(())
    /// # }
    /// ```
    PostgresStore,
    sqlx::PgPool
);

#[cfg(feature = "postgres")]
impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or
    /// `postgres:///database?host=/run/postgresql` over a Unix socket) and creates the schema
    /// if needed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the database cannot be reached within
    /// [`QUERY_TIMEOUT`]: a server should not start without its users. Error messages never
    /// quote the URL, which may hold a password.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
        let options: PgConnectOptions = url
            .parse()
            .map_err(|_| StoreError::Database("the PostgreSQL URL does not parse".into()))?;
        let pool = bounded(
            PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(QUERY_TIMEOUT)
                .connect_with(options),
        )
        .await?;
        Self::from_pool(pool).await
    }
}
