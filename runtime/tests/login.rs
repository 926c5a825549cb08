//! Login over real connections: the seed's examples (one client, two clients, anonymous and
//! username on one connection), minds, logout, viewables and the login timeout.

mod common;

use common::eventually;
use common::login::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tartine::cred::{
    AllowAnonymous, CredentialKind, InMemoryPasswords, LoginCredentials, LoginError, Portal,
};
use tartine::{CallError, CloseReason, Config, Connection, Remote, ServerHandle};

struct PortalServer {
    addr: std::net::SocketAddr,
    handle: ServerHandle,
    log: Log,
    table: Arc<Table>,
}

async fn start_portal(anonymous: bool, config: Config) -> PortalServer {
    let club = Club::new();
    let log = club.log.clone();
    let table = club.table.clone();
    let passwords = InMemoryPasswords::new()
        .with_user("user1", "pass1")
        .and_then(|users| users.with_user("user2", "pass2"))
        .and_then(|users| users.with_user("Anonymous", "not-really"))
        .and_then(|users| users.with_user("banned", "x"))
        .expect("randomness for the salts");
    let mut portal = Portal::new(club).with_checker(passwords);
    if anonymous {
        portal = portal.with_checker(AllowAnonymous);
    }
    let (addr, handle) = serve_portal(portal, config).await;
    PortalServer {
        addr,
        handle,
        log,
        table,
    }
}

async fn connect(server: &PortalServer) -> Connection {
    tartine::connect(server.addr).await.unwrap()
}

fn password(user: &str, pass: &str) -> LoginCredentials {
    LoginCredentials::password(user, pass)
}

#[tokio::test]
async fn one_client_logs_in_and_calls_its_perspective() {
    let server = start_portal(false, Config::default()).await;
    let connection = connect(&server).await;
    let perspective: Remote<Player> = connection.login(password("user1", "pass1")).await.unwrap();
    assert_eq!(perspective.foo(12).await.unwrap(), "I am user1, foo(12)");
}

#[tokio::test]
async fn two_clients_on_two_accounts_get_their_own_avatars() {
    let server = start_portal(false, Config::default()).await;
    let first = connect(&server).await;
    let second = connect(&server).await;
    let one: Remote<Player> = first.login(password("user1", "pass1")).await.unwrap();
    let two: Remote<Player> = second.login(password("user2", "pass2")).await.unwrap();
    assert_eq!(one.foo(13).await.unwrap(), "I am user1, foo(13)");
    assert_eq!(two.foo(14).await.unwrap(), "I am user2, foo(14)");
}

