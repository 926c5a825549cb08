//! Hostile input, sent raw: bad handshakes, garbage, truncated and oversized frames, unknown
//! kinds and methods, wrong arguments, forged, guessed, released and foreign ids, a peer that
//! never reads, deep and huge payloads, a server that never answers a login. Each one gets a
//! typed answer or closes that one connection; the server goes on serving.

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use common::proxy::StallProxy;
use common::raw::{Answer, Raw, frame, receiver_ref};
use common::*;
use futures_util::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex};
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
            assert!(expected.ends_with(".Counter"), "{expected}");
            assert!(found.ends_with(".Group"), "{found}");
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
            assert!(interface.ends_with(".Echo"));
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
        .send(Outgoing::new(
            Bytes::from_static(&[200, 1, 2, 3]),
            Bytes::new(),
        ))
        .await
        .unwrap();
    raw.expect_closed().await;

    let mut raw = Raw::connect(&server).await;
    raw.framed
        .send(Outgoing::new(Bytes::from_static(&[2, 0xff]), Bytes::new()))
        .await
        .unwrap();
    raw.expect_closed().await;

    let mut raw = Raw::connect(&server).await;
    raw.framed
        .send(frame(
            Message::Hello {
                root: None,
                max_frame: 1 << 20,
                max_refs: 16_384,
            },
            &[],
        ))
        .await
        .unwrap();
    raw.expect_closed().await;
    still_serving(&server).await;
}

/// A burst of calls in one write, as a pipelining peer sends them, is answered call by call
/// (the reader takes the frames after the first straight from its buffer, past its flushes
/// and its looks at the timer); a broken frame at the end of the burst closes the connection
/// only after the calls and the ping before it are answered.
#[tokio::test]
async fn a_burst_in_one_write_is_answered_whole_before_a_broken_frame_closes() {
    use tokio_util::codec::Encoder;
    let server = start_server().await;
    let mut raw = Raw::connect(&server).await;
    let mut codec = tartine::wire::FrameCodec::new(1 << 20);
    let mut burst = BytesMut::new();
    for call in 1..=150u64 {
        let payload = postcard::to_stdvec(&(call, 1u64)).unwrap();
        let message = Message::Call {
            call,
            target: 0,
            method: "add",
            exports: tartine::wire::IdList::EMPTY,
        };
        codec.encode(frame(message, &payload), &mut burst).unwrap();
    }
    codec.encode(frame(Message::Ping, &[]), &mut burst).unwrap();
    // A whole frame whose header is an unknown kind.
    codec
        .encode(
            Outgoing::new(Bytes::from_static(&[200, 1, 2, 3]), Bytes::new()),
            &mut burst,
        )
        .unwrap();
    raw.send_bytes(&burst).await;

    let mut sums = std::collections::BTreeMap::new();
    let mut pong = false;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), raw.framed.next())
            .await
            .expect("answers, then the close");
        let Some(Ok(reply)) = next else { break };
        match tartine::wire::decode_message(&reply).unwrap() {
            (Message::Return { call, .. }, offset) => {
                let sum: u64 = postcard::from_bytes(&reply[offset..]).unwrap();
                assert_eq!(sums.insert(call, sum), None, "one answer per call");
            }
            (Message::Pong, _) => pong = true,
            (other, _) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(sums.len(), 150, "every call of the burst is answered");
    assert!(sums.iter().all(|(call, sum)| *sum == call + 1));
    assert!(pong, "the ping in the burst is answered");
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
        // Keeps the socket open until the test ends.
        std::future::pending::<()>().await;
        drop(stream);
    });
    match tartine::connect(addr).await {
        Err(tartine::ConnectError::Handshake(tartine::HandshakeError::VersionMismatch {
            ours: tartine::wire::PROTOCOL_VERSION,
            theirs: 7,
        })) => {}
        other => panic!("expected a version mismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_first_message_that_is_no_hello_is_named_not_copied_into_the_error() {
    // A server whose first frame is a call with a method name of 4 MiB of control bytes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut framed =
            tokio_util::codec::Framed::new(stream, tartine::wire::FrameCodec::new(16 << 20));
        framed.get_mut().write_all(&PREAMBLE).await.unwrap();
        let method = "\u{7f}".repeat(4 << 20);
        let call = Message::Call {
            call: 1,
            target: 0,
            method: &method,
            exports: tartine::wire::IdList::EMPTY,
        };
        let _ = framed.send(frame(call, &[])).await;
        std::future::pending::<()>().await;
    });
    let error = tartine::connect(addr).await.expect_err("no hello");
    assert!(
        matches!(
            error,
            tartine::ConnectError::Handshake(tartine::HandshakeError::BadHello(_))
        ),
        "{error:?}"
    );
    let said = error.to_string();
    assert!(said.len() < 200, "{} bytes", said.len());
    assert!(said.contains("call"), "{said}");
}

