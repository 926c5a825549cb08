//! One set of tests for every password store (memory, file, SQLite, PostgreSQL): what the
//! store keeps, logins over a real connection that follow it without a restart, user names
//! shaped like SQL injection or holding NUL, and the failed-login throttle.

mod common;

use common::login::{Club, Player, serve_portal};
use std::net::SocketAddr;
use std::time::Duration;
use tartine::cred::store::{MAX_USERNAME_LEN, MIN_ITERATIONS};
use tartine::cred::{
    AllowAnonymous, InMemoryPasswords, LoginCredentials, LoginError, PasswordChecker, PasswordFile,
    PasswordStore, PasswordVerifier, Portal, StoreError,
};
use tartine::{Config, RateLimit};

fn verifier(password: &str) -> PasswordVerifier {
    PasswordVerifier::new(password, MIN_ITERATIONS).expect("randomness")
}

async fn login(addr: SocketAddr, user: &str, password: &str) -> Result<String, LoginError> {
    let connection = tartine::connect(addr).await.expect("connects");
    let avatar = connection
        .login::<Player>(LoginCredentials::password(user, password))
        .await?;
    Ok(avatar.name().await.expect("the avatar answers"))
}

/// What every store keeps, and refuses.
async fn keeps_users<S: PasswordStore>(store: &S) {
    assert_eq!(
        store.usernames().await.expect("lists"),
        Vec::<String>::new()
    );
    assert_eq!(store.iterations(), 4096);
    store
        .create_user("bob", verifier("pw"))
        .await
        .expect("adds");
    store
        .create_user("alice", verifier("pw"))
        .await
        .expect("adds");
    assert!(matches!(
        store.create_user("alice", verifier("other")).await,
        Err(StoreError::UserExists(name)) if name == "alice"
    ));
    assert_eq!(store.usernames().await.expect("lists"), ["alice", "bob"]);
    let old = store
        .verifier("alice")
        .await
        .expect("reads")
        .expect("alice");
    assert_eq!(old.iterations(), MIN_ITERATIONS);
    store
        .set_verifier("alice", verifier("new"))
        .await
        .expect("changes");
    let new = store
        .verifier("alice")
        .await
        .expect("reads")
        .expect("alice");
    assert_ne!(new.stored_key(), old.stored_key());
    assert!(matches!(
        store.set_verifier("carol", verifier("pw")).await,
        Err(StoreError::NoSuchUser(_))
    ));
    store.delete_user("bob").await.expect("removes");
    assert!(store.verifier("bob").await.expect("reads").is_none());
    assert!(matches!(
        store.delete_user("bob").await,
        Err(StoreError::NoSuchUser(_))
    ));
    store.set_iterations(8192).await.expect("sets");
    assert_eq!(store.iterations(), 8192);
    assert!(matches!(
        store.set_iterations(10).await,
        Err(StoreError::BadIterations(10))
    ));
    // Names shaped like SQL are names like any other, and the table survives them.
    for name in [
        "alice'; DROP TABLE tartine_users;--",
        "Robert'); DELETE FROM tartine_users WHERE ('1'='1",
        "%",
        "\\'",
    ] {
        store.create_user(name, verifier("pw")).await.expect(name);
        assert!(
            store.verifier(name).await.expect("reads").is_some(),
            "{name}"
        );
    }
    assert!(store.verifier("alice").await.expect("reads").is_some());
    assert!(
        store.verifier("_").await.expect("reads").is_none(),
        "no wildcard"
    );
    for bad in ["", "nul\0byte", "line\nbreak", "a:b", "#comment", " padded"] {
        assert!(
            matches!(
                store.create_user(bad, verifier("pw")).await,
                Err(StoreError::BadUsername(_))
            ),
            "{bad:?}"
        );
    }
    let long = "x".repeat(MAX_USERNAME_LEN + 1);
    assert!(matches!(
        store.create_user(&long, verifier("pw")).await,
        Err(StoreError::BadUsername(_))
    ));
    assert_eq!(store.usernames().await.expect("lists").len(), 5);
}

