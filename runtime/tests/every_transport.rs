//! The same end-to-end set over every transport, each over a real socket or pipe: TCP, TLS, a
//! Unix domain socket, and an in-memory pipe. Each run logs in with a password and a mind,
//! calls, is called back, gets a viewable reference and hands its avatar back, then
//! disconnects, and the server runs the logout and forgets the connection.

mod common;

use common::eventually;
use common::login::{Club, Log, Player, Screen};
use std::sync::Mutex;
use tartine::cred::{InMemoryPasswords, LoginCredentials, Portal};
use tartine::{CloseReason, Config, Connection, Local, Server, ServerHandle};

/// A club with alice's password, and its log.
fn club() -> (Portal, Log) {
    let club = Club::new();
    let log = club.log.clone();
    let portal = Portal::new(club).with_checker(
        InMemoryPasswords::new()
            .with_user("alice", "wonderland")
            .expect("randomness"),
    );
    (portal, log)
}

/// Serves `portal` on `endpoint` with `config`; returns where it listens and its handle.
async fn serve(
    endpoint: &str,
    portal: Portal,
    config: Config,
) -> (tartine::Endpoint, ServerHandle) {
    let server = Server::bind_portal_with(endpoint, portal, config)
        .await
        .expect("bind");
    let bound = server.local_endpoint().expect("endpoint");
    let handle = server.handle();
    tokio::spawn(server.run());
    (bound, handle)
}

/// The set: `connection` is fresh, to `handle`'s server, whose club logs to `log`.
async fn end_to_end(connection: Connection, handle: &ServerHandle, log: &Log) {
    // Login with a mind.
    let screen = Local::new(Screen {
        lines: Mutex::new(Vec::new()),
    });
    let player = connection
        .login_with_mind::<Player, _>(
            LoginCredentials::password("alice", "wonderland"),
            screen.clone(),
        )
        .await
        .expect("login");
    // Calls.
    assert_eq!(player.foo(7).await.expect("call"), "I am alice, foo(7)");
    // A callback through the mind.
    assert_eq!(player.shout("hello".into()).await.expect("call"), 1);
    assert_eq!(*screen.lines.lock().unwrap(), ["alice: hello"]);
    // References: a viewable that knows its caller, and the avatar handed back.
    let imports = connection.stats().imports;
    let table = player.table().await.expect("call");
    assert_eq!(table.sit().await.expect("call"), "alice");
    assert_eq!(
        player.greet(&player).await.expect("call"),
        "alice greets alice"
    );
    drop(table);
    eventually("the table is released", || {
        connection.stats().imports == imports
    })
    .await;
    // Disconnect: the server runs the logout and forgets the connection.
    connection.close();
    assert_eq!(connection.closed().await, CloseReason::Local);
    eventually("the server logged alice out", || {
        log.lock()
            .unwrap()
            .iter()
            .any(|line| line == "logout alice")
    })
    .await;
    eventually("the server forgot the connection", || {
        handle.stats().connections == 0
    })
    .await;
}

#[tokio::test]
async fn over_tcp() {
    let (portal, log) = club();
    let (endpoint, handle) = serve("tcp://127.0.0.1:0", portal, Config::default()).await;
    let connection = tartine::connect(&endpoint).await.expect("connect");
    end_to_end(connection, &handle, &log).await;
}

#[cfg(unix)]
#[tokio::test]
async fn over_a_unix_socket() {
    let path = std::env::temp_dir().join(format!("tartine-e2e-{}.sock", std::process::id()));
    let (portal, log) = club();
    let (endpoint, handle) = serve(
        &format!("unix:{}", path.display()),
        portal,
        Config::default(),
    )
    .await;
    let connection = tartine::connect(&endpoint).await.expect("connect");
    end_to_end(connection, &handle, &log).await;
}

#[tokio::test]
async fn over_an_in_memory_pipe() {
    let (portal, log) = club();
    let (_, handle) = serve("tcp://127.0.0.1:0", portal, Config::default()).await;
    let connection = handle.connect_in_memory().await.expect("connect");
    end_to_end(connection, &handle, &log).await;
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn over_tls() {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let mut config = Config::default();
    config.tls_server = Some(
        tartine::TlsServerConfig::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
            .expect("settings"),
    );
    let (portal, log) = club();
    let (endpoint, handle) = serve("tls://127.0.0.1:0", portal, config).await;
    let tartine::Endpoint::Tls { port, .. } = endpoint else {
        panic!("a TLS endpoint: {endpoint}")
    };
    let mut client = Config::default();
    client.tls_client =
        Some(tartine::TlsClientConfig::pinned_pem(cert.pem().as_bytes()).expect("pin"));
    let connection = tartine::connect_with(format!("tls://localhost:{port}"), client)
        .await
        .expect("connect");
    end_to_end(connection, &handle, &log).await;
}
