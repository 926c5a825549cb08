//! Hostile input, sent raw: bad handshakes, garbage, truncated and oversized frames, unknown
//! kinds and methods, wrong arguments, forged, guessed, released and foreign ids. Each one gets
//! a typed answer or closes that one connection; the server goes on serving.

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use common::raw::{Answer, Raw, frame, receiver_ref};
use common::*;
use futures_util::SinkExt;
use std::time::Duration;
use tartine::wire::{Failure, Message, Outgoing, PREAMBLE};
use tartine::{CallError, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn still_serving(server: &TestServer) {
    let (_connection, echo) = connect(server).await;
    assert_eq!(echo.add(2, 2).await.unwrap(), 4);
}

#[tokio::test]
async fn guessed_released_and_foreign_ids_all_say_no_such_object() {
    let server = start_server().await;
    let mut alice = Raw::connect(&server).await;
    let mut bob = Raw::connect(&server).await;
    let id = alice.new_counter(5).await;
    assert!(matches!(
        alice.call(id, "get", &()).await,
        Answer::Return { .. }
    ));
    let foreign = bob.call(id, "get", &()).await;
    let guessed = alice.call(id + 1000, "get", &()).await;
    alice
        .framed
        .send(frame(
            Message::Release {
                target: id,
                count: 1,
            },
            &[],
        ))
        .await
        .unwrap();
    let released = alice.call(id, "get", &()).await;
    for answer in [foreign, guessed, released] {
        assert_eq!(answer, Answer::Failed(Failure::NoSuchObject));
    }
    // Handed back as an argument, the same three are refused the same way.
    let mut carol = Raw::connect(&server).await;
    let kept = carol.new_counter(1).await;
    let arg = receiver_ref(kept + 77);
    assert_eq!(
        carol.call_raw(0, "inspect", &arg).await,
        Answer::Failed(Failure::NoSuchObject)
    );
    assert_eq!(
        bob.call_raw(0, "inspect", &receiver_ref(kept)).await,
        Answer::Failed(Failure::NoSuchObject)
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn a_reference_of_another_type_is_refused() {
    let server = start_server().await;
    let mut raw = Raw::connect(&server).await;
    let group = match raw.call(0, "group", &("admins",)).await {
        Answer::Return { exports, .. } => exports[0],
        other => panic!("{other:?}"),
    };
    match raw.call_raw(0, "inspect", &receiver_ref(group)).await {
        Answer::Failed(Failure::WrongReferenceType { expected, found }) => {
            assert!(expected.ends_with("::Counter"), "{expected}");
            assert!(found.ends_with("::Group"), "{found}");
        }
        other => panic!("{other:?}"),
    }
    // The root itself is no counter either.
    assert!(matches!(
        raw.call_raw(0, "inspect", &receiver_ref(0)).await,
        Answer::Failed(Failure::WrongReferenceType { .. })
    ));
}

#[tokio::test]
async fn unknown_methods_and_bad_arguments_fail_the_call_only() {
    let server = start_server().await;
    let mut raw = Raw::connect(&server).await;
    match raw.call(0, "format_disk", &()).await {
        Answer::Failed(Failure::NoSuchMethod { interface, method }) => {
            assert!(interface.ends_with("::Echo"));
            assert_eq!(method, "format_disk");
        }
        other => panic!("{other:?}"),
    }
    // A method that stays local is not reachable.
    assert!(matches!(
        raw.call(0, "private_helper", &()).await,
        Answer::Failed(Failure::NoSuchMethod { .. })
    ));
    assert!(matches!(
        raw.call(0, "local_only", &()).await,
        Answer::Failed(Failure::NoSuchMethod { .. })
    ));
    // Too few, too many, wrong types.
    for (method, payload) in [
        ("add", postcard::to_stdvec(&(1u64,)).unwrap()),
        ("add", postcard::to_stdvec(&(1u64, 2u64, 3u64)).unwrap()),
        ("echo", vec![0xff, 0xff, 0xff]),
        ("echo", vec![5, 0xc3, 0x28, b'a', b'b', b'c']),
        ("inspect", vec![9, 1]),
    ] {
        assert!(
            matches!(
                raw.call_raw(0, method, &payload).await,
                Answer::Failed(Failure::BadArguments(_))
            ),
            "{method} {payload:?}"
        );
    }
    // A reference pointing the wrong way (claiming to be the caller's own object where the
    // method expects one of ours) is refused too.
    assert!(matches!(
        raw.call_raw(0, "inspect", &[0, 1]).await,
        Answer::Failed(Failure::BadArguments(_))
    ));
    // The connection is still fine.
    assert!(matches!(
        raw.call(0, "add", &(1u64, 2u64)).await,
        Answer::Return { .. }
    ));
}

#[tokio::test]
async fn garbage_and_unknown_kinds_close_that_connection() {
    let server = start_server().await;
    let mut raw = Raw::connect(&server).await;
    raw.framed
        .send(Outgoing {
            head: Bytes::from_static(&[200, 1, 2, 3]),
            body: Bytes::new(),
        })
        .await
        .unwrap();
    raw.expect_closed().await;

    let mut raw = Raw::connect(&server).await;
    raw.framed
        .send(Outgoing {
            head: Bytes::from_static(&[2, 0xff]),
            body: Bytes::new(),
        })
        .await
        .unwrap();
    raw.expect_closed().await;

    let mut raw = Raw::connect(&server).await;
    raw.framed
        .send(frame(Message::Hello { root: None }, &[]))
        .await
        .unwrap();
    raw.expect_closed().await;
    still_serving(&server).await;
}

#[tokio::test]
async fn an_oversized_frame_is_refused_before_allocation() {
    let mut config = Config::default();
    config.max_frame_size = 4096;
    let server = start_server_with(config).await;
    let mut raw = Raw::connect(&server).await;
    // Announce 4 GiB minus one: the server must not try to buffer it.
    let mut announce = BytesMut::new();
    announce.put_u32(u32::MAX);
    raw.send_bytes(&announce).await;
    raw.expect_closed().await;
    still_serving(&server).await;
}

#[tokio::test]
async fn a_truncated_frame_then_silence_or_close_is_harmless() {
    let server = start_server().await;
    let mut raw = Raw::connect(&server).await;
    let mut partial = BytesMut::new();
    partial.put_u32(100);
    partial.extend_from_slice(&[1, 2, 3]);
    raw.send_bytes(&partial).await;
    drop(raw);
    eventually("the truncated connection is gone", || {
        server.handle.stats().connections == 0
    })
    .await;
    still_serving(&server).await;
}

#[tokio::test]
async fn bad_preambles_are_refused() {
    let server = start_server().await;
    for preamble in [*b"HTTP/1.1", *b"TARTINE\x09"] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(&preamble).await.unwrap();
        let mut theirs = [0; 8];
        stream.read_exact(&mut theirs).await.unwrap();
        assert_eq!(theirs, PREAMBLE, "the server still says who it is");
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
            .await
            .expect("the server closes");
        assert!(read.is_err() || rest.is_empty(), "nothing more is sent");
    }
    still_serving(&server).await;
}

#[tokio::test]
async fn the_client_reports_a_version_mismatch() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"TARTINE\x07").await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    });
    match tartine::connect(addr).await {
        Err(tartine::ConnectError::Handshake(tartine::HandshakeError::VersionMismatch {
            ours: 1,
            theirs: 7,
        })) => {}
        other => panic!("expected a version mismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_silent_peer_times_out_in_the_handshake() {
    let mut config = Config::default();
    config.handshake_timeout = Duration::from_millis(200);
    let server = start_server_with(config).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf))
        .await
        .expect("the server hangs up on a silent peer");
    assert!(read.is_err() || buf.len() == PREAMBLE.len());
}

