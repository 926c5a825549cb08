//! The chat server of the PB howto: alice, bob and carol log in, join groups and talk.
//!
//! - `User` is the avatar: each login gets its own, named by the checker, so nobody can claim
//!   another name.
//! - `Group` is a viewable shared by its members: `send` receives the caller's avatar from the
//!   runtime, so the client's proxy has no "from" parameter to lie with. A group may forbid the
//!   word "mattress".
//! - `ChatClient` is each client's mind: the server prints through it. A group delivers to its
//!   members at once, each with a deadline, so a member who is slow, silent or gone holds up
//!   nobody else.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tartine::cred::{
    AvatarId, InMemoryPasswords, LoggedIn, LoginCredentials, LoginError, Portal, Realm,
};
use tartine::{Connection, Local, Remote, avatar, referenceable, viewable};

/// Why a group refuses a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ChatError {
    /// The group forbids this word.
    #[error("don't say that word: {0}")]
    ForbiddenWord(String),
    /// The user is not a member of the group.
    #[error("you are not in {0}")]
    NotAMember(String),
}

/// How long a group waits for a member's screen to take a message, by default.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Holds the groups; not reachable from the network at all.
#[derive(Debug)]
pub struct ChatServer {
    groups: Mutex<HashMap<String, Arc<Group>>>,
    delivery_timeout: Duration,
}

impl Default for ChatServer {
    fn default() -> Self {
        ChatServer {
            groups: Mutex::new(HashMap::new()),
            delivery_timeout: DELIVERY_TIMEOUT,
        }
    }
}

impl ChatServer {
    fn join_group(&self, name: &str, user: &Arc<User>, allow_mattress: bool) -> Arc<Group> {
        let group = {
            let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(groups.entry(name.to_owned()).or_insert_with(|| {
                Arc::new(Group {
                    name: name.to_owned(),
                    allow_mattress,
                    members: Mutex::new(Vec::new()),
                    delivery_timeout: self.delivery_timeout,
                })
            }))
        };
        group.add(user);
        group
    }
}

/// A user's avatar.
#[derive(Debug)]
pub struct User {
    name: String,
    me: Weak<User>,
    server: Arc<ChatServer>,
    mind: Mutex<Option<Remote<ChatClient>>>,
}

impl User {
    /// Connects the user to the client's mind (PB's `attached`).
    fn attached(&self, mind: Option<Remote<ChatClient>>) {
        *self.mind.lock().unwrap_or_else(|e| e.into_inner()) = mind;
    }

    /// Forgets the client's mind (PB's `detached`).
    fn detached(&self) {
        self.mind.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Prints `message` on the user's screen, if a client is attached and its screen takes
    /// it within `timeout`.
    async fn deliver(&self, message: String, timeout: Duration) -> bool {
        let mind = self.mind.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match mind {
            Some(mind) => mind
                .with_timeout(Some(timeout))
                .print(message)
                .await
                .is_ok(),
            None => false,
        }
    }
}

#[avatar]
impl User {
    /// Joins (creating it if needed) the group `groupname`; returns it.
    pub fn join_group(&self, groupname: String, allow_mattress: bool) -> Option<Arc<Group>> {
        let me = self.me.upgrade()?;
        Some(self.server.join_group(&groupname, &me, allow_mattress))
    }

    /// Leaves a group the user holds a reference to (handed back by the client: it must be
    /// one this connection was given).
    pub fn leave_group(&self, group: Local<Group>) -> bool {
        group.remove(&self.name)
    }

    /// The user's name, as the server knows it.
    pub fn name(&self) -> String {
        self.name.clone()
    }
}

/// A chat group, shared by its members; every call learns which member makes it.
#[derive(Debug)]
pub struct Group {
    name: String,
    allow_mattress: bool,
    members: Mutex<Vec<Weak<User>>>,
    delivery_timeout: Duration,
}

impl Group {
    fn add(&self, user: &Arc<User>) {
        let mut members = self.members.lock().unwrap_or_else(|e| e.into_inner());
        members.retain(|member| member.strong_count() > 0 && !member.ptr_eq(&Arc::downgrade(user)));
        members.push(Arc::downgrade(user));
    }

    fn remove(&self, name: &str) -> bool {
        let mut members = self.members.lock().unwrap_or_else(|e| e.into_inner());
        let before = members.len();
        members.retain(|member| member.upgrade().is_some_and(|user| user.name != name));
        members.len() != before
    }

