//! Connections coming and going: pending calls fail when the peer goes, the server keeps
//! serving others, and the root is type-checked.

mod common;

use common::*;
use std::time::Duration;
use tartine::{CallError, RootError};

#[tokio::test]
async fn pending_calls_fail_when_the_server_goes_away() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    let hanging = tokio::spawn({
        let echo = echo.clone();
        async move { echo.hang().await }
    });
    server.hanging(1).await;
    assert_eq!(connection.stats().pending_calls, 1);
    server.handle.shutdown(Duration::ZERO).await;
    let result = tokio::time::timeout(Duration::from_secs(5), hanging)
        .await
        .expect("the pending call ends")
        .unwrap();
    assert_eq!(result, Err(CallError::ConnectionLost));
    assert_eq!(echo.add(1, 2).await, Err(CallError::ConnectionLost));
    assert!(echo.is_disconnected());
    tokio::time::timeout(Duration::from_secs(5), connection.closed())
        .await
        .expect("closed");
}

#[tokio::test]
async fn the_server_keeps_serving_other_connections() {
    let server = start_server().await;
    let (first, first_echo) = connect(&server).await;
    let (_second, second_echo) = connect(&server).await;
    let hanging = tokio::spawn({
        let echo = first_echo.clone();
        async move { echo.hang().await }
    });
    server.hanging(1).await;
    first.close();
    assert_eq!(hanging.await.unwrap(), Err(CallError::ConnectionLost));
    assert_eq!(second_echo.add(20, 22).await.unwrap(), 42);
    let (_third, third_echo) = connect(&server).await;
    assert_eq!(
        third_echo.echo("still here".into()).await.unwrap(),
        "still here"
    );
}

#[tokio::test]
async fn the_root_is_type_checked() {
    let server = start_server().await;
    let connection = tartine::connect(server.addr).await.unwrap();
    match connection.root::<Group>() {
        Err(RootError::WrongType { expected, found }) => {
            assert!(expected.ends_with(".Group"));
            assert!(found.ends_with(".Echo"));
        }
        other => panic!("expected WrongType, got {other:?}"),
    }
    let echo = connection.root::<Echo>().unwrap();
    assert_eq!(echo.add(1, 1).await.unwrap(), 2);
}

#[tokio::test]
async fn a_connection_to_nothing_fails_cleanly() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    assert!(matches!(
        tartine::connect(addr).await,
        Err(tartine::ConnectError::Io(_))
    ));
}

#[tokio::test]
async fn connections_past_the_limit_are_refused() {
    let mut config = tartine::Config::default();
    config.max_connections = 2;
    let server = start_server_with(config).await;
    let (_a, echo_a) = connect(&server).await;
    let (b, _echo_b) = connect(&server).await;
    assert!(matches!(
        tartine::connect(server.addr).await,
        Err(tartine::ConnectError::Handshake(_))
    ));
    assert_eq!(echo_a.add(1, 1).await.unwrap(), 2, "the others go on");
    b.close();
    let mut admitted = None;
    for _ in 0..100 {
        if let Ok(connection) = tartine::connect(server.addr).await {
            admitted = Some(connection);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted.is_some(), "a freed place admits a new connection");
}

#[tokio::test]
async fn a_call_timeout_bounds_the_wait_for_a_silent_peer() {
    let server = start_server().await;
    let mut config = tartine::Config::default();
    config.call_timeout = Some(Duration::from_millis(100));
    let connection = tartine::connect_with(server.addr, config).await.unwrap();
    let echo = connection.root::<Echo>().unwrap();
    assert_eq!(echo.hang().await, Err(CallError::TimedOut));
    assert_eq!(
        connection.stats().pending_calls,
        0,
        "the abandoned call is forgotten"
    );
    let patient = echo.with_timeout(Some(Duration::from_secs(10)));
    assert_eq!(
        patient.add(2, 3).await.unwrap(),
        5,
        "and the connection goes on"
    );
}

#[tokio::test]
async fn an_idle_connection_stays_open_its_runtime_answers_pings() {
    let mut config = tartine::Config::default();
    config.keepalive = Some(Duration::from_millis(50));
    let server = start_server_with(config.clone()).await;
    let connection = tartine::connect_with(server.addr, config).await.unwrap();
    let echo = connection.root::<Echo>().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!connection.is_closed());
    assert_eq!(echo.add(1, 2).await.unwrap(), 3);
}

