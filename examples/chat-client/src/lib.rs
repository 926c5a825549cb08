//! A client of the chat example. It depends on the protocol crate (`chat_protocol`) and on
//! tartine, and on no server code: it holds `Remote<dyn User>` and `Remote<dyn Group>`, and
//! gives the server a [`TextScreen`] to print on.

use chat_protocol::{Group, Screen, User};
use std::sync::{Arc, Mutex};
use tartine::cred::LoginCredentials;
use tartine::{Config, Connection, Remote, RemoteError, ToEndpoint};

/// The errors of the client's steps.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A screen the server prints on: the client's mind.
#[derive(Debug)]
pub struct TextScreen {
    name: String,
    lines: Mutex<Vec<String>>,
    echo: bool,
}

impl TextScreen {
    /// A screen for `name`; `echo` also prints what it shows on standard output.
    pub fn new(name: &str, echo: bool) -> Self {
        TextScreen {
            name: name.to_owned(),
            lines: Mutex::new(Vec::new()),
            echo,
        }
    }

    /// What the screen showed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[tartine::referenceable]
impl Screen for TextScreen {
    async fn print(&self, message: String) {
        if self.echo {
            println!("[{}'s screen] {message}", self.name);
        }
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message);
    }
}

/// One logged-in chat client.
#[derive(Debug)]
pub struct Member {
    /// The connection to the server.
    pub connection: Connection,
    /// The user's avatar.
    pub user: Remote<dyn User>,
    /// The client's screen (its mind).
    pub screen: Arc<TextScreen>,
}

impl Member {
    /// Joins the group `name`, which forbids "mattress" unless `allow_mattress` (when it is
    /// created by this call).
    ///
    /// # Errors
    /// When the call fails, or the server gives no group.
    pub async fn join_group(
        &self,
        name: &str,
        allow_mattress: bool,
    ) -> Result<Remote<dyn Group>, Error> {
        self.user
            .join_group(name.to_owned(), allow_mattress)
            .await?
            .ok_or_else(|| format!("could not join {name}").into())
    }
}

/// Connects to `addr` and logs `name` in, with a screen as the mind.
///
/// # Errors
/// When connecting or logging in fails.
pub async fn join(
    addr: std::net::SocketAddr,
    name: &str,
    password: &str,
    echo: bool,
) -> Result<Member, Error> {
    join_with(addr, Config::default(), name, password, echo).await
}

/// As [`join`], to any endpoint (`tls://host:port` with `config.tls_client` set, say).
///
/// # Errors
/// When connecting or logging in fails.
pub async fn join_with(
    endpoint: impl ToEndpoint,
    config: Config,
    name: &str,
    password: &str,
    echo: bool,
) -> Result<Member, Error> {
    let connection = tartine::connect_with(endpoint, config).await?;
    let screen = Arc::new(TextScreen::new(name, echo));
    let user = connection
        .login_with_mind(
            LoginCredentials::password(name, password),
            Arc::clone(&screen),
        )
        .await?;
    Ok(Member {
        connection,
        user,
        screen,
    })
}

/// Sends one line to the group; a refusal is shown, not fatal.
///
/// # Errors
/// When the call fails.
pub async fn say(room: &Remote<dyn Group>, line: String) -> Result<(), Error> {
    match room.send(line).await {
        Ok(_) => Ok(()),
        Err(RemoteError::Method(refused)) => {
            println!("refused: {refused}");
            Ok(())
        }
        Err(RemoteError::Call(error)) => Err(error.into()),
    }
}
