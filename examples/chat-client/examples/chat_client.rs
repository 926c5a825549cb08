//! A chat client for a server started with `cargo run --example chat -- --listen ENDPOINT`.
//! It is built from the protocol crate alone: `cargo tree -p tartine-chat-client` shows no
//! server.
//!
//! `cargo run --example chat_client -- [--ca CA.pem] ENDPOINT USER PASSWORD [GROUP]` logs in,
//! joins the group (`#lookingForFourth` by default), then sends each line typed on standard
//! input as it comes, while the group's messages appear on screen. End with ctrl-d. A
//! `tls://` endpoint needs `--ca`: the certificate of the authority that signed the server's
//! (for a self-signed test certificate, the certificate itself).

use chat_client::{Error, Member, say};
use chat_protocol::Group;
use tartine::{Config, Remote, TlsClientConfig};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Logs `user` in to `addr` and joins `group`.
pub async fn join(
    addr: std::net::SocketAddr,
    user: &str,
    password: &str,
    group: &str,
) -> Result<(Member, Remote<dyn Group>), Error> {
    let member = chat_client::join(addr, user, password, true).await?;
    let room = member.join_group(group, false).await?;
    println!(
        "joined {group} as {user}; members: {:?}",
        room.members_names().await?
    );
    Ok((member, room))
}

/// Joins, sends each of `lines`, and returns what the screen showed.
pub async fn run(
    addr: std::net::SocketAddr,
    user: &str,
    password: &str,
    group: &str,
    lines: impl IntoIterator<Item = String>,
) -> Result<Vec<String>, Error> {
    let (member, room) = join(addr, user, password, group).await?;
    for line in lines {
        say(&room, line).await?;
    }
    Ok(member.screen.lines())
}

/// Logs `user` in to `endpoint` with `config` and joins `group`.
pub async fn join_endpoint(
    endpoint: &str,
    config: Config,
    user: &str,
    password: &str,
    group: &str,
) -> Result<(Member, Remote<dyn Group>), Error> {
    let member = chat_client::join_with(endpoint, config, user, password, true).await?;
    let room = member.join_group(group, false).await?;
    Ok((member, room))
}

/// The client's settings: trusting the authority in `ca`, if given.
pub fn config(ca: Option<&str>) -> Result<Config, Error> {
    let mut config = Config::default();
    if let Some(ca) = ca {
        config.tls_client = Some(TlsClientConfig::from_ca_file(ca)?);
    }
    Ok(config)
}

const USAGE: &str = "usage: chat_client [--ca CA.pem] ENDPOINT USER PASSWORD [GROUP]";

/// Reads the arguments, joins, and chats from standard input line by line.
#[tokio::main]
pub async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (ca, args) = match args.as_slice() {
        [flag, ca, rest @ ..] if flag == "--ca" => (Some(ca.as_str()), rest),
        rest => (None, rest),
    };
    let [endpoint, user, password, rest @ ..] = args else {
        return Err(USAGE.into());
    };
    let group = rest
        .first()
        .map_or(chat_protocol::DEFAULT_GROUP, String::as_str);
    let (_member, room) = join_endpoint(endpoint, config(ca)?, user, password, group).await?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = stdin.next_line().await? {
        say(&room, line).await?;
    }
    Ok(())
}