/// Logins over a real connection follow the store: a user added or removed while the server
/// runs counts at the next login. Odd names fail as unknown users do.
async fn logins_follow_the_store<S: PasswordStore + Clone>(store: S) {
    let portal = Portal::new(Club::new()).with_checker(PasswordChecker::new(store.clone()));
    let (addr, _server) = serve_portal(portal, Config::default()).await;
    assert_eq!(
        login(addr, "alice", "1234").await,
        Err(LoginError::Unauthorized)
    );
    store
        .create_user("alice", verifier("1234"))
        .await
        .expect("adds");
    assert_eq!(login(addr, "alice", "1234").await.as_deref(), Ok("alice"));
    assert_eq!(
        login(addr, "alice", "4321").await,
        Err(LoginError::Unauthorized)
    );
    let sql = "x' OR '1'='1";
    store.create_user(sql, verifier("pw")).await.expect("adds");
    assert_eq!(login(addr, sql, "pw").await.as_deref(), Ok(sql));
    for odd in ["nul\0byte", &"y".repeat(1000), "a:b"] {
        assert_eq!(login(addr, odd, "pw").await, Err(LoginError::Unauthorized));
    }
    store
        .set_verifier("alice", verifier("5678"))
        .await
        .expect("changes");
    assert_eq!(
        login(addr, "alice", "1234").await,
        Err(LoginError::Unauthorized)
    );
    assert_eq!(login(addr, "alice", "5678").await.as_deref(), Ok("alice"));
    store.delete_user("alice").await.expect("removes");
    assert_eq!(
        login(addr, "alice", "5678").await,
        Err(LoginError::Unauthorized)
    );
}

/// The failed-login throttle holds whatever the store: past the budget, the right password
/// fails too, unchecked.
async fn throttles_guesses<S: PasswordStore + Clone>(store: S) {
    store
        .create_user("alice", verifier("1234"))
        .await
        .expect("adds");
    let mut config = Config::default();
    config.failed_logins_per_user = RateLimit::new(2, Duration::from_secs(600));
    config.failed_login_delay = Duration::from_millis(1);
    let portal = Portal::new(Club::new()).with_checker(PasswordChecker::new(store));
    let (addr, _server) = serve_portal(portal.clone(), config).await;
    for guess in ["0000", "0001", "0002"] {
        assert_eq!(
            login(addr, "alice", guess).await,
            Err(LoginError::Unauthorized)
        );
    }
    assert_eq!(
        login(addr, "alice", "1234").await,
        Err(LoginError::Unauthorized)
    );
    let stats = portal.stats();
    assert_eq!((stats.failed, stats.throttled, stats.succeeded), (2, 2, 0));
}

/// Runs the set on a store made by `$make` (an async block giving the store and whatever
/// must live as long as it).
macro_rules! every_store_test {
    ($store:ident, $make:expr) => {
        mod $store {
            use super::*;

            #[tokio::test]
            async fn keeps_users() {
                let Some((store, _keep)) = ($make) else {
                    return;
                };
                super::keeps_users(&store).await;
            }

            #[tokio::test]
            async fn logins_follow_the_store() {
                let Some((store, _keep)) = ($make) else {
                    return;
                };
                super::logins_follow_the_store(store).await;
            }

            #[tokio::test]
            async fn throttles_guesses() {
                let Some((store, _keep)) = ($make) else {
                    return;
                };
                super::throttles_guesses(store).await;
            }
        }
    };
}

every_store_test!(memory, Some((InMemoryPasswords::new(), ())));

every_store_test!(file, {
    let dir = common::tempdir::TempDir::new();
    let store = PasswordFile::open_or_create(dir.path().join("users.passwd"))
        .await
        .expect("creates");
    Some((store, dir))
});

#[cfg(feature = "sqlite")]
every_store_test!(sqlite, {
    let dir = common::tempdir::TempDir::new();
    let store = tartine::cred::SqliteStore::open(dir.path().join("users.db"))
        .await
        .expect("creates");
    Some((store, dir))
});

