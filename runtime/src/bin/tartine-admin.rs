//! `tartine-admin`: adds, removes and lists the users of a tartine password store (a password
//! file, a SQLite file or a PostgreSQL database), changes their passwords, sets the work factor
//! of new passwords, grants and revokes the keys of the identity keyring, and ends the
//! central-authentication sessions of a user (the last two on SQLite and PostgreSQL).
//!
//! ```text
//! tartine-admin --store sqlite:users.db add alice            # asks for the password twice
//! echo "$PW" | tartine-admin --store file:users.passwd add bob --password-stdin
//! tartine-admin --store postgres:///users?host=/run/postgresql list
//! tartine-admin --store sqlite:users.db key grant alice chat moderator
//! ```
//!
//! The password never comes from the command line: from a prompt that does not echo, or from
//! standard input with `--password-stdin`. The store may also come from `TARTINE_STORE`.

use clap::{Parser, Subcommand};
use std::fmt::Display;
use std::io::{BufRead, ErrorKind, Write};
use std::process::ExitCode;
use tartine::central::{SessionId, SessionStore};
use tartine::cred::store::{check_iterations, permission_warning};
use tartine::cred::{
    ANONYMOUS_IDENTITY, AnyStore, AuthSource, AvatarId, Keyring, PasswordFile, PasswordStore,
    PasswordVerifier, PerspectiveKey,
};

