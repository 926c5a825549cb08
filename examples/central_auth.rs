//! Central authentication: one authentication server and two brokers (`chat` and `game`).
//! alice logs in once, by password, at the authentication server; she then uses both brokers
//! with the tickets of that login, and her password never reaches them. When she logs out at
//! the authentication server, both brokers end her logins at once.
//!
//! `cargo run --example central_auth` runs all of it in one process. Each part can run in a
//! process of its own:
//!
//! ```text
//! cargo run --example central_auth -- --serve auth --listen 127.0.0.1:8810 --db /tmp/auth.db
//! cargo run --example central_auth -- --serve broker --name chat --listen 127.0.0.1:8811 --auth-server 127.0.0.1:8810
//! cargo run --example central_auth -- --serve broker --name game --listen 127.0.0.1:8812 --auth-server 127.0.0.1:8810
//! cargo run --example central_auth -- --client --auth-server 127.0.0.1:8810 \
//!     --broker chat=127.0.0.1:8811 --broker game=127.0.0.1:8812 --user alice   # password on stdin
//! ```
//!
//! The demo's accounts: alice/1234 and bob/secret (users), chat/chat-pw and game/game-pw (the
//! brokers' own accounts). Over a real network, serve `tls://` endpoints: tickets cross the
//! wire.

use clap::Parser;
use std::time::Duration;
use tartine::central::{AuthServer, AuthUser, CentralAuth, MemorySessions};
use tartine::cred::{
    AvatarId, InMemoryPasswords, LoggedIn, LoginCredentials, LoginError, NoMind, Portal, Realm,
};
use tartine::{Remote, Server, avatar};
use tokio::sync::mpsc;

/// Errors of the demo, for `main`.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What a broker gives each login: a desk that greets its user.
#[derive(Debug)]
pub struct Desk {
    user: String,
    broker: String,
}

#[avatar]
impl Desk {
    /// A greeting that names the user (as the authentication server proved it) and the broker.
    pub fn greet(&self) -> String {
        format!("{} greets {}", self.broker, self.user)
    }
}

/// A broker's realm: a desk per login; each logout is reported on `logouts`.
struct Desks {
    broker: String,
    logouts: mpsc::UnboundedSender<String>,
}

impl Realm for Desks {
    type Avatar = Desk;
    type Mind = NoMind;

    async fn request_avatar(
        &self,
        id: AvatarId,
        _mind: Option<Remote<NoMind>>,
    ) -> Result<LoggedIn<Desk>, LoginError> {
        let said = format!("{} ended {id}'s login", self.broker);
        let logouts = self.logouts.clone();
        Ok(LoggedIn::new(Desk {
            user: id.to_string(),
            broker: self.broker.clone(),
        })
        .on_logout(move || {
            let _ = logouts.send(said);
        }))
    }
}

/// The demo's accounts, users and brokers alike.
fn accounts() -> std::io::Result<InMemoryPasswords> {
    InMemoryPasswords::new()
        .with_user("alice", "1234")?
        .with_user("bob", "secret")?
        .with_user("chat", "chat-pw")?
        .with_user("game", "game-pw")
}

/// Binds the authentication server on `endpoint`, its sessions in the SQLite file `db` (so
/// that a restart logs no one out) or in memory.
pub async fn bind_auth(endpoint: &str, db: Option<&str>) -> Result<Server, Error> {
    let server = match db {
        Some(db) => AuthServer::new(tartine::cred::SqliteStore::open(db).await?),
        None => AuthServer::new(MemorySessions::new()),
    };
    let (portal, _admin) = server
        .with_checker(accounts()?)
        .with_broker("chat")
        .with_broker("game")
        .portal();
    Ok(Server::bind_portal(endpoint, portal).await?)
}

/// Binds the broker `name` on `endpoint`, checking tickets with the authentication server at
/// `auth`; its logouts are reported on `logouts`.
pub async fn bind_broker(
    name: &str,
    endpoint: &str,
    auth: &str,
    logouts: mpsc::UnboundedSender<String>,
) -> Result<(Server, CentralAuth), Error> {
    let password = format!("{name}-pw");
    let checker = CentralAuth::builder(auth, LoginCredentials::password(name, password))?.start();
    let portal = Portal::new(Desks {
        broker: name.to_owned(),
        logouts,
    })
    .with_checker(checker.clone());
    Ok((Server::bind_portal(endpoint, portal).await?, checker))
}

/// The client: logs in once at `auth`, then at each broker with a ticket; returns what it saw.
pub async fn client(
    auth: &str,
    brokers: &[(String, String)],
    user: &str,
    password: &str,
) -> Result<(Vec<String>, Remote<dyn AuthUser>, Vec<Remote<Desk>>), Error> {
    let mut seen = Vec::new();
    let connection = tartine::connect(auth).await?;
    let session =
        tartine::central::login(&connection, LoginCredentials::password(user, password)).await?;
    seen.push(format!(
        "{user} logged in once, at the authentication server"
    ));
    let mut desks = Vec::new();
    for (name, endpoint) in brokers {
        let ticket = session.ticket(name.clone()).await?;
        let broker = tartine::connect(endpoint.as_str()).await?;
        let desk = broker
            .login::<Desk>(LoginCredentials::token(user, ticket.token))
            .await?;
        seen.push(desk.greet().await?);
        desks.push(desk);
    }
    Ok((seen, session, desks))
}

