//! What one hostile peer can cost a tartine server, measured: the heap a connection holds
//! (pending, logged in, per reference exported), the time the costliest payloads take to decode,
//! and the rate of password guesses a server really checks, with one connection and with a
//! hundred.
//!
//! `cargo run --release -p tartine-benches --bin costs [-- --quick] [-- --only memory|decoding|guessing]`.
//! See `benches/README.md`.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tartine::__private::{Codec, DecodeLimits, Postcard};
use tartine::cred::scram::{NONCE_LEN, Nonce};
use tartine::cred::{InMemoryPasswords, LoginCredentials, Portal};
use tartine::wire::{FrameCodec, IdList, Message, PREAMBLE, decode_message};
use tartine::{Config, Remote, Server};
use tartine_benches::alloc::{Counting, live_bytes};
use tartine_benches::rpc::{self, BenchService, Club, Member};
use tartine_benches::stats::median;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::codec::Framed;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, addr, count, mode] = args.as_slice()
        && flag == "--hold"
    {
        return hold(addr.parse()?, count.parse()?, mode);
    }
    let quick = args.iter().any(|arg| arg == "--quick");
    let only = args
        .iter()
        .position(|arg| arg == "--only")
        .and_then(|i| args.get(i + 1));
    let wants = |part: &str| only.is_none_or(|only| only == part);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!("# What one peer can cost a server (default Config)\n");
    if wants("memory") {
        runtime.block_on(memory(quick))?;
    }
    if wants("decoding") {
        decoding(quick)?;
    }
    if wants("guessing") {
        runtime.block_on(guessing(quick))?;
    }
    Ok(())
}

/// Heap a server holds per connection, as the allocator counts it; the clients run in another
/// process (`costs --hold ADDR COUNT pending|login`).
async fn memory(quick: bool) -> Result<(), Error> {
    let count = if quick { 200 } else { 1_000 };
    println!("## Memory, server side\n");
    println!("| what | heap |");
    println!("| --- | ---: |");
    let config = rpc::load_config();
    let portal =
        Server::bind_portal_with("127.0.0.1:0", rpc::portal(4096)?, config.clone()).await?;
    let portal_addr = portal.local_addr()?;
    let portal_handle = portal.handle();
    tokio::spawn(portal.run());
    for (what, mode) in [
        ("a connection pending its login", "pending"),
        ("a logged-in connection, idle", "login"),
    ] {
        let before = live_bytes();
        let mut holder = Holder::start(portal_addr, count, mode)?;
        holder.ready()?;
        wait_until(|| portal_handle.stats().connections == count).await;
        let per_connection = (live_bytes().saturating_sub(before)) / count;
        println!(
            "| {what}, just opened | {:.1} KiB |",
            per_connection as f64 / 1024.0
        );
        // A connection silent for a second lets its read buffer go.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        let per_connection = (live_bytes().saturating_sub(before)) / count;
        println!(
            "| {what}, after two idle seconds | {:.1} KiB |",
            per_connection as f64 / 1024.0
        );
        drop(holder);
        wait_until(|| portal_handle.stats().connections == 0).await;
    }
    // References exported to one connection (both sides: the client is in this process).
    let server = Server::bind_with("127.0.0.1:0", Arc::new(BenchService), config).await?;
    let addr = server.local_addr()?;
    tokio::spawn(server.run());
    let connection = tartine::connect(addr).await?;
    let service: Remote<BenchService> = connection.root()?;
    let references = if quick { 2_000 } else { 16_000 };
    let before = live_bytes();
    let mut held = Vec::with_capacity(references);
    for value in 0..references as u64 {
        held.push(service.token(value).await?);
    }
    let per_reference = (live_bytes() - before) / references;
    println!(
        "| a reference exported (the object, both tables, and the client's proxy) | {per_reference} B |"
    );
    drop(held);
    let defaults = Config::default();
    println!(
        "\nBounds per connection at the defaults: a frame being received, {} MiB (reserved when \
         its length arrives, touched as its bytes do); the write queue {} MiB; running calls' \
         frames {} MiB; \
         {} references; {} logins. Pending connections: {} per address, {} per server, and \
         {} MiB of long frames among them all.\n",
        defaults.max_frame_size >> 20,
        defaults.max_write_queue >> 20,
        defaults.max_in_flight_bytes >> 20,
        defaults.max_exports,
        defaults.max_logins_per_connection,
        defaults.max_pending_per_address,
        defaults.max_pending_connections,
        defaults.max_pending_memory >> 20,
    );
    Ok(())
}

/// A child process holding connections open.
struct Holder {
    child: std::process::Child,
}

impl Holder {
    fn start(addr: SocketAddr, count: usize, mode: &str) -> Result<Self, Error> {
        let child = std::process::Command::new(std::env::current_exe()?)
            .args(["--hold", &addr.to_string(), &count.to_string(), mode])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        Ok(Holder { child })
    }

