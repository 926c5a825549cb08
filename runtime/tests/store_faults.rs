//! Stores under faults: a corrupt password file at start and while serving, a file others can
//! read, two writers at once, and a PostgreSQL database that goes down and comes back, or is
//! not there at start.

mod common;

use common::login::{Club, Player, serve_portal};
use common::tempdir::TempDir;
use std::net::SocketAddr;
use tartine::Config;
use tartine::cred::store::MIN_ITERATIONS;
use tartine::cred::{
    LoginCredentials, LoginError, PasswordChecker, PasswordFile, PasswordStore, PasswordVerifier,
    Portal, StoreError,
};

fn verifier(password: &str) -> PasswordVerifier {
    PasswordVerifier::new(password, MIN_ITERATIONS).expect("randomness")
}

async fn login(addr: SocketAddr, user: &str, password: &str) -> Result<(), LoginError> {
    let connection = tartine::connect(addr).await.expect("connects");
    connection
        .login::<Player>(LoginCredentials::password(user, password))
        .await
        .map(drop)
}

#[tokio::test]
async fn a_corrupt_password_file_is_refused_at_start_naming_its_line() {
    let dir = TempDir::new();
    let path = dir.path().join("users.passwd");
    let good = PasswordFile::open_or_create(&path).await.expect("creates");
    good.create_user("alice", verifier("pw"))
        .await
        .expect("adds");
    let mut text = std::fs::read_to_string(&path).expect("reads");
    text.push_str("bob has no verifier\n");
    std::fs::write(&path, &text).expect("writes");
    let lines = text.lines().count();
    match PasswordFile::open(&path).await {
        Err(StoreError::Corrupt { line, reason, .. }) => {
            assert_eq!(line, lines);
            assert!(reason.contains("expected `name:"), "{reason}");
        }
        other => panic!("expected a corrupt line, got {other:?}"),
    }
    let missing = PasswordFile::open(dir.path().join("none")).await;
    assert!(matches!(missing, Err(StoreError::Io { .. })), "{missing:?}");
}

#[tokio::test]
async fn a_server_follows_the_file_that_another_process_rewrites_and_keeps_its_users_if_it_breaks()
{
    let dir = TempDir::new();
    let path = dir.path().join("users.passwd");
    let served = PasswordFile::open_or_create(&path).await.expect("creates");
    let portal = Portal::new(Club::new()).with_checker(PasswordChecker::new(served));
    let (addr, _server) = serve_portal(portal, Config::default()).await;
    // Another handle on the same file, as the admin command holds.
    let admin = PasswordFile::open(&path).await.expect("opens");
    admin
        .create_user("alice", verifier("1234"))
        .await
        .expect("adds");
    assert_eq!(login(addr, "alice", "1234").await, Ok(()));
    // A hand edit breaks the file: the server keeps the users it had.
    let mut text = std::fs::read_to_string(&path).expect("reads");
    text.push_str("this line is not a user\n");
    std::fs::write(&path, text).expect("writes");
    assert_eq!(login(addr, "alice", "1234").await, Ok(()));
    // But the admin command refuses to rewrite a file it cannot read in full.
    assert!(matches!(
        admin.create_user("bob", verifier("pw")).await,
        Err(StoreError::Corrupt { .. })
    ));
}

#[cfg(unix)]
#[tokio::test]
async fn a_password_file_others_can_read_is_flagged_and_rewrites_keep_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new();
    let path = dir.path().join("users.passwd");
    let file = PasswordFile::open_or_create(&path).await.expect("creates");
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&path), 0o600, "a new file is its owner's alone");
    assert_eq!(file.permission_warning(), None);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let warning = file.permission_warning().expect("a warning");
    assert!(warning.contains("chmod 600"), "{warning}");
    file.create_user("alice", verifier("pw"))
        .await
        .expect("adds");
    assert_eq!(mode(&path), 0o644, "the rewrite keeps the mode it found");
}

#[tokio::test]
async fn two_writers_at_once_lose_nothing() {
    let dir = TempDir::new();
    let path = dir.path().join("users.passwd");
    let first = PasswordFile::open_or_create(&path).await.expect("creates");
    let second = PasswordFile::open(&path).await.expect("opens");
    let adds = (0..40).map(|i| {
        let file = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tokio::spawn(async move {
            file.create_user(&format!("user{i:02}"), verifier("pw"))
                .await
        })
    });
    for added in futures_util::future::join_all(adds).await {
        added.expect("runs").expect("adds");
    }
    let reread = PasswordFile::open(&path).await.expect("opens");
    assert_eq!(reread.usernames().await.expect("lists").len(), 40);
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use std::time::{Duration, Instant};
    use tartine::cred::{AllowAnonymous, PostgresStore};

    #[tokio::test]
    async fn logins_fail_typed_while_the_database_is_down_and_recover_when_it_is_back() {
        let Some(cluster) = common::postgres::start() else {
            return;
        };
        let store = PostgresStore::connect(&cluster.url())
            .await
            .expect("connects");
        store
            .create_user("alice", verifier("1234"))
            .await
            .expect("adds");
        let portal = Portal::new(Club::new())
            .with_checker(PasswordChecker::new(store))
            .with_checker(AllowAnonymous);
        let (addr, _server) = serve_portal(portal, Config::default()).await;
        assert_eq!(login(addr, "alice", "1234").await, Ok(()));

        cluster.pause();
        let started = Instant::now();
        assert_eq!(
            login(addr, "alice", "1234").await,
            Err(LoginError::StoreUnavailable)
        );
        let waited = started.elapsed();
        eprintln!("a login was refused {waited:?} after it began, the database being down");
        assert!(waited < Duration::from_secs(8), "{waited:?}");
        // The server goes on serving what needs no database.
        assert!(common::login::anonymous_login_works(addr).await);

        cluster.resume().expect("starts again");
        assert_eq!(login(addr, "alice", "1234").await, Ok(()));
    }

    #[tokio::test]
    async fn a_database_that_is_not_there_at_start_is_a_typed_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let started = Instant::now();
        let error =
            PostgresStore::connect(&format!("postgres://tartine:hunter2@127.0.0.1:{port}/x"))
                .await
                .expect_err("nothing listens there");
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(8));
        let bad = PostgresStore::connect("postgres://tartine:hunter2@[broken/x")
            .await
            .expect_err("does not parse");
        assert!(!bad.to_string().contains("hunter2"), "{bad}");
    }
}
