//! Provides references: the per-connection export and import tables, the handles users hold
//! (`Remote<T>` for the peer's objects, `Local<T>` for our own), and the scope through which
//! (de)serialization reaches the tables of the connection a message travels on.

mod export;
mod import;
mod local;
mod remote;
pub(crate) mod scope;
mod transfer;

pub(crate) use export::{ExportTable, Exported, ROOT_ID};
pub(crate) use import::ImportTable;
pub use local::Local;
pub(crate) use remote::{AnyRemote, RemoteInner};
pub use remote::{MethodTimeout, Proxy, Remote, RemoteRef};
pub use transfer::{ByReference, BySharedReference, ByValue, Returns};

use serde::{Deserialize, Serialize};

/// How a reference travels inside a payload, seen from the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RefTag {
    /// One of the sender's objects, by the sender's export id.
    Sender(u64),
    /// One of the receiver's objects, by the receiver's export id.
    Receiver(u64),
}

/// Why a reference in a payload could not be sent or resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RefError {
    #[error("no such object")]
    NoSuchObject,
    #[error("wrong reference type: expected `{expected}`, found `{found}`")]
    WrongType { expected: String, found: String },
    #[error("a reference obtained on another connection cannot be sent over this one")]
    Foreign,
    #[error("too many references exported to this connection (limit {limit})")]
    TooMany { limit: usize },
    #[error("the payload names object {0}, which its message did not hand over")]
    NotAnnounced(u64),
    #[error("a reference points the wrong way: expected one of the {expected}'s objects")]
    WrongDirection { expected: &'static str },
    #[error("tartine references can only be (de)serialized by tartine, inside a call")]
    NoScope,
}

impl RefError {
    /// The failure reported to the caller when decoding its arguments met this error.
    pub(crate) fn into_failure(self) -> crate::wire::Failure {
        use crate::wire::Failure;
        match self {
            RefError::NoSuchObject => Failure::NoSuchObject,
            RefError::WrongType { expected, found } => {
                Failure::WrongReferenceType { expected, found }
            }
            RefError::TooMany { limit } => Failure::TooManyReferences { limit },
            other => Failure::BadArguments(other.to_string()),
        }
    }

    /// The error a local caller sees when encoding its arguments or decoding a reply met this.
    pub(crate) fn into_call_error(self, encoding: bool) -> crate::CallError {
        use crate::CallError;
        match self {
            RefError::Foreign => CallError::ForeignReference,
            RefError::TooMany { limit } => CallError::TooManyReferences { limit },
            other if encoding => CallError::Encode(other.to_string()),
            other => CallError::BadReply(other.to_string()),
        }
    }
}
