//! The attacks of the PB authentication howto, and a few more, sent raw: none of them works.
//!
//! Alice's attempts to pass as Bob through the typed API (the viewable's proxy has no sender
//! parameter; another login's references are refused) are in `login.rs` and in the chat
//! example's tests; here she rewrites her client entirely.

mod common;

use common::login::*;
use common::raw::{Answer, Raw, receiver_ref};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tartine::cred::scram::{self, Key, NONCE_LEN, Nonce};
use tartine::cred::{AllowAnonymous, InMemoryPasswords, LoginCredentials, LoginError, Portal};
use tartine::wire::Failure;
use tartine::{Config, Server};

const BEGIN: &str = "tartine.login.password.begin";
const PROVE: &str = "tartine.login.password.prove";
const FINISH: &str = "tartine.login.password.finish";
const ANONYMOUS: &str = "tartine.login.anonymous";

async fn start() -> SocketAddr {
    let portal = Portal::new(Club::new())
        .with_checker(
            InMemoryPasswords::with_iterations(512)
                .with_user("alice", "1234")
                .and_then(|users| users.with_user("bob", "secret"))
                .expect("randomness for the salts"),
        )
        .with_checker(AllowAnonymous);
    let server = Server::bind_portal_with("127.0.0.1:0", portal, Config::default())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());
    addr
}

#[derive(Debug, Deserialize)]
struct Challenge {
    challenge: u64,
    salt: Vec<u8>,
    iterations: u32,
    server_nonce: Nonce,
}

/// The avatar id of a granted login, as the raw client sees it: (interface, tag).
type Grant = (String, (u8, u64));

async fn begin(raw: &mut Raw, user: &str, client_nonce: Nonce) -> Challenge {
    match raw.call(0, BEGIN, &(user, client_nonce)).await {
        Answer::Return { payload, .. } => postcard::from_bytes(&payload).unwrap(),
        other => panic!("{other:?}"),
    }
}

fn proof(user: &str, password: &str, client_nonce: &Nonce, challenge: &Challenge) -> Key {
    let auth = scram::auth_message(
        user,
        client_nonce,
        &challenge.server_nonce,
        &challenge.salt,
        challenge.iterations,
        // A plain TCP connection: no channel binding.
        &[],
    );
    scram::client_proof(password, &challenge.salt, challenge.iterations, &auth).0
}

/// Sends the proof; the server answers its own signature.
async fn prove(raw: &mut Raw, challenge: u64, proof: Key) -> Result<Key, LoginError> {
    match raw.call(0, PROVE, &(challenge, proof)).await {
        Answer::Return { payload, .. } => Ok(postcard::from_bytes(&payload).unwrap()),
        Answer::Raised(payload) => Err(postcard::from_bytes(&payload).unwrap()),
        other => panic!("{other:?}"),
    }
}

/// Finishes a proved login, with no mind.
async fn finish(raw: &mut Raw, challenge: u64) -> Result<Grant, LoginError> {
    match raw.call(0, FINISH, &(challenge, None::<()>)).await {
        Answer::Return { payload, .. } => Ok(postcard::from_bytes(&payload).unwrap()),
        Answer::Raised(payload) => Err(postcard::from_bytes(&payload).unwrap()),
        other => panic!("{other:?}"),
    }
}

/// A full password login by hand; returns the avatar's export id.
async fn login(raw: &mut Raw, user: &str, password: &str) -> u64 {
    let nonce = [7u8; NONCE_LEN];
    let challenge = begin(raw, user, nonce).await;
    let proof = proof(user, password, &nonce, &challenge);
    prove(raw, challenge.challenge, proof).await.unwrap();
    let (_, (_, id)) = finish(raw, challenge.challenge).await.unwrap();
    id
}

