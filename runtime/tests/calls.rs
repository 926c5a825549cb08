//! Typed calls over a real loopback connection: values, method errors, references returned and
//! handed back, many calls in flight.

mod common;

use common::*;
use tartine::{Bytes, CallError, Local, Remote, RemoteError};

#[tokio::test]
async fn values_cross_both_ways() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    assert_eq!(echo.echo("hi".into()).await.unwrap(), "hi");
    assert_eq!(echo.add(2, 40).await.unwrap(), 42);
    echo.nothing().await.unwrap();
    let payload = Bytes::from(vec![7u8; 100_000]);
    assert_eq!(echo.echo_bytes(payload.clone()).await.unwrap(), payload);
}

#[tokio::test]
async fn replies_too_costly_for_a_worker_are_decoded_on_the_blocking_pool() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    // Past `Config::max_inline_decode_items` (16,384): decoded again off the worker.
    for n in [10u32, 40_000] {
        let numbers = echo.numbers(n).await.unwrap();
        assert!(numbers.into_iter().eq(0..n), "{n} numbers");
        let numbers = echo.some_numbers(n).await.unwrap();
        assert!(numbers.into_iter().eq(0..n), "{n} numbers, as a result");
    }
    assert!(matches!(
        echo.some_numbers(0).await,
        Err(RemoteError::Method(EchoError::Empty))
    ));
}

#[tokio::test]
async fn large_byte_strings_between_small_values_arrive_whole_and_in_order() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    let parts: Vec<Bytes> = [
        vec![1u8; 70_000],
        vec![2u8; 3],
        vec![3u8; 16 * 1024],
        vec![4u8; 16 * 1024 - 1],
        vec![5u8; 200_000],
    ]
    .into_iter()
    .map(Bytes::from)
    .collect();
    let (mirrored, label, total) = echo.mirror(parts.clone(), "label".into()).await.unwrap();
    assert_eq!(label, "label");
    assert_eq!(
        total,
        parts.iter().map(|part| part.len() as u64).sum::<u64>()
    );
    let expected: Vec<Bytes> = parts.iter().rev().cloned().collect();
    assert_eq!(mirrored, expected);
    // The same byte string twice in one payload, and a slice of one.
    let shared = Bytes::from(vec![9u8; 50_000]);
    let slice = Bytes::from(bytes::Bytes::from(shared.to_vec()).slice(1_000..40_000));
    let parts = vec![shared.clone(), slice.clone(), shared.clone()];
    let (mirrored, _, _) = echo.mirror(parts.clone(), String::new()).await.unwrap();
    assert_eq!(mirrored, vec![shared.clone(), slice, shared]);
}

#[tokio::test]
async fn parts_of_received_byte_strings_are_sent_back_whole() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let payload = Bytes::from(data.clone());
    // A small part of the frame it came in (copied into the reply), and most of it (sent from
    // the frame's memory).
    for len in [20_000usize, 250_000, 300_000] {
        let head = echo.head(payload.clone(), len as u64).await.unwrap();
        assert_eq!(&head[..], &data[..len]);
    }
}

/// How many bytes the first of `parts` keeps alive, once nothing else holds its buffer.
fn kept_alive(parts: Vec<Bytes>) -> usize {
    let kept = parts.into_iter().next().expect("one part").into_inner();
    kept.try_into_mut()
        .map_err(|shared| shared.len())
        .expect("held by nothing else")
        .capacity()
}

#[tokio::test]
async fn a_small_byte_string_received_beside_a_large_value_does_not_keep_its_frame() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    // The reply holds one byte string of 10 bytes and a label of 4 MiB: its buffer is its
    // own, and the 4 MiB frame goes with the label.
    let parts = vec![Bytes::from(vec![7u8; 10])];
    let (mirrored, label, _) = echo.mirror(parts, "x".repeat(4 << 20)).await.unwrap();
    drop(label);
    let kept = kept_alive(mirrored);
    assert!(kept < 4096, "keeps {kept} bytes alive");
    // Nor one that is most of a small frame, which lies in the connection's read buffer.
    let (mirrored, _, _) = echo
        .mirror(vec![Bytes::from(vec![6u8; 1000])], String::new())
        .await
        .unwrap();
    let kept = kept_alive(mirrored);
    assert!(kept < 4096, "keeps {kept} bytes alive");
    // One that is most of its frame still shares it, without a copy.
    let large = Bytes::from(vec![8u8; 1 << 20]);
    let (mirrored, _, _) = echo.mirror(vec![large], String::new()).await.unwrap();
    assert!(kept_alive(mirrored) >= 1 << 20);
}