/// Manages the users of a tartine password store.
#[derive(Debug, Parser)]
#[command(name = "tartine-admin", version)]
struct Args {
    /// The store: `file:PATH`, `sqlite:PATH` or `postgres://URL` (default: $TARTINE_STORE).
    #[arg(long, value_name = "STORE")]
    store: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Adds a user (a password file is created if there is none).
    Add {
        /// The new user's name.
        username: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Removes a user.
    Remove {
        /// The user's name.
        username: String,
    },
    /// Lists the users, one name per line.
    List,
    /// Changes a user's password.
    Passwd {
        /// The user's name.
        username: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Shows the PBKDF2 iterations new passwords get, or sets them.
    Iterations {
        /// The new count (at least 4096; clients accept at most 1,000,000 unless configured).
        count: Option<u32>,
    },
    /// Manages the keyring: which perspectives of which services a user may take up
    /// (SQLite and PostgreSQL stores).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Ends every central-authentication session of USER kept in the store (SQLite and
    /// PostgreSQL): its tickets stop working at once, and brokers end its logins at their next
    /// recheck.
    RevokeSessions {
        /// The user.
        user: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Gives USER the key to PERSPECTIVE in SERVICE.
    Grant {
        /// The user (`#anonymous` for anonymous logins).
        user: String,
        /// The service.
        service: String,
        /// The perspective.
        perspective: String,
    },
    /// Takes the key from USER.
    Revoke {
        /// The user (`#anonymous` for anonymous logins).
        user: String,
        /// The service.
        service: String,
        /// The perspective.
        perspective: String,
    },
    /// Lists USER's keys, one `service/perspective` per line.
    List {
        /// The user (`#anonymous` for anonymous logins).
        user: String,
    },
}

#[derive(Debug, clap::Args)]
struct PasswordArgs {
    /// Reads the password from the first line of standard input instead of a prompt.
    #[arg(long)]
    password_stdin: bool,
    /// PBKDF2 iterations for this password (default: the store's setting).
    #[arg(long, value_name = "N")]
    iterations: Option<u32>,
}

/// Why a command failed, as the user reads it.
type Failure = Box<dyn std::error::Error>;

/// Standard output was closed by whoever read it (`tartine-admin list | head -1`). What the
/// command had to do is done; the rest of its listing has no reader, which is no failure.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
struct OutputClosed;

/// Writes one line of a listing to standard output.
fn say(line: impl Display) -> Result<(), Failure> {
    match writeln!(std::io::stdout().lock(), "{line}") {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == ErrorKind::BrokenPipe => Err(OutputClosed.into()),
        Err(error) => Err(format!("cannot write to standard output: {error}").into()),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&error.into()),
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.is::<OutputClosed>() => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

fn fail(error: &Failure) -> ExitCode {
    eprintln!("tartine-admin: {error}");
    ExitCode::FAILURE
}

async fn run(args: Args) -> Result<(), Failure> {
    let store_text = match args.store {
        Some(store) => store,
        None => std::env::var("TARTINE_STORE")
            .map_err(|_| "no store: give --store STORE or set TARTINE_STORE")?,
    };
    let source: AuthSource = store_text.parse()?;
    let creates = matches!(
        args.command,
        Command::Add { .. } | Command::Iterations { count: Some(_) }
    );
    let store = open(&source, creates).await?;
    match args.command {
        Command::Add { username, password } => {
            tartine::cred::store::check_username(&username)?;
            let verifier = verifier(&store, &username, &password)?;
            store.create_user(&username, verifier).await?;
            eprintln!("added {username}");
        }
        Command::Remove { username } => {
            store.delete_user(&username).await?;
            eprintln!("removed {username}");
        }
        Command::List => {
            for username in store.usernames().await? {
                say(username)?;
            }
        }
        Command::Passwd { username, password } => {
            if store.verifier(&username).await?.is_none() {
                return Err(format!("no user `{username}`").into());
            }
            let verifier = verifier(&store, &username, &password)?;
            store.set_verifier(&username, verifier).await?;
            eprintln!("changed the password of {username}");
        }
        Command::Iterations { count: None } => say(store.iterations())?,
        Command::Iterations { count: Some(count) } => {
            store.set_iterations(count).await?;
            eprintln!("new passwords get {count} iterations");
            warn_past_client_default(count);
        }
        Command::Key(command) => keys(&store, command).await?,
        Command::RevokeSessions { user } => {
            let ended = revoke_sessions(&store, &user).await?;
            eprintln!("ended {} session(s) of {user}", ended.len());
            for session in ended {
                say(session)?;
            }
        }
    }
    Ok(())
}

/// Runs a keyring command.
async fn keys(store: &AnyStore, command: KeyCommand) -> Result<(), Failure> {
    match command {
        KeyCommand::Grant {
            user,
            service,
            perspective,
        } => {
            let key = PerspectiveKey::new(service, perspective);
            store.grant(&identity(&user)?, &key).await?;
            eprintln!("{user} holds {key}");
        }
        KeyCommand::Revoke {
            user,
            service,
            perspective,
        } => {
            let key = PerspectiveKey::new(service, perspective);
            store.revoke(&identity(&user)?, &key).await?;
            eprintln!("{user} no longer holds {key}");
        }
        KeyCommand::List { user } => {
            for key in store.keys(&identity(&user)?).await? {
                say(key)?;
            }
        }
    }
    Ok(())
}

/// Ends the sessions of `user` in a SQL store. Their records expire at once (the running
/// server's ticket lifetime is not known here): their tickets are refused as revoked all the
/// same.
async fn revoke_sessions(store: &AnyStore, user: &str) -> Result<Vec<SessionId>, Failure> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    match store {
        AnyStore::Sqlite(store) => Ok(store.end_sessions_of(user, now).await?),
        #[cfg(feature = "postgres")]
        AnyStore::Postgres(store) => Ok(store.end_sessions_of(user, now).await?),
        _ => Err("sessions are kept in SQLite or PostgreSQL stores".into()),
    }
}

/// The identity a user argument names: `#anonymous`, or a user name.
fn identity(user: &str) -> Result<AvatarId, Failure> {
    if user == ANONYMOUS_IDENTITY {
        return Ok(AvatarId::Anonymous);
    }
    tartine::cred::store::check_username(user)?;
    Ok(AvatarId::User(user.to_owned()))
}

/// Opens the store an admin works on; a password file is created for a command that writes.
async fn open(source: &AuthSource, create: bool) -> Result<AnyStore, Failure> {
    let store = match source {
        AuthSource::File(path) if create => {
            AnyStore::File(PasswordFile::open_or_create(path).await?)
        }
        AuthSource::Memory(_) | AuthSource::Anonymous => {
            return Err(format!(
                "`{source}` keeps no users: give file:PATH, sqlite:PATH or postgres://URL"
            )
            .into());
        }
        _ => source
            .open_store()
            .await?
            .ok_or("this store keeps no users")?,
    };
    if let AuthSource::File(path) | AuthSource::Sqlite(path) = source
        && let Some(warning) = permission_warning(path)
    {
        eprintln!("tartine-admin: warning: {warning}");
    }
    Ok(store)
}

/// Warns when `iterations` is more than a client accepts with its default settings: every
/// client must then raise `Config::max_login_iterations`, or its password logins fail.
fn warn_past_client_default(iterations: u32) {
    let ceiling = tartine::Config::default().max_login_iterations;
    if iterations > ceiling {
        eprintln!(
            "warning: {iterations} iterations is more than clients accept by default \
             ({ceiling}, Config::max_login_iterations): a client that does not raise it \
             refuses these logins"
        );
    }
}

/// Reads a password and derives its verifier, with fresh salt.
fn verifier(
    store: &AnyStore,
    username: &str,
    args: &PasswordArgs,
) -> Result<PasswordVerifier, Failure> {
    let iterations = check_iterations(args.iterations.unwrap_or(store.iterations()))?;
    warn_past_client_default(iterations);
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        let password = rpassword::prompt_password(format!("password for {username}: "))?;
        let again = rpassword::prompt_password("again: ")?;
        if password != again {
            return Err("the two passwords differ".into());
        }
        password
    };
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    Ok(PasswordVerifier::new(&password, iterations)?)
}
