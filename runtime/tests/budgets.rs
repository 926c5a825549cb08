//! Memory a hostile peer can make the other side hold, measured by the allocator of this test
//! process: a huge reference list in a header, on either side, and long frames from
//! connections that have not logged in. The tests run one at a time, so each one's peak is its
//! own.

mod common;

use common::counting::{Counting, peak_above, reset_peak};
use common::login::{anonymous_club, anonymous_login_works};
use common::raw::Raw;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tartine::cred::{LoginCredentials, LoginError};
use tartine::wire::{FrameCodec, Message, PREAMBLE, decode_message};
use tartine::{CallError, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Framed;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One test at a time: the counts are the whole process's.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const MIB: usize = 1024 * 1024;

/// Zeros to send without allocating.
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// The bytes of a call header listing `count` references (id 1 each), as both protocol
/// versions lay it out: kind, call id, target, method, then the list's length and its bytes.
fn huge_call_header(count: usize) -> Vec<u8> {
    let mut header = vec![1u8, 1, 0, 1, b'x'];
    header.extend(postcard::to_stdvec(&(count as u64)).unwrap());
    header.resize(header.len() + count, 1);
    header
}

/// Writes `bytes` as one frame, in pieces.
async fn send_frame(stream: &mut (impl AsyncWriteExt + Unpin), bytes: &[u8]) {
    stream
        .write_all(&(bytes.len() as u32).to_be_bytes())
        .await
        .unwrap();
    for chunk in bytes.chunks(64 * 1024) {
        if stream.write_all(chunk).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_huge_reference_list_before_login_costs_no_more_than_its_frame() {
    let _serial = SERIAL.lock().await;
    let (addr, handle) = anonymous_club(Config::default()).await;
    // Built before counting: the attacker's own bytes are not the server's.
    let header = huge_call_header(16 * MIB - 64);
    let mut raw = Raw::connect_to(addr).await;
    let baseline = reset_peak();
    send_frame(raw.framed.get_mut(), &header).await;
    raw.expect_closed().await;
    let peak = peak_above(baseline);
    eprintln!("server peak: {} KiB", peak / 1024);
    // The frame itself (grown as it arrives, so up to twice its size), and nothing for the
    // sixteen million ids it claims.
    assert!(peak < 40 * MIB, "the server held {} MiB", peak / MIB);
    drop(header);
    assert!(anonymous_login_works(addr).await);
    assert_eq!(handle.stats().logins, 1);
}

#[tokio::test]
async fn a_huge_reference_list_in_a_reply_costs_the_client_no_more_than_its_frame() {
    let _serial = SERIAL.lock().await;
    let header = huge_call_header(16 * MIB - 64);
    // A server that answers the first call with a reply listing sixteen million ids.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(&PREAMBLE).await.unwrap();
        let mut theirs = [0u8; 8];
        stream.read_exact(&mut theirs).await.unwrap();
        let mut framed = Framed::new(stream, FrameCodec::new(MIB));
        let hello = Message::Hello {
            root: Some("tartine.Portal"),
            max_frame: MIB as u64,
            max_refs: 16_384,
        };
        framed.send(common::raw::frame(hello, &[])).await.unwrap();
        while let Some(Ok(received)) = framed.next().await {
            if let Ok((Message::Call { call, .. }, _)) = decode_message(&received) {
                // A `Return` (kind 2) for that call, then the list.
                let mut reply = vec![2u8];
                reply.extend(postcard::to_stdvec(&call).unwrap());
                reply.extend_from_slice(&header[5..]);
                send_frame(framed.get_mut(), &reply).await;
                return framed;
            }
        }
        framed
    });
    let connection = tartine::connect(addr).await.unwrap();
    let baseline = reset_peak();
    let login = connection
        .login::<common::login::Player>(LoginCredentials::anonymous())
        .await;
    assert_eq!(
        login.unwrap_err(),
        LoginError::Call(CallError::ConnectionLost)
    );
    let peak = peak_above(baseline);
    eprintln!("client peak: {} KiB", peak / 1024);
    assert!(peak < 40 * MIB, "the client held {} MiB", peak / MIB);
    drop(server);
}

#[tokio::test]
async fn connections_that_have_not_logged_in_share_one_memory_budget() {
    let _serial = SERIAL.lock().await;
    let mut config = Config::default();
    config.max_pending_memory = 4 * MIB;
    let (addr, handle) = anonymous_club(config).await;
    let mut attackers = Vec::new();
    for _ in 0..16 {
        attackers.push(Raw::connect_to(addr).await);
    }
    let baseline = reset_peak();
    // Each announces a 4 MiB frame and sends 1 MiB of it, then waits: 16 MiB sent in all.
    for raw in &mut attackers {
        let stream = raw.framed.get_mut();
        let _ = stream.write_all(&(4 * MIB as u32).to_be_bytes()).await;
        for _ in 0..16 {
            if stream.write_all(&ZEROS).await.is_err() {
                break;
            }
        }
    }
    // Those the budget cannot hold are closed as their lengths arrive: wait for those closes
    // (the others stay open, and their reads time out together).
    let closes = attackers.iter_mut().map(|raw| async move {
        let read = tokio::time::timeout(Duration::from_secs(1), raw.framed.next()).await;
        matches!(read, Ok(None | Some(Err(_))))
    });
    let closed = futures_util::future::join_all(closes)
        .await
        .into_iter()
        .filter(|closed| *closed)
        .count();
    eprintln!("{closed} of 16 closed");
    let stats = handle.stats();
    assert!(stats.pending_memory <= 4 * MIB, "{stats:?}");
    let peak = peak_above(baseline);
    eprintln!("pending peak: {} KiB, {stats:?}", peak / 1024);
    assert!(
        peak < 12 * MIB,
        "pending connections held {} MiB together",
        peak / MIB
    );
    // Logins are small frames: they need nothing from the budget, spent as it is.
    assert!(anonymous_login_works(addr).await);
    assert!(closed >= 8, "{closed} of 16 closed");
}

#[tokio::test]
async fn a_small_call_kept_waiting_does_not_keep_a_large_frames_memory() {
    let _serial = SERIAL.lock().await;
    let server = common::start_server().await;
    let mut raw = Raw::connect(&server).await;
    let large = vec![0u8; 1_000_000];
    let small = postcard::to_stdvec(&(tartine::Bytes::from(vec![7u8; 600]),)).unwrap();
    let baseline = common::counting::held();
    for i in 0..16u64 {
        // A large call answered at once: its frame goes, and its memory with it...
        assert!(matches!(
            raw.call_raw(9_999, "x", &large).await,
            common::raw::Answer::Failed(tartine::wire::Failure::NoSuchObject)
        ));
        // ... even though the small call read right after it waits for ever.
        let hold = Message::Call {
            call: 1_000 + i,
            target: 0,
            method: "hold",
            exports: tartine::wire::IdList::EMPTY,
        };
        raw.framed
            .send(common::raw::frame(hold, &small))
            .await
            .unwrap();
        server.hanging(i as usize + 1).await;
    }
    let kept = common::counting::held().saturating_sub(baseline);
    eprintln!("16 waiting calls keep {} KiB", kept / 1024);
    // Each keeps its own frame; the client's buffers take about 1 MiB of the count.
    assert!(
        kept < 4 * MIB,
        "16 waiting calls of 600 bytes keep {} KiB",
        kept / 1024
    );
}