#[tokio::test]
async fn nothing_but_the_login_is_reachable_before_logging_in() {
    let addr = start().await;
    let mut mallory = Raw::connect_to(addr).await;
    assert_eq!(mallory.root.as_deref(), Some("tartine.Portal"));
    for target in [1, 2, 3, 100, u64::MAX] {
        assert_eq!(
            mallory.call(target, "foo", &(12u64,)).await,
            Answer::Failed(Failure::NoSuchObject)
        );
    }
    assert!(matches!(
        mallory.call(0, "foo", &(12u64,)).await,
        Answer::Failed(Failure::NoSuchMethod { .. })
    ));
}

#[tokio::test]
async fn each_challenge_answers_once_right_or_wrong() {
    let addr = start().await;
    let mut raw = Raw::connect_to(addr).await;
    let nonce = [1u8; NONCE_LEN];
    let challenge = begin(&mut raw, "alice", nonce).await;
    let right = proof("alice", "1234", &nonce, &challenge);
    let wrong = proof("alice", "4321", &nonce, &challenge);
    assert_eq!(
        finish(&mut raw, challenge.challenge).await.unwrap_err(),
        LoginError::UnknownChallenge,
        "a login cannot be finished before it is proved"
    );
    assert_eq!(
        prove(&mut raw, challenge.challenge, wrong)
            .await
            .unwrap_err(),
        LoginError::Unauthorized
    );
    assert_eq!(
        prove(&mut raw, challenge.challenge, right)
            .await
            .unwrap_err(),
        LoginError::UnknownChallenge,
        "a wrong answer used the challenge up"
    );
    let challenge = begin(&mut raw, "alice", nonce).await;
    let right = proof("alice", "1234", &nonce, &challenge);
    assert!(prove(&mut raw, challenge.challenge, right).await.is_ok());
    assert_eq!(
        prove(&mut raw, challenge.challenge, right)
            .await
            .unwrap_err(),
        LoginError::UnknownChallenge,
        "so does a right one"
    );
    assert!(finish(&mut raw, challenge.challenge).await.is_ok());
    assert_eq!(
        finish(&mut raw, challenge.challenge).await.unwrap_err(),
        LoginError::UnknownChallenge,
        "and a login is finished once"
    );
}

#[tokio::test]
async fn a_captured_login_cannot_be_replayed() {
    let addr = start().await;
    // Eve captures Alice's whole exchange: the begin and the finish, byte for byte.
    let mut alice = Raw::connect_to(addr).await;
    let nonce = [3u8; NONCE_LEN];
    let challenge = begin(&mut alice, "alice", nonce).await;
    let captured = proof("alice", "1234", &nonce, &challenge);
    assert!(
        prove(&mut alice, challenge.challenge, captured)
            .await
            .is_ok()
    );

    // Replayed on a new connection, the same begin gets a fresh server nonce (and, here, even
    // the same challenge number), so the captured proof no longer matches.
    let mut eve = Raw::connect_to(addr).await;
    let fresh = begin(&mut eve, "alice", nonce).await;
    assert_eq!(fresh.challenge, challenge.challenge);
    assert_ne!(fresh.server_nonce, challenge.server_nonce);
    assert_eq!(
        prove(&mut eve, fresh.challenge, captured)
            .await
            .unwrap_err(),
        LoginError::Unauthorized
    );
    // Replayed on Alice's own connection, the challenge is spent.
    assert_eq!(
        prove(&mut alice, challenge.challenge, captured)
            .await
            .unwrap_err(),
        LoginError::UnknownChallenge
    );
}

#[tokio::test]
async fn unknown_users_look_like_known_ones() {
    let addr = start().await;
    let mut raw = Raw::connect_to(addr).await;
    let nonce = [5u8; NONCE_LEN];
    let known = begin(&mut raw, "alice", nonce).await;
    let unknown = begin(&mut raw, "mallory", nonce).await;
    let again = begin(&mut raw, "mallory", nonce).await;
    assert_eq!(unknown.iterations, known.iterations);
    assert_eq!(unknown.salt.len(), known.salt.len());
    assert_eq!(
        unknown.salt, again.salt,
        "a stable salt: no tell-tale change"
    );
    let guess = proof("mallory", "1234", &nonce, &unknown);
    assert_eq!(
        prove(&mut raw, unknown.challenge, guess).await.unwrap_err(),
        LoginError::Unauthorized
    );
}

