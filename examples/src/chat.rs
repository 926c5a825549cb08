//! The chat server of the PB howto, implementing the protocol of `chat_protocol`: alice, bob
//! and carol log in, join groups and talk.
//!
//! - [`User`] implements the avatar: each login gets its own, named by the checker, so nobody
//!   can claim another name.
//! - [`Group`] implements the viewable its members share: `send` receives the caller's avatar
//!   from the runtime, so a client's proxy has no "from" parameter to lie with. A group may
//!   forbid the word "mattress".
//! - Each client's mind is a `Remote<dyn Screen>`: the server prints through it. A group
//!   delivers to its members at once, each with a deadline, so a member who is slow, silent or
//!   gone holds up nobody else.

use chat_protocol::{self as protocol, ChatError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tartine::cred::{AvatarId, InMemoryPasswords, LoggedIn, LoginError, Portal, Realm};
use tartine::{Ref, Remote};

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
    mind: Mutex<Option<Remote<dyn protocol::Screen>>>,
}

impl User {
    /// Connects the user to the client's mind (PB's `attached`).
    fn attached(&self, mind: Option<Remote<dyn protocol::Screen>>) {
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

#[tartine::avatar]
impl protocol::User for User {
    fn join_group(
        &self,
        groupname: String,
        allow_mattress: bool,
    ) -> Option<Ref<dyn protocol::Group>> {
        let me = self.me.upgrade()?;
        let group = self.server.join_group(&groupname, &me, allow_mattress);
        Some(Ref::from_arc(group))
    }

    /// The group comes back from the client: it must be one this connection was given (the
    /// runtime checks that), and one of this server's groups.
    fn leave_group(&self, group: Ref<dyn protocol::Group>) -> bool {
        group
            .downcast::<Group>()
            .is_some_and(|group| group.remove(&self.name))
    }

    fn name(&self) -> String {
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

#[tartine::viewable]
impl protocol::Group for Group {
    type Member = User;

    /// Sends `message` to every member, as the caller: the runtime says who that is. Returns
    /// how many members' screens took it; all are tried at once, each for at most the
    /// group's delivery timeout.
    async fn send(&self, from: &User, message: String) -> Result<usize, ChatError> {
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

    fn members_names(&self, _from: &User) -> Vec<String> {
        self.members()
            .iter()
            .map(|user| user.name.clone())
            .collect()
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
    type Mind = dyn protocol::Screen;

    async fn request_avatar(
        &self,
        id: AvatarId,
        mind: Option<Remote<dyn protocol::Screen>>,
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

/// `realm` behind checkers of your choice: those opened from `--auth` options, say.
pub fn portal_from(
    realm: ChatRealm,
    checkers: impl IntoIterator<Item = tartine::cred::AnyChecker>,
) -> Portal {
    checkers
        .into_iter()
        .fold(Portal::new(realm), Portal::with_checker)
}