#[tokio::test]
async fn anonymous_and_named_logins_share_one_connection_apart() {
    let server = start_portal(true, Config::default()).await;
    let connection = connect(&server).await;
    let (anonymous, named) = tokio::join!(
        connection.login::<Player>(LoginCredentials::anonymous()),
        connection.login::<Player>(password("user1", "pass1")),
    );
    let (anonymous, named) = (anonymous.unwrap(), named.unwrap());
    assert!(anonymous.is_anonymous().await.unwrap());
    assert!(!named.is_anonymous().await.unwrap());
    assert_eq!(named.name().await.unwrap(), "user1");
    // A user actually named "Anonymous" is not the anonymous login.
    let impostor: Remote<Player> = connection
        .login(password("Anonymous", "not-really"))
        .await
        .unwrap();
    assert!(!impostor.is_anonymous().await.unwrap());
    assert_eq!(server.handle.stats().logins, 3);
    // Each is torn down on its own.
    connection.logout(&named).await.unwrap();
    assert_eq!(named.foo(1).await, Err(CallError::NoSuchObject));
    assert_eq!(anonymous.foo(1).await.unwrap(), "I am (anonymous), foo(1)");
    assert_eq!(server.handle.stats().logins, 2);
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_fail_alike() {
    let server = start_portal(false, Config::default()).await;
    let connection = connect(&server).await;
    let wrong = connection.login::<Player>(password("user1", "nope")).await;
    let unknown = connection
        .login::<Player>(password("mallory", "pass1"))
        .await;
    assert_eq!(wrong.unwrap_err(), LoginError::Unauthorized);
    assert_eq!(unknown.unwrap_err(), LoginError::Unauthorized);
    // The connection is still usable for a correct login.
    let player: Remote<Player> = connection.login(password("user1", "pass1")).await.unwrap();
    assert_eq!(player.name().await.unwrap(), "user1");
}

#[tokio::test]
async fn anonymous_login_needs_an_anonymous_checker() {
    let server = start_portal(false, Config::default()).await;
    let connection = connect(&server).await;
    assert_eq!(
        connection
            .login::<Player>(LoginCredentials::anonymous())
            .await
            .unwrap_err(),
        LoginError::NoChecker(CredentialKind::Anonymous)
    );
}

#[tokio::test]
async fn the_realm_may_refuse_and_the_avatar_type_is_checked() {
    let server = start_portal(false, Config::default()).await;
    let connection = connect(&server).await;
    assert_eq!(
        connection
            .login::<Player>(password("banned", "x"))
            .await
            .unwrap_err(),
        LoginError::Refused("banned".into())
    );
    match connection.login::<Admin>(password("user1", "pass1")).await {
        Err(LoginError::WrongAvatarType { expected, found }) => {
            assert!(expected.ends_with(".Admin"));
            assert!(found.ends_with(".Player"));
        }
        other => panic!("expected WrongAvatarType, got {other:?}"),
    }
    eventually("the mistyped login was logged out", || {
        server.handle.stats().logins == 0
    })
    .await;
}

#[tokio::test]
async fn many_concurrent_logins_on_one_connection() {
    let server = start_portal(true, Config::default()).await;
    let connection = connect(&server).await;
    let logins = (0..12).map(|i| {
        let connection = connection.clone();
        async move {
            if i % 2 == 0 {
                connection.login::<Player>(password("user1", "pass1")).await
            } else {
                connection
                    .login::<Player>(LoginCredentials::anonymous())
                    .await
            }
        }
    });
    let players = futures_util::future::join_all(logins).await;
    assert!(players.iter().all(Result::is_ok));
    assert_eq!(server.handle.stats().logins, 12);
}

#[tokio::test]
async fn the_mind_lets_the_avatar_call_the_client_back() {
    let server = start_portal(false, Config::default()).await;
    let connection = connect(&server).await;
    let screen = Arc::new(Screen {
        lines: Mutex::new(Vec::new()),
    });
    let player: Remote<Player> = connection
        .login_with_mind(password("user1", "pass1"), screen.clone())
        .await
        .unwrap();
    assert_eq!(player.shout("hello".into()).await.unwrap(), 1);
    assert_eq!(player.shout("again".into()).await.unwrap(), 2);
    assert_eq!(
        *screen.lines.lock().unwrap(),
        ["user1: hello", "user1: again"]
    );
}

#[tokio::test]
async fn logout_runs_exactly_once_whichever_comes_first() {
    let server = start_portal(true, Config::default()).await;
    let connection = connect(&server).await;
    let player: Remote<Player> = connection.login(password("user1", "pass1")).await.unwrap();
    let table = player.table().await.unwrap();
    connection.logout(&player).await.unwrap();
    assert_eq!(
        connection.logout(&player).await.unwrap_err(),
        LoginError::NotLoggedIn,
        "a second logout finds no login (its avatar reference is revoked)"
    );
    assert_eq!(
        table.sit().await,
        Err(CallError::NoSuchObject),
        "and what it handed out"
    );
    let guest: Remote<Player> = connection
        .login(LoginCredentials::anonymous())
        .await
        .unwrap();
    assert!(guest.is_anonymous().await.unwrap());
    connection.close();
    eventually("the guest is logged out at disconnect", || {
        server.log.lock().unwrap().len() == 4
    })
    .await;
    // Once the server dropped the connection, every logout it could run has run.
    eventually("the server drops the connection", || {
        server.handle.stats().connections == 0
    })
    .await;
    assert_eq!(
        *server.log.lock().unwrap(),
        [
            "login user1",
            "logout user1",
            "login (anonymous)",
            "logout (anonymous)"
        ]
    );
}

#[tokio::test]
async fn viewables_see_the_avatar_of_the_login_they_were_reached_through() {
    let server = start_portal(true, Config::default()).await;
    let alice_connection = connect(&server).await;
    let bob_connection = connect(&server).await;
    let user1: Remote<Player> = alice_connection
        .login(password("user1", "pass1"))
        .await
        .unwrap();
    let user2: Remote<Player> = bob_connection
        .login(password("user2", "pass2"))
        .await
        .unwrap();
    let guest: Remote<Player> = alice_connection
        .login(LoginCredentials::anonymous())
        .await
        .unwrap();
    let through_user1 = user1.table().await.unwrap();
    let through_user2 = user2.table().await.unwrap();
    let through_guest = guest.table().await.unwrap();
    assert!(
        !through_user1.same_object(&through_guest),
        "one reference per login"
    );
    assert_eq!(through_user1.sit().await.unwrap(), "user1");
    assert_eq!(through_user2.sit().await.unwrap(), "user2");
    assert_eq!(through_guest.sit().await.unwrap(), "(anonymous)");
    assert_eq!(
        through_guest.seated().await.unwrap(),
        ["user1", "user2", "(anonymous)"]
    );
    assert_eq!(
        *server.table.seated.lock().unwrap(),
        ["user1", "user2", "(anonymous)"]
    );
}

#[tokio::test]
async fn a_viewable_for_another_avatar_type_is_not_permitted() {
    let server = start_portal(false, Config::default()).await;
    let connection = connect(&server).await;
    let player: Remote<Player> = connection.login(password("user1", "pass1")).await.unwrap();
    let panel = player.panel().await.unwrap();
    match panel.shutdown().await {
        Err(CallError::NotPermitted { avatar }) => assert!(avatar.ends_with(".Admin")),
        other => panic!("expected NotPermitted, got {other:?}"),
    }
}

#[tokio::test]
async fn a_viewable_reached_without_a_login_is_not_permitted() {
    let (client, _server) = tartine::connect_in_memory(Table {
        seated: Mutex::new(Vec::new()),
    })
    .await
    .unwrap();
    let table: Remote<Table> = client.root().unwrap();
    assert!(matches!(
        table.sit().await,
        Err(CallError::NotPermitted { .. })
    ));
}

#[tokio::test]
async fn a_connection_that_does_not_log_in_is_closed() {
    let mut config = Config::default();
    config.login_timeout = Duration::from_secs(1);
    let server = start_portal(true, config).await;
    let idle = connect(&server).await;
    let active = connect(&server).await;
    let player: Remote<Player> = active.login(LoginCredentials::anonymous()).await.unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(5), idle.closed())
        .await
        .expect("the idle connection is closed");
    assert_eq!(reason, CloseReason::PeerClosed);
    // Logged in, the active connection is no longer pending: no login timeout applies to it.
    eventually("the logged-in connection is settled", || {
        server.handle.stats().pending == 0
    })
    .await;
    assert!(
        player.is_anonymous().await.unwrap(),
        "the logged-in one stays"
    );
}

