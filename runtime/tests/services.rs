//! Named services on one listener and the identity keyring, over real connections: an
//! identity proves itself once and takes up the perspectives its keys open, several per
//! service; unknown services, unknown perspectives and missing keys answer alike; keys count at
//! the next request; each perspective's logout runs exactly once.

#![allow(missing_docs, missing_debug_implementations)]

mod common;

use std::net::SocketAddr;
use tartine::cred::{
    AllowAnonymous, AvatarId, Identity, InMemoryPasswords, LoggedIn, LoginCredentials, LoginError,
    MemoryKeyring, NoMind, PerspectiveKey, Realm, Service, Services,
};
use tartine::{Remote, ServerHandle, avatar};
use tokio::sync::mpsc;

pub struct Member {
    name: String,
}

#[avatar]
impl Member {
    pub fn whoami(&self) -> String {
        format!("member {}", self.name)
    }
}

pub struct Moderator {
    name: String,
}

#[avatar]
impl Moderator {
    pub fn whoami(&self) -> String {
        format!("moderator {}", self.name)
    }
}

pub struct Player {
    name: String,
}

#[avatar]
impl Player {
    pub fn whoami(&self) -> String {
        format!("player {}", self.name)
    }
}

/// A realm that makes `A`s named after the identity, and reports each logout.
struct Makes<A> {
    kind: &'static str,
    make: fn(String) -> A,
    logouts: mpsc::UnboundedSender<String>,
}

impl<A: tartine::Avatar> Realm for Makes<A> {
    type Avatar = A;
    type Mind = NoMind;

    async fn request_avatar(
        &self,
        id: AvatarId,
        _mind: Option<Remote<NoMind>>,
    ) -> Result<LoggedIn<A>, LoginError> {
        let name = id.to_string();
        let logouts = self.logouts.clone();
        let said = format!("{} {name}", self.kind);
        Ok(LoggedIn::new((self.make)(name)).on_logout(move || {
            let _ = logouts.send(said);
        }))
    }
}

fn user(name: &str) -> AvatarId {
    AvatarId::User(name.to_owned())
}

fn key(service: &str, perspective: &str) -> PerspectiveKey {
    PerspectiveKey::new(service, perspective)
}

struct Fixture {
    addr: SocketAddr,
    keyring: MemoryKeyring,
    logouts: mpsc::UnboundedReceiver<String>,
    _server: ServerHandle,
}

/// A server with two services: `chat` (member, moderator) and `game` (player). alice holds
/// all three keys, bob only chat/member.
async fn serve() -> Fixture {
    let (sender, logouts) = mpsc::unbounded_channel();
    let keyring = MemoryKeyring::new()
        .with_key(user("alice"), key("chat", "member"))
        .with_key(user("alice"), key("chat", "moderator"))
        .with_key(user("alice"), key("game", "player"))
        .with_key(user("bob"), key("chat", "member"));
    let chat = Service::new()
        .with_perspective(
            "member",
            Makes {
                kind: "member",
                make: |name| Member { name },
                logouts: sender.clone(),
            },
        )
        .with_perspective(
            "moderator",
            Makes {
                kind: "moderator",
                make: |name| Moderator { name },
                logouts: sender.clone(),
            },
        );
    let game = Service::new().with_perspective(
        "player",
        Makes {
            kind: "player",
            make: |name| Player { name },
            logouts: sender.clone(),
        },
    );
    let users = InMemoryPasswords::new()
        .with_user("alice", "1234")
        .and_then(|users| users.with_user("bob", "secret"))
        .expect("randomness");
    let portal = Services::new(keyring.clone())
        .with_checker(users)
        .with_checker(AllowAnonymous)
        .with_service("chat", chat)
        .with_service("game", game)
        .portal();
    let (addr, handle) = common::login::serve_portal(portal, tartine::Config::default()).await;
    Fixture {
        addr,
        keyring,
        logouts,
        _server: handle,
    }
}

async fn identity(
    addr: SocketAddr,
    name: &str,
    password: &str,
) -> (tartine::Connection, Remote<Identity>) {
    let connection = tartine::connect(addr).await.expect("connects");
    let identity = connection
        .login::<Identity>(LoginCredentials::password(name, password))
        .await
        .expect("proves who it is");
    (connection, identity)
}

