//! Central authentication over real connections: users log in once at an authentication
//! server and use two brokers with its tickets; tickets are refused at the wrong broker, when
//! changed, expired or used after logout; a logout or a revocation ends the logins open at
//! the brokers; a broker goes on while the authentication server is down, and sessions
//! survive its restart.

#![allow(missing_docs, missing_debug_implementations)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tartine::central::{
    AuthAdmin, AuthBroker, AuthServer, CentralAuth, CentralAuthBuilder, MemorySessions, SessionId,
    SessionRecord, SessionStore, TicketRecord,
};
use tartine::cred::{
    AvatarId, Identity, InMemoryPasswords, LoggedIn, LoginCredentials, LoginError, NoMind, Portal,
    Realm, StoreError, TokenError,
};
use tartine::{Remote, Server, ServerHandle, avatar};
use tokio::sync::mpsc;

pub struct Desk {
    name: String,
    broker: &'static str,
}

#[avatar]
impl Desk {
    pub fn whoami(&self) -> String {
        format!("{} at {}", self.name, self.broker)
    }
}

/// A broker's realm: a desk per login, and a notice per logout.
struct Desks {
    broker: &'static str,
    logouts: mpsc::UnboundedSender<String>,
}

impl Realm for Desks {
    type Avatar = Desk;
    type Mind = NoMind;

    async fn request_avatar(
        &self,
        id: AvatarId,
        _mind: Option<Remote<NoMind>>,
    ) -> Result<LoggedIn<Desk>, LoginError> {
        let logouts = self.logouts.clone();
        let said = format!("{id} left {}", self.broker);
        Ok(LoggedIn::new(Desk {
            name: id.to_string(),
            broker: self.broker,
        })
        .on_logout(move || {
            let _ = logouts.send(said);
        }))
    }
}

fn accounts() -> InMemoryPasswords {
    InMemoryPasswords::new()
        .with_user("alice", "1234")
        .and_then(|users| users.with_user("bob", "secret"))
        .and_then(|users| users.with_user("broker-b", "b-pw"))
        .and_then(|users| users.with_user("broker-c", "c-pw"))
        .expect("randomness")
}

/// A clock the tests move forward.
#[derive(Clone, Default)]
struct TestClock(Arc<AtomicU64>);

impl TestClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + Duration::from_millis(self.0.load(Ordering::SeqCst))
    }

    fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

/// The tests' authentication server: their accounts, brokers b and c.
fn auth_builder(sessions: impl SessionStore) -> AuthServer {
    AuthServer::new(sessions)
        .with_checker(accounts())
        .with_broker("broker-b")
        .with_broker("broker-c")
}

/// Serves `server` on `addr`.
async fn serve_auth(addr: &str, server: AuthServer) -> (SocketAddr, ServerHandle, AuthAdmin) {
    let (portal, admin) = server.portal();
    let server = Server::bind_portal(addr, portal).await.expect("binds");
    let addr = server.local_addr().expect("addr");
    let handle = server.handle();
    tokio::spawn(server.run());
    (addr, handle, admin)
}

async fn auth_server(
    addr: &str,
    sessions: impl SessionStore,
    clock: TestClock,
) -> (SocketAddr, ServerHandle, AuthAdmin) {
    serve_auth(addr, auth_builder(sessions).with_clock(move || clock.now())).await
}

struct Broker {
    addr: SocketAddr,
    checker: CentralAuth,
    logouts: mpsc::UnboundedReceiver<String>,
    _server: ServerHandle,
}

async fn broker(name: &'static str, password: &str, auth: SocketAddr) -> Broker {
    broker_with(name, password, auth, |builder| builder).await
}