#[cfg(feature = "postgres")]
every_store_test!(postgres, {
    match common::postgres::start() {
        Some(cluster) => {
            let store = tartine::cred::PostgresStore::connect(&cluster.url())
                .await
                .expect("connects");
            Some((store, cluster))
        }
        None => None,
    }
});

#[tokio::test]
async fn anonymous_logins_go_on_beside_a_password_store() {
    let users = InMemoryPasswords::new();
    let portal = Portal::new(Club::new())
        .with_checker(PasswordChecker::new(users.clone()))
        .with_checker(AllowAnonymous);
    let (addr, _server) = serve_portal(portal, Config::default()).await;
    assert!(common::login::anonymous_login_works(addr).await);
    users
        .create_user("alice", verifier("1234"))
        .await
        .expect("adds");
    assert_eq!(login(addr, "alice", "1234").await.as_deref(), Ok("alice"));
}

/// What every session store keeps for an authentication server.
async fn keeps_sessions<S: tartine::central::SessionStore>(store: &S) {
    use tartine::central::{SessionRecord, TicketRecord};
    let session = |id: &str, user: &str, expires_at| SessionRecord {
        id: session_id(id),
        username: user.to_owned(),
        expires_at,
        ended: false,
    };
    let (a, b, c) = (
        session("a1", "alice", 10_000),
        session("a2", "alice", 20_000),
        session("b1", "bob", 30_000),
    );
    for record in [&a, &b, &c] {
        store.create_session(record).await.expect("keeps");
    }
    assert_eq!(store.session(&a.id).await.expect("reads"), Some(a.clone()));
    assert_eq!(store.session(&session_id("zz")).await.expect("reads"), None);
    let ticket = TicketRecord {
        hash: [7; 32],
        session: a.id.clone(),
        audience: "broker-b".into(),
        expires_at: 5_000,
    };
    store.create_ticket(&ticket).await.expect("keeps");
    assert_eq!(store.ticket(&[7; 32]).await.expect("reads"), Some(ticket));
    assert_eq!(store.ticket(&[8; 32]).await.expect("reads"), None);
    // Ended, kept until 8_000 (sooner than its expiry): a second end changes nothing.
    assert!(store.end_session(&a.id, 8_000).await.expect("ends"));
    assert!(
        !store
            .end_session(&a.id, 1_000)
            .await
            .expect("ended already")
    );
    let ended_a = store.session(&a.id).await.expect("reads").expect("kept");
    assert!(ended_a.ended && ended_a.expires_at == 8_000, "{ended_a:?}");
    // A later keep does not lengthen a session.
    let short = session("s1", "carol", 3_000);
    store.create_session(&short).await.expect("keeps");
    assert!(store.end_session(&short.id, 9_000).await.expect("ends"));
    let ended_short = store
        .session(&short.id)
        .await
        .expect("reads")
        .expect("kept");
    assert_eq!(ended_short.expires_at, 3_000);
    // Alice's sessions past the two newest end; ended and expired ones do not count.
    let (d, e) = (
        session("a3", "alice", 40_000),
        session("a4", "alice", 50_000),
    );
    for record in [&d, &e] {
        store.create_session(record).await.expect("keeps");
    }
    let of_b = TicketRecord {
        hash: [9; 32],
        session: b.id.clone(),
        audience: "broker-b".into(),
        expires_at: 25_000,
    };
    store.create_ticket(&of_b).await.expect("keeps");
    let past = store
        .end_sessions_past("alice", 2, 15_000)
        .await
        .expect("ends");
    assert_eq!(past, std::slice::from_ref(&b.id), "a1 ended already");
    let ended_b = store.session(&b.id).await.expect("reads").expect("kept");
    assert!(ended_b.ended && ended_b.expires_at == 15_000, "expired now");
    assert_eq!(
        store.ticket(&[9; 32]).await.expect("reads"),
        Some(of_b.clone()),
        "its tickets stay until they expire (refused then as revoked)"
    );
    assert_eq!(
        store
            .end_sessions_past("alice", 2, 15_000)
            .await
            .expect("ends"),
        [],
        "two left"
    );
    assert_eq!(
        store
            .end_sessions_past("alice", 0, 45_000)
            .await
            .expect("ends"),
        std::slice::from_ref(&e.id),
        "a3 expired by then"
    );
    assert!(
        !store
            .session(&d.id)
            .await
            .expect("reads")
            .expect("kept")
            .ended
    );
    assert_eq!(
        store.end_sessions_past("bob", 1, 0).await.expect("ends"),
        [],
        "bob's one session is within his allowance"
    );
    // Ended and kept until 12_000, sooner than its expiry (40_000): pruned at 15_000.
    let ended = store.end_sessions_of("alice", 12_000).await.expect("ends");
    assert_eq!(ended, std::slice::from_ref(&d.id));
    store.prune(15_000).await.expect("prunes");
    assert_eq!(store.session(&d.id).await.expect("reads"), None);
    assert_eq!(store.session(&a.id).await.expect("reads"), None);
    assert_eq!(store.session(&b.id).await.expect("reads"), None);
    assert_eq!(store.ticket(&[7; 32]).await.expect("reads"), None);
    assert_eq!(
        store.ticket(&[9; 32]).await.expect("reads"),
        Some(of_b.clone()),
        "a ticket outlives its pruned session until it expires"
    );
    assert!(store.session(&c.id).await.expect("reads").is_some());
    // After a pruning, a user's new session is found as hers.
    let f = session("a5", "alice", 60_000);
    store.create_session(&f).await.expect("keeps");
    assert_eq!(
        store
            .end_sessions_past("alice", 0, 15_000)
            .await
            .expect("ends"),
        std::slice::from_ref(&f.id),
        "the others ended already"
    );
}