#[tokio::test]
async fn alice_cannot_reach_bobs_objects_by_guessing_or_by_passing_the_wrong_object() {
    let addr = start().await;
    let mut bob = Raw::connect_to(addr).await;
    let bob_avatar = login(&mut bob, "bob", "secret").await;
    let bob_table = match bob.call(bob_avatar, "table", &()).await {
        Answer::Return { exports, .. } => exports[0],
        other => panic!("{other:?}"),
    };
    let mut alice = Raw::connect_to(addr).await;
    let alice_avatar = login(&mut alice, "alice", "1234").await;
    // Bob's ids mean nothing on Alice's connection (they may even name her own objects, which
    // is all she can ever reach).
    for guess in [bob_table + 50, bob_avatar + 50, 999] {
        assert_eq!(
            alice.call(guess, "sit", &()).await,
            Answer::Failed(Failure::NoSuchObject)
        );
    }
    // Her own table reference sits her as herself; it takes no sender argument to forge.
    let alice_table = match alice.call(alice_avatar, "table", &()).await {
        Answer::Return { exports, .. } => exports[0],
        other => panic!("{other:?}"),
    };
    match alice.call(alice_table, "sit", &()).await {
        Answer::Return { payload, .. } => {
            assert_eq!(postcard::from_bytes::<String>(&payload).unwrap(), "alice");
        }
        other => panic!("{other:?}"),
    }
    // Adding a sender anyway is a malformed call.
    assert!(matches!(
        alice
            .call_raw(alice_table, "sit", &receiver_ref(alice_avatar))
            .await,
        Answer::Failed(Failure::BadArguments(_))
    ));
}

#[tokio::test]
async fn alice_cannot_pass_a_group_where_a_user_is_expected() {
    let addr = start().await;
    let mut alice = Raw::connect_to(addr).await;
    let avatar = login(&mut alice, "alice", "1234").await;
    let table = match alice.call(avatar, "table", &()).await {
        Answer::Return { exports, .. } => exports[0],
        other => panic!("{other:?}"),
    };
    // Her table has a name-like identity too; handed where a player is expected, it is refused.
    match alice.call_raw(avatar, "greet", &receiver_ref(table)).await {
        Answer::Failed(Failure::WrongReferenceType { expected, found }) => {
            assert!(expected.ends_with(".Player"), "{expected}");
            assert!(found.ends_with(".Table"), "{found}");
        }
        other => panic!("{other:?}"),
    }
    // Her own avatar is accepted.
    match alice.call_raw(avatar, "greet", &receiver_ref(avatar)).await {
        Answer::Return { payload, .. } => assert_eq!(
            postcard::from_bytes::<String>(&payload).unwrap(),
            "alice greets alice"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_anonymous_raw_login_works_and_gets_its_own_avatar() {
    let addr = start().await;
    let mut raw = Raw::connect_to(addr).await;
    let grant: Grant = match raw.call(0, ANONYMOUS, &(None::<()>,)).await {
        Answer::Return { payload, .. } => postcard::from_bytes(&payload).unwrap(),
        other => panic!("{other:?}"),
    };
    assert!(grant.0.ends_with(".Player"));
    match raw.call(grant.1.1, "is_anonymous", &()).await {
        Answer::Return { payload, .. } => assert!(postcard::from_bytes::<bool>(&payload).unwrap()),
        other => panic!("{other:?}"),
    }
}

/// A fake portal that answers every challenge with `challenge` and every proof with a made-up
/// signature, as an impostor who does not know the password would; it records the methods
/// the client calls.
async fn fake_portal(
    challenge: (u64, Vec<u8>, u32, Nonce),
) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    use futures_util::{SinkExt, StreamExt};
    use tartine::wire::{FrameCodec, IdList, Message, PREAMBLE, decode_message};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_util::codec::Framed;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let called = Arc::new(Mutex::new(Vec::new()));
    let log = called.clone();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut theirs = [0u8; 8];
        stream.read_exact(&mut theirs).await.unwrap();
        stream.write_all(&PREAMBLE).await.unwrap();
        let mut framed = Framed::new(stream, FrameCodec::new(1 << 20));
        framed
            .send(common::raw::frame(
                Message::Hello {
                    root: Some("tartine.Portal"),
                    max_frame: 1 << 20,
                    max_refs: 16_384,
                },
                &[],
            ))
            .await
            .unwrap();
        while let Some(Ok(frame)) = framed.next().await {
            let Ok((Message::Call { call, method, .. }, _)) = decode_message(&frame) else {
                continue;
            };
            log.lock().unwrap().push(method.to_owned());
            let payload = match method {
                BEGIN => postcard::to_stdvec(&challenge).unwrap(),
                PROVE => postcard::to_stdvec(&[0u8; 32]).unwrap(),
                _ => continue,
            };
            let reply = common::raw::frame(
                Message::Return {
                    call,
                    exports: IdList::EMPTY,
                },
                &payload,
            );
            if framed.send(reply).await.is_err() {
                return;
            }
        }
    });
    (addr, called)
}