/// The tests' broker, its checker set up by `set` beside.
async fn broker_with(
    name: &'static str,
    password: &str,
    auth: SocketAddr,
    set: impl FnOnce(CentralAuthBuilder) -> CentralAuthBuilder,
) -> Broker {
    let builder = CentralAuth::builder(auth, LoginCredentials::password(name, password))
        .expect("an endpoint")
        .backoff(tartine::Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(200),
        ))
        .max_sessions(2);
    let checker = set(builder).start();
    let (sender, logouts) = mpsc::unbounded_channel();
    let portal = Portal::new(Desks {
        broker: name,
        logouts: sender,
    })
    .with_checker(checker.clone());
    let (addr, handle) = common::login::serve_portal(portal, tartine::Config::default()).await;
    checker.linked().await;
    Broker {
        addr,
        checker,
        logouts,
        _server: handle,
    }
}

async fn session(
    auth: SocketAddr,
    user: &str,
    password: &str,
) -> Remote<dyn tartine::central::AuthUser> {
    let connection = tartine::connect(auth).await.expect("connects");
    tartine::central::login(&connection, LoginCredentials::password(user, password))
        .await
        .expect("logs in at the authentication server")
}

async fn ticket(session: &Remote<dyn tartine::central::AuthUser>, audience: &str) -> Vec<u8> {
    session
        .ticket(audience.to_owned())
        .await
        .expect("a ticket")
        .token
}

async fn login(broker: SocketAddr, user: &str, token: Vec<u8>) -> Result<Remote<Desk>, LoginError> {
    let connection = tartine::connect(broker).await.expect("connects");
    connection
        .login::<Desk>(LoginCredentials::token(user, token))
        .await
}

#[tokio::test]
async fn a_user_logs_in_once_and_uses_both_brokers() {
    let (auth, _server, _) =
        auth_server("127.0.0.1:0", MemorySessions::new(), TestClock::default()).await;
    let (b, c) = (
        broker("broker-b", "b-pw", auth).await,
        broker("broker-c", "c-pw", auth).await,
    );
    let alice = session(auth, "alice", "1234").await;
    let at_b = login(b.addr, "alice", ticket(&alice, "broker-b").await)
        .await
        .expect("alice at b");
    let at_c = login(c.addr, "alice", ticket(&alice, "broker-c").await)
        .await
        .expect("alice at c");
    assert_eq!(at_b.whoami().await.expect("answers"), "alice at broker-b");
    assert_eq!(at_c.whoami().await.expect("answers"), "alice at broker-c");
    // A broker takes no password at all: it has no password checker.
    let connection = tartine::connect(b.addr).await.expect("connects");
    assert_eq!(
        connection
            .login::<Desk>(LoginCredentials::password("alice", "1234"))
            .await
            .err(),
        Some(LoginError::NoChecker(
            tartine::cred::CredentialKind::Password
        ))
    );
}

#[tokio::test]
async fn a_ticket_for_one_broker_is_refused_at_another() {
    let (auth, _server, _) =
        auth_server("127.0.0.1:0", MemorySessions::new(), TestClock::default()).await;
    let (b, c) = (
        broker("broker-b", "b-pw", auth).await,
        broker("broker-c", "c-pw", auth).await,
    );
    let alice = session(auth, "alice", "1234").await;
    // Broker B got alice's ticket when she logged in there, and replays it at broker C.
    let token = ticket(&alice, "broker-b").await;
    login(b.addr, "alice", token.clone())
        .await
        .expect("alice at b");
    assert_eq!(
        login(c.addr, "alice", token).await.err(),
        Some(LoginError::Token(TokenError::WrongAudience))
    );
}

#[tokio::test]
async fn changed_forged_oversized_or_borrowed_tickets_are_refused_and_the_broker_goes_on() {
    let (auth, _server, _) =
        auth_server("127.0.0.1:0", MemorySessions::new(), TestClock::default()).await;
    let b = broker("broker-b", "b-pw", auth).await;
    let alice = session(auth, "alice", "1234").await;
    let token = ticket(&alice, "broker-b").await;
    let mut changed = token.clone();
    changed[7] ^= 1;
    let cases = [
        ("alice", changed, TokenError::Unknown),
        ("alice", vec![0; 32], TokenError::Unknown),
        ("alice", Vec::new(), TokenError::Unknown),
        ("alice", token[..31].to_vec(), TokenError::Unknown),
        ("alice", vec![7; 100_000], TokenError::Unknown),
        ("bob", token.clone(), TokenError::WrongUser),
    ];
    for (user, presented, expected) in cases {
        assert_eq!(
            login(b.addr, user, presented).await.err(),
            Some(LoginError::Token(expected.clone())),
            "{expected:?}"
        );
    }
    let desk = login(b.addr, "alice", token)
        .await
        .expect("the real one works");
    assert_eq!(desk.whoami().await.expect("answers"), "alice at broker-b");
}

