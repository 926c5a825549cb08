//! A chat client for a server started with `cargo run --example chat -- --serve ADDR`.
//!
//! `cargo run --example chat_client -- ADDR USER PASSWORD [GROUP]` logs in, joins the group
//! (`#lookingForFourth` by default), then sends each line typed on standard input as it comes,
//! while the group's messages appear on screen. End with ctrl-d.

use tartine::{Remote, RemoteError};
use tartine_examples::chat::{self, Group, Member};
use tokio::io::{AsyncBufReadExt, BufReader};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Logs `user` in to `addr` and joins `group`.
pub async fn join(
    addr: std::net::SocketAddr,
    user: &str,
    password: &str,
    group: &str,
) -> Result<(Member, Remote<Group>), Error> {
    let member = chat::join(addr, user, password, true).await?;
    let room = member
        .user
        .join_group(group.to_owned(), false)
        .await?
        .ok_or("could not join")?;
    println!(
        "joined {group} as {user}; members: {:?}",
        room.members_names().await?
    );
    Ok((member, room))
}

/// Sends one line to the group; a refusal is shown, not fatal.
pub async fn say(room: &Remote<Group>, line: String) -> Result<(), Error> {
    match room.send(line).await {
        Ok(_) => Ok(()),
        Err(RemoteError::Method(refused)) => {
            println!("refused: {refused}");
            Ok(())
        }
        Err(RemoteError::Call(error)) => Err(error.into()),
    }
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
    Ok(member.screen.screen())
}

/// Reads the arguments, joins, and chats from standard input line by line.
#[tokio::main]
pub async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, user, password, rest @ ..] = args.as_slice() else {
        return Err("usage: chat_client ADDR USER PASSWORD [GROUP]".into());
    };
    let group = rest.first().map_or("#lookingForFourth", String::as_str);
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