#[tokio::test]
async fn many_large_calls_in_flight_arrive_whole_each_to_its_caller() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    // Megabytes in flight both ways: calls queued behind each other for the writer, replies
    // written at once by the server's reader when it finds nobody writing, and the rest of
    // what the socket did not take finished by the writer. (`transports.rs` forces every
    // frame to be written in part, over a narrow pipe.)
    let sizes = [16 * 1024, 70_000, 200_000, 256 * 1024, 300_000];
    let calls = (0..40usize).map(|i| {
        let echo = echo.clone();
        let payload: Vec<u8> = (0..sizes[i % sizes.len()])
            .map(|j| (i * 7 + j % 251) as u8)
            .collect();
        let payload = Bytes::from(payload);
        async move { (echo.echo_bytes(payload.clone()).await, payload) }
    });
    for (echoed, sent) in futures_util::future::join_all(calls).await {
        assert_eq!(echoed.unwrap(), sent);
    }
}

#[tokio::test]
async fn method_errors_are_typed_and_apart_from_framework_errors() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    assert_eq!(echo.shout("hey".into()).await.unwrap(), "HEY");
    match echo.shout(String::new()).await {
        Err(RemoteError::Method(EchoError::Empty)) => {}
        other => panic!("expected the method's own error, got {other:?}"),
    }
    let error = echo.checked_counter(0).await.unwrap_err();
    assert_eq!(error.method_error(), Some(&EchoError::Empty));
    let counter = echo.checked_counter(5).await.unwrap();
    assert_eq!(counter.get().await.unwrap(), 5);
}

#[tokio::test]
async fn returned_referenceables_arrive_as_remotes() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    let counter: Remote<Counter> = echo.counter(10).await.unwrap();
    assert_eq!(counter.add(5).await.unwrap(), 15);
    assert_eq!(counter.get().await.unwrap(), 15);
    let shared: Remote<Counter> = echo.shared_counter().await.unwrap();
    assert_eq!(shared.add(1).await.unwrap(), 1);
    let maybe: Option<Remote<Counter>> = echo.maybe_counter(4).await.unwrap();
    assert_eq!(maybe.unwrap().get().await.unwrap(), 4);
    assert!(echo.maybe_counter(0).await.unwrap().is_none());
    let list: Vec<Remote<Counter>> = echo.counter_list(2).await.unwrap();
    assert_eq!(list[1].get().await.unwrap(), 1);
    let many: Vec<Remote<Counter>> = echo.counters(3).await.unwrap();
    assert_eq!(many.len(), 3);
    assert_eq!(many[2].get().await.unwrap(), 2);
}

#[tokio::test]
async fn references_handed_back_resolve_to_the_original_object() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    let shared = echo.shared_counter().await.unwrap();
    assert!(echo.is_shared(&shared).await.unwrap());
    let other = echo.counter(3).await.unwrap();
    assert!(!echo.is_shared(&other).await.unwrap());
    assert_eq!(echo.inspect(&other).await.unwrap(), 3);
    let many = echo.counters(4).await.unwrap();
    assert_eq!(echo.sum(many).await.unwrap(), 1 + 2 + 3);
}

#[tokio::test]
async fn many_calls_in_flight_are_answered_out_of_order() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    let slow = echo.delayed(200, 1);
    let fast = async {
        let mut tags = Vec::new();
        for tag in 2..=50 {
            tags.push(echo.delayed(0, tag).await.unwrap());
        }
        tags
    };
    let (slow, fast) = tokio::join!(slow, fast);
    assert_eq!(slow.unwrap(), 1);
    assert_eq!(fast, (2..=50).collect::<Vec<_>>());

    let calls = (0..200u64).map(|i| echo.delayed(i % 7, i));
    let results = futures_join_all(calls).await;
    assert_eq!(results, (0..200).collect::<Vec<_>>());
}

