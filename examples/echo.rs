//! A server and a client in one process: typed calls, a method error, byte payloads, and a
//! referenceable object returned by one call and handed back in another.
//!
//! Run it with `cargo run --release --example echo`.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use tartine::{Bytes, Local, Remote, RemoteError, Server, referenceable};

/// A tally the server hands out by reference.
#[derive(Debug)]
pub struct Tally {
    count: AtomicU64,
}

#[referenceable]
impl Tally {
    /// Adds `n` and returns the new count.
    pub fn add(&self, n: u64) -> u64 {
        self.count.fetch_add(n, Ordering::SeqCst) + n
    }
}

/// Why the echo service refuses a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EchoError {
    /// There was nothing to echo.
    Empty,
}

impl std::fmt::Display for EchoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("nothing to echo")
    }
}

/// The root object the server publishes.
#[derive(Debug)]
pub struct Echo;

#[referenceable]
impl Echo {
    /// Returns `text` unchanged.
    pub async fn echo(&self, text: String) -> String {
        text
    }

    /// Returns `text` in capitals, or refuses an empty one.
    pub fn shout(&self, text: String) -> Result<String, EchoError> {
        if text.is_empty() {
            return Err(EchoError::Empty);
        }
        Ok(text.to_uppercase())
    }

    /// Returns the payload; `Bytes` crosses the wire as one block, not byte by byte.
    pub fn echo_bytes(&self, data: Bytes) -> Bytes {
        data
    }

    /// A new tally: the caller receives a `Remote<Tally>`.
    pub fn tally(&self, start: u64) -> Tally {
        Tally {
            count: AtomicU64::new(start),
        }
    }

    /// Reads a tally the caller got from us and hands back.
    pub fn read(&self, tally: Local<Tally>) -> u64 {
        tally.count.load(Ordering::SeqCst)
    }
}

/// Starts the server on a free loopback port, makes a few calls, and returns.
pub async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::bind("127.0.0.1:0", Echo).await?;
    let addr = server.local_addr()?;
    let handle = server.handle();
    tokio::spawn(server.run());
    println!("server listening on {addr}");

    let connection = tartine::connect(addr).await?;
    let echo: Remote<Echo> = connection.root()?;

    println!("echo       -> {}", echo.echo("bonjour".into()).await?);
    println!("shout      -> {}", echo.shout("bonjour".into()).await?);
    match echo.shout(String::new()).await {
        Err(RemoteError::Method(error)) => println!("shout \"\"   -> refused: {error}"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    let payload = Bytes::from(vec![42u8; 256 * 1024]);
    let back = echo.echo_bytes(payload.clone()).await?;
    println!(
        "echo_bytes -> {} bytes, intact: {}",
        back.len(),
        back == payload
    );

    let tally: Remote<Tally> = echo.tally(10).await?;
    tally.add(5).await?;
    println!(
        "tally      -> {} (read back by the server)",
        echo.read(&tally).await?
    );

    drop((tally, echo, connection));
    handle.shutdown(std::time::Duration::from_secs(5)).await;
    Ok(())
}

/// Runs the example.
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run().await
}
