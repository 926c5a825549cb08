//! Password guessing over real connections: failed logins are throttled per user and per
//! address, a throttled attempt answers as a wrong password does, a connection that keeps
//! failing is closed, and unknown users get decoys as costly as real users.

mod common;

use common::login::{Club, Player, serve_portal};
use common::raw::{Answer, Raw};
use std::net::SocketAddr;
use std::time::Duration;
use tartine::cred::scram::{NONCE_LEN, Nonce};
use tartine::cred::{InMemoryPasswords, LoginCredentials, LoginError, LoginStats, Portal};
use tartine::{CallError, CloseReason, Config, RateLimit};
use tokio::time::Instant;

async fn start(config: Config, users: InMemoryPasswords) -> (SocketAddr, Portal) {
    let portal = Portal::new(Club::new()).with_checker(users);
    let (addr, _) = serve_portal(portal.clone(), config).await;
    (addr, portal)
}

fn alice() -> InMemoryPasswords {
    InMemoryPasswords::new()
        .with_user("alice", "1234")
        .expect("randomness for the salts")
}

async fn login(addr: SocketAddr, user: &str, password: &str) -> Result<(), LoginError> {
    let connection = tartine::connect(addr).await.unwrap();
    connection
        .login::<Player>(LoginCredentials::password(user, password))
        .await
        .map(drop)
}

fn stats(failed: u64, throttled: u64, succeeded: u64) -> LoginStats {
    let mut stats = LoginStats::default();
    stats.failed = failed;
    stats.throttled = throttled;
    stats.succeeded = succeeded;
    stats
}

#[tokio::test]
async fn guesses_past_the_per_user_budget_fail_even_with_the_right_password() {
    let (addr, portal) = start(Config::default(), alice()).await;
    // Thirty wrong guesses at alice, all at once.
    let guesses =
        (0..30).map(|guess| async move { login(addr, "alice", &format!("{guess}")).await });
    let answers = futures_util::future::join_all(guesses).await;
    assert!(
        answers
            .iter()
            .all(|answer| *answer == Err(LoginError::Unauthorized))
    );
    // By default a user gets ten failures at once; the twenty others were not even checked.
    assert_eq!(portal.stats(), stats(10, 20, 0));
    // Now the right password is refused too, exactly as a wrong one.
    assert_eq!(
        login(addr, "alice", "1234").await,
        Err(LoginError::Unauthorized)
    );
    assert_eq!(portal.stats(), stats(10, 21, 0));
}

#[tokio::test]
async fn the_right_password_works_again_once_the_budget_refills() {
    let mut config = Config::default();
    // The three guesses and the right password must all come within one refill of the first
    // failure, each with a key derivation: 2 s leaves room for a loaded machine.
    config.failed_logins_per_user = RateLimit::new(2, Duration::from_secs(2));
    config.failed_login_delay = Duration::from_millis(10);
    let (addr, portal) = start(config, alice()).await;
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
    assert_eq!(portal.stats(), stats(2, 2, 0));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(login(addr, "alice", "1234").await, Ok(()));
    assert_eq!(portal.stats(), stats(2, 2, 1));
}

#[tokio::test]
async fn an_address_gets_its_budget_whatever_users_it_names() {
    let mut config = Config::default();
    config.failed_logins_per_address = RateLimit::new(5, Duration::from_secs(60));
    config.failed_login_delay = Duration::from_millis(10);
    let users = InMemoryPasswords::new()
        .with_user("bob", "secret")
        .expect("randomness for the salts");
    let (addr, portal) = start(config, users).await;
    for user in 0..10 {
        let answer = login(addr, &format!("user{user}"), "guess").await;
        assert_eq!(answer, Err(LoginError::Unauthorized));
    }
    assert_eq!(portal.stats(), stats(5, 5, 0));
    // From this address, even bob's right password is refused for now.
    assert_eq!(
        login(addr, "bob", "secret").await,
        Err(LoginError::Unauthorized)
    );
}