async fn futures_join_all<F: std::future::Future<Output = Result<u64, CallError>>>(
    calls: impl Iterator<Item = F>,
) -> Vec<u64> {
    let handles: Vec<_> = calls.collect();
    let mut out = Vec::new();
    let mut set = std::pin::pin!(futures_util::future::join_all(handles));
    for result in set.as_mut().await {
        out.push(result.unwrap());
    }
    out
}

#[tokio::test]
async fn a_panicking_method_fails_that_call_only() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    assert_eq!(echo.panic().await, Err(CallError::Panicked));
    assert_eq!(echo.add(1, 1).await.unwrap(), 2);
}

#[tokio::test]
async fn renamed_and_skipped_methods() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    assert_eq!(echo.renamed().await.unwrap(), 7);
    assert!(<Echo as tartine::Interface>::METHODS.contains(&"renamed_on_wire"));
    assert!(!<Echo as tartine::Interface>::METHODS.contains(&"local_only"));
    assert!(!<Echo as tartine::Interface>::METHODS.contains(&"private_helper"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_and_remotes_are_send() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    let counter = echo.counter(1).await.unwrap();
    let task = tokio::spawn(async move { counter.add(1).await.unwrap() });
    assert_eq!(task.await.unwrap(), 2);
    let local = Local::new(Listener {
        heard: Default::default(),
    });
    let echo2 = echo.clone();
    let heard = tokio::spawn(async move { echo2.notify(local, "hello".into()).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(heard, 1);
}

#[tokio::test]
async fn a_handler_learns_the_caller_address_from_the_runtime() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    let seen: std::net::SocketAddr = echo.whoami().await.unwrap().parse().unwrap();
    assert!(seen.ip().is_loopback());
    assert_ne!(seen.port(), server.addr.port());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn calls_of_a_spawn_method_run_at_once_on_different_workers() {
    let server = start_server().await;
    let (_connection, echo) = connect(&server).await;
    // Each call blocks its thread until the other arrives: run in the connection's reader,
    // the first would hold the reader, the second would never start, and both would fail.
    let (first, second) = tokio::join!(echo.meet(2), echo.meet(2));
    assert_eq!((first, second), (Ok(true), Ok(true)));
}

#[tokio::test]
async fn spawned_calls_are_cancelled_like_the_others() {
    let mut server_config = tartine::Config::default();
    server_config.max_calls_in_flight = 2;
    server_config.spawn_calls = true;
    let server = start_server_with(server_config).await;
    let mut config = tartine::Config::default();
    config.call_timeout = Some(std::time::Duration::from_millis(20));
    let connection = tartine::connect_with(server.addr, config).await.unwrap();
    let echo = connection.root::<Echo>().unwrap();
    // Without cancellation the two hanging tasks would fill the server's slots.
    for _ in 0..5 {
        assert_eq!(echo.hang().await, Err(CallError::TimedOut));
    }
    // The calls that must succeed get time enough for a loaded machine.
    let echo = echo.with_timeout(Some(std::time::Duration::from_secs(10)));
    assert_eq!(echo.add(20, 22).await.unwrap(), 42);
    assert_eq!(echo.echo("spawned".into()).await.unwrap(), "spawned");
}

#[test]
fn an_impl_block_knows_the_interfaces_its_signatures_name() {
    let mut names: Vec<_> = <Echo as tartine::Interface>::references()
        .iter()
        .map(|info| info.name)
        .collect();
    names.sort_unstable();
    names.dedup();
    // Returned by value (`Counter`), as `Arc<Counter>`, in `Option` and `Vec`, and handed
    // back as `Local<Counter>`: all name the one interface.
    assert!(names.contains(&"tartine.Counter"), "{names:?}");
}