#[tokio::test]
async fn a_peers_error_text_is_cut_to_a_bound_when_decoded() {
    let server = start_server().await;
    let mut raw = Raw::connect(&server).await;
    // The server names the unknown method in its answer: 100 KiB of it, cut as it arrives.
    let method = "m".repeat(100 << 10);
    match raw.call_raw(0, &method, &[]).await {
        Answer::Failed(Failure::NoSuchMethod { method, .. }) => {
            assert!(
                method.len() <= tartine::wire::MAX_PEER_TEXT,
                "{}",
                method.len()
            );
            assert!(method.starts_with("mmm") && method.ends_with('…'));
        }
        other => panic!("{other:?}"),
    }
    still_serving(&server).await;
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
    server.hanging(4).await;
    assert_eq!(echo.add(1, 1).await, Err(CallError::Busy));
    for task in hanging {
        task.abort();
    }
}

#[tokio::test]
async fn running_calls_hold_no_more_than_their_byte_budget() {
    let mut config = Config::default();
    config.max_in_flight_bytes = 250 * 1024;
    let server = start_server_with(config).await;
    let (connection, echo) = connect(&server).await;
    let data = tartine::Bytes::from(vec![0u8; 100 * 1024]);
    let held: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn({
                let echo = echo.clone();
                let data = data.clone();
                async move { echo.hold(data).await }
            })
        })
        .collect();
    while connection.stats().pending_calls < 2 {
        tokio::task::yield_now().await;
    }
    // Two calls hold 200 KiB of frames; a third would pass 250 KiB.
    assert_eq!(echo.hold(data).await, Err(CallError::Busy));
    // Calls that answer at once hold nothing, and go through.
    assert_eq!(echo.add(1, 1).await.unwrap(), 2);
    for call in held {
        call.abort();
    }
}

#[tokio::test]
async fn a_reply_larger_than_the_clients_frame_limit_fails_its_call_not_the_connection() {
    // The server keeps the default limit (16 MiB); the client accepts 64 KiB, and said so in
    // its hello. The server answers the call with a failure instead of a frame the client
    // would have to hang up on.
    let server = start_server().await;
    let mut config = Config::default();
    config.max_frame_size = 64 * 1024;
    let connection = tartine::connect_with(server.addr, config).await.unwrap();
    let echo = connection.root::<Echo>().unwrap();
    assert!(matches!(
        echo.numbers(100_000).await,
        Err(CallError::MessageTooLarge { size, limit: 65_536 }) if size > 65_536
    ));
    assert_eq!(echo.numbers(100).await.unwrap().len(), 100);
    assert_eq!(echo.add(1, 1).await.unwrap(), 2, "the connection stays");
    assert!(!connection.is_closed());
}