#[tokio::test]
async fn throttled_and_wrong_answers_look_and_take_the_same() {
    let mut config = Config::default();
    config.failed_logins_per_user = RateLimit::new(1, Duration::from_secs(60));
    let (addr, portal) = start(config, alice()).await;
    let timed = |password: &'static str| async move {
        let started = Instant::now();
        let answer = login(addr, "alice", password).await;
        (answer, started.elapsed())
    };
    let (wrong, wrong_took) = timed("0000").await;
    let (throttled, throttled_took) = timed("1234").await;
    assert_eq!(
        portal.stats(),
        stats(1, 1, 0),
        "the second one was throttled"
    );
    assert_eq!(wrong, throttled);
    assert_eq!(wrong, Err(LoginError::Unauthorized));
    // Both are held back by the same delay (200 ms by default) after the same work.
    for took in [wrong_took, throttled_took] {
        assert!(took >= Duration::from_millis(200), "{took:?}");
    }
}

#[tokio::test]
async fn a_connection_that_keeps_failing_is_closed() {
    let mut config = Config::default();
    config.failed_login_delay = Duration::from_millis(10);
    let (addr, _portal) = start(config, alice()).await;
    let connection = tartine::connect(addr).await.unwrap();
    for guess in 0..5 {
        let answer = connection
            .login::<Player>(LoginCredentials::password("alice", format!("{guess}")))
            .await;
        assert_eq!(answer.unwrap_err(), LoginError::Unauthorized);
    }
    // The fifth failure was answered, then the server hung up.
    let reason = tokio::time::timeout(Duration::from_secs(5), connection.closed())
        .await
        .expect("closed");
    assert_eq!(reason, CloseReason::PeerClosed);
    assert_eq!(
        connection
            .login::<Player>(LoginCredentials::password("alice", "1234"))
            .await
            .unwrap_err(),
        LoginError::Call(CallError::ConnectionLost)
    );
}

#[tokio::test]
async fn a_connection_that_gives_up_on_its_failed_answers_is_closed_too() {
    // The answer to a failed login is held back; a guesser that cancels each login instead of
    // waiting for that answer still spends its failures, and is closed at the last one.
    let mut config = Config::default();
    config.failed_login_delay = Duration::from_secs(30);
    config.max_failed_logins_per_connection = 2;
    let (addr, portal) = start(config, alice()).await;
    let connection = tartine::connect(addr).await.unwrap();
    for failed in 1..=2 {
        let attempt =
            connection.login::<Player>(LoginCredentials::password("alice", format!("{failed}")));
        tokio::pin!(attempt);
        // Once the server counted the failure (its answer now waits for the delay), give up.
        tokio::select! {
            answer = &mut attempt => panic!("answered before the delay: {:?}", answer.err()),
            () = common::eventually("the failure counted", || portal.stats().failed == failed) => {}
        }
    }
    let reason = tokio::time::timeout(Duration::from_secs(5), connection.closed())
        .await
        .expect("closed at the second failure, without waiting for its answer");
    assert_eq!(reason, CloseReason::PeerClosed);
}

const BEGIN: &str = "tartine.login.password.begin";