#[tokio::test]
async fn a_call_the_caller_gave_up_on_is_cancelled_on_the_server() {
    let mut server_config = tartine::Config::default();
    server_config.max_calls_in_flight = 2;
    let server = start_server_with(server_config).await;
    let mut config = tartine::Config::default();
    config.call_timeout = Some(Duration::from_millis(50));
    let connection = tartine::connect_with(server.addr, config).await.unwrap();
    let echo = connection.root::<Echo>().unwrap();
    // Without cancellation the two hanging calls would fill the server's slots and the
    // following ones would be refused as busy.
    for _ in 0..5 {
        assert_eq!(echo.hang().await, Err(CallError::TimedOut));
    }
    let patient = echo.with_timeout(Some(Duration::from_secs(10)));
    assert_eq!(patient.add(20, 22).await.unwrap(), 42);
}

#[test]
fn a_connection_whose_runtime_shuts_down_is_closed_for_its_references_elsewhere() {
    // A server on a runtime of its own, for the whole test.
    let server_runtime = tokio::runtime::Runtime::new().unwrap();
    let server = server_runtime.block_on(start_server());
    // A client connection made on a runtime that then shuts down, with a call in flight.
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (connection, echo) = client_runtime.block_on(connect(&server));
    let hanging = client_runtime.spawn({
        let echo = echo.clone();
        async move { echo.hang().await }
    });
    client_runtime.block_on(async {
        while connection.stats().pending_calls == 0 {
            tokio::task::yield_now().await;
        }
    });
    drop(hanging);
    drop(client_runtime);
    // The references moved to another runtime know their connection is gone, and fail at
    // once instead of waiting for ever.
    assert!(echo.is_disconnected());
    assert!(connection.is_closed());
    let other_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = other_runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(5), echo.add(1, 1)).await });
    assert_eq!(outcome, Ok(Err(CallError::ConnectionLost)));
    let reason = other_runtime.block_on(connection.closed());
    assert_eq!(reason, tartine::CloseReason::RuntimeGone);
    drop(server_runtime);
}

#[tokio::test(start_paused = true)]
async fn a_method_and_a_caller_may_set_their_own_deadline() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    // The method's own deadline, 100 ms, rather than the connection's 30 s.
    let started = tokio::time::Instant::now();
    assert_eq!(echo.hang_briefly().await, Err(CallError::TimedOut));
    assert_eq!(started.elapsed(), Duration::from_millis(100));
    // A caller's deadline wins over both.
    let started = tokio::time::Instant::now();
    let hurried = echo.with_timeout(Some(Duration::from_millis(20)));
    assert_eq!(hurried.hang().await, Err(CallError::TimedOut));
    assert_eq!(hurried.hang_briefly().await, Err(CallError::TimedOut));
    assert_eq!(started.elapsed(), Duration::from_millis(40));
    let patient = echo.with_timeout(Some(Duration::from_secs(60)));
    assert_eq!(patient.delayed(1_000, 7).await, Ok(7));
    // And the connection's default applies to the others.
    let started = tokio::time::Instant::now();
    assert_eq!(echo.hang().await, Err(CallError::TimedOut));
    assert_eq!(started.elapsed(), Duration::from_secs(30));
}