#[tokio::test]
async fn calls_past_the_in_flight_limit_are_answered_busy() {
    let mut config = Config::default();
    config.max_calls_in_flight = 4;
    let server = start_server_with(config).await;
    let (_connection, echo) = connect(&server).await;
    let hanging: Vec<_> = (0..4)
        .map(|_| {
            let echo = echo.clone();
            tokio::spawn(async move { echo.hang().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(echo.add(1, 1).await, Err(CallError::Busy));
    for task in hanging {
        task.abort();
    }
}

#[tokio::test]
async fn a_message_larger_than_the_limit_is_refused_on_both_sides() {
    let mut config = Config::default();
    config.max_frame_size = 64 * 1024;
    let server = start_server_with(config.clone()).await;
    let connection = tartine::connect_with(server.addr, config).await.unwrap();
    let echo = connection.root::<Echo>().unwrap();
    let big = tartine::Bytes::from(vec![0u8; 100 * 1024]);
    assert!(matches!(
        echo.echo_bytes(big).await,
        Err(CallError::MessageTooLarge { .. })
    ));
    assert_eq!(echo.add(1, 1).await.unwrap(), 2);
}

#[tokio::test]
async fn a_peer_that_never_reads_its_replies_is_dropped() {
    let mut config = Config::default();
    config.max_write_queue = 1 << 20;
    let server = start_server_with(config).await;
    let mut raw = Raw::connect(&server).await;
    let payload = postcard::to_stdvec(&(tartine::Bytes::from(vec![1u8; 60_000]),)).unwrap();
    // Send calls whose replies we never read, until the server hangs up.
    let flood = async {
        for call in 1..=2_000u64 {
            let message = Message::Call {
                call,
                target: 0,
                method: "echo_bytes",
                exports: tartine::wire::IdList::EMPTY,
            };
            if raw.framed.send(frame(message, &payload)).await.is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), flood).await;
    eventually("the server dropped the slow peer", || {
        server.handle.stats().connections == 0
    })
    .await;
    still_serving(&server).await;
}

#[tokio::test]
async fn a_peer_that_stops_answering_is_dropped() {
    let mut config = Config::default();
    config.keepalive = Some(Duration::from_millis(50));
    let server = start_server_with(config).await;
    let mut raw = Raw::connect(&server).await;
    // The raw client reads (and so sees the pings) but never answers them.
    let mut pings = 0;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        use futures_util::StreamExt;
        while let Some(Ok(frame)) = raw.framed.next().await {
            if matches!(
                tartine::wire::decode_message(&frame),
                Ok((Message::Ping, _))
            ) {
                pings += 1;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server hangs up");
    assert_eq!(pings, 2, "after two unanswered pings");
    still_serving(&server).await;
}
