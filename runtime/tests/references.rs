//! Per-connection references: identity, release on drop, release on disconnect, the export
//! cap, and refusal of references from another connection.

mod common;

use futures_util::FutureExt;

use common::*;
use tartine::{CallError, Config, Local};

#[tokio::test]
async fn the_same_object_keeps_one_id_on_a_connection() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    let a = echo.shared_counter().await.unwrap();
    let b = echo.shared_counter().await.unwrap();
    assert!(a.same_object(&b));
    let c = echo.counter(1).await.unwrap();
    assert!(!a.same_object(&c));
    // The root plus the shared counter plus `c`.
    assert_eq!(connection.stats().imports, 3);
    eventually("the server exports root, shared and c", || {
        server.handle.stats().exports == 3
    })
    .await;
}

#[tokio::test]
async fn dropping_the_last_proxy_releases_the_object() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    let counter = echo.counter(1).await.unwrap();
    let clone = counter.clone();
    assert_eq!(server.live.count(), 2, "the shared counter and the new one");
    drop(counter);
    // A round trip: a release sent by the drop would have reached the server before it.
    echo.nothing().await.unwrap();
    assert_eq!(server.live.count(), 2, "a clone still holds it");
    drop(clone);
    eventually("the counter is freed", || server.live.count() == 1).await;
    assert_eq!(connection.stats().imports, 1, "only the root is left");
    assert_eq!(server.handle.stats().exports, 1);
}

#[tokio::test]
async fn no_entry_leaks_after_ten_thousand_create_drop_cycles() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    for i in 0..10_000u64 {
        let counter = echo.counter(i).await.unwrap();
        if i % 1000 == 0 {
            assert_eq!(counter.get().await.unwrap(), i);
        }
    }
    // Also references that arrive in a reply nobody decodes as a `Remote` for long.
    for _ in 0..100 {
        drop(echo.counters(10).await.unwrap());
    }
    eventually("every counter is released", || {
        server.live.count() == 1 && server.handle.stats().exports == 1
    })
    .await;
    assert_eq!(connection.stats().imports, 1);
    assert_eq!(connection.stats().pending_calls, 0);
}

#[tokio::test]
async fn a_reply_nobody_waits_for_releases_its_references() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    for _ in 0..20 {
        // Send the call, then give up on it before its reply (holding a fresh counter) can
        // arrive: polled once, it is sent and still waiting.
        let call = echo.counter(5);
        assert!(
            call.now_or_never().is_none(),
            "no reply before the call is sent"
        );
    }
    eventually("abandoned replies are settled", || {
        server.live.count() == 1 && server.handle.stats().exports == 1
    })
    .await;
}

#[tokio::test]
async fn disconnect_frees_every_entry_of_the_connection() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    let mut kept = Vec::new();
    for i in 0..50 {
        kept.push(echo.counter(i).await.unwrap());
    }
    assert_eq!(server.live.count(), 51);
    let (_other, other_echo) = connect(&server).await;
    let other_counter = other_echo.counter(1).await.unwrap();
    connection.close();
    eventually("the closed connection's objects are freed", || {
        server.live.count() == 2 && server.handle.stats().connections == 1
    })
    .await;
    assert!(kept[0].get().await == Err(CallError::ConnectionLost));
    assert_eq!(
        other_counter.get().await.unwrap(),
        1,
        "the other connection goes on"
    );
}

#[tokio::test]
async fn dropping_every_handle_closes_the_client_connection() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    let counter = echo.counter(1).await.unwrap();
    drop(connection);
    drop(echo);
    assert_eq!(
        counter.get().await.unwrap(),
        1,
        "a live reference keeps it open"
    );
    drop(counter);
    eventually("the server sees the client go", || {
        server.handle.stats().connections == 0 && server.live.count() == 1
    })
    .await;
}

#[tokio::test]
async fn a_reference_from_another_connection_is_refused() {
    let server = start_server().await;
    let (_a, echo_a) = connect(&server).await;
    let (_b, echo_b) = connect(&server).await;
    let counter_from_a = echo_a.counter(3).await.unwrap();
    assert_eq!(
        echo_b.inspect(&counter_from_a).await,
        Err(CallError::ForeignReference)
    );
    assert_eq!(echo_a.inspect(&counter_from_a).await.unwrap(), 3);
    // Nested inside a value too.
    assert_eq!(
        echo_b.sum(vec![counter_from_a.clone()]).await,
        Err(CallError::ForeignReference)
    );
}

