//! Alice against the chat server, through the typed API: she cannot send as anyone else,
//! cannot use references handed to bob, and her messages reach people through their minds.

use chat_client::Member;
use chat_protocol::{ChatError, Group, User};
use std::time::Duration;
use tartine::{CallError, RemoteError, Server};
use tartine_examples::chat;

async fn start() -> (std::net::SocketAddr, tartine::ServerHandle) {
    let server = Server::bind_portal(
        "127.0.0.1:0",
        chat::portal().expect("randomness for the salts"),
    )
    .await
    .expect("bind");
    let addr = server.local_addr().expect("addr");
    let handle = server.handle();
    tokio::spawn(server.run());
    (addr, handle)
}

/// Alice and Bob, logged in, both in `group`; returns Alice's reference to it.
async fn alice_and_bob_in(
    addr: std::net::SocketAddr,
    group: &str,
    allow_mattress: bool,
) -> (Member, Member, tartine::Remote<dyn Group>) {
    let alice = chat_client::join(addr, "alice", "1234", false)
        .await
        .expect("alice");
    let bob = chat_client::join(addr, "bob", "secret", false)
        .await
        .expect("bob");
    let room = alice
        .user
        .join_group(group.into(), allow_mattress)
        .await
        .expect("call")
        .expect("joined");
    let _ = bob
        .user
        .join_group(group.into(), allow_mattress)
        .await
        .expect("call");
    (alice, bob, room)
}

#[tokio::test]
async fn alice_can_only_ever_speak_as_alice() {
    let (addr, _handle) = start().await;
    let (_alice, bob, group) = alice_and_bob_in(addr, "#g", true).await;
    // The proxy's `send` takes the message only: there is no sender to forge.
    // `send` returns once every member's screen took the line (or its deadline passed).
    assert_eq!(group.send("i like pork".into()).await, Ok(2));
    assert_eq!(bob.screen.lines(), ["<alice> says: i like pork"]);
}

#[tokio::test]
async fn references_handed_to_bob_are_refused_on_alices_connection() {
    let (addr, _handle) = start().await;
    let alice = chat_client::join(addr, "alice", "1234", false)
        .await
        .expect("alice");
    let bob = chat_client::join(addr, "bob", "secret", false)
        .await
        .expect("bob");
    let bobs_group = bob
        .user
        .join_group("#g".into(), true)
        .await
        .expect("call")
        .expect("joined");
    assert_eq!(
        alice.user.leave_group(&bobs_group).await,
        Err(CallError::ForeignReference)
    );
    // Bob's own reference still works for Bob.
    assert!(bob.user.leave_group(&bobs_group).await.expect("call"));
}

#[tokio::test]
async fn the_mattress_rule_raises_to_the_sender_only() {
    let (addr, _handle) = start().await;
    let (_alice, bob, group) = alice_and_bob_in(addr, "#strict", false).await;
    assert_eq!(
        group.send("MATTRESS".into()).await,
        Err(RemoteError::Method(ChatError::ForbiddenWord(
            "mattress".into()
        )))
    );
    // Refused before any delivery started.
    assert!(bob.screen.lines().is_empty());
}

#[tokio::test]
async fn a_user_who_leaves_is_detached_and_the_group_goes_on() {
    let (addr, handle) = start().await;
    let (_alice, bob, group) = alice_and_bob_in(addr, "#g", true).await;
    let carol = chat_client::join(addr, "carol", "fido", false)
        .await
        .expect("carol");
    let _ = carol.user.join_group("#g".into(), true).await;
    drop(bob);
    for _ in 0..500 {
        if handle.stats().logins == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(handle.stats().logins, 2, "bob's logout ran");
    assert_eq!(group.send("still here?".into()).await, Ok(2));
    assert_eq!(carol.screen.lines(), ["<alice> says: still here?"]);
}

/// A screen that takes the server's call and never answers it.
#[derive(Debug)]
pub struct FrozenScreen;

#[tartine::referenceable]
impl chat_protocol::Screen for FrozenScreen {
    /// Never returns.
    async fn print(&self, _message: String) {
        std::future::pending::<()>().await;
    }
}

#[tokio::test]
async fn a_member_whose_screen_never_answers_holds_up_nobody() {
    // Time enough for alice's and bob's screens on a loaded machine, well short of the
    // default (2 s) that the test tells it apart from.
    let timeout = Duration::from_millis(800);
    let portal = chat::portal_with(chat::ChatRealm::with_delivery_timeout(timeout))
        .expect("randomness for the salts");
    let server = Server::bind_portal("127.0.0.1:0", portal)
        .await
        .expect("bind");
    let addr = server.local_addr().expect("addr");
    tokio::spawn(server.run());
    let (_alice, bob, group) = alice_and_bob_in(addr, "#g", true).await;
    // Carol's client gives a screen that never answers, and joins.
    let carol = tartine::connect(addr).await.expect("connect");
    let carol_user: tartine::Remote<dyn User> = carol
        .login_with_mind(
            tartine::cred::LoginCredentials::password("carol", "fido"),
            FrozenScreen,
        )
        .await
        .expect("login");
    let _ = carol_user
        .join_group("#g".into(), true)
        .await
        .expect("call");
    for line in ["one", "two"] {
        let started = tokio::time::Instant::now();
        let reached = tokio::time::timeout(Duration::from_secs(5), group.send(line.into()))
            .await
            .expect("the group is not frozen")
            .expect("sent");
        assert_eq!(reached, 2, "alice and bob, not carol");
        // This realm's delivery timeout, not the default one (2 s), held carol's line back.
        assert!(started.elapsed() < chat::DELIVERY_TIMEOUT);
    }
    assert_eq!(
        bob.screen.lines(),
        ["<alice> says: one", "<alice> says: two"]
    );
}
