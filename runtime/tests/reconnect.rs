//! The reconnecting client over real sockets: the server is stopped mid-session and started
//! again on the same address, and the client goes on after a new login; a hundred such cycles
//! leave the heap and the tables where they started. The tests run one at a time, since the
//! heap is the whole process's.

mod common;

use common::counting::{Counting, held};
use common::login::{Club, Log, Player};
use std::net::SocketAddr;
use std::time::Duration;
use tartine::cred::{InMemoryPasswords, LoginCredentials, Portal};
use tartine::{
    Backoff, CallError, ReconnectError, ReconnectEvent, ReconnectEvents, Reconnecting, Server,
    ServerHandle,
};
use tokio::task::JoinHandle;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One test at a time: the heap is the whole process's.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A club server on `addr` (port 0: any), with alice's password; returns where it listens.
async fn start_club(addr: SocketAddr, log: &Log) -> (SocketAddr, ServerHandle, JoinHandle<()>) {
    let mut club = Club::new();
    club.log = log.clone();
    let portal = Portal::new(club).with_checker(
        InMemoryPasswords::with_iterations(FEW_ITERATIONS)
            .with_user("alice", "wonderland")
            .expect("randomness"),
    );
    let server = Server::bind_portal(addr, portal).await.expect("bind");
    let addr = server.local_addr().expect("address");
    let handle = server.handle();
    let running = tokio::spawn(async move {
        let _ = server.run().await;
    });
    (addr, handle, running)
}

/// Stops the server and waits until its listener is gone, so its address is free again.
async fn stop(handle: ServerHandle, running: JoinHandle<()>) {
    handle.shutdown(Duration::ZERO).await;
    running.await.expect("the server task ends");
}