/// A session id of the tests' choosing (the server's are random).
fn session_id(id: &str) -> tartine::central::SessionId {
    tartine::central::SessionId::from_text(id)
}

/// What every keyring keeps.
async fn keeps_keys<K: tartine::cred::Keyring>(keyring: &K) {
    use tartine::cred::{AvatarId, PerspectiveKey};
    let alice = AvatarId::User("alice".into());
    let key = |service: &str, perspective: &str| PerspectiveKey::new(service, perspective);
    assert_eq!(keyring.keys(&alice).await.expect("reads"), []);
    keyring
        .grant(&alice, &key("game", "player"))
        .await
        .expect("grants");
    keyring
        .grant(&alice, &key("chat", "member"))
        .await
        .expect("grants");
    keyring
        .grant(&alice, &key("chat", "member"))
        .await
        .expect("again");
    keyring
        .grant(&AvatarId::Anonymous, &key("chat", "guest"))
        .await
        .expect("grants");
    assert_eq!(
        keyring.keys(&alice).await.expect("reads"),
        [key("chat", "member"), key("game", "player")]
    );
    assert_eq!(
        keyring.keys(&AvatarId::Anonymous).await.expect("reads"),
        [key("chat", "guest")]
    );
    keyring
        .revoke(&alice, &key("game", "player"))
        .await
        .expect("revokes");
    assert!(matches!(
        keyring.revoke(&alice, &key("game", "player")).await,
        Err(StoreError::NoSuchKey { .. })
    ));
    assert_eq!(
        keyring.keys(&alice).await.expect("reads"),
        [key("chat", "member")]
    );
}

#[tokio::test]
async fn memory_keeps_sessions_and_keys() {
    keeps_sessions(&tartine::central::MemorySessions::new()).await;
    keeps_keys(&tartine::cred::MemoryKeyring::new()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_keeps_sessions_and_keys() {
    let dir = common::tempdir::TempDir::new();
    let store = tartine::cred::SqliteStore::open(dir.path().join("users.db"))
        .await
        .expect("creates");
    keeps_sessions(&store).await;
    keeps_keys(&store).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_keeps_sessions_and_keys() {
    let Some(cluster) = common::postgres::start() else {
        return;
    };
    let store = tartine::cred::PostgresStore::connect(&cluster.url())
        .await
        .expect("connects");
    keeps_sessions(&store).await;
    keeps_keys(&store).await;
}
