//! Which connections a server takes: sockets that never say anything hold only pending places,
//! a few per address, and the oldest makes room for a new one; a burst of connects fits in the
//! listen backlog.

mod common;

use common::raw::{Answer, Raw};
use common::*;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tartine::cred::LoginCredentials;
use tartine::wire::PREAMBLE;
use tartine::{Config, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const OTHER_HOST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Opens `count` connections that never send anything.
async fn silent_sockets(addr: std::net::SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        sockets.push(TcpStream::connect(addr).await.unwrap());
    }
    sockets
}

/// Whether the server hung up on `socket` within `wait`.
async fn hung_up(socket: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0u8; 16];
    loop {
        match tokio::time::timeout(wait, socket.read(&mut byte)).await {
            Ok(Ok(0) | Err(_)) => return true,
            // The server's preamble: keep reading.
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn silent_sockets_from_one_address_cannot_crowd_out_another() {
    let mut config = Config::default();
    config.max_connections = 1_000;
    let server = start_server_with(config).await;
    // A thousand sockets from 127.0.0.1 that never say a word...
    let mut silent = silent_sockets(server.addr, 1_000).await;
    eventually("the server saw them", || {
        server.handle.stats().pending >= 64
    })
    .await;
    assert_eq!(server.handle.stats().pending, 64, "at most 64 per address");
    // ...and a client from another address is served at once.
    let mut raw = Raw::connect_from(OTHER_HOST, server.addr).await;
    assert!(matches!(
        raw.call(0, "add", &(2u64, 2u64)).await,
        Answer::Return { .. }
    ));
    // The silent sockets past the address's share were closed at once.
    assert!(hung_up(&mut silent[999], Duration::from_secs(5)).await);
}

#[tokio::test]
async fn the_oldest_pending_connection_makes_room_for_a_new_one() {
    let mut config = Config::default();
    config.max_pending_connections = 50;
    config.max_pending_per_address = 10_000;
    let (addr, handle) = common::login::anonymous_club(config).await;
    // A hundred sockets that finish no handshake, then one that does and logs in.
    let mut silent = silent_sockets(addr, 100).await;
    let connection = tartine::connect(addr).await.unwrap();
    let player = connection
        .login::<common::login::Player>(LoginCredentials::anonymous())
        .await
        .unwrap();
    assert!(player.is_anonymous().await.unwrap());
    assert!(handle.stats().pending <= 50, "{:?}", handle.stats());
    // The oldest silent ones made room.
    assert!(hung_up(&mut silent[0], Duration::from_secs(5)).await);
    assert!(!hung_up(&mut silent[99], Duration::from_millis(100)).await);
}

#[tokio::test]
async fn a_burst_of_connects_fits_in_the_listen_backlog() {
    const BURST: usize = 600;
    let mut config = Config::default();
    config.max_pending_per_address = 10_000;
    config.max_pending_connections = 10_000;
    let live = Live::default();
    let server = Server::bind_with("127.0.0.1:0", Arc::new(Echo::new(live)), config)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(BURST);
    // The server does not accept yet: every connect waits in the kernel's queue.
    let answered = Arc::new(AtomicUsize::new(0));
    let queued = Arc::new(tokio::sync::Semaphore::new(0));
    // A connect the queue dropped is retried by the kernel a second after its first SYN, so
    // one answered before then was queued.
    let first_syns = tokio::time::Instant::now();
    let clients: Vec<_> = (0..BURST)
        .map(|_| {
            let (answered, queued) = (Arc::clone(&answered), Arc::clone(&queued));
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                stream.write_all(&PREAMBLE).await?;
                queued.add_permits(1);
                let mut theirs = [0u8; 8];
                stream.read_exact(&mut theirs).await?;
                answered.fetch_add(1, Ordering::SeqCst);
                std::io::Result::Ok(stream)
            })
        })
        .collect();
    // Once the queue holds what it can (connects past it wait a second for the kernel to
    // retry them), the server starts.
    let fits = BURST.min(somaxconn) as u32;
    let _ = tokio::time::timeout(Duration::from_secs(5), queued.acquire_many(fits)).await;
    tokio::spawn(server.run());
    // Queued connections are answered at once; one the queue dropped waits a second or more
    // for the kernel to retry it.
    let _ = tokio::time::timeout_at(
        first_syns + Duration::from_millis(950),
        futures_util::future::join_all(clients),
    )
    .await;
    let answered = answered.load(Ordering::SeqCst);
    assert!(
        answered >= BURST.min(somaxconn),
        "{answered} of {BURST} answered within 950 ms of the first connect (somaxconn \
         {somaxconn})"
    );
}