/// Waits for the next event that `wanted` accepts, skipping others.
async fn until(events: &mut ReconnectEvents, wanted: impl Fn(&ReconnectEvent) -> bool) {
    let next = async {
        loop {
            match events.next().await {
                Some(event) if wanted(&event) => return,
                Some(_) => {}
                None => panic!("the client is gone"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), next)
        .await
        .expect("the event comes");
}

/// A cheap key derivation: a hundred logins in a debug build stay quick.
const FEW_ITERATIONS: u32 = 16;

/// A client that accepts the cheap derivation.
fn client_config() -> tartine::Config {
    let mut config = tartine::Config::default();
    config.min_login_iterations = FEW_ITERATIONS;
    config
}

fn quick() -> Backoff {
    Backoff::new(Duration::from_millis(5), Duration::from_millis(50))
}

/// Alice, logged in to `addr`, reconnecting quickly.
async fn alice(addr: SocketAddr) -> Reconnecting {
    Reconnecting::builder(addr)
        .expect("endpoint")
        .backoff(quick())
        .config(client_config())
        .login::<Player>(LoginCredentials::password("alice", "wonderland"))
        .start()
        .await
        .expect("the first login")
}

#[tokio::test]
async fn the_client_goes_on_after_the_server_restarts() {
    let _serial = SERIAL.lock().await;
    let log = Log::default();
    let (addr, handle, running) = start_club("127.0.0.1:0".parse().expect("address"), &log).await;
    let client = alice(addr).await;
    let mut events = client.events();
    let player = client.avatar::<Player>().expect("logged in");
    assert_eq!(player.name().await.expect("call"), "alice");

    stop(handle, running).await;
    until(&mut events, |event| {
        matches!(event, ReconnectEvent::Disconnected { .. })
    })
    .await;
    // While down: no avatar, and the old reference fails at once.
    assert!(matches!(
        client.avatar::<Player>(),
        Err(ReconnectError::Disconnected)
    ));
    assert_eq!(player.name().await, Err(CallError::ConnectionLost));

    let (_, handle, _running) = start_club(addr, &log).await;
    until(&mut events, |event| {
        matches!(event, ReconnectEvent::Connected { .. })
    })
    .await;
    let player = client.avatar::<Player>().expect("logged in again");
    assert_eq!(player.name().await.expect("call"), "alice");
    assert_eq!(
        log.lock()
            .unwrap()
            .iter()
            .filter(|line| *line == "login alice")
            .count(),
        2,
        "a new login on the new server"
    );
    assert_eq!(handle.stats().logins, 1);

    client.close();
    until(&mut events, |event| {
        matches!(event, ReconnectEvent::Stopped { error: None, .. })
    })
    .await;
    common::eventually("the server saw the client go", || {
        handle.stats().connections == 0
    })
    .await;
}

#[tokio::test]
async fn a_hundred_restarts_leave_the_heap_and_tables_where_they_started() {
    let _serial = SERIAL.lock().await;
    let log = Log::default();
    let (addr, mut handle, mut running) =
        start_club("127.0.0.1:0".parse().expect("address"), &log).await;
    let client = alice(addr).await;
    let mut events = client.events();
    let cycle = |player: tartine::Remote<Player>| async move {
        assert_eq!(player.foo(1).await.expect("call"), "I am alice, foo(1)");
    };
    cycle(client.avatar::<Player>().expect("logged in")).await;
    let first = client.connection().expect("connected").stats();
    let mut baseline = None;
    for round in 0..100 {
        stop(handle, running).await;
        until(&mut events, |event| {
            matches!(event, ReconnectEvent::Disconnected { .. })
        })
        .await;
        (_, handle, running) = start_club(addr, &log).await;
        until(&mut events, |event| {
            matches!(event, ReconnectEvent::Connected { .. })
        })
        .await;
        cycle(client.avatar::<Player>().expect("logged in again")).await;
        log.lock().unwrap().clear();
        if round == 9 {
            // After ten rounds every lazy structure (tokio's, the allocator's) is warm.
            baseline = Some(held());
        }
    }
    let stats = client.connection().expect("connected").stats();
    assert_eq!(
        (stats.exports, stats.imports, stats.pending_calls),
        (first.exports, first.imports, first.pending_calls),
        "the tables of the connection now are those of the first"
    );
    assert_eq!(
        handle.stats().connections,
        1,
        "one connection on the server"
    );
    let grown = held().saturating_sub(baseline.expect("measured"));
    println!("heap after 90 more restarts: {grown} bytes above the baseline");
    assert!(
        grown < 64 * 1024,
        "the heap grew by {grown} bytes over 90 restarts"
    );
    client.close();
    stop(handle, running).await;
}

#[tokio::test]
async fn refused_credentials_stop_a_client_built_to_stop_then() {
    let _serial = SERIAL.lock().await;
    let log = Log::default();
    let (addr, handle, running) = start_club("127.0.0.1:0".parse().expect("address"), &log).await;
    let client = Reconnecting::builder(addr)
        .expect("endpoint")
        .backoff(quick())
        .config(client_config())
        .stop_when_refused()
        .login::<Player>(LoginCredentials::password("alice", "wonderland"))
        .start()
        .await
        .expect("the first login");
    let mut events = client.events();
    stop(handle, running).await;
    // The new server does not know alice's password any more.
    let portal = Portal::new(Club::new()).with_checker(
        InMemoryPasswords::with_iterations(FEW_ITERATIONS)
            .with_user("alice", "changed")
            .expect("randomness"),
    );
    let server = Server::bind_portal(addr, portal).await.expect("bind");
    let handle = server.handle();
    tokio::spawn(server.run());
    until(&mut events, |event| {
        matches!(event, ReconnectEvent::Stopped { error: Some(_), .. })
    })
    .await;
    assert!(client.connected().await.is_err(), "stopped for good");
    common::eventually("the refused connection is gone", || {
        handle.stats().connections == 0
    })
    .await;
}

#[tokio::test]
async fn a_login_throttled_by_a_guesser_is_retried_until_the_throttle_lets_it_in() {
    let _serial = SERIAL.lock().await;
    // One failure fills a user's bucket, which drains in 3 s.
    let mut config = tartine::Config::default();
    config.failed_logins_per_user = tartine::RateLimit::new(1, Duration::from_secs(3));
    config.failed_login_delay = Duration::from_millis(10);
    let portal = Portal::new(Club::new()).with_checker(
        InMemoryPasswords::with_iterations(FEW_ITERATIONS)
            .with_user("alice", "wonderland")
            .expect("randomness"),
    );
    let serve = |addr: SocketAddr| {
        let portal = portal.clone();
        let config = config.clone();
        async move {
            let server = Server::bind_portal_with(addr, portal, config)
                .await
                .expect("bind");
            let addr = server.local_addr().expect("address");
            let handle = server.handle();
            let running = tokio::spawn(async move {
                let _ = server.run().await;
            });
            (addr, handle, running)
        }
    };
    let (addr, handle, running) = serve("127.0.0.1:0".parse().expect("address")).await;
    let client = alice(addr).await;
    let mut events = client.events();
    // Mallory guesses alice's password once: her bucket is full, so alice's own logins are
    // refused unchecked, with the answer a wrong password gets, for the next 3 s.
    let mallory = tartine::connect_with(addr, client_config())
        .await
        .expect("connect");
    let guess = mallory
        .login::<Player>(LoginCredentials::password("alice", "guess"))
        .await;
    assert!(guess.is_err());
    // The server restarts (same portal, same throttle) while alice's bucket is full.
    stop(handle, running).await;
    let (_, handle, running) = serve(addr).await;
    until(&mut events, |event| {
        matches!(event, ReconnectEvent::Retrying { refused: true, .. })
    })
    .await;
    until(&mut events, |event| {
        matches!(event, ReconnectEvent::Connected { .. })
    })
    .await;
    let player = client.avatar::<Player>().expect("logged in again");
    assert_eq!(player.name().await.expect("call"), "alice");
    client.close();
    stop(handle, running).await;
}

/// A server that finishes each handshake, then hangs up at once; counts the connections.
async fn hanging_up_server() -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use futures_util::{SinkExt, StreamExt};
    use tartine::wire::{FrameCodec, Message, Outgoing, PREAMBLE};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut theirs = [0u8; 8];
                stream.write_all(&PREAMBLE).await?;
                stream.read_exact(&mut theirs).await?;
                let mut framed = tokio_util::codec::Framed::new(stream, FrameCodec::new(1 << 20));
                let hello = Message::Hello {
                    root: None,
                    max_frame: 1 << 20,
                    max_refs: 16,
                };
                let header = hello.encode().map_err(std::io::Error::other)?;
                framed
                    .send(Outgoing::new(header, bytes::Bytes::new()))
                    .await?;
                let _their_hello = framed.next().await;
                std::io::Result::Ok(())
            });
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn a_server_that_drops_each_connection_at_once_is_tried_ever_less_often() {
    let _serial = SERIAL.lock().await;
    let (addr, accepted) = hanging_up_server().await;
    let client = Reconnecting::builder(addr)
        .expect("endpoint")
        .backoff(Backoff::new(
            Duration::from_millis(10),
            Duration::from_millis(400),
        ))
        .start()
        .await
        .expect("the first connection");
    tokio::time::sleep(Duration::from_secs(2)).await;
    client.close();
    // Waits of 10, 20, 40 ... 400 ms (each between half and all of it): at most about 14
    // connections in 2 s. Counting from 10 ms again after each one, it would be 150 or more.
    let made = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!((3..=20).contains(&made), "{made} connections in 2 s");
}