#[tokio::test]
async fn the_export_cap_fails_calls_that_would_pass_it() {
    let mut config = Config::default();
    config.max_exports = 5;
    let server = start_server_with(config).await;
    let (_connection, echo) = connect(&server).await;
    let mut kept = Vec::new();
    for i in 0..4 {
        kept.push(echo.counter(i).await.unwrap());
    }
    assert_eq!(
        echo.counter(99).await.unwrap_err(),
        CallError::TooManyReferences { limit: 5 }
    );
    // A reply that would export several at once is refused whole, and rolled back.
    kept.pop();
    assert!(matches!(
        echo.counters(3).await,
        Err(CallError::TooManyReferences { limit: 5 })
    ));
    eventually("the refused exports were rolled back", || {
        server.handle.stats().exports == 4
    })
    .await;
    assert_eq!(echo.counters(1).await.unwrap().len(), 1);
    drop(kept);
}

#[tokio::test]
async fn the_callee_counts_each_sending_of_an_id() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    // The shared counter is sent many times; one release per received copy is owed, and the
    // client sends them all when its last proxy goes.
    let copies: Vec<_> = futures_util::future::join_all((0..20).map(|_| echo.shared_counter()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(copies.windows(2).all(|w| w[0].same_object(&w[1])));
    assert_eq!(server.handle.stats().exports, 2);
    drop(copies);
    eventually("the shared counter's entry is released", || {
        server.handle.stats().exports == 1
    })
    .await;
    let again = echo.shared_counter().await.unwrap();
    assert!(echo.is_shared(&again).await.unwrap());
}

/// Connects to `server` with an export limit of `max_exports` (which is also the most
/// references one message may hand this side).
async fn connect_taking(
    server: &TestServer,
    max_exports: usize,
) -> (tartine::Connection, tartine::Remote<Echo>) {
    let mut config = Config::default();
    config.max_exports = max_exports;
    let connection = tartine::connect_with(server.addr, config)
        .await
        .expect("connect");
    let echo = connection.root::<Echo>().expect("root");
    (connection, echo)
}

#[tokio::test]
async fn a_reply_with_more_references_than_the_caller_takes_fails_that_call() {
    let server = start_server().await;
    // The client's hello tells the server it takes 4 references a message.
    let (connection, echo) = connect_taking(&server, 4).await;
    assert_eq!(
        echo.counter_list(10).await.unwrap_err(),
        CallError::TooManyReferences { limit: 4 }
    );
    // One object in ten places is handed over ten times.
    assert_eq!(
        echo.shared_counters(10).await.unwrap_err(),
        CallError::TooManyReferences { limit: 4 }
    );
    eventually("the refused exports were rolled back", || {
        server.handle.stats().exports == 1
    })
    .await;
    // Its limit also bounds the server's objects it holds at once, the root among them: the
    // root and three more.
    assert_eq!(echo.counter_list(3).await.unwrap().len(), 3);
    assert_eq!(
        echo.counter_list(4).await.unwrap_err(),
        CallError::TooManyReferences { limit: 4 }
    );
    let copies = echo.shared_counters(4).await.unwrap();
    assert!(copies.windows(2).all(|w| w[0].same_object(&w[1])));
    drop(copies);
    eventually("all four sendings are released", || {
        server.handle.stats().exports == 1
    })
    .await;
    assert!(!connection.is_closed());
}

#[tokio::test]
async fn a_call_with_more_references_than_the_callee_takes_fails_before_it_is_sent() {
    let mut config = Config::default();
    config.max_exports = 4;
    let server = start_server_with(config).await;
    let (connection, echo) = connect(&server).await;
    let listeners: Vec<Local<Listener>> = (0..10)
        .map(|_| {
            Local::new(Listener {
                heard: Default::default(),
            })
        })
        .collect();
    let refused = echo.give_back_nested(listeners.clone()).await.err();
    assert_eq!(
        refused,
        Some(tartine::RemoteError::Call(CallError::TooManyReferences {
            limit: 4
        }))
    );
    assert_eq!(connection.stats().exports, 0, "nothing stays exported");
    // The same listener four times is four references: within the limit.
    let same = vec![listeners[0].clone(); 4];
    let (first, rest) = echo.give_back_nested(same).await.unwrap();
    assert!(first.is_some_and(|first| first.ptr_eq(&listeners[0])));
    assert_eq!(rest.len(), 3);
    assert_eq!(echo.add(1, 1).await.unwrap(), 2);
}
