//! The PB howto's second login example: two clients on two accounts each get their own
//! perspective, and call `foo(13)` and `foo(14)`.
//!
//! Run it with `cargo run --example login_two_clients`.

use tartine::cred::LoginCredentials;
use tartine::{Remote, Server};
use tartine_examples::perspective::{self, MyPerspective, MyRealm};

/// Starts the server and both clients; returns the calls the server saw, in order.
pub async fn run() -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let realm = MyRealm::default();
    let seen = realm.calls.clone();
    let server = Server::bind_portal("127.0.0.1:0", perspective::portal(realm, false)?).await?;
    let addr = server.local_addr()?;
    let handle = server.handle();
    tokio::spawn(server.run());

    for (user, password, arg) in [("user1", "pass1", 13), ("user2", "pass2", 14)] {
        let connection = tartine::connect(addr).await?;
        let perspective: Remote<MyPerspective> = connection
            .login(LoginCredentials::password(user, password))
            .await?;
        println!("{user} got a perspective; asking it to foo({arg})");
        perspective.foo(arg).await?;
    }
    handle.shutdown(std::time::Duration::from_secs(5)).await;
    let calls = seen.lock().map(|calls| calls.clone()).unwrap_or_default();
    Ok(calls)
}

/// Runs the example.
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    run().await?;
    Ok(())
}