/// The whole demo in one process, on free loopback ports; returns what happened, in order.
pub async fn demo() -> Result<Vec<String>, Error> {
    let auth = bind_auth("127.0.0.1:0", None).await?;
    let auth_addr = auth.local_addr()?.to_string();
    let auth_handle = auth.handle();
    tokio::spawn(auth.run());
    let (logouts, mut heard) = mpsc::unbounded_channel();
    let mut brokers = Vec::new();
    let mut handles = Vec::new();
    for name in ["chat", "game"] {
        let (server, checker) =
            bind_broker(name, "127.0.0.1:0", &auth_addr, logouts.clone()).await?;
        checker.linked().await;
        brokers.push((name.to_owned(), server.local_addr()?.to_string()));
        handles.push(server.handle());
        tokio::spawn(server.run());
    }
    let (mut seen, session, desks) = client(&auth_addr, &brokers, "alice", "1234").await?;
    // A ticket for one broker is refused at the other.
    let stolen = session.ticket("chat".into()).await?;
    let game = tartine::connect(brokers[1].1.as_str()).await?;
    if let Err(error) = game
        .login::<Desk>(LoginCredentials::token("alice", stolen.token))
        .await
    {
        seen.push(format!("a chat ticket at game: {error}"));
    }
    session.end_session().await?;
    seen.push("alice logged out at the authentication server".to_owned());
    let mut ended: Vec<String> = Vec::new();
    for _ in 0..desks.len() {
        ended.push(heard.recv().await.ok_or("a broker stopped")?);
    }
    ended.sort();
    seen.extend(ended);
    for handle in handles {
        handle.shutdown(Duration::ZERO).await;
    }
    auth_handle.shutdown(Duration::ZERO).await;
    Ok(seen)
}

/// The demo, or one of its parts.
#[derive(Debug, Parser)]
#[command(name = "central_auth")]
struct Args {
    /// Runs one server alone: `auth` or `broker`.
    #[arg(long, value_name = "ROLE", value_parser = ["auth", "broker"])]
    serve: Option<String>,
    /// Runs the client alone.
    #[arg(long, conflicts_with = "serve")]
    client: bool,
    /// Where the server listens.
    #[arg(long, value_name = "ENDPOINT", default_value = "127.0.0.1:0")]
    listen: String,
    /// The authentication server's SQLite file for its sessions (default: memory).
    #[arg(long, value_name = "PATH")]
    db: Option<String>,
    /// The broker's name (its account at the authentication server): chat or game.
    #[arg(long)]
    name: Option<String>,
    /// Where the authentication server listens (for a broker and the client).
    #[arg(long, value_name = "ENDPOINT")]
    auth_server: Option<String>,
    /// A broker for the client, as NAME=ENDPOINT (repeatable).
    #[arg(long, value_name = "NAME=ENDPOINT")]
    broker: Vec<String>,
    /// The client's user; the password is read from standard input.
    #[arg(long, default_value = "alice")]
    user: String,
}

async fn serve(args: Args) -> Result<(), Error> {
    let role = args.serve.as_deref().unwrap_or_default();
    let server = if role == "auth" {
        bind_auth(&args.listen, args.db.as_deref()).await?
    } else {
        let name = args.name.as_deref().ok_or("a broker needs --name")?;
        let auth = args
            .auth_server
            .as_deref()
            .ok_or("a broker needs --auth-server")?;
        let (logouts, mut heard) = mpsc::unbounded_channel();
        let (server, _checker) = bind_broker(name, &args.listen, auth, logouts).await?;
        tokio::spawn(async move {
            while let Some(line) = heard.recv().await {
                println!("{line}");
            }
        });
        server
    };
    let handle = server.handle();
    println!("{role} listening on {}", server.local_endpoint()?);
    tokio::spawn(server.run());
    tokio::signal::ctrl_c().await?;
    handle.shutdown(Duration::from_secs(5)).await;
    Ok(())
}

async fn run_client(args: Args) -> Result<(), Error> {
    let auth = args
        .auth_server
        .as_deref()
        .ok_or("the client needs --auth-server")?;
    let brokers: Vec<(String, String)> = args
        .broker
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(name, endpoint)| (name.to_owned(), endpoint.to_owned()))
                .ok_or_else(|| format!("--broker {pair}: expected NAME=ENDPOINT"))
        })
        .collect::<Result<_, _>>()?;
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let (seen, session, _desks) = client(auth, &brokers, &args.user, password.trim_end()).await?;
    for line in seen {
        println!("{line}");
    }
    println!("press enter to log out");
    std::io::stdin().read_line(&mut String::new())?;
    session.end_session().await?;
    Ok(())
}

/// Runs the demo, or one part of it.
#[tokio::main]
pub async fn main() -> Result<(), Error> {
    let args = Args::parse();
    if args.serve.is_some() {
        return serve(args).await;
    }
    if args.client {
        return run_client(args).await;
    }
    for line in demo().await? {
        println!("{line}");
    }
    Ok(())
}