#[tokio::test]
async fn login_against_a_server_without_portal_is_refused() {
    let server = common::start_server().await;
    let connection = tartine::connect(server.addr).await.unwrap();
    assert_eq!(
        connection
            .login::<Player>(LoginCredentials::anonymous())
            .await
            .unwrap_err(),
        LoginError::NoPortal
    );
}

#[tokio::test]
async fn logins_per_connection_are_capped() {
    let mut config = Config::default();
    config.max_logins_per_connection = 3;
    let server = start_portal(true, config).await;
    let connection = connect(&server).await;
    let mut players = Vec::new();
    for _ in 0..3 {
        players.push(
            connection
                .login::<Player>(LoginCredentials::anonymous())
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        connection
            .login::<Player>(LoginCredentials::anonymous())
            .await
            .unwrap_err(),
        LoginError::TooManyLogins { limit: 3 }
    );
    assert_eq!(server.handle.stats().logins, 3);
    assert_eq!(
        server.log.lock().unwrap().len(),
        3,
        "the realm was not asked"
    );
    // A logout frees a place.
    connection.logout(&players[0]).await.unwrap();
    assert!(
        connection
            .login::<Player>(LoginCredentials::anonymous())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_login_whose_avatar_cannot_be_handed_out_is_undone() {
    let mut config = Config::default();
    // The login service and one avatar.
    config.max_exports = 2;
    let server = start_portal(true, config).await;
    let connection = connect(&server).await;
    let first: Remote<Player> = connection
        .login(LoginCredentials::anonymous())
        .await
        .unwrap();
    assert_eq!(
        connection
            .login::<Player>(LoginCredentials::anonymous())
            .await
            .unwrap_err(),
        LoginError::TooManyReferences { limit: 2 }
    );
    assert_eq!(server.handle.stats().logins, 1, "no login was kept");
    assert_eq!(
        *server.log.lock().unwrap(),
        [
            "login (anonymous)",
            "login (anonymous)",
            "logout (anonymous)"
        ],
        "the realm's avatar was logged out at once"
    );
    assert!(first.is_anonymous().await.unwrap());
}

/// The disconnect hook runs after each connection closed, once its logout actions ran: when
/// a client leaves, and for every connection a shutdown closes; each logout action runs once.
#[tokio::test]
async fn a_shutdown_runs_each_logout_once_and_the_disconnect_hook_after_it() {
    let club = Club::new();
    let log = club.log.clone();
    let portal = Portal::new(club).with_checker(
        InMemoryPasswords::new()
            .with_user("alice", "1")
            .and_then(|users| users.with_user("bob", "2"))
            .and_then(|users| users.with_user("carol", "3"))
            .expect("randomness"),
    );
    let hooked = log.clone();
    let server = tartine::Server::bind_portal("127.0.0.1:0", portal)
        .await
        .expect("bind")
        .on_disconnect(move |gone| {
            hooked
                .lock()
                .unwrap()
                .push(format!("disconnect {}", gone.reason));
        });
    let addr = server.local_addr().expect("address");
    let handle = server.handle();
    tokio::spawn(server.run());
    let mut clients = Vec::new();
    for (user, password) in [("alice", "1"), ("bob", "2"), ("carol", "3")] {
        let connection = tartine::connect(addr).await.expect("connect");
        let player = connection
            .login::<Player>(LoginCredentials::password(user, password))
            .await
            .expect("login");
        clients.push((connection, player));
    }

    // Carol leaves on her own.
    let (carol, _) = clients.pop().expect("carol");
    carol.close();
    eventually("carol's disconnect hook ran", || {
        log.lock()
            .unwrap()
            .iter()
            .any(|line| line.starts_with("disconnect"))
    })
    .await;

    tokio::time::timeout(
        Duration::from_secs(10),
        handle.shutdown(Duration::from_secs(5)),
    )
    .await
    .expect("the shutdown ends");
    let log = log.lock().unwrap().clone();
    for user in ["alice", "bob", "carol"] {
        let logouts = log
            .iter()
            .filter(|line| **line == format!("logout {user}"))
            .count();
        assert_eq!(logouts, 1, "{user}'s logout ran once: {log:?}");
    }
    let disconnects: Vec<&String> = log.iter().filter(|l| l.starts_with("disconnect")).collect();
    assert_eq!(disconnects.len(), 3, "{log:?}");
    assert!(
        disconnects[0].contains("peer closed"),
        "carol left on her own: {log:?}"
    );
    // Each hook runs after its connection's logout: never more hooks than logouts so far.
    let mut logouts = 0;
    for line in &log {
        if line.starts_with("logout") {
            logouts += 1;
        } else if line.starts_with("disconnect") {
            assert!(logouts > 0, "a hook before any logout: {log:?}");
            logouts -= 1;
        }
    }
}

#[tokio::test]
async fn a_connection_closed_under_the_lock_its_logout_takes_does_not_deadlock() {
    let club = Club::new();
    let log = club.log.clone();
    let (addr, handle) = serve_portal(
        Portal::new(club).with_checker(AllowAnonymous),
        Config::default(),
    )
    .await;
    let connection = tartine::connect(addr).await.unwrap();
    let _guest: Remote<Player> = connection
        .login(LoginCredentials::anonymous())
        .await
        .unwrap();
    // Server code closes the connection while it holds the lock the logout action takes, as
    // a `Remote` dropped under a lock does when its release overflows the write queue. On a
    // thread of its own, so that a deadlock fails the test instead of hanging it.
    let (closed_tx, closed_rx) = std::sync::mpsc::channel();
    let runtime = tokio::runtime::Handle::current();
    let held = log.clone();
    std::thread::spawn(move || {
        let _in_runtime = runtime.enter();
        let guard = held.lock().unwrap();
        let all_closed = handle.shutdown(Duration::ZERO);
        drop(guard);
        let _ = closed_tx.send(all_closed);
    });
    let all_closed =
        tokio::task::spawn_blocking(move || closed_rx.recv_timeout(Duration::from_secs(10)))
            .await
            .unwrap()
            .expect("closing returns while its caller holds the lock");
    all_closed.await;
    assert_eq!(
        *log.lock().unwrap(),
        ["login (anonymous)", "logout (anonymous)"],
        "the logout ran, after the lock was let go"
    );
}

/// Refuses every login, with a reason of a mebibyte.
struct Wordy;

impl tartine::cred::Realm for Wordy {
    type Avatar = Player;
    type Mind = tartine::cred::NoMind;

    async fn request_avatar(
        &self,
        _id: tartine::cred::AvatarId,
        _mind: Option<Remote<tartine::cred::NoMind>>,
    ) -> Result<tartine::cred::LoggedIn<Player>, LoginError> {
        Err(LoginError::Refused("no".repeat(1 << 19)))
    }
}

#[tokio::test]
async fn a_servers_reason_for_refusing_is_cut_to_a_bound() {
    let portal = Portal::new(Wordy).with_checker(AllowAnonymous);
    let (addr, _handle) = serve_portal(portal, Config::default()).await;
    let connection = tartine::connect(addr).await.expect("connects");
    let refused = connection
        .login::<Player>(LoginCredentials::anonymous())
        .await
        .map(drop);
    let Err(LoginError::Refused(reason)) = refused else {
        panic!("refused, with a reason: {refused:?}");
    };
    assert!(
        reason.len() <= tartine::wire::MAX_PEER_TEXT,
        "{}",
        reason.len()
    );
    assert!(reason.starts_with("nono") && reason.ends_with('…'));
}

#[tokio::test]
async fn objects_of_an_ended_login_count_until_the_client_lets_them_go() {
    let server = start_portal(true, Config::default()).await;
    // The client holds at most 4 of the server's objects: the portal, the avatar, the table
    // and the panel.
    let mut config = Config::default();
    config.max_exports = 4;
    let connection = tartine::connect_with(server.addr, config).await.unwrap();
    let player: Remote<Player> = connection.login(password("user1", "pass1")).await.unwrap();
    let table = player.table().await.unwrap();
    let panel = player.panel().await.unwrap();
    connection.logout(&player).await.unwrap();
    // The ended login's objects are still held here: the server sends nothing past the
    // client's limit, and the connection stays open.
    let again = connection
        .login::<Player>(LoginCredentials::anonymous())
        .await
        .map(drop);
    assert_eq!(
        again,
        Err(LoginError::TooManyReferences { limit: 4 }),
        "no room for a new avatar"
    );
    assert!(!connection.is_closed(), "{:?}", connection.closed().await);
    // Once they are let go, there is room again.
    drop((player, table, panel));
    let mut room = false;
    for _ in 0..100 {
        if let Ok(anonymous) = connection
            .login::<Player>(LoginCredentials::anonymous())
            .await
        {
            assert!(anonymous.is_anonymous().await.unwrap());
            room = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(room, "a login after the old objects were released");
    assert!(!connection.is_closed());
}

/// The club, answering each login after a turn of the scheduler: logins made at once on one
/// connection are all past the count of logins before any is added.
struct Unhurried(Club);

impl tartine::cred::Realm for Unhurried {
    type Avatar = Player;
    type Mind = Screen;

    async fn request_avatar(
        &self,
        id: tartine::cred::AvatarId,
        mind: Option<Remote<Screen>>,
    ) -> Result<tartine::cred::LoggedIn<Player>, LoginError> {
        tokio::task::yield_now().await;
        self.0.request_avatar(id, mind).await
    }
}

#[tokio::test]
async fn a_login_refused_for_the_count_of_logins_leaves_no_reference_behind() {
    let mut config = Config::default();
    config.max_logins_per_connection = 1;
    // The portal, one avatar and its table.
    config.max_exports = 3;
    let portal = Portal::new(Unhurried(Club::new())).with_checker(AllowAnonymous);
    let (addr, _handle) = serve_portal(portal, config).await;
    let connection = tartine::connect(addr).await.unwrap();
    let (first, second) = tokio::join!(
        connection.login::<Player>(LoginCredentials::anonymous()),
        connection.login::<Player>(LoginCredentials::anonymous()),
    );
    let player = match (first, second) {
        (Ok(player), Err(LoginError::TooManyLogins { limit: 1 }))
        | (Err(LoginError::TooManyLogins { limit: 1 }), Ok(player)) => player,
        other => panic!("one login and one refused: {other:?}"),
    };
    // The refused login's avatar was never sent: it holds no place the table needs.
    assert!(player.table().await.is_ok());
}