#[tokio::test]
async fn an_identity_takes_up_every_perspective_its_keys_open() {
    let fixture = serve().await;
    let (_connection, alice) = identity(fixture.addr, "alice", "1234").await;
    let member = alice
        .perspective::<Member>("chat", "member")
        .await
        .expect("a member");
    let moderator = alice
        .perspective::<Moderator>("chat", "moderator")
        .await
        .expect("a moderator too");
    let player = alice
        .perspective::<Player>("game", "player")
        .await
        .expect("a player elsewhere");
    assert_eq!(member.whoami().await.expect("answers"), "member alice");
    assert_eq!(
        moderator.whoami().await.expect("answers"),
        "moderator alice"
    );
    assert_eq!(player.whoami().await.expect("answers"), "player alice");
    assert_eq!(
        alice.keys().await.expect("keys"),
        [
            key("chat", "member"),
            key("chat", "moderator"),
            key("game", "player")
        ]
    );
}

#[tokio::test]
async fn unknown_services_unknown_perspectives_and_missing_keys_answer_alike() {
    let fixture = serve().await;
    let (connection, bob) = identity(fixture.addr, "bob", "secret").await;
    let answers = [
        bob.perspective::<Moderator>("chat", "moderator")
            .await
            .err(),
        bob.perspective::<Player>("game", "player").await.err(),
        bob.perspective::<Member>("nosuch", "member").await.err(),
        bob.perspective::<Member>("chat", "nosuch").await.err(),
        bob.perspective::<Member>(&"x".repeat(100_000), "member")
            .await
            .err(),
        bob.service::<Player>("game").await.err(),
        bob.service::<Member>("nosuch").await.err(),
    ];
    for answer in answers {
        assert_eq!(answer, Some(LoginError::NotPermitted));
    }
    let via_connection = connection
        .login_service::<Player>("game", LoginCredentials::password("bob", "secret"))
        .await;
    assert_eq!(via_connection.err(), Some(LoginError::NotPermitted));
    assert_eq!(bob.keys().await.expect("keys"), [key("chat", "member")]);
}

#[tokio::test]
async fn a_perspective_of_another_type_is_refused() {
    let fixture = serve().await;
    let (_connection, alice) = identity(fixture.addr, "alice", "1234").await;
    let answer = alice.perspective::<Player>("chat", "member").await;
    assert!(
        matches!(answer, Err(LoginError::WrongAvatarType { .. })),
        "{answer:?}"
    );
}

#[tokio::test]
async fn keys_granted_or_revoked_count_at_the_next_request() {
    let fixture = serve().await;
    let (_connection, bob) = identity(fixture.addr, "bob", "secret").await;
    assert_eq!(
        bob.perspective::<Player>("game", "player").await.err(),
        Some(LoginError::NotPermitted)
    );
    use tartine::cred::Keyring;
    fixture
        .keyring
        .grant(&user("bob"), &key("game", "player"))
        .await
        .expect("grants");
    let player = bob
        .perspective::<Player>("game", "player")
        .await
        .expect("the new key opens it");
    assert_eq!(player.whoami().await.expect("answers"), "player bob");
    fixture
        .keyring
        .revoke(&user("bob"), &key("game", "player"))
        .await
        .expect("revokes");
    assert_eq!(
        bob.perspective::<Player>("game", "player").await.err(),
        Some(LoginError::NotPermitted)
    );
}

#[tokio::test]
async fn each_perspective_has_its_own_logout_run_exactly_once() {
    let mut fixture = serve().await;
    let (connection, alice) = identity(fixture.addr, "alice", "1234").await;
    let member = alice
        .perspective::<Member>("chat", "member")
        .await
        .expect("a member");
    let moderator = alice
        .perspective::<Moderator>("chat", "moderator")
        .await
        .expect("a moderator");
    connection.logout(&member).await.expect("logs out");
    assert_eq!(
        fixture.logouts.recv().await.as_deref(),
        Some("member alice")
    );
    assert!(member.whoami().await.is_err(), "the member is gone");
    assert_eq!(
        moderator.whoami().await.expect("the moderator stays"),
        "moderator alice"
    );
    assert_eq!(
        connection.logout(&member).await,
        Err(LoginError::NotLoggedIn)
    );
    drop((alice, member, moderator));
    connection.close();
    assert_eq!(
        fixture.logouts.recv().await.as_deref(),
        Some("moderator alice")
    );
    drop(fixture._server);
    // Nothing more: the member's logout ran once, at its logout.
    assert_eq!(fixture.logouts.try_recv().ok(), None);
}

#[tokio::test]
async fn a_client_logs_in_to_a_service_by_name() {
    let mut fixture = serve().await;
    let connection = tartine::connect(fixture.addr).await.expect("connects");
    let moderator = connection
        .login_service::<Moderator>("chat", LoginCredentials::password("alice", "1234"))
        .await
        .expect("the moderator perspective of chat");
    assert_eq!(
        moderator.whoami().await.expect("answers"),
        "moderator alice"
    );
    let wrong = connection
        .login_service::<Member>("chat", LoginCredentials::password("alice", "4321"))
        .await;
    assert_eq!(wrong.err(), Some(LoginError::Unauthorized));
    connection.logout(&moderator).await.expect("logs out");
    assert_eq!(
        fixture.logouts.recv().await.as_deref(),
        Some("moderator alice")
    );
}

