//! A chat client for a server started with `cargo run --example chat -- --serve ADDR`. It is
//! built from the protocol crate alone: `cargo tree -p tartine-chat-client` shows no server.
//!
//! `cargo run --example chat_client -- ADDR USER PASSWORD [GROUP]` logs in, joins the group
//! (`#lookingForFourth` by default), then sends each line typed on standard input as it comes,
//! while the group's messages appear on screen. End with ctrl-d.

use chat_client::{Error, Member, say};
use chat_protocol::Group;
use tartine::Remote;
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

/// Reads the arguments, joins, and chats from standard input line by line.
#[tokio::main]
pub async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, user, password, rest @ ..] = args.as_slice() else {
        return Err("usage: chat_client ADDR USER PASSWORD [GROUP]".into());
    };
    let group = rest
        .first()
        .map_or(chat_protocol::DEFAULT_GROUP, String::as_str);
    let addr = tokio::net::lookup_host(addr.as_str())
        .await?
        .next()
        .ok_or("no such address")?;
    let (_member, room) = join(addr, user, password, group).await?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = stdin.next_line().await? {
        say(&room, line).await?;
    }
    Ok(())
}