/// Starts a password login by hand; returns the salt and the work factor asked for.
async fn challenge(raw: &mut Raw, user: &str) -> (Vec<u8>, u32) {
    let nonce: Nonce = [1; NONCE_LEN];
    match raw.call(0, BEGIN, &(user, nonce)).await {
        Answer::Return { payload, .. } => {
            let (_, salt, iterations, _): (u64, Vec<u8>, u32, Nonce) =
                postcard::from_bytes(&payload).unwrap();
            (salt, iterations)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unknown_users_get_stable_decoys_as_costly_as_real_users() {
    let users = InMemoryPasswords::with_iterations(20_000)
        .with_user("alice", "1234")
        .expect("randomness for the salts");
    let (addr, _portal) = start(Config::default(), users).await;
    let mut first = Raw::connect_to(addr).await;
    // Asked first, before any real user was looked up.
    let (mallory_salt, mallory_iterations) = challenge(&mut first, "mallory").await;
    let (alice_salt, alice_iterations) = challenge(&mut first, "alice").await;
    assert_eq!(mallory_iterations, 20_000);
    assert_eq!(alice_iterations, 20_000);
    assert_eq!(mallory_salt.len(), alice_salt.len());
    let mut second = Raw::connect_to(addr).await;
    assert_eq!(
        challenge(&mut second, "mallory").await,
        (mallory_salt, 20_000),
        "the same decoy on every connection"
    );
}

#[tokio::test]
async fn abandoned_password_logins_do_not_lock_a_connection_out() {
    // bob's work factor is past what this client accepts: each of its logins stops after the
    // challenge, and leaves the server a challenge that nobody will answer.
    let mut users = alice();
    users.add_verifier(
        "bob",
        tartine::cred::PasswordVerifier::with_salt("secret", b"bob's salt".to_vec(), 8_192),
    );
    let (addr, portal) = start(Config::default(), users).await;
    let mut config = Config::default();
    config.max_login_iterations = 4_096;
    let connection = tartine::connect_with(addr, config).await.unwrap();
    for _ in 0..20 {
        assert!(matches!(
            connection
                .login::<Player>(LoginCredentials::password("bob", "secret"))
                .await,
            Err(LoginError::UnsafeChallenge(_))
        ));
    }
    // The oldest abandoned challenges made room: alice logs in on the same connection.
    connection
        .login::<Player>(LoginCredentials::password("alice", "1234"))
        .await
        .expect("alice logs in");
    assert_eq!(portal.stats(), stats(0, 0, 1));
}

/// Admits anonymous logins only once the test lets them through; counts those being checked.
struct Gated {
    checking: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    gate: std::sync::Arc<tokio::sync::Semaphore>,
}

impl tartine::cred::CredentialChecker for Gated {
    fn kinds(&self) -> &[tartine::cred::CredentialKind] {
        &[tartine::cred::CredentialKind::Anonymous]
    }

    async fn check(
        &self,
        _: &tartine::cred::Credentials,
    ) -> Result<tartine::cred::AvatarId, LoginError> {
        self.checking
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _pass = self
            .gate
            .acquire()
            .await
            .map_err(|_| LoginError::Unauthorized)?;
        Ok(tartine::cred::AvatarId::Anonymous)
    }
}

#[tokio::test]
async fn one_connection_has_at_most_sixteen_logins_checked_at_once() {
    let checking = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let portal = Portal::new(Club::new()).with_checker(Gated {
        checking: checking.clone(),
        gate: gate.clone(),
    });
    let (addr, _) = serve_portal(portal, Config::default()).await;
    let connection = tartine::connect(addr).await.unwrap();
    // Forty logins at once, each waiting on a checker that answers only when let through (as
    // a token login waits on its issuer).
    let (results, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..40 {
        let connection = connection.clone();
        let results = results.clone();
        tokio::spawn(async move {
            let login = connection
                .login::<Player>(LoginCredentials::anonymous())
                .await;
            let _ = results.send(login.map(drop));
        });
    }
    // Twenty-four are refused at once, while sixteen are being checked.
    for _ in 0..24 {
        let answer = tokio::time::timeout(Duration::from_secs(10), answers.recv())
            .await
            .expect("refused at once")
            .expect("an answer");
        assert_eq!(answer, Err(LoginError::TooManyChallenges));
    }
    assert_eq!(checking.load(std::sync::atomic::Ordering::SeqCst), 16);
    gate.add_permits(16);
    for _ in 0..16 {
        let answer = answers.recv().await.expect("an answer");
        assert_eq!(answer, Ok(()), "let in once checked");
    }
}

/// Admits the token `good` only, finds `old` expired, never answers about `slow`, and counts
/// the tokens it was asked about (as an issuer would be asked).
#[derive(Default)]
struct Tokens {
    asked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    slow: std::sync::Arc<tokio::sync::Notify>,
}

impl tartine::cred::CredentialChecker for Tokens {
    fn kinds(&self) -> &[tartine::cred::CredentialKind] {
        &[tartine::cred::CredentialKind::Token]
    }

    async fn check(
        &self,
        credentials: &tartine::cred::Credentials,
    ) -> Result<tartine::cred::AvatarId, LoginError> {
        use tartine::cred::{AvatarId, Credentials, TokenError};
        self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match credentials {
            Credentials::Token(presented) if presented.token() == b"good" => {
                Ok(AvatarId::User(presented.username().to_owned()))
            }
            Credentials::Token(presented) if presented.token() == b"old" => {
                Err(LoginError::Token(TokenError::Expired))
            }
            Credentials::Token(presented) if presented.token() == b"slow" => {
                self.slow.notify_one();
                std::future::pending().await
            }
            _ => Err(LoginError::Token(TokenError::Unknown)),
        }
    }
}

#[tokio::test]
async fn an_address_past_its_made_up_tokens_is_refused_without_asking_the_issuer() {
    use tartine::cred::TokenError;
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let asked_now = || asked.load(std::sync::atomic::Ordering::SeqCst);
    let portal = Portal::new(Club::new()).with_checker(Tokens {
        asked: asked.clone(),
        ..Tokens::default()
    });
    let mut config = Config::default();
    config.failed_logins_per_address = RateLimit::new(3, Duration::from_secs(3600));
    config.failed_login_delay = Duration::ZERO;
    let (addr, _) = serve_portal(portal, config).await;
    let token_login = |token: &'static [u8]| async move {
        let connection = tartine::connect(addr).await.unwrap();
        connection
            .login::<Player>(LoginCredentials::token("alice", token.to_vec()))
            .await
            .map(drop)
    };
    assert_eq!(token_login(b"good").await, Ok(()), "a good token gets in");
    // Real tokens that expired do not count against the address.
    for _ in 0..5 {
        assert_eq!(
            token_login(b"old").await,
            Err(LoginError::Token(TokenError::Expired))
        );
    }
    assert_eq!(asked_now(), 6);
    // Ten made-up tokens at once, each answered as soon as asked (so one after another here):
    // three are checked and fail, the others are refused unchecked.
    let answers = futures_util::future::join_all((0..10).map(|_| token_login(b"forged"))).await;
    let unknown = answers
        .iter()
        .filter(|answer| **answer == Err(LoginError::Token(TokenError::Unknown)))
        .count();
    let refused = answers
        .iter()
        .filter(|answer| matches!(answer, Err(LoginError::Refused(_))))
        .count();
    assert_eq!((unknown, refused), (3, 7), "{answers:?}");
    assert_eq!(asked_now(), 9);
    // The address spent its failures: even a good token is refused now, unchecked.
    assert!(matches!(
        token_login(b"good").await,
        Err(LoginError::Refused(_))
    ));
    assert_eq!(asked_now(), 9);
}

#[tokio::test]
async fn a_token_login_cancelled_while_its_issuer_is_asked_counts_as_failed() {
    let tokens = Tokens::default();
    let (slow, asked) = (tokens.slow.clone(), tokens.asked.clone());
    let portal = Portal::new(Club::new()).with_checker(tokens);
    let mut config = Config::default();
    config.failed_logins_per_address = RateLimit::new(2, Duration::from_secs(3600));
    config.failed_login_delay = Duration::ZERO;
    config.max_failed_logins_per_connection = 2;
    let (addr, _) = serve_portal(portal, config).await;
    let connection = tartine::connect(addr).await.unwrap();
    // Two logins whose issuer never answers, given up on once it is asked.
    for _ in 0..2 {
        let login = connection.login::<Player>(LoginCredentials::token("alice", b"slow".to_vec()));
        tokio::select! {
            _ = login => panic!("the issuer never answers"),
            () = slow.notified() => {}
        }
    }
    // Both count as failed logins of the connection, which the server closes...
    let closed = tokio::time::timeout(Duration::from_secs(10), connection.closed())
        .await
        .expect("closed by the server");
    assert_eq!(closed, tartine::CloseReason::PeerClosed);
    // ...and of the address: cancelling did not give it its places back.
    let fresh = tartine::connect(addr).await.unwrap();
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        fresh.login::<Player>(LoginCredentials::token("alice", b"good".to_vec())),
    )
    .await
    .expect("answered at once");
    assert!(matches!(answer, Err(LoginError::Refused(_))), "{answer:?}");
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "the issuer was not asked"
    );
}

#[tokio::test]
async fn token_logins_behind_one_address_are_checked_at_once_up_to_a_bound() {
    let tokens = Tokens::default();
    let asked = tokens.asked.clone();
    let portal = Portal::new(Club::new()).with_checker(tokens);
    let mut config = Config::default();
    // Three failures; five checks at once, more than the failures, since honest logins behind
    // one address (a NAT) do not fail.
    config.failed_logins_per_address = RateLimit::new(3, Duration::from_secs(3600));
    config.max_token_checks_per_address = 5;
    config.failed_login_delay = Duration::ZERO;
    let (addr, _) = serve_portal(portal, config).await;
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    let mut connections = Vec::new();
    for _ in 0..8 {
        let connection = tartine::connect(addr).await.unwrap();
        let login = connection.login::<Player>(LoginCredentials::token("alice", b"slow".to_vec()));
        let answers = answers.clone();
        tokio::spawn(async move {
            let _ = answers.send(login.await.map(drop));
        });
        connections.push(connection);
    }
    // Five are being checked (their issuer never answers); the three others are refused at
    // once, without a question.
    for _ in 0..3 {
        let answer = tokio::time::timeout(Duration::from_secs(10), answered.recv())
            .await
            .expect("refused at once")
            .expect("an answer");
        assert!(matches!(answer, Err(LoginError::Refused(_))), "{answer:?}");
    }
    tokio::time::timeout(Duration::from_secs(10), async {
        while asked.load(std::sync::atomic::Ordering::SeqCst) < 5 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("five questions asked");
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_token_login_the_server_gives_up_on_does_not_count_against_its_address() {
    let tokens = Tokens::default();
    let (slow, asked) = (tokens.slow.clone(), tokens.asked.clone());
    let portal = Portal::new(Club::new()).with_checker(tokens);
    let mut config = Config::default();
    config.failed_logins_per_address = RateLimit::new(1, Duration::from_secs(3600));
    config.login_timeout = Duration::from_secs(1);
    config.failed_login_delay = Duration::ZERO;
    let (addr, _) = serve_portal(portal, config).await;
    // A login whose issuer never answers, until the server's time to log in is over.
    let connection = tartine::connect(addr).await.unwrap();
    let login = connection.login::<Player>(LoginCredentials::token("alice", b"slow".to_vec()));
    // Kept waiting: a login the client gives up on would count.
    let waiting = tokio::spawn(login);
    tokio::time::timeout(Duration::from_secs(10), slow.notified())
        .await
        .expect("the issuer is asked");
    let closed = tokio::time::timeout(Duration::from_secs(10), connection.closed())
        .await
        .expect("closed by the server");
    assert_eq!(closed, tartine::CloseReason::PeerClosed);
    assert!(waiting.await.expect("the login's task").is_err());
    // The server closed it: the address keeps its one failure, and a good token gets in.
    let fresh = tartine::connect(addr).await.unwrap();
    let answer = fresh
        .login::<Player>(LoginCredentials::token("alice", b"good".to_vec()))
        .await
        .map(drop);
    assert_eq!(answer, Ok(()));
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2);
}
