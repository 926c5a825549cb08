//! The PB howto's first login example: one client logs in as `user1` and calls `foo(12)` on
//! its perspective.
//!
//! Run it with `cargo run --example login_one_client`.

use tartine::cred::LoginCredentials;
use tartine::{Remote, Server};
use tartine_examples::perspective::{self, MyPerspective, MyRealm};

/// Starts the server, logs in, calls `foo(12)`; returns what the server answered.
pub async fn run() -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let server = Server::bind_portal(
        "127.0.0.1:0",
        perspective::portal(MyRealm::default(), false)?,
    )
    .await?;
    let addr = server.local_addr()?;
    let handle = server.handle();
    tokio::spawn(server.run());

    let connection = tartine::connect(addr).await?;
    let perspective: Remote<MyPerspective> = connection
        .login(LoginCredentials::password("user1", "pass1"))
        .await?;
    println!("got perspective ref: {perspective:?}");
    println!("asking it to foo(12)");
    let answer = perspective.foo(12).await?;
    handle.shutdown(std::time::Duration::from_secs(5)).await;
    Ok(answer)
}

/// Runs the example.
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    run().await?;
    Ok(())
}
