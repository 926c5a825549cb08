//! The protocol of the chat example, after the chat server of PB's howto: the interfaces a
//! chat server serves and a chat client calls, and the values that cross the wire. Nothing
//! else: both the server and every client depend on this crate, and a client needs nothing
//! more (see `tartine-chat-client`).
//!
//! - [`User`] is the avatar a login yields: each login gets its own, named by the server's
//!   checker, so nobody can claim another name.
//! - [`Group`] is a viewable shared by its members: [`Group::send`] receives the caller's
//!   avatar from the runtime, so a client's proxy has no "from" parameter to lie with. The
//!   avatar's type is the server's business: the trait names it [`Group::Member`].
//! - [`Screen`] is a client's mind: the server prints on it.
//!
//! The wire names (`chat.User`, ..) are set here, so moving these traits to another module or
//! crate breaks no peer.

use serde::{Deserialize, Serialize};
use tartine::Ref;

/// The group the client joins unless told otherwise.
pub const DEFAULT_GROUP: &str = "#lookingForFourth";

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

/// A user's avatar: what a login yields.
#[tartine::avatar(name = "chat.User")]
pub trait User {
    /// Joins (creating it if needed) the group `groupname`; a new group forbids the word
    /// "mattress" unless `allow_mattress`.
    fn join_group(&self, groupname: String, allow_mattress: bool) -> Option<Ref<dyn Group>>;

    /// Leaves `group`, which must be a group this connection was given.
    fn leave_group(&self, group: Ref<dyn Group>) -> bool;

    /// The user's name, as the server knows it.
    fn name(&self) -> String;
}

/// A chat group, shared by its members; every call learns from the runtime which member
/// makes it.
#[tartine::viewable(name = "chat.Group")]
pub trait Group {
    /// The server's avatar type: the caller of each method.
    type Member;

    /// Sends `message` to every member, as the caller; returns how many members' screens
    /// took it.
    async fn send(&self, from: &Self::Member, message: String) -> Result<usize, ChatError>;

    /// The names of the members.
    fn members_names(&self, from: &Self::Member) -> Vec<String>;
}

/// A client's mind: what the server prints on.
#[tartine::referenceable(name = "chat.Screen")]
pub trait Screen {
    /// Shows `message`; the server waits for it at most its delivery timeout.
    async fn print(&self, message: String);
}