    /// Waits for the child's "ready".
    fn ready(&mut self) -> Result<(), Error> {
        use std::io::BufRead;
        let stdout = self.child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        if line.trim() == "ready" {
            Ok(())
        } else {
            Err(format!("the holder said {line:?}").into())
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The child: opens `count` connections to `addr`, logs them in if `mode` is `login`, says
/// "ready", and holds them until its standard input closes.
fn hold(addr: SocketAddr, count: usize, mode: &str) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let held = runtime.block_on(async {
        let mut held = Vec::with_capacity(count);
        for _ in 0..count {
            let connection = tartine::connect(addr).await?;
            let member: Option<Remote<Member>> = if mode == "login" {
                Some(connection.login(LoginCredentials::anonymous()).await?)
            } else {
                None
            };
            held.push((connection, member));
        }
        Ok::<_, Error>(held)
    })?;
    println!("ready");
    std::io::Write::flush(&mut std::io::stdout())?;
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(held);
    Ok(())
}

async fn wait_until(mut condition: impl FnMut() -> bool) {
    while !condition() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The time the costliest shapes of payload take to decode, at the largest frame.
fn decoding(quick: bool) -> Result<(), Error> {
    let limits = {
        let defaults = Config::default();
        DecodeLimits::new(defaults.max_decode_depth, defaults.max_decode_items)
    };
    let size = if quick { 1 << 20 } else { 16 << 20 };
    let runs = if quick { 3 } else { 9 };
    println!(
        "## Decoding, worst shapes ({} MiB payloads, median of {runs})\n",
        size >> 20
    );
    println!("| payload | time | rate |");
    println!("| --- | ---: | ---: |");
    let measure = |what: &str, bytes: Vec<u8>, decode: &dyn Fn(&[u8]) -> bool| {
        let mut times = Vec::with_capacity(runs);
        let mut ok = true;
        for _ in 0..runs {
            let started = Instant::now();
            ok &= decode(&bytes);
            times.push(started.elapsed().as_secs_f64());
        }
        let time = median(&mut times);
        if ok {
            println!(
                "| {what} | {:.1} ms | {:.0} MB/s |",
                time * 1e3,
                bytes.len() as f64 / time / 1e6
            );
        } else {
            println!("| {what}: stopped | {:.1} µs | |", time * 1e6);
        }
    };
    // One byte per element: the most items a payload can hold.
    let elements = postcard::to_stdvec(&(vec![1u8; size],))?;
    measure("`Vec<u8>` sent element by element", elements, &|bytes| {
        Postcard::decode::<(Vec<u8>,)>(bytes, limits).is_ok()
    });
    let blob = postcard::to_stdvec(&(Bytes::from(vec![1u8; size]),))?;
    measure("`Bytes`, one block", blob, &|bytes| {
        Postcard::decode::<(tartine::Bytes,)>(bytes, limits).is_ok()
    });
    // Small map entries: each item allocates.
    let mut map = BTreeMap::new();
    let mut key = 0u32;
    while map.len() * 6 < size {
        map.insert(key, 0u8);
        key += 1;
    }
    let entries = postcard::to_stdvec(&(map,))?;
    measure(
        "`BTreeMap<u32, u8>`, one entry per 6 bytes",
        entries.clone(),
        &|bytes| Postcard::decode::<(BTreeMap<u32, u8>,)>(bytes, limits).is_ok(),
    );
    // What a worker thread spends on it before the decode moves to the blocking pool.
    let inline = limits.inline(Config::default().max_inline_decode_items);
    measure(
        "the same, decoded on a worker thread until 16,384 items",
        entries,
        &|bytes| Postcard::decode::<(BTreeMap<u32, u8>,)>(bytes, inline).is_ok(),
    );
    // Zero-sized elements announcing u64::MAX: stopped by the item budget.
    let units = postcard::to_stdvec(&u64::MAX)?;
    measure(
        "`Vec<()>` announcing u64::MAX items (10 bytes)",
        units,
        &|bytes| Postcard::decode::<Vec<()>>(bytes, limits).is_ok(),
    );
    // Nesting far past the limit: stopped at the limit.
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    enum Tree {
        Leaf,
        Node(Box<Tree>),
    }
    let mut deep = vec![1u8; size - 1];
    deep.push(0);
    measure("a tree nested as deep as the bytes allow", deep, &|bytes| {
        Postcard::decode::<Tree>(bytes, limits).is_ok()
    });
    println!();
    Ok(())
}

const USER: &str = "alice";

/// Password guesses per second: sent, and really checked by the server (the others were
/// refused unchecked by the throttle), with the default Config.
async fn guessing(quick: bool) -> Result<(), Error> {
    let window = Duration::from_secs(if quick { 5 } else { 60 });
    println!(
        "## Password guessing at one user, default Config ({} s each)\n",
        window.as_secs()
    );
    println!(
        "| attacker | guesses sent | checked in the first second | checked after, per second | checked in all |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (what, connections, addresses) in [
        ("1 connection", 1, 1),
        ("100 connections from 1 address", 100, 1),
        ("100 connections from 100 addresses", 100, 100),
    ] {
        let portal =
            Portal::new(Club).with_checker(InMemoryPasswords::new().with_user(USER, "1234")?);
        let server =
            Server::bind_portal_with("127.0.0.1:0", portal.clone(), Config::default()).await?;
        let addr = server.local_addr()?;
        let handle = server.handle();
        tokio::spawn(server.run());
        let started = Instant::now();
        let attackers: Vec<_> = (0..connections)
            .map(|index| {
                let local = IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + (index % addresses) as u8));
                tokio::spawn(guess_for(addr, local, started + window))
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let first = portal.stats().failed;
        let mut sent = 0;
        for attacker in attackers {
            sent += attacker.await.unwrap_or(0);
        }
        let stats = portal.stats();
        let rest = window.as_secs_f64() - 1.0;
        println!(
            "| {what} | {:.0}/s | {first} | {:.2} | {} |",
            sent as f64 / window.as_secs_f64(),
            (stats.failed - first) as f64 / rest,
            stats.failed
        );
        handle.shutdown(std::time::Duration::ZERO).await;
    }
    println!(
        "\nA user gets 10 failed logins at once, then one every 6 s; an address 20, then one per \
         second; every failure is answered after 200 ms; a connection is closed at its fifth."
    );
    Ok(())
}

/// Sends wrong proofs for `USER` from `local` until `until`, reconnecting whenever the server
/// hangs up; returns how many were sent.
async fn guess_for(addr: SocketAddr, local: IpAddr, until: Instant) -> u64 {
    let mut sent = 0;
    while Instant::now() < until {
        let Ok(mut framed) = handshake(addr, local).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let mut call = 0u64;
        loop {
            if Instant::now() >= until {
                return sent;
            }
            call += 1;
            let nonce: Nonce = [7; NONCE_LEN];
            let Some(reply) = round_trip(
                &mut framed,
                call,
                "tartine.login.password.begin",
                &(USER, nonce),
            )
            .await
            else {
                break;
            };
            let Ok((challenge, ..)) = postcard::from_bytes::<(u64, Vec<u8>, u32, Nonce)>(&reply)
            else {
                break;
            };
            call += 1;
            sent += 1;
            if round_trip(
                &mut framed,
                call,
                "tartine.login.password.prove",
                &(challenge, [0u8; 32]),
            )
            .await
            .is_none()
            {
                break;
            }
        }
    }
    sent
}

/// A raw connection to `addr` from `local`, past the handshake.
async fn handshake(
    addr: SocketAddr,
    local: IpAddr,
) -> std::io::Result<Framed<TcpStream, FrameCodec>> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(local, 0))?;
    let mut stream = socket.connect(addr).await?;
    stream.write_all(&PREAMBLE).await?;
    let mut theirs = [0u8; 8];
    stream.read_exact(&mut theirs).await?;
    let mut framed = Framed::new(stream, FrameCodec::new(1 << 20));
    let hello = Message::Hello {
        root: None,
        max_frame: 1 << 20,
        max_refs: 16_384,
    }
    .encode()
    .map_err(std::io::Error::other)?;
    framed
        .send(tartine::wire::Outgoing::new(hello, Bytes::new()))
        .await?;
    framed
        .next()
        .await
        .ok_or_else(|| std::io::Error::other("closed"))??;
    Ok(framed)
}

/// Calls `method` on the root; returns the payload of the answer (a value or an error), or
/// `None` if the connection closed.
async fn round_trip(
    framed: &mut Framed<TcpStream, FrameCodec>,
    call: u64,
    method: &str,
    args: &impl serde::Serialize,
) -> Option<Vec<u8>> {
    let head = Message::Call {
        call,
        target: 0,
        method,
        exports: IdList::EMPTY,
    }
    .encode()
    .ok()?;
    let body = Bytes::from(postcard::to_stdvec(args).ok()?);
    framed
        .send(tartine::wire::Outgoing::new(head, body))
        .await
        .ok()?;
    loop {
        let frame = framed.next().await?.ok()?;
        match decode_message(&frame).ok()? {
            (Message::Return { call: c, .. } | Message::Raised { call: c, .. }, offset)
                if c == call =>
            {
                return Some(frame[offset..].to_vec());
            }
            (Message::Failed { call: c, .. }, _) if c == call => return Some(Vec::new()),
            _ => continue,
        }
    }
}