#[tokio::test]
async fn a_call_larger_than_the_servers_frame_limit_fails_before_it_is_sent() {
    // The server accepts 64 KiB; the client keeps the default limit and learns the server's
    // from its hello.
    let mut config = Config::default();
    config.max_frame_size = 64 * 1024;
    let server = start_server_with(config).await;
    let (connection, echo) = connect(&server).await;
    let big = tartine::Bytes::from(vec![0u8; 100 * 1024]);
    assert!(matches!(
        echo.echo_bytes(big).await,
        Err(CallError::MessageTooLarge { limit: 65_536, .. })
    ));
    assert_eq!(echo.add(1, 1).await.unwrap(), 2, "the connection stays");
    assert!(!connection.is_closed());
    assert_eq!(server.handle.stats().connections, 1);
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
            if server.handle.stats().connections == 0 {
                return;
            }
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
async fn a_frame_larger_than_the_write_queue_still_reaches_a_peer_that_reads() {
    // The write queue bounds what waits behind a peer that does not read; a single frame
    // larger than it, sent to a peer that reads, is not a slow peer.
    let mut config = Config::default();
    config.max_write_queue = 64 * 1024;
    let server = start_server_with(config.clone()).await;
    let connection = tartine::connect_with(server.addr, config).await.unwrap();
    let echo = connection.root::<Echo>().unwrap();
    for len in [64 * 1024, 100_000, 1 << 20, 3 << 20] {
        let data = tartine::Bytes::from((0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        let echoed = echo.echo_bytes(data.clone()).await.unwrap();
        assert!(echoed == data, "an echo of {len} bytes comes back whole");
    }
    assert_eq!(echo.add(1, 1).await.unwrap(), 2);
    assert_eq!(server.handle.stats().connections, 1, "nobody was dropped");
}

#[tokio::test]
async fn a_large_reply_held_in_a_burst_does_not_make_a_reader_look_slow() {
    // Two calls in one write: the large reply of the first waits while the burst is worked
    // through, and the small reply of the second queues behind it, past `max_write_queue`.
    let mut config = Config::default();
    config.max_write_queue = 64 * 1024;
    let server = start_server_with(config).await;
    let mut raw = Raw::connect(&server).await;
    let call = |call: u64, method: &'static str, args: Vec<u8>| {
        let message = Message::Call {
            call,
            target: 0,
            method,
            exports: tartine::wire::IdList::EMPTY,
        };
        frame(message, &args)
    };
    let mut burst = BytesMut::new();
    let mut codec = tartine::wire::FrameCodec::new(1 << 20);
    let numbers = postcard::to_stdvec(&(100_000u32,)).unwrap();
    let add = postcard::to_stdvec(&(1u64, 1u64)).unwrap();
    tokio_util::codec::Encoder::encode(&mut codec, call(1, "numbers", numbers), &mut burst)
        .unwrap();
    tokio_util::codec::Encoder::encode(&mut codec, call(2, "add", add), &mut burst).unwrap();
    raw.send_bytes(&burst).await;
    let mut answered = Vec::new();
    while answered.len() < 2 {
        let reply = tokio::time::timeout(Duration::from_secs(5), raw.framed.next())
            .await
            .expect("an answer")
            .expect("the connection stays open")
            .unwrap();
        if let Ok((Message::Return { call, .. }, _)) = tartine::wire::decode_message(&reply) {
            answered.push(call);
        }
    }
    assert_eq!(answered, [1, 2], "both replies, in order");
    assert_eq!(server.handle.stats().connections, 1, "nobody was dropped");
}

#[tokio::test]
async fn a_call_larger_than_the_in_flight_limit_runs_when_no_other_holds_any() {
    // The in-flight limit bounds the request frames that running calls hold together; a
    // single call larger than it, alone, is not a busy server.
    let mut config = Config::default();
    config.max_in_flight_bytes = 64 * 1024;
    let server = start_server_with(config).await;
    let (_connection, echo) = connect(&server).await;
    for len in [64 * 1024, 1 << 20] {
        let data = tartine::Bytes::from(vec![3u8; len]);
        assert_eq!(echo.echo_bytes(data.clone()).await.unwrap().len(), len);
    }
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

#[tokio::test]
async fn a_peer_sending_a_long_frame_slowly_is_not_taken_for_vanished() {
    use futures_util::StreamExt;
    let mut config = Config::default();
    config.keepalive = Some(Duration::from_millis(100));
    let server = start_server_with(config).await;
    let mut raw = Raw::connect(&server).await;
    // An echo of 24 KiB, sent 1 KiB every 50 ms: 1.2 s, four times the 300 ms after which a
    // peer that sends nothing counts as vanished.
    let payload = postcard::to_stdvec(&(tartine::Bytes::from(vec![5u8; 24 * 1024]),)).unwrap();
    let header = Message::Call {
        call: 1,
        target: 0,
        method: "echo_bytes",
        exports: tartine::wire::IdList::EMPTY,
    }
    .encode()
    .unwrap();
    let mut bytes = ((header.len() + payload.len()) as u32)
        .to_be_bytes()
        .to_vec();
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&payload);
    for chunk in bytes.chunks(1024) {
        raw.send_bytes(chunk).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answered = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(frame)) = raw.framed.next().await {
            if let Ok((Message::Return { call: 1, .. }, offset)) =
                tartine::wire::decode_message(&frame)
            {
                return Some(frame.len() - offset);
            }
        }
        None
    })
    .await
    .expect("an answer in time");
    assert_eq!(answered, Some(payload.len()), "echoed whole");
}