#[tokio::test]
async fn anonymous_identities_hold_the_keys_given_to_anonymous() {
    let fixture = serve().await;
    use tartine::cred::Keyring;
    let connection = tartine::connect(fixture.addr).await.expect("connects");
    assert_eq!(
        connection
            .login_service::<Member>("chat", LoginCredentials::anonymous())
            .await
            .err(),
        Some(LoginError::NotPermitted)
    );
    fixture
        .keyring
        .grant(&AvatarId::Anonymous, &key("chat", "member"))
        .await
        .expect("grants");
    let guest = connection
        .login_service::<Member>("chat", LoginCredentials::anonymous())
        .await
        .expect("a guest member");
    assert_eq!(guest.whoami().await.expect("answers"), "member (anonymous)");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_sqlite_store_keeps_users_and_keys_for_every_service() {
    use tartine::cred::store::MIN_ITERATIONS;
    use tartine::cred::{Keyring, PasswordChecker, PasswordStore, PasswordVerifier, SqliteStore};
    let dir = std::env::temp_dir().join(format!("tartine-services-{}", std::process::id()));
    // A run that failed left its folder; a later one with the same process id starts afresh.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder");
    let store = SqliteStore::open(dir.join("users.db"))
        .await
        .expect("opens");
    store
        .create_user(
            "carol",
            PasswordVerifier::new("fido", MIN_ITERATIONS).expect("randomness"),
        )
        .await
        .expect("adds");
    store
        .grant(&user("carol"), &key("game", "player"))
        .await
        .expect("grants");
    let (sender, _logouts) = mpsc::unbounded_channel();
    let portal = Services::new(store.clone())
        .with_checker(PasswordChecker::new(store.clone()))
        .with_service(
            "game",
            Service::new().with_perspective(
                "player",
                Makes {
                    kind: "player",
                    make: |name| Player { name },
                    logouts: sender,
                },
            ),
        )
        .portal();
    let (addr, _server) = common::login::serve_portal(portal, tartine::Config::default()).await;
    let (_connection, carol) = identity(addr, "carol", "fido").await;
    let player = carol
        .perspective::<Player>("game", "player")
        .await
        .expect("a player");
    assert_eq!(player.whoami().await.expect("answers"), "player carol");
    // Another handle on the same file, as another process: the key goes at once.
    let other = SqliteStore::open(dir.join("users.db"))
        .await
        .expect("opens");
    other
        .revoke(&user("carol"), &key("game", "player"))
        .await
        .expect("revokes");
    assert_eq!(
        carol.perspective::<Player>("game", "player").await.err(),
        Some(LoginError::NotPermitted)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `chat` service whose one perspective, `member`, makes `Member`s and reports each logout.
fn chat_members(logouts: mpsc::UnboundedSender<String>) -> Service {
    Service::new().with_perspective(
        "member",
        Makes {
            kind: "member",
            make: |name| Member { name },
            logouts,
        },
    )
}

/// Admits anonymous logins as part of a session kept elsewhere, which the test ends.
struct SessionBound(tartine::cred::SessionEnd);

impl tartine::cred::CredentialChecker for SessionBound {
    fn kinds(&self) -> &[tartine::cred::CredentialKind] {
        &[tartine::cred::CredentialKind::Anonymous]
    }

    async fn check(&self, _: &tartine::cred::Credentials) -> Result<AvatarId, LoginError> {
        Ok(AvatarId::Anonymous)
    }

    async fn admit(
        &self,
        _: &tartine::cred::Credentials,
    ) -> Result<tartine::cred::Admission, LoginError> {
        Ok(tartine::cred::Admission::ending_with(
            AvatarId::Anonymous,
            self.0.clone(),
        ))
    }
}

#[tokio::test]
async fn a_perspective_ends_with_the_session_of_the_identity_that_took_it() {
    let session = tartine::cred::SessionEnd::new();
    let (sender, mut logouts) = mpsc::unbounded_channel();
    let portal =
        Services::new(MemoryKeyring::new().with_key(AvatarId::Anonymous, key("chat", "member")))
            .with_checker(SessionBound(session.clone()))
            .with_service("chat", chat_members(sender))
            .portal();
    let (addr, _server) = common::login::serve_portal(portal, tartine::Config::default()).await;
    let connection = tartine::connect(addr).await.expect("connects");
    let guest = connection
        .login_service::<Member>("chat", LoginCredentials::anonymous())
        .await
        .expect("a guest member");
    assert_eq!(guest.whoami().await.expect("answers"), "member (anonymous)");
    // The identity's session ends elsewhere: the perspective taken through it ends too.
    session.end();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), logouts.recv())
        .await
        .expect("the perspective ends with the session");
    assert_eq!(ended.as_deref(), Some("member (anonymous)"));
    assert!(guest.whoami().await.is_err(), "the perspective is over");
}

/// A keyring that holds each `keys` query until the test lets one go, and says when one comes.
#[derive(Clone)]
struct GatedKeyring {
    keys: MemoryKeyring,
    asked: std::sync::Arc<tokio::sync::Notify>,
    gate: std::sync::Arc<tokio::sync::Semaphore>,
}

impl tartine::cred::Keyring for GatedKeyring {
    async fn keys(
        &self,
        identity: &AvatarId,
    ) -> Result<Vec<PerspectiveKey>, tartine::cred::StoreError> {
        self.asked.notify_one();
        let _let_go = self
            .gate
            .acquire()
            .await
            .map_err(|_| tartine::cred::StoreError::Unavailable("gate closed".into()))?;
        self.keys.keys(identity).await
    }

    async fn grant(
        &self,
        identity: &AvatarId,
        key: &PerspectiveKey,
    ) -> Result<(), tartine::cred::StoreError> {
        self.keys.grant(identity, key).await
    }

    async fn revoke(
        &self,
        identity: &AvatarId,
        key: &PerspectiveKey,
    ) -> Result<(), tartine::cred::StoreError> {
        self.keys.revoke(identity, key).await
    }
}

#[tokio::test]
async fn a_perspective_asked_for_as_its_identity_logs_out_still_ends_with_the_session() {
    // The identity's login lets go of its session when it ends. A perspective asked for just
    // before a logout (the keyring still answering when the logout runs) must still be tied
    // to that session, or a logout at the authentication server would never reach it.
    let session = tartine::cred::SessionEnd::new();
    let (sender, mut logouts) = mpsc::unbounded_channel();
    let keyring = GatedKeyring {
        keys: MemoryKeyring::new().with_key(AvatarId::Anonymous, key("chat", "member")),
        asked: Default::default(),
        gate: std::sync::Arc::new(tokio::sync::Semaphore::new(0)),
    };
    let portal = Services::new(keyring.clone())
        .with_checker(SessionBound(session.clone()))
        .with_service("chat", chat_members(sender))
        .portal();
    let (addr, _server) = common::login::serve_portal(portal, tartine::Config::default()).await;
    let connection = tartine::connect(addr).await.expect("connects");
    let identity = connection
        .login::<Identity>(LoginCredentials::anonymous())
        .await
        .expect("an identity");
    let asking = tokio::spawn({
        let identity = identity.clone();
        async move { identity.perspective::<Member>("chat", "member").await }
    });
    keyring.asked.notified().await;
    connection.logout(&identity).await.expect("logged out");
    keyring.gate.add_permits(1);
    let guest = asking
        .await
        .expect("the task ran")
        .expect("the perspective, asked for while the identity was logged in");
    assert_eq!(guest.whoami().await.expect("answers"), "member (anonymous)");
    session.end();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), logouts.recv())
        .await
        .expect("the perspective ends with the session");
    assert_eq!(ended.as_deref(), Some("member (anonymous)"));
    assert!(guest.whoami().await.is_err(), "the perspective is over");
}