/// A graceful shutdown: the call running finishes and its caller gets its value; a new call
/// is refused as `ShuttingDown`; then the connection closes, and new ones are refused.
#[tokio::test]
async fn a_graceful_shutdown_finishes_running_calls_and_refuses_new_ones() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    let running = tokio::spawn({
        let echo = echo.clone();
        async move { echo.gated(7).await }
    });
    server.hanging(1).await;
    let shutdown = server.handle.shutdown(Duration::from_secs(30));
    assert_eq!(echo.add(1, 2).await, Err(CallError::ShuttingDown));
    assert!(!connection.is_closed(), "open while a call runs");
    server.gate.add_permits(1);
    assert_eq!(running.await.unwrap(), Ok(7), "the running call finished");
    tokio::time::timeout(Duration::from_secs(5), shutdown)
        .await
        .expect("the shutdown ends once the call is done, long before its grace");
    tokio::time::timeout(Duration::from_secs(5), connection.closed())
        .await
        .expect("closed");
    // A reference tells that its connection is gone, and why.
    let reason = tokio::time::timeout(Duration::from_secs(5), echo.disconnected())
        .await
        .expect("told");
    assert_eq!(reason, tartine::CloseReason::PeerClosed);
    assert!(
        tartine::connect(server.addr).await.is_err(),
        "a shut down server accepts no connection"
    );
}

/// Calls still running when the grace period ends are cut: their callers get
/// `ConnectionLost`, and the shutdown ends.
#[tokio::test]
async fn a_shutdown_cuts_what_outlives_its_grace() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    let running = tokio::spawn({
        let echo = echo.clone();
        async move { echo.hang().await }
    });
    server.hanging(1).await;
    let started = std::time::Instant::now();
    tokio::time::timeout(
        Duration::from_secs(10),
        server.handle.shutdown(Duration::from_millis(200)),
    )
    .await
    .expect("the shutdown ends with its grace");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "the grace was given"
    );
    assert_eq!(running.await.unwrap(), Err(CallError::ConnectionLost));
    assert!(connection.is_closed() || echo.add(1, 1).await.is_err());
}

/// Aborting the task that runs the server (dropping it) shuts it down: its connections close.
#[tokio::test]
async fn aborting_the_server_task_closes_its_connections() {
    let server = tartine::Server::bind("127.0.0.1:0", Echo::new(Live::default()))
        .await
        .expect("bind");
    let addr = server.local_addr().expect("address");
    let handle = server.handle();
    let running = tokio::spawn(server.run());
    let connection = tartine::connect(addr).await.expect("connect");
    let echo = connection.root::<Echo>().expect("root");
    assert_eq!(echo.add(1, 2).await, Ok(3));
    running.abort();
    let reason = tokio::time::timeout(Duration::from_secs(5), connection.closed())
        .await
        .expect("the connection closes with the server");
    assert_eq!(reason, tartine::CloseReason::PeerClosed);
    assert_eq!(handle.stats().connections, 0);
    assert!(tartine::connect(addr).await.is_err(), "nothing listens");
}

#[tokio::test]
async fn a_server_that_never_takes_the_connection_is_given_up_on_in_time() {
    // A listener whose queue is full and which never accepts: the kernel drops further SYNs,
    // as an address that drops packets does, and a connect would wait about two minutes.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        fillers.push(tokio::spawn(tokio::net::TcpStream::connect(addr)));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut config = tartine::Config::default();
    config.connect_timeout = Duration::from_millis(300);
    // Told apart from a connect the kernel let through, which the handshake would end.
    config.handshake_timeout = Duration::from_secs(60);
    let started = std::time::Instant::now();
    let connecting = tartine::connect_with(addr, config);
    let error = tokio::time::timeout(Duration::from_secs(20), connecting)
        .await
        .expect("given up on in time")
        .expect_err("never taken");
    match &error {
        tartine::ConnectError::Io(io) => {
            assert_eq!(io.kind(), std::io::ErrorKind::TimedOut, "{error}")
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(300));
    drop(listener);
    for filler in fillers {
        filler.abort();
    }
}
