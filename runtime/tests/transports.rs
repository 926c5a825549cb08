//! Connections over each transport, opened from endpoints: TCP by `tcp://` text and by
//! address, Unix domain sockets, any stream handed to a server, in-memory pipes; and endpoints
//! that do not parse.

mod common;

use common::login::{Club, Player};
use common::{Echo, Live};
use tartine::cred::{AllowAnonymous, InMemoryPasswords, LoginCredentials, Portal};
use tartine::{Config, ConnectError, Endpoint, Server};

async fn echo_once(connection: &tartine::Connection) -> String {
    let echo = connection.root::<Echo>().expect("the root is the echo");
    echo.echo("over the wire".into()).await.expect("the call")
}

#[tokio::test]
async fn a_tcp_endpoint_in_text_binds_and_connects() {
    let server = Server::bind("tcp://127.0.0.1:0", Echo::new(Live::default()))
        .await
        .expect("bind");
    let endpoint = server.local_endpoint().expect("endpoint");
    let Endpoint::Tcp { ref host, port } = endpoint else {
        panic!("a TCP endpoint: {endpoint}")
    };
    assert_eq!(host, "127.0.0.1");
    assert_ne!(port, 0, "the port the server picked");
    let addr = server.local_addr().expect("address");
    tokio::spawn(server.run());

    let by_text = tartine::connect(endpoint.to_string())
        .await
        .expect("by text");
    assert_eq!(echo_once(&by_text).await, "over the wire");
    let by_endpoint = tartine::connect(&endpoint).await.expect("by endpoint");
    assert_eq!(echo_once(&by_endpoint).await, "over the wire");
    let by_address = tartine::connect(addr).await.expect("by address");
    assert_eq!(echo_once(&by_address).await, "over the wire");
    let by_name = tartine::connect(format!("tcp://localhost:{port}")).await;
    // `localhost` may resolve to ::1 first, where nothing listens; either way, no panic.
    if let Ok(connection) = by_name {
        assert_eq!(echo_once(&connection).await, "over the wire");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_unix_socket_serves_logins_and_is_removed_after() {
    let folder = tempfile_folder();
    let path = folder.join("chat.sock");
    let endpoint = format!("unix:{}", path.display());
    let portal = Portal::new(Club::new()).with_checker(
        InMemoryPasswords::new()
            .with_user("alice", "wonderland")
            .expect("randomness"),
    );
    let server = Server::bind_portal(endpoint.as_str(), portal)
        .await
        .expect("bind");
    assert_eq!(
        server.local_endpoint().expect("endpoint"),
        Endpoint::Unix(path.clone())
    );
    assert!(server.local_addr().is_err(), "a Unix socket has no IP");
    let handle = server.handle();
    let running = tokio::spawn(server.run());

    let connection = tartine::connect(endpoint.as_str()).await.expect("connect");
    assert_eq!(connection.peer_addr(), None);
    let player = connection
        .login::<Player>(LoginCredentials::password("alice", "wonderland"))
        .await
        .expect("login over the Unix socket");
    assert_eq!(player.name().await.expect("call"), "alice");

    // A second server on the same live socket is refused.
    let second = Server::bind(endpoint.as_str(), Echo::new(Live::default())).await;
    let error = second.expect_err("the socket is taken");
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse, "{error}");

    handle.shutdown(std::time::Duration::ZERO).await;
    running.await.expect("joined").expect("ran");
    assert!(!path.exists(), "the socket file is removed with the server");
}

#[cfg(unix)]
#[tokio::test]
async fn a_stale_unix_socket_is_replaced_and_another_file_is_not() {
    let folder = tempfile_folder();
    let path = folder.join("stale.sock");
    // A socket file whose server is gone.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    assert!(path.exists());
    let server = Server::bind(
        format!("unix:{}", path.display()),
        Echo::new(Live::default()),
    )
    .await
    .expect("a stale socket is replaced");
    tokio::spawn(server.run());
    let connection = tartine::connect(Endpoint::Unix(path.clone()))
        .await
        .expect("connect");
    assert_eq!(echo_once(&connection).await, "over the wire");

    let file = folder.join("notes.txt");
    std::fs::write(&file, "keep me").expect("write");
    let error = Server::bind(Endpoint::Unix(file.clone()), Echo::new(Live::default()))
        .await
        .expect_err("a plain file is not replaced");
    assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists, "{error}");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "keep me");
}