#[tokio::test]
async fn an_expired_ticket_is_refused() {
    let clock = TestClock::default();
    let (auth, _server, _) = auth_server("127.0.0.1:0", MemorySessions::new(), clock.clone()).await;
    let b = broker("broker-b", "b-pw", auth).await;
    let alice = session(auth, "alice", "1234").await;
    let token = ticket(&alice, "broker-b").await;
    clock.advance(Duration::from_secs(601));
    assert_eq!(
        login(b.addr, "alice", token).await.err(),
        Some(LoginError::Token(TokenError::Expired))
    );
    // The session is still young: a new ticket works.
    login(b.addr, "alice", ticket(&alice, "broker-b").await)
        .await
        .expect("a fresh ticket");
}

#[tokio::test]
async fn a_logout_at_the_auth_server_refuses_its_tickets_and_ends_the_open_logins() {
    let (auth, _server, _) =
        auth_server("127.0.0.1:0", MemorySessions::new(), TestClock::default()).await;
    let (mut b, c) = (
        broker("broker-b", "b-pw", auth).await,
        broker("broker-c", "c-pw", auth).await,
    );
    let alice = session(auth, "alice", "1234").await;
    let desk = login(b.addr, "alice", ticket(&alice, "broker-b").await)
        .await
        .expect("alice at b");
    let unused = ticket(&alice, "broker-c").await;
    let started = Instant::now();
    alice.end_session().await.expect("ends");
    assert_eq!(
        b.logouts.recv().await.as_deref(),
        Some("alice left broker-b")
    );
    eprintln!(
        "the open login ended {:?} after the logout",
        started.elapsed()
    );
    assert!(desk.whoami().await.is_err(), "the login is over");
    assert_eq!(
        login(c.addr, "alice", unused).await.err(),
        Some(LoginError::Token(TokenError::Revoked))
    );
    assert_eq!(
        alice.ticket("broker-c".into()).await.err(),
        Some(tartine::RemoteError::Method(TokenError::Revoked))
    );
    assert_eq!(b.checker.open_sessions(), 0);
}

#[tokio::test]
async fn an_admin_revocation_ends_every_session_of_a_user_everywhere() {
    let (auth, _server, admin) =
        auth_server("127.0.0.1:0", MemorySessions::new(), TestClock::default()).await;
    let (mut b, mut c) = (
        broker("broker-b", "b-pw", auth).await,
        broker("broker-c", "c-pw", auth).await,
    );
    let laptop = session(auth, "alice", "1234").await;
    let phone = session(auth, "alice", "1234").await;
    let bob = session(auth, "bob", "secret").await;
    let _laptop_at_b = login(b.addr, "alice", ticket(&laptop, "broker-b").await)
        .await
        .expect("at b");
    let _phone_at_c = login(c.addr, "alice", ticket(&phone, "broker-c").await)
        .await
        .expect("at c");
    let bobs = login(b.addr, "bob", ticket(&bob, "broker-b").await)
        .await
        .expect("bob at b");
    let revoked = admin.revoke_user("alice").await.expect("revokes");
    assert_eq!(revoked.len(), 2);
    assert_eq!(
        b.logouts.recv().await.as_deref(),
        Some("alice left broker-b")
    );
    assert_eq!(
        c.logouts.recv().await.as_deref(),
        Some("alice left broker-c")
    );
    assert_eq!(bobs.whoami().await.expect("bob stays"), "bob at broker-b");
}