#[tokio::test]
async fn a_server_that_does_not_hold_the_verifier_is_caught_before_it_gets_the_mind() {
    let (addr, called) = fake_portal((1, vec![1u8; 16], 4096, [9u8; NONCE_LEN])).await;
    let connection = tartine::connect(addr).await.unwrap();
    let screen = Arc::new(Screen {
        lines: Mutex::new(Vec::new()),
    });
    assert_eq!(
        connection
            .login_with_mind::<Player, _>(LoginCredentials::password("alice", "1234"), screen)
            .await
            .unwrap_err(),
        LoginError::ServerNotVerified
    );
    assert_eq!(
        *called.lock().unwrap(),
        [BEGIN, PROVE],
        "the mind goes with `finish`, which a server that cannot prove itself never sees"
    );
}

#[tokio::test]
async fn without_a_mind_the_finish_goes_with_the_proof_and_a_fake_server_is_still_caught() {
    let (addr, called) = fake_portal((1, vec![1u8; 16], 4096, [9u8; NONCE_LEN])).await;
    let connection = tartine::connect(addr).await.unwrap();
    let login = connection.login::<Player>(LoginCredentials::password("alice", "1234"));
    let refused = tokio::time::timeout(std::time::Duration::from_secs(10), login)
        .await
        .expect("the proof's answer settles it: no wait for `finish`");
    assert_eq!(
        refused.unwrap_err(),
        LoginError::ServerNotVerified,
        "the server's signature is checked before any avatar is handed to the caller"
    );
    assert_eq!(
        *called.lock().unwrap(),
        [BEGIN, PROVE, FINISH],
        "one round trip sooner: `finish` right behind the proof"
    );
}

#[tokio::test]
async fn a_server_asking_for_a_weak_work_factor_gets_no_proof() {
    for (iterations, salt) in [(1, 16), (4095, 16), (2_000_000, 16), (4096, 0), (4096, 4)] {
        let (addr, called) = fake_portal((1, vec![1u8; salt], iterations, [9u8; NONCE_LEN])).await;
        let connection = tartine::connect(addr).await.unwrap();
        let refused = connection
            .login::<Player>(LoginCredentials::password("alice", "1234"))
            .await;
        assert!(
            matches!(refused, Err(LoginError::UnsafeChallenge(_))),
            "{iterations} iterations, {salt}-byte salt: {refused:?}"
        );
        assert_eq!(*called.lock().unwrap(), [BEGIN], "no proof was sent");
    }
}