#[tokio::test]
async fn a_stream_handed_to_the_server_is_served_like_an_accepted_one() {
    let mut config = Config::default();
    config.max_connections = 2;
    let server = Server::bind_portal_with(
        "127.0.0.1:0",
        Portal::new(Club::new()).with_checker(AllowAnonymous),
        config,
    )
    .await
    .expect("bind");
    let handle = server.handle();
    tokio::spawn(server.run());

    let first = handle.connect_in_memory().await.expect("in memory");
    let player = first
        .login::<Player>(LoginCredentials::anonymous())
        .await
        .expect("login in memory");
    assert!(player.is_anonymous().await.expect("call"));

    let (ours, theirs) = tokio::io::duplex(4096);
    handle.serve_stream(theirs);
    let second = tartine::connect_stream(ours, Config::default())
        .await
        .expect("over a stream");
    second
        .login::<Player>(LoginCredentials::anonymous())
        .await
        .expect("login over a stream");
    common::eventually("both are counted", || handle.stats().connections == 2).await;

    // The server's limits hold for streams too: a third is refused.
    let third = handle.connect_in_memory().await;
    assert!(third.is_err(), "over max_connections: {third:?}");

    handle.shutdown(std::time::Duration::ZERO).await;
    let after = handle.connect_in_memory().await;
    assert!(after.is_err(), "a shut down server serves no stream");
}

#[tokio::test]
async fn an_endpoint_that_does_not_parse_is_a_typed_error() {
    let error = tartine::connect("tpc://127.0.0.1:1")
        .await
        .expect_err("no such scheme");
    let ConnectError::Endpoint(error) = error else {
        panic!("an endpoint error: {error:?}")
    };
    assert!(
        error
            .to_string()
            .contains("expected `tcp://host:port`, `tls://host:port` or `unix:/path`"),
        "{error}"
    );

    let error = Server::bind("127.0.0.1", Echo::new(Live::default()))
        .await
        .expect_err("no port");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("the port is missing"), "{error}");
}

/// A fresh folder under the system's temporary folder, for socket files.
#[cfg(unix)]
fn tempfile_folder() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let folder = std::env::temp_dir().join(format!(
        "tartine-transports-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("temp folder");
    folder
}

/// A stream that counts the writes that reach it.
struct CountingWrites<S> {
    inner: S,
    writes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for CountingWrites<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for CountingWrites<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let written = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(written, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.writes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        written
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A peer that is not known to share the server's thread (a stream handed to the server) gets
/// the replies to a burst of calls as they are worked through, 16 at a time, so it can start
/// on them at once; all of them arrive, right.
#[tokio::test]
async fn the_replies_to_a_burst_leave_as_it_is_worked_through() {
    let server = Server::bind("127.0.0.1:0", Echo::new(Live::default()))
        .await
        .expect("bind");
    let handle = server.handle();
    tokio::spawn(server.run());
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let writes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    handle.serve_stream(CountingWrites {
        inner: theirs,
        writes: std::sync::Arc::clone(&writes),
    });
    let connection = tartine::connect_stream(ours, Config::default())
        .await
        .expect("over a stream");
    let echo = connection.root::<Echo>().expect("the root is the echo");
    assert_eq!(echo.add(1, 2).await.expect("a call"), 3);
    let before = writes.load(std::sync::atomic::Ordering::SeqCst);
    let sums = futures_util::future::join_all((0..64).map(|i| echo.add(i, 1))).await;
    for (i, sum) in (0..64).zip(sums) {
        assert_eq!(sum.expect("a call"), i + 1);
    }
    let replies = writes.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(
        (4..=64).contains(&replies),
        "64 replies left in {replies} writes: at least one per 16"
    );
}

/// Over a stream that takes 4 KiB at a time, a frame with a large payload is written in part
/// by the task that sends it and the rest by the writer task, from the payload's own buffer:
/// every byte arrives, in order, both ways.
#[tokio::test]
async fn large_frames_cross_a_narrow_stream_whole() {
    let server = Server::bind("127.0.0.1:0", Echo::new(Live::default()))
        .await
        .expect("bind");
    let handle = server.handle();
    tokio::spawn(server.run());
    let (ours, theirs) = tokio::io::duplex(4096);
    handle.serve_stream(theirs);
    let connection = tartine::connect_stream(ours, Config::default())
        .await
        .expect("over a stream");
    let echo = connection.root::<Echo>().expect("the root is the echo");
    let sizes = [16 * 1024, 16 * 1024 + 1, 100_000, 256 * 1024, 300_000];
    for (i, len) in sizes.into_iter().enumerate() {
        let payload: Vec<u8> = (0..len).map(|j| (i * 31 + j % 253) as u8).collect();
        let payload = tartine::Bytes::from(payload);
        let echoed = echo.echo_bytes(payload.clone()).await.expect("echoed");
        assert!(echoed == payload, "{len} bytes echoed whole");
    }
}