#[tokio::test]
async fn a_peer_that_never_reads_is_dropped_whoever_queues_for_it() {
    let mut config = Config::default();
    config.max_write_queue = 1 << 20;
    let server = start_server_with(config).await;
    // Alice is a real client behind a relay that, once stalled, stops passing on what the
    // server writes to her: to the server she is a peer that never reads.
    let proxy = StallProxy::start(server.addr).await;
    let alice = tartine::connect(proxy.addr).await.unwrap();
    let listener = Arc::new(Listener {
        heard: Mutex::new(Vec::new()),
    });
    alice
        .root::<Echo>()
        .unwrap()
        .subscribe(listener)
        .await
        .unwrap();
    proxy.stall();
    // Bob's calls make the server queue frames for Alice: it is not her own reader that
    // queues them, so only a bound enforced when queuing can stop them.
    let (_bob, bob_echo) = connect(&server).await;
    eventually("alice and bob are both connected", || {
        server.handle.stats().connections == 2
    })
    .await;
    let chunk = tartine::Bytes::from(vec![7u8; 64 * 1024]);
    let mut published = 0u64;
    while server.handle.stats().connections == 2 && published < 2_000 {
        bob_echo.publish(chunk.clone()).await.unwrap();
        published += 1;
        tokio::task::yield_now().await;
    }
    eventually("alice is dropped as a slow peer", || {
        server.handle.stats().connections == 1
    })
    .await;
    // The kernel's socket buffers take a few MiB; past them, 1 MiB of queue.
    assert!(
        (16..512).contains(&published),
        "{published} chunks of 64 KiB went out first"
    );
    assert_eq!(bob_echo.add(1, 1).await.unwrap(), 2, "bob is served on");
}

