//! The chat demo: a chat server on a loopback port, and alice, bob and carol as three clients.
//! They join `#lookingForFourth`, talk, meet the group's "mattress" rule, and alice tries to
//! use a reference that was handed to bob; the server refuses it.
//!
//! Run it with `cargo run --release --example chat`. With `--serve ENDPOINT` it runs only the
//! server (try `--serve 127.0.0.1:8800`), which `cargo run --example chat_client` can join;
//! over TLS, `--serve tls://127.0.0.1:8800 --cert CERT.pem --key KEY.pem` (make a test
//! certificate with `cargo run --example make_cert`).
//!
//! The server is `tartine_examples::chat`, the clients `chat_client` (which knows only the
//! protocol crate, `chat_protocol`): here they share a process, as they would not in use.

use chat_protocol::{ChatError, DEFAULT_GROUP as GROUP};
use std::time::Duration;
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

/// Binds the chat server on `endpoint`, with the certificate and key of a `tls://` one.
pub async fn bind(
    endpoint: &str,
    tls: Option<(&str, &str)>,
) -> Result<Server, Box<dyn std::error::Error + Send + Sync>> {
    let mut config = tartine::Config::default();
    if let Some((cert, key)) = tls {
        config.tls_server = Some(tartine::TlsServerConfig::from_pem_files(cert, key)?);
    }
    Ok(Server::bind_portal_with(endpoint, chat::portal()?, config).await?)
}

/// Runs the server alone on `endpoint` until interrupted.
async fn serve(
    endpoint: &str,
    tls: Option<(&str, &str)>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let server = bind(endpoint, tls).await?;
    let handle = server.handle();
    println!("chat server listening on {}", server.local_endpoint()?);
    println!("users: alice/1234, bob/secret, carol/fido; stop with ctrl-c");
    tokio::spawn(server.run());
    tokio::signal::ctrl_c().await?;
    handle.shutdown(std::time::Duration::from_secs(5)).await;
    Ok(())
}

const USAGE: &str = "usage: chat [--serve ENDPOINT [--cert CERT.pem --key KEY.pem]]";

/// Runs the demo, or the server alone with `--serve ENDPOINT`.
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => {
            demo().await?;
            Ok(())
        }
        ["--serve", endpoint] => serve(endpoint, None).await,
        ["--serve", endpoint, "--cert", cert, "--key", key]
        | ["--serve", endpoint, "--key", key, "--cert", cert] => {
            serve(endpoint, Some((cert, key))).await
        }
        _ => Err(USAGE.into()),
    }
}