    fn members(&self) -> Vec<Arc<User>> {
        let members = self.members.lock().unwrap_or_else(|e| e.into_inner());
        members.iter().filter_map(Weak::upgrade).collect()
    }
}

#[viewable]
impl Group {
    /// Sends `message` to every member, as the caller: the runtime says who that is. Returns
    /// how many members' screens took it; all are tried at once, each for at most the
    /// group's delivery timeout.
    pub async fn send(&self, from: &User, message: String) -> Result<usize, ChatError> {
        if !self.allow_mattress && message.to_lowercase().contains("mattress") {
            return Err(ChatError::ForbiddenWord("mattress".into()));
        }
        let members = self.members();
        if !members.iter().any(|member| member.name == from.name) {
            return Err(ChatError::NotAMember(self.name.clone()));
        }
        let line = format!("<{}> says: {message}", from.name);
        let mut deliveries = tokio::task::JoinSet::new();
        for member in members {
            let line = line.clone();
            let timeout = self.delivery_timeout;
            deliveries.spawn(async move { member.deliver(line, timeout).await });
        }
        let mut delivered = 0;
        while let Some(outcome) = deliveries.join_next().await {
            if matches!(outcome, Ok(true)) {
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    /// The names of the members.
    pub fn members_names(&self, _from: &User) -> Vec<String> {
        self.members()
            .iter()
            .map(|user| user.name.clone())
            .collect()
    }
}

/// A client's mind: what the server prints on.
#[derive(Debug)]
pub struct ChatClient {
    name: String,
    screen: Mutex<Vec<String>>,
    echo: bool,
}

#[referenceable]
impl ChatClient {
    /// Shows `message` on this client's screen.
    pub fn print(&self, message: String) {
        if self.echo {
            println!("[{}'s screen] {message}", self.name);
        }
        self.screen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message);
    }
}

impl ChatClient {
    /// A screen for `name`; `echo` also prints what it shows on stdout.
    pub fn new(name: &str, echo: bool) -> Self {
        ChatClient {
            name: name.to_owned(),
            screen: Mutex::new(Vec::new()),
            echo,
        }
    }

    /// What the screen showed so far.
    pub fn screen(&self) -> Vec<String> {
        self.screen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Makes a `User` for each login and attaches the client's mind to it.
#[derive(Debug, Default)]
pub struct ChatRealm {
    server: Arc<ChatServer>,
}

impl ChatRealm {
    /// A realm whose groups wait at most `timeout` for each member's screen.
    pub fn with_delivery_timeout(timeout: Duration) -> Self {
        ChatRealm {
            server: Arc::new(ChatServer {
                delivery_timeout: timeout,
                ..ChatServer::default()
            }),
        }
    }
}

impl Realm for ChatRealm {
    type Avatar = User;
    type Mind = ChatClient;

    async fn request_avatar(
        &self,
        id: AvatarId,
        mind: Option<Remote<ChatClient>>,
    ) -> Result<LoggedIn<User>, LoginError> {
        let AvatarId::User(name) = id else {
            return Err(LoginError::Refused(
                "the chat has no anonymous seats".into(),
            ));
        };
        let user = Arc::new_cyclic(|me| User {
            name,
            me: me.clone(),
            server: Arc::clone(&self.server),
            mind: Mutex::new(None),
        });
        user.attached(mind);
        let leaving = Arc::clone(&user);
        Ok(LoggedIn::new(user).on_logout(move || leaving.detached()))
    }
}

/// The bridge club's portal: alice/1234, bob/secret, carol/fido.
///
/// # Errors
/// If the operating system gives no randomness for the passwords' salts.
pub fn portal() -> std::io::Result<Portal> {
    portal_with(ChatRealm::default())
}

/// The bridge club's users in front of `realm`.
///
/// # Errors
/// As [`portal`].
pub fn portal_with(realm: ChatRealm) -> std::io::Result<Portal> {
    let users = InMemoryPasswords::new()
        .with_user("alice", "1234")?
        .with_user("bob", "secret")?
        .with_user("carol", "fido")?;
    Ok(Portal::new(realm).with_checker(users))
}

/// One logged-in chat client.
#[derive(Debug)]
pub struct Member {
    /// The connection to the server.
    pub connection: Connection,
    /// The user's avatar.
    pub user: Remote<User>,
    /// The client's screen (its mind).
    pub screen: Arc<ChatClient>,
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
) -> Result<Member, Box<dyn std::error::Error + Send + Sync>> {
    let connection = tartine::connect(addr).await?;
    let screen = Arc::new(ChatClient::new(name, echo));
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
