//! The chat demo: a chat server on a loopback port, and alice, bob and carol as three clients.
//! They join `#lookingForFourth`, talk, meet the group's "mattress" rule, and alice tries to
//! use a reference that was handed to bob; the server refuses it.
//!
//! Run it with `cargo run --release --example chat`. With `--listen ENDPOINT` it runs only the
//! server (try `--listen 127.0.0.1:8800`), which `cargo run --example chat_client` can join;
//! over TLS, `--listen tls://127.0.0.1:8800 --cert CERT.pem --key KEY.pem` (make a test
//! certificate with `cargo run --example make_cert`). `--auth SOURCE` (repeatable) takes its
//! users from a store instead of the demo's three: `--auth sqlite:users.db`, say, with users
//! added by `tartine-admin`. `--serve` is another name for `--listen`.
//!
//! The server is `tartine_examples::chat`, the clients `chat_client` (which knows only the
//! protocol crate, `chat_protocol`): here they share a process, as they would not in use.

use chat_protocol::{ChatError, DEFAULT_GROUP as GROUP};
use clap::Parser;
use std::time::Duration;
use tartine::cred::AuthSource;
use tartine::{CallError, RemoteError, Server};
use tartine_examples::chat;

/// Every line the three screens showed, per user.
pub type Screens = Vec<(String, Vec<String>)>;

/// Runs the demo on a free loopback port; returns what each client's screen showed.
pub async fn demo() -> Result<Screens, Box<dyn std::error::Error + Send + Sync>> {
    let server = Server::bind_portal("127.0.0.1:0", chat::portal()?).await?;
    let addr = server.local_addr()?;
    let handle = server.handle();
    tokio::spawn(server.run());
    println!("chat server listening on {addr}");

    let alice = chat_client::join(addr, "alice", "1234", true).await?;
    let bob = chat_client::join(addr, "bob", "secret", true).await?;
    let carol = chat_client::join(addr, "carol", "fido", true).await?;
    println!("alice, bob and carol logged in");

    let alice_group = alice.join_group(GROUP, false).await?;
    let bob_group = bob.join_group(GROUP, false).await?;
    let carol_group = carol.join_group(GROUP, false).await?;
    println!(
        "members of {GROUP}: {:?}",
        alice_group.members_names().await?
    );

    alice_group.send("You can call me Al.".into()).await?;
    bob_group.send("Hi Al! Bridge on Saturday?".into()).await?;
    carol_group.send("Only if we find a fourth.".into()).await?;

    match bob_group
        .send("I'll bring a mattress for the camp.".into())
        .await
    {
        Err(RemoteError::Method(ChatError::ForbiddenWord(word))) => {
            println!("bob was refused: don't say \"{word}\" in {GROUP}");
        }
        other => return Err(format!("the mattress rule did not hold: {other:?}").into()),
    }

    // Alice got hold of bob's reference to the group (they share a process here) and tries to
    // hand it to the server over her own connection, to act on bob's membership. References
    // mean something only on the connection they were handed out on.
    match alice.user.leave_group(&bob_group).await {
        Err(CallError::ForeignReference) => {
            println!("alice tried to use bob's group reference over her connection: refused");
        }
        other => return Err(format!("the spoof was not refused: {other:?}").into()),
    }

    // Give the last deliveries a moment, then show the screens.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let screens = vec![
        ("alice".to_owned(), alice.screen.lines()),
        ("bob".to_owned(), bob.screen.lines()),
        ("carol".to_owned(), carol.screen.lines()),
    ];
    drop((alice, bob, carol));
    handle.shutdown(std::time::Duration::from_secs(5)).await;
    Ok(screens)
}

/// Binds the chat server on `endpoint`, with the certificate and key of a `tls://` one, and
/// its users from `auth` (the demo users in memory when it is empty).
pub async fn bind(
    endpoint: &str,
    tls: Option<(&str, &str)>,
    auth: &[AuthSource],
) -> Result<Server, Box<dyn std::error::Error + Send + Sync>> {
    let mut config = tartine::Config::default();
    if let Some((cert, key)) = tls {
        config.tls_server = Some(tartine::TlsServerConfig::from_pem_files(cert, key)?);
    }
    let portal = if auth.is_empty() {
        chat::portal()?
    } else {
        let mut checkers = Vec::with_capacity(auth.len());
        for source in auth {
            checkers.push(source.open().await?);
        }
        chat::portal_from(chat::ChatRealm::default(), checkers)
    };
    Ok(Server::bind_portal_with(endpoint, portal, config).await?)
}

/// The chat demo, or its server alone.
#[derive(Debug, Parser)]
#[command(name = "chat")]
struct Args {
    /// Runs the server alone on ENDPOINT (`tcp://HOST:PORT`, `tls://HOST:PORT` or
    /// `unix:/PATH`) until interrupted. Without it, the whole demo runs in one process.
    #[arg(long, visible_alias = "serve", value_name = "ENDPOINT")]
    listen: Option<String>,
    /// Where the users come from; repeat it to combine sources: memory:USER:PASSWORD...,
    /// file:PATH, sqlite:PATH, postgres://URL or anonymous. Default: alice, bob and carol in
    /// memory.
    #[arg(long, value_name = "SOURCE", requires = "listen")]
    auth: Vec<AuthSource>,
    /// The server's certificate (PEM), for a `tls://` endpoint.
    #[arg(long, value_name = "CERT.pem", requires_all = ["key", "listen"])]
    cert: Option<String>,
    /// The server's private key (PEM), for a `tls://` endpoint.
    #[arg(long, value_name = "KEY.pem", requires = "cert")]
    key: Option<String>,
}

/// Runs the server alone until interrupted.
async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let endpoint = args.listen.as_deref().unwrap_or_default();
    for source in args
        .auth
        .iter()
        .filter(|source| source.exposes_a_password())
    {
        eprintln!("warning: --auth {source} puts a password in the process list");
    }
    let tls = args.cert.as_deref().zip(args.key.as_deref());
    let server = bind(endpoint, tls, &args.auth).await?;
    let handle = server.handle();
    println!("chat server listening on {}", server.local_endpoint()?);
    if args.auth.is_empty() {
        println!("users: alice/1234, bob/secret, carol/fido; stop with ctrl-c");
    } else {
        let sources: Vec<String> = args.auth.iter().map(ToString::to_string).collect();
        println!("users from {}; stop with ctrl-c", sources.join(", "));
    }
    tokio::spawn(server.run());
    tokio::signal::ctrl_c().await?;
    handle.shutdown(std::time::Duration::from_secs(5)).await;
    Ok(())
}

/// Runs the demo, or the server alone with `--listen ENDPOINT`.
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    if args.listen.is_some() {
        return serve(args).await;
    }
    demo().await?;
    Ok(())
}
