//! Provides the message set: the header of every frame after the preamble.

use crate::error::{CallError, ProtocolError};
use serde::{Deserialize, Serialize};

/// The header of one frame. Call, return and raise headers are followed by a payload.
///
/// `exports` lists, once per occurrence, the ids of the sender's objects that the payload hands
/// to the receiver. The receiver counts them even when it never decodes the payload (a call to
/// an unknown method, a reply nobody waits for), so each one is released and nothing leaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message<'a> {
    /// The first frame of each side: names the interface of its root object, if any.
    Hello {
        /// The interface name of the sender's root object.
        #[serde(borrow)]
        root: Option<&'a str>,
    },
    /// Call `method` on the receiver's object `target`; the payload holds the arguments.
    Call {
        /// The caller's id for this call, echoed in the reply.
        call: u64,
        /// The receiver's export id of the target object.
        target: u64,
        /// The method's name.
        #[serde(borrow)]
        method: &'a str,
        /// The sender's objects handed over in the arguments.
        exports: Vec<u64>,
    },
    /// The call returned; the payload holds the result.
    Return {
        /// The call this answers.
        call: u64,
        /// The sender's objects handed over in the result.
        exports: Vec<u64>,
    },
    /// The method returned its own error; the payload holds it.
    Raised {
        /// The call this answers.
        call: u64,
        /// The sender's objects handed over in the error.
        exports: Vec<u64>,
    },
    /// The call failed in the framework.
    Failed {
        /// The call this answers.
        call: u64,
        /// What went wrong.
        failure: Failure,
    },
    /// The sender drops `count` references to the receiver's object `target`.
    Release {
        /// The receiver's export id.
        target: u64,
        /// How many times the sender had received it.
        count: u64,
    },
    /// Are you there? The receiver answers [`Message::Pong`].
    Ping,
    /// The answer to a [`Message::Ping`].
    Pong,
    /// The caller stopped waiting for `call`: the receiver may stop running it.
    Cancel {
        /// The call to stop.
        call: u64,
    },
}

/// The number of message kinds this version knows.
const MESSAGE_KINDS: u64 = 9;

/// A framework failure as it crosses the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Failure {
    /// See [`CallError::NoSuchObject`].
    NoSuchObject,
    /// See [`CallError::NoSuchMethod`].
    NoSuchMethod {
        /// The target's interface.
        interface: String,
        /// The method asked for.
        method: String,
    },
    /// See [`CallError::BadArguments`].
    BadArguments(String),
    /// See [`CallError::WrongReferenceType`].
    WrongReferenceType {
        /// The declared interface.
        expected: String,
        /// The object's interface.
        found: String,
    },
    /// See [`CallError::TooManyReferences`].
    TooManyReferences {
        /// The limit.
        limit: usize,
    },
    /// See [`CallError::Busy`].
    Busy,
    /// The result could not be encoded by the callee.
    Encode(String),
    /// The result is larger than the frame size limit.
    ReplyTooLarge {
        /// The result's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// See [`CallError::Panicked`].
    Panicked,
    /// See [`CallError::NotPermitted`].
    NotPermitted {
        /// The avatar interface the method expects.
        avatar: String,
    },
}

impl From<Failure> for CallError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::NoSuchObject => CallError::NoSuchObject,
            Failure::NoSuchMethod { interface, method } => {
                CallError::NoSuchMethod { interface, method }
            }
            Failure::BadArguments(reason) => CallError::BadArguments(reason),
            Failure::WrongReferenceType { expected, found } => {
                CallError::WrongReferenceType { expected, found }
            }
            Failure::TooManyReferences { limit } => CallError::TooManyReferences { limit },
            Failure::Busy => CallError::Busy,
            Failure::Encode(reason) => CallError::Encode(reason),
            Failure::ReplyTooLarge { size, limit } => CallError::MessageTooLarge { size, limit },
            Failure::Panicked => CallError::Panicked,
            Failure::NotPermitted { avatar } => CallError::NotPermitted { avatar },
        }
    }
}

impl Message<'_> {
    /// Encodes the header.
    pub fn encode(&self) -> bytes::Bytes {
        match postcard::to_stdvec(self) {
            Ok(bytes) => bytes.into(),
            // Serializing this enum into a vector cannot fail: it holds only integers, strings
            // and vectors, which postcard always accepts.
            Err(_) => bytes::Bytes::new(),
        }
    }
}

/// Decodes a frame's header; returns it and the offset where the payload starts.
///
/// # Errors
/// [`ProtocolError::UnknownMessageKind`] if the frame starts with a kind this version does not
/// know, [`ProtocolError::Malformed`] if it is not a valid header.
pub fn decode_message(frame: &[u8]) -> Result<(Message<'_>, usize), ProtocolError> {
    match postcard::take_from_bytes::<Message<'_>>(frame) {
        Ok((message, rest)) => Ok((message, frame.len() - rest.len())),
        Err(error) => {
            if let Ok((kind, _)) = postcard::take_from_bytes::<u64>(frame)
                && kind >= MESSAGE_KINDS
            {
                return Err(ProtocolError::UnknownMessageKind(kind));
            }
            Err(ProtocolError::Malformed(error.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_reports_payload_offset() {
        let message = Message::Call {
            call: 7,
            target: 3,
            method: "echo",
            exports: vec![1, 1, 2],
        };
        let mut frame = message.encode().to_vec();
        frame.extend_from_slice(b"payload");
        let (decoded, offset) = decode_message(&frame).expect("valid header");
        assert_eq!(decoded, message);
        assert_eq!(&frame[offset..], b"payload");
    }

    #[test]
    fn unknown_kind_is_named() {
        assert_eq!(
            decode_message(&[42, 0, 0]),
            Err(ProtocolError::UnknownMessageKind(42))
        );
    }

    #[test]
    fn truncated_header_is_malformed() {
        let frame = Message::Release {
            target: 300,
            count: 1,
        }
        .encode();
        let result = decode_message(&frame[..2]);
        assert!(
            matches!(result, Err(ProtocolError::Malformed(_))),
            "{result:?}"
        );
    }
}