#[tokio::test]
async fn login_service_fits_in_a_connection_allowed_one_login() {
    // `login_service` holds an identity for a moment beside the perspective it takes: the
    // identity does not count against the perspective, so one login allowed is one service.
    let (sender, _logouts) = mpsc::unbounded_channel();
    let portal =
        Services::new(MemoryKeyring::new().with_key(AvatarId::Anonymous, key("chat", "member")))
            .with_checker(AllowAnonymous)
            .with_service("chat", chat_members(sender))
            .portal();
    let mut config = tartine::Config::default();
    config.max_logins_per_connection = 1;
    let (addr, _server) = common::login::serve_portal(portal, config).await;
    let connection = tartine::connect(addr).await.expect("connects");
    let guest = connection
        .login_service::<Member>("chat", LoginCredentials::anonymous())
        .await
        .expect("one login allowed, one service");
    assert_eq!(guest.whoami().await.expect("answers"), "member (anonymous)");
    // The limit still holds: a second login does not get in.
    assert_eq!(
        connection
            .login_service::<Member>("chat", LoginCredentials::anonymous())
            .await
            .err(),
        Some(LoginError::TooManyLogins { limit: 1 })
    );
    assert_eq!(
        guest.whoami().await.expect("still answers"),
        "member (anonymous)"
    );
}