#[tokio::test]
async fn a_deeply_nested_argument_fails_its_call_not_the_server() {
    let server = start_server().await;
    let mut raw = Raw::connect(&server).await;
    // `Tree::Node(Tree::Node(..))` nested 100,000 deep: a 100 KB argument that would take
    // the stack far past its end.
    let mut payload = vec![1u8; 100_000];
    payload.push(0);
    match raw.call_raw(0, "depth", &payload).await {
        Answer::Failed(Failure::BadArguments(reason)) => {
            assert!(reason.contains("deeper than the limit of 128"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Depths within the limit decode, through the typed proxy too.
    let (_connection, echo) = connect(&server).await;
    assert_eq!(echo.depth(Tree::nested(120)).await.unwrap(), 120);
    assert!(matches!(
        echo.depth(Tree::nested(200)).await,
        Err(CallError::BadArguments(_))
    ));
    still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_count_of_zero_sized_items_fails_at_once() {
    let server = start_server().await;
    let mut raw = Raw::connect(&server).await;
    // A `Vec<()>` announcing u64::MAX elements: ten bytes, and no element takes any.
    let payload = postcard::to_stdvec(&u64::MAX).unwrap();
    // Two of them, one per worker, used to stop the server answering at all.
    for _ in 0..2 {
        match raw.call_raw(0, "units", &payload).await {
            Answer::Failed(Failure::BadArguments(reason)) => {
                assert!(reason.contains("budget"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
    // A count the payload can pay for decodes.
    let (_connection, echo) = connect(&server).await;
    assert_eq!(echo.units(vec![(); 1_000]).await.unwrap(), 1_000);
    still_serving(&server).await;
}

#[tokio::test]
async fn a_header_announcing_more_references_than_allowed_closes_before_decoding_them() {
    let server = start_server().await;
    let mut raw = Raw::connect(&server).await;
    // A call whose header lists a million ids: its list is counted, not decoded.
    let ids = vec![1u8; 1_000_000];
    let message = Message::Call {
        call: 1,
        target: 0,
        method: "add",
        exports: tartine::wire::IdList::from_encoded(&ids),
    };
    raw.framed.send(frame(message, &[])).await.unwrap();
    raw.expect_closed().await;
    still_serving(&server).await;
}

#[tokio::test]
async fn a_peer_handing_over_more_objects_than_it_may_is_closed() {
    let mut config = Config::default();
    config.max_exports = 8;
    let server = start_server_with(config).await;
    let mut raw = Raw::connect(&server).await;
    // `subscribe` keeps each listener it is handed: the peer's object `id`.
    let subscribe = |id: u64| {
        let ids = tartine::wire::IdList::encode(&[id]);
        let message = Message::Call {
            call: id,
            target: 0,
            method: "subscribe",
            exports: tartine::wire::IdList::from_encoded(&ids),
        };
        frame(message, &postcard::to_stdvec(&(0u8, id)).unwrap())
    };
    // Eight distinct ones are held, as the limit allows.
    for id in 1..=8u64 {
        raw.framed.send(subscribe(id)).await.unwrap();
        let reply = raw.framed.next().await.unwrap().unwrap();
        let (answer, _) = tartine::wire::decode_message(&reply).unwrap();
        assert!(
            matches!(answer, Message::Return { call, .. } if call == id),
            "{answer:?}"
        );
    }
    // The ninth is one more than the peer may make this side hold.
    raw.framed.send(subscribe(9)).await.unwrap();
    raw.expect_closed().await;
    still_serving(&server).await;
}

#[tokio::test]
async fn a_client_exports_no_more_than_the_server_takes_and_stays_connected() {
    let mut config = Config::default();
    config.max_exports = 4;
    let server = start_server_with(config).await;
    // The client's own limit is the default, 16,384: the server's 4 is the one it keeps to.
    let (connection, echo) = connect(&server).await;
    let mut listeners = Vec::new();
    for _ in 0..4 {
        let listener = Arc::new(Listener {
            heard: Default::default(),
        });
        echo.subscribe(Arc::clone(&listener)).await.unwrap();
        listeners.push(listener);
    }
    let fifth = echo
        .subscribe(Arc::new(Listener {
            heard: Default::default(),
        }))
        .await;
    assert!(
        matches!(fifth, Err(CallError::TooManyReferences { limit: 4 })),
        "{fifth:?}"
    );
    assert!(!connection.is_closed());
    assert_eq!(echo.add(1, 2).await.unwrap(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_login_the_server_never_answers_times_out_by_default() {
    use futures_util::StreamExt;
    use tartine::cred::{LoginCredentials, LoginError};
    use tartine::wire::{FrameCodec, decode_message};
    use tokio_util::codec::Framed;

    // A server that speaks the protocol, answers pings, and never answers a login.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(&PREAMBLE).await.unwrap();
        let mut theirs = [0u8; 8];
        stream.read_exact(&mut theirs).await.unwrap();
        let mut framed = Framed::new(stream, FrameCodec::new(1 << 20));
        let hello = Message::Hello {
            root: Some("tartine.Portal"),
            max_frame: 1 << 20,
            max_refs: 16_384,
        };
        framed.send(frame(hello, &[])).await.unwrap();
        while let Some(Ok(received)) = framed.next().await {
            if let Ok((Message::Ping, _)) = decode_message(&received) {
                framed.send(frame(Message::Pong, &[])).await.unwrap();
            }
        }
    });
    let connection = tartine::connect(addr).await.unwrap();
    let started = tokio::time::Instant::now();
    let login = connection.login::<common::login::Player>(LoginCredentials::anonymous());
    let outcome = tokio::time::timeout(Duration::from_secs(3600), login)
        .await
        .expect("the default configuration gives up within the hour");
    assert_eq!(outcome.unwrap_err(), LoginError::Call(CallError::TimedOut));
    assert_eq!(
        started.elapsed().as_secs(),
        30,
        "Config::call_timeout's default"
    );
}

#[tokio::test]
async fn a_large_argument_is_decoded_off_the_workers() {
    // Server and clients share one single-threaded runtime: a decode on it would stop
    // everything else until it ends.
    let server = start_server().await;
    let (_heavy_connection, heavy) = connect(&server).await;
    let (_light_connection, light) = connect(&server).await;
    let map = Heavy((0..600_000).map(|key| (key, 0)).collect());
    let order = Arc::new(Mutex::new(Vec::new()));
    let heavy_call = {
        let order = order.clone();
        async move {
            let entries = heavy.heavy(map).await.unwrap();
            order.lock().unwrap().push("heavy");
            entries
        }
    };
    let light_calls = {
        let order = order.clone();
        async move {
            // Once the server is decoding the heavy argument.
            HEAVY_DECODING.notified().await;
            for _ in 0..10 {
                assert_eq!(light.add(1, 1).await.unwrap(), 2);
            }
            order.lock().unwrap().push("light");
        }
    };
    let (entries, ()) = tokio::join!(heavy_call, light_calls);
    assert_eq!(entries, 600_000);
    assert_eq!(
        *order.lock().unwrap(),
        ["light", "heavy"],
        "other calls went on while the large argument was decoded"
    );
}