#[tokio::test]
async fn a_session_that_expires_ends_its_logins_by_the_brokers_own_timer() {
    let (auth, _server, _) = serve_auth(
        "127.0.0.1:0",
        auth_builder(MemorySessions::new()).session_lifetime(Duration::from_secs(2)),
    )
    .await;
    let mut b = broker("broker-b", "b-pw", auth).await;
    let alice = session(auth, "alice", "1234").await;
    let token = ticket(&alice, "broker-b").await;
    let started = Instant::now();
    let _at_b = login(b.addr, "alice", token).await.expect("at b");
    assert_eq!(
        b.logouts.recv().await.as_deref(),
        Some("alice left broker-b")
    );
    // Well before the broker's next recheck (30 s): its own timer ended the login. (Bounded
    // loosely: a loaded machine delays timers, and the test is about which one fired.)
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn users_cannot_act_as_brokers_nor_brokers_as_users() {
    let (auth, _server, _) =
        auth_server("127.0.0.1:0", MemorySessions::new(), TestClock::default()).await;
    let connection = tartine::connect(auth).await.expect("connects");
    let alice = connection
        .login::<Identity>(LoginCredentials::password("alice", "1234"))
        .await
        .expect("alice");
    assert_eq!(
        alice
            .perspective::<dyn AuthBroker>(tartine::central::AUTH_SERVICE, "broker")
            .await
            .err(),
        Some(LoginError::NotPermitted)
    );
    assert_eq!(
        tartine::central::login(&connection, LoginCredentials::password("broker-b", "b-pw"))
            .await
            .err(),
        Some(LoginError::NotPermitted)
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn brokers_go_on_while_the_auth_server_is_down_and_sessions_survive_its_restart() {
    let OnDisk {
        db,
        store,
        auth,
        server,
        mut b,
        alice,
        desk,
        _dir,
    } = on_disk(Duration::from_secs(30)).await;
    let later = ticket(&alice, "broker-b").await;
    let alice_session = alice.session().await.expect("its id");

    server.shutdown(Duration::ZERO).await;
    store.close().await;
    drop(alice);
    // The broker notices, refuses new token logins with a typed error, and goes on serving.
    b.checker.unlinked().await;
    assert_eq!(
        login(b.addr, "alice", later.clone()).await.err(),
        Some(LoginError::AuthServerUnavailable)
    );
    assert_eq!(
        desk.whoami().await.expect("still open"),
        "alice at broker-b"
    );

    // The authentication server comes back on the same address, with the same file.
    let store = tartine::cred::SqliteStore::open(&db)
        .await
        .expect("opens again");
    let (_, _server, admin) = auth_server(&auth.to_string(), store, TestClock::default()).await;
    b.checker.linked().await;
    // The session survived the restart: a ticket issued before it still logs in.
    let _again_at_b = login(b.addr, "alice", later)
        .await
        .expect("the old ticket works");
    // And revoking it now reaches the broker.
    assert!(admin.revoke_session(&alice_session).await.expect("revokes"));
    assert_eq!(
        b.logouts.recv().await.as_deref(),
        Some("alice left broker-b")
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_revocation_made_in_the_store_reaches_brokers_at_their_next_recheck() {
    use tartine::cred::SqliteStore;
    let recheck = Duration::from_millis(200);
    let OnDisk {
        db,
        mut b,
        alice,
        desk: _at_b,
        _dir,
        ..
    } = on_disk(recheck).await;
    // Another process (tartine-admin, another authentication server) ends the session in the
    // database: no announcement, but the broker's recheck finds it.
    let other = SqliteStore::open(&db).await.expect("another handle");
    let started = Instant::now();
    assert!(
        other
            .end_session(&alice.session().await.expect("its id"), u64::MAX)
            .await
            .expect("ends")
    );
    // Nothing announces it: only a recheck can end her login at the broker (whose rechecks
    // run every 200 ms here, every 30 s by default). Bounded loosely: a loaded machine slows
    // the database, and the test is about whether the recheck sees it, not how fast.
    let logout = tokio::time::timeout(Duration::from_secs(20), b.logouts.recv())
        .await
        .expect("a recheck ended the login");
    assert_eq!(logout.as_deref(), Some("alice left broker-b"));
    let took = started.elapsed();
    eprintln!("the recheck ended the login {took:?} after the store did");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_revocation_made_while_a_broker_was_cut_off_reaches_it_when_it_links_again() {
    let OnDisk {
        db,
        store,
        auth,
        server,
        mut b,
        alice,
        desk: _at_b,
        _dir,
    } = on_disk(Duration::from_secs(30)).await;
    let id = alice.session().await.expect("its id");
    server.shutdown(Duration::ZERO).await;
    b.checker.unlinked().await;
    assert!(store.end_session(&id, u64::MAX).await.expect("ends"));
    store.close().await;
    let store = tartine::cred::SqliteStore::open(&db)
        .await
        .expect("opens again");
    let (_, _server, _) = auth_server(&auth.to_string(), store, TestClock::default()).await;
    assert_eq!(
        b.logouts.recv().await.as_deref(),
        Some("alice left broker-b")
    );
}

#[tokio::test]
async fn a_session_asks_for_tickets_at_a_bounded_rate() {
    let clock = TestClock::default();
    let rated = auth_builder(MemorySessions::new())
        .tickets_per_minute(3)
        .with_clock({
            let clock = clock.clone();
            move || clock.now()
        });
    let (auth, _server, _) = serve_auth("127.0.0.1:0", rated).await;
    let alice = session(auth, "alice", "1234").await;
    for _ in 0..3 {
        ticket(&alice, "broker-b").await;
    }
    assert_eq!(
        alice.ticket("broker-b".into()).await.err(),
        Some(tartine::RemoteError::Method(TokenError::TooManyTickets))
    );
    assert_eq!(
        alice.ticket(String::new()).await.err(),
        Some(tartine::RemoteError::Method(TokenError::WrongAudience))
    );
    clock.advance(Duration::from_secs(60));
    ticket(&alice, "broker-b").await;
}

/// An authentication server keeping its sessions in a SQLite file, broker b (rechecking every
/// `recheck`), and alice logged in at both.
#[cfg(feature = "sqlite")]
struct OnDisk {
    _dir: common::tempdir::TempDir,
    db: std::path::PathBuf,
    store: tartine::cred::SqliteStore,
    auth: SocketAddr,
    server: ServerHandle,
    b: Broker,
    alice: Remote<dyn tartine::central::AuthUser>,
    desk: Remote<Desk>,
}

#[cfg(feature = "sqlite")]
async fn on_disk(recheck: Duration) -> OnDisk {
    let dir = common::tempdir::TempDir::new();
    let db = dir.path().join("auth.db");
    let store = tartine::cred::SqliteStore::open(&db).await.expect("opens");
    let (auth, server, _) = auth_server("127.0.0.1:0", store.clone(), TestClock::default()).await;
    let b = broker_with("broker-b", "b-pw", auth, |builder| builder.recheck(recheck)).await;
    let alice = session(auth, "alice", "1234").await;
    let desk = login(b.addr, "alice", ticket(&alice, "broker-b").await)
        .await
        .expect("alice at b");
    OnDisk {
        _dir: dir,
        db,
        store,
        auth,
        server,
        b,
        alice,
        desk,
    }
}

#[tokio::test]
async fn a_broker_holds_a_bounded_number_of_sessions() {
    let (auth, _server, _) =
        auth_server("127.0.0.1:0", MemorySessions::new(), TestClock::default()).await;
    // The tests' brokers hold two sessions at most.
    let b = broker("broker-b", "b-pw", auth).await;
    let mut desks = Vec::new();
    for _ in 0..2 {
        let alice = session(auth, "alice", "1234").await;
        desks.push(
            login(b.addr, "alice", ticket(&alice, "broker-b").await)
                .await
                .expect("within the bound"),
        );
        // A second login of the same session takes no more room.
        desks.push(
            login(b.addr, "alice", ticket(&alice, "broker-b").await)
                .await
                .expect("the same session"),
        );
    }
    let third = session(auth, "alice", "1234").await;
    assert!(matches!(
        login(b.addr, "alice", ticket(&third, "broker-b").await).await,
        Err(LoginError::Refused(_))
    ));
    assert_eq!(b.checker.open_sessions(), 2);
    // Once the logins of one session end, its room is free.
    let mut b = b;
    drop(desks.drain(..2));
    for _ in 0..2 {
        b.logouts.recv().await.expect("a logout");
    }
    let _at_b = login(b.addr, "alice", ticket(&third, "broker-b").await)
        .await
        .expect("room again");
    assert_eq!(b.checker.open_sessions(), 2);
}

#[tokio::test]
async fn a_login_past_a_users_session_allowance_ends_her_oldest_session_everywhere() {
    let (auth, _server, _) = serve_auth(
        "127.0.0.1:0",
        auth_builder(MemorySessions::new()).sessions_per_user(2),
    )
    .await;
    let mut b = broker("broker-b", "b-pw", auth).await;
    let first = session(auth, "alice", "1234").await;
    let desk = login(b.addr, "alice", ticket(&first, "broker-b").await)
        .await
        .expect("alice at b");
    let second = session(auth, "alice", "1234").await;
    let bob = session(auth, "bob", "secret").await;
    // A third session of alice's: her first one ends, at the broker too.
    let third = session(auth, "alice", "1234").await;
    let left = tokio::time::timeout(Duration::from_secs(10), b.logouts.recv())
        .await
        .expect("the broker hears of it");
    assert_eq!(left.as_deref(), Some("alice left broker-b"));
    assert!(desk.whoami().await.is_err(), "the login is over");
    assert_eq!(
        first.ticket("broker-b".into()).await.err(),
        Some(tartine::RemoteError::Method(TokenError::Revoked))
    );
    for going in [&second, &third, &bob] {
        assert!(going.ticket("broker-b".into()).await.is_ok());
    }
}

/// The memory store, whose `create_session` waits until as many are under way as its barrier
/// counts (logins of one user made at the same time, each past its look at her allowance),
/// and whose look-up of tickets can be stalled (an authentication server that does not
/// answer).
#[derive(Clone)]
struct ScriptedSessions {
    inner: MemorySessions,
    creates: Arc<tokio::sync::Barrier>,
    /// How many creations the barrier still holds back; those after go straight through.
    held: Arc<AtomicU64>,
    stall_tickets: Arc<std::sync::atomic::AtomicBool>,
    /// Stalled look-ups of tickets given up on (their call cancelled).
    stalls_dropped: Arc<tokio::sync::Notify>,
    /// How many looks at a user's allowance go through before the rest stall.
    checks_before_stall: Arc<AtomicU64>,
    created: Arc<std::sync::Mutex<Vec<SessionId>>>,
}

impl ScriptedSessions {
    fn new(at_once: usize) -> Self {
        ScriptedSessions {
            inner: MemorySessions::new(),
            creates: Arc::new(tokio::sync::Barrier::new(at_once)),
            held: Arc::new(AtomicU64::new(at_once as u64)),
            stall_tickets: Arc::default(),
            stalls_dropped: Arc::default(),
            checks_before_stall: Arc::new(AtomicU64::new(u64::MAX)),
            created: Arc::default(),
        }
    }
}

impl SessionStore for ScriptedSessions {
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let held = self
            .held
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if held.is_ok() {
            self.creates.wait().await;
        }
        self.created.lock().unwrap().push(session.id.clone());
        self.inner.create_session(session).await
    }

    async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.session(id).await
    }

    async fn end_session(&self, id: &SessionId, keep_until: u64) -> Result<bool, StoreError> {
        self.inner.end_session(id, keep_until).await
    }

    async fn end_sessions_of(
        &self,
        username: &str,
        keep_until: u64,
    ) -> Result<Vec<SessionId>, StoreError> {
        self.inner.end_sessions_of(username, keep_until).await
    }

    async fn end_sessions_past(
        &self,
        username: &str,
        keep: usize,
        now: u64,
    ) -> Result<Vec<SessionId>, StoreError> {
        let through =
            self.checks_before_stall
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if through.is_err() {
            std::future::pending::<()>().await;
        }
        self.inner.end_sessions_past(username, keep, now).await
    }

    async fn create_ticket(&self, ticket: &TicketRecord) -> Result<(), StoreError> {
        self.inner.create_ticket(ticket).await
    }

    async fn ticket(&self, hash: &[u8; 32]) -> Result<Option<TicketRecord>, StoreError> {
        if self.stall_tickets.load(Ordering::SeqCst) {
            let _told = NotifyOnDrop(Arc::clone(&self.stalls_dropped));
            std::future::pending::<()>().await;
        }
        self.inner.ticket(hash).await
    }

    async fn prune(&self, now: u64) -> Result<(), StoreError> {
        self.inner.prune(now).await
    }
}

/// Tells its `Notify` when dropped.
struct NotifyOnDrop(Arc<tokio::sync::Notify>);

impl Drop for NotifyOnDrop {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

#[tokio::test]
async fn logins_of_one_user_at_once_keep_to_her_session_allowance() {
    const AT_ONCE: usize = 5;
    let store = ScriptedSessions::new(AT_ONCE);
    let (auth, _server, _) =
        serve_auth("127.0.0.1:0", auth_builder(store).sessions_per_user(2)).await;
    // Five logins of alice's, all past their look at her allowance before any made its session.
    let logins = (0..AT_ONCE).map(|_| async move {
        let connection = tartine::connect(auth).await.expect("connects");
        let login =
            tartine::central::login(&connection, LoginCredentials::password("alice", "1234")).await;
        (connection, login)
    });
    let logins = tokio::time::timeout(
        Duration::from_secs(20),
        futures_util::future::join_all(logins),
    )
    .await
    .expect("the logins end");
    // Each session past the two ends: a login that ended its own was refused, one whose
    // session another ended got in but its session is over, as after any later login.
    let mut going = 0;
    for (_connection, login) in &logins {
        match login {
            Ok(session) => match session.ticket("broker-b".into()).await {
                Ok(_) => going += 1,
                Err(error) => assert_eq!(error, tartine::RemoteError::Method(TokenError::Revoked)),
            },
            Err(LoginError::Refused(why)) => assert!(why.contains("at once"), "{why}"),
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(going, 2, "her allowance of two sessions holds");
    // A login made after them ends the oldest, as usual, and gets in.
    let later = session(auth, "alice", "1234").await;
    assert!(later.ticket("broker-b".into()).await.is_ok());
}

#[tokio::test]
async fn a_token_login_the_auth_server_does_not_answer_ends_before_the_clients_timeout() {
    let store = ScriptedSessions::new(0);
    let (stall, dropped) = (
        Arc::clone(&store.stall_tickets),
        Arc::clone(&store.stalls_dropped),
    );
    let (auth, _server, _) = serve_auth("127.0.0.1:0", auth_builder(store)).await;
    let b = broker_with("broker-b", "b-pw", auth, |builder| {
        builder.answer_timeout(Duration::from_secs(1))
    })
    .await;
    let alice = session(auth, "alice", "1234").await;
    let token = ticket(&alice, "broker-b").await;
    stall.store(true, Ordering::SeqCst);
    // The client waits 30 s by default; the broker gives up at 1 s, and says why.
    let started = Instant::now();
    let refused = tokio::time::timeout(
        Duration::from_secs(10),
        login(b.addr, "alice", token.clone()),
    )
    .await
    .expect("the broker answers before the client gives up");
    assert_eq!(refused.err(), Some(LoginError::AuthServerUnavailable));
    assert!(started.elapsed() >= Duration::from_secs(1));
    // The broker's question was cancelled at the authentication server: its work stopped.
    tokio::time::timeout(Duration::from_secs(10), dropped.notified())
        .await
        .expect("the stalled look-up is dropped");
    // Once the server answers again, so does the broker.
    stall.store(false, Ordering::SeqCst);
    assert!(login(b.addr, "alice", token).await.is_ok());
}

#[tokio::test]
async fn a_session_whose_login_is_given_up_on_before_it_gets_it_ends() {
    let store = ScriptedSessions::new(0);
    // The login's first look at alice's allowance goes through, the second stalls.
    store.checks_before_stall.store(1, Ordering::SeqCst);
    let (created, inner) = (Arc::clone(&store.created), store.inner.clone());
    let (auth, _server, _) = serve_auth("127.0.0.1:0", auth_builder(store)).await;
    let connection = tartine::connect(auth).await.expect("connects");
    let mut login = std::pin::pin!(tartine::central::login(
        &connection,
        LoginCredentials::password("alice", "1234")
    ));
    // The login makes its session, then stalls: it is given up on there.
    tokio::select! {
        ended = &mut login => panic!("the login stalls, yet it ended: {:?}", ended.err()),
        () = common::eventually("its session is made", || !created.lock().unwrap().is_empty()) => {}
    }
    connection.close();
    let made = created.lock().unwrap().clone();
    assert_eq!(made.len(), 1, "its session was made");
    let ended = async {
        loop {
            let record = inner.session(&made[0]).await.expect("the store");
            if record.is_some_and(|record| record.ended) {
                return;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), ended)
        .await
        .expect("the session its login left ends");
}

#[tokio::test]
async fn a_session_ends_with_its_login_unless_it_had_a_ticket() {
    let store = ScriptedSessions::new(0);
    let (created, inner) = (Arc::clone(&store.created), store.inner.clone());
    let (auth, server, _) = serve_auth("127.0.0.1:0", auth_builder(store)).await;
    let at_auth = || async move {
        let connection = tartine::connect(auth).await.expect("connects");
        let session =
            tartine::central::login(&connection, LoginCredentials::password("alice", "1234"))
                .await
                .expect("logs in");
        (connection, session)
    };
    let (with_ticket, session) = at_auth().await;
    let token = ticket(&session, "broker-b").await;
    let (without, _session) = at_auth().await;
    let made = created.lock().unwrap().clone();
    assert_eq!(made.len(), 2);
    with_ticket.close();
    without.close();
    let ended = |id: &SessionId| {
        let inner = inner.clone();
        let id = id.clone();
        async move {
            let record = inner.session(&id).await.expect("the store");
            record.expect("kept").ended
        }
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        while server.stats().logins > 0 || !ended(&made[1]).await {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the session without a ticket ends with its login");
    assert!(!ended(&made[0]).await, "the one with a ticket goes on");
    // The ended one expired at once: the next pruning removes it, so logging in and leaving
    // over and over does not make the store grow.
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    inner.prune(now + 1).await.expect("prunes");
    assert_eq!(inner.session(&made[1]).await.expect("the store"), None);
    assert!(inner.session(&made[0]).await.expect("the store").is_some());
    let b = broker("broker-b", "b-pw", auth).await;
    assert!(
        login(b.addr, "alice", token).await.is_ok(),
        "and its ticket works"
    );
}

#[tokio::test]
async fn a_ticket_whose_session_is_gone_from_the_store_is_refused_as_revoked() {
    let (store, clock) = (MemorySessions::new(), TestClock::default());
    let moved = clock.clone();
    let (auth, _server, _) = serve_auth(
        "127.0.0.1:0",
        auth_builder(store.clone())
            .sessions_per_user(1)
            .with_clock(move || moved.now()),
    )
    .await;
    let b = broker("broker-b", "b-pw", auth).await;
    let first = session(auth, "alice", "1234").await;
    let id = first.session().await.expect("its id");
    let token = ticket(&first, "broker-b").await;
    // A second login ends the first session; a minute on, a third login has the store pruned,
    // and the first session's record goes, while its ticket has minutes left.
    let _second = session(auth, "alice", "1234").await;
    clock.advance(Duration::from_secs(61));
    let _third = session(auth, "alice", "1234").await;
    tokio::time::timeout(Duration::from_secs(10), async {
        while store.session(&id).await.expect("the store").is_some() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("pruned");
    // The ticket was revoked, not made up: it does not count against the client's address.
    assert_eq!(
        login(b.addr, "alice", token).await.err(),
        Some(LoginError::Token(TokenError::Revoked))
    );
}
