//! A chat client for a server started with `cargo run --example chat -- --serve ADDR`.
//!
//! `cargo run --example chat_client -- ADDR USER PASSWORD [GROUP]` logs in, joins the group
//! (`#lookingForFourth` by default), then sends each line typed on standard input and prints
//! what the group says. End with ctrl-d.

use tartine::RemoteError;
use tartine_examples::chat;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Logs in to `addr`, joins `group`, sends each of `lines`, and returns the screen.
pub async fn run(
    addr: std::net::SocketAddr,
    user: &str,
    password: &str,
    group: &str,
    lines: impl IntoIterator<Item = String>,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
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
    for line in lines {
        match room.send(line).await {
            Ok(_) => {}
            Err(RemoteError::Method(refused)) => println!("refused: {refused}"),
            Err(RemoteError::Call(error)) => return Err(error.into()),
        }
    }
    Ok(member.screen.screen())
}

/// Reads the arguments and chats from standard input.
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, user, password, rest @ ..] = args.as_slice() else {
        return Err("usage: chat_client ADDR USER PASSWORD [GROUP]".into());
    };
    let group = rest.first().map_or("#lookingForFourth", String::as_str);
    let addr = tokio::net::lookup_host(addr.as_str())
        .await?
        .next()
        .ok_or("no such address")?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut lines = Vec::new();
    while let Some(line) = stdin.next_line().await? {
        lines.push(line);
    }
    run(addr, user, password, group, lines).await?;
    Ok(())
}
