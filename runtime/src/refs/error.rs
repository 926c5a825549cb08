//! Provides how a reference travels inside a payload, why one can be refused, and the errors of
//! encoding or decoding a payload, with what each becomes for the caller (a [`CallError`]) or
//! for the peer (a [`Failure`]): one conversion per direction, here.

use crate::codec::CodecError;
use crate::error::CallError;
use crate::wire::Failure;
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
    #[error(
        "two interfaces are named `{name}` here: `{first}` and `{second}`; give one of them another `name = \"..\"`"
    )]
    DuplicateInterface {
        name: &'static str,
        first: &'static str,
        second: &'static str,
    },
}

/// Why a payload could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EncodeError {
    /// A reference in it could not be sent.
    Refused(RefError),
    /// The codec could not represent it.
    Codec(CodecError),
}

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// A reference in it was refused.
    Refused(RefError),
    /// The bytes are not a value of the type, or pass the decoding limits.
    Codec(CodecError),
}

impl DecodeError {
    /// Whether the decode stopped only because it was too costly for a worker thread: it is
    /// then done again off the workers.
    pub(crate) fn is_costly(&self) -> bool {
        matches!(self, DecodeError::Codec(CodecError::Costly))
    }
}

/// Our call's arguments could not be encoded.
impl From<EncodeError> for CallError {
    fn from(error: EncodeError) -> Self {
        match error {
            EncodeError::Refused(RefError::Foreign) => CallError::ForeignReference,
            EncodeError::Refused(RefError::TooMany { limit }) => {
                CallError::TooManyReferences { limit }
            }
            EncodeError::Refused(other) => CallError::Encode(other.to_string()),
            EncodeError::Codec(error) => CallError::Encode(error.to_string()),
        }
    }
}

/// A method's result could not be encoded: what the peer is told.
impl From<EncodeError> for Failure {
    fn from(error: EncodeError) -> Self {
        match error {
            EncodeError::Refused(RefError::TooMany { limit }) => {
                Failure::TooManyReferences { limit }
            }
            EncodeError::Refused(other) => Failure::Encode(other.to_string()),
            EncodeError::Codec(error) => Failure::Encode(error.to_string()),
        }
    }
}

/// A reply to our call could not be decoded.
impl From<DecodeError> for CallError {
    fn from(error: DecodeError) -> Self {
        match error {
            DecodeError::Refused(RefError::TooMany { limit }) => {
                CallError::TooManyReferences { limit }
            }
            DecodeError::Refused(other) => CallError::BadReply(other.to_string()),
            DecodeError::Codec(error) => CallError::BadReply(error.to_string()),
        }
    }
}

/// The peer's arguments could not be decoded: what the peer is told.
impl From<DecodeError> for Failure {
    fn from(error: DecodeError) -> Self {
        match error {
            DecodeError::Refused(RefError::NoSuchObject) => Failure::NoSuchObject,
            DecodeError::Refused(RefError::WrongType { expected, found }) => {
                Failure::WrongReferenceType { expected, found }
            }
            DecodeError::Refused(RefError::TooMany { limit }) => {
                Failure::TooManyReferences { limit }
            }
            DecodeError::Refused(other) => Failure::BadArguments(other.to_string()),
            DecodeError::Codec(error) => Failure::BadArguments(error.to_string()),
        }
    }
}
