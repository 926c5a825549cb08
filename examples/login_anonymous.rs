//! The PB howto's anonymous example: one connection logs in twice, anonymously and as
//! `user1`, and gets two separate perspectives.
//!
//! Run it with `cargo run --example login_anonymous`.

use tartine::cred::LoginCredentials;
use tartine::{Remote, Server};
use tartine_examples::perspective::{self, MyPerspective, MyRealm};

/// Starts the server, logs in both ways on one connection; returns both answers.
pub async fn run() -> Result<(String, String), Box<dyn std::error::Error + Send + Sync>> {
    let server = Server::bind_portal(
        "127.0.0.1:0",
        perspective::portal(MyRealm::default(), true)?,
    )
    .await?;
    let addr = server.local_addr()?;
    let handle = server.handle();
    tokio::spawn(server.run());

    let connection = tartine::connect(addr).await?;
    let (anonymous, named) = tokio::join!(
        connection.login::<MyPerspective>(LoginCredentials::anonymous()),
        connection.login::<MyPerspective>(LoginCredentials::password("user1", "pass1")),
    );
    let (anonymous, named): (Remote<MyPerspective>, Remote<MyPerspective>) = (anonymous?, named?);
    let answers = tokio::try_join!(anonymous.foo(13), named.foo(13))?;
    println!("anonymous: {}", answers.0);
    println!("user1:     {}", answers.1);
    handle.shutdown(std::time::Duration::from_secs(5)).await;
    Ok(answers)
}

/// Runs the example.
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    run().await?;
    Ok(())
}
