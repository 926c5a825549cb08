//! Provides the message set: the header of every frame after the preamble.

use crate::error::{CallError, ProtocolError};
use serde::{Deserialize, Serialize};

/// The header of one frame. Call, return and raise headers are followed by a payload.
///
/// `exports` lists, once per occurrence, the ids of the sender's objects that the payload hands
/// to the receiver. The receiver counts them even when it never decodes the payload (a call to
/// an unknown method, a reply nobody waits for), so each one is released and nothing leaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Message<'a> {
    /// The first frame of each side: names the interface of its root object, if any, and what
    /// the sender accepts: the largest frame, the most references one message hands over.
    Hello {
        /// The interface name of the sender's root object.
        #[serde(borrow)]
        root: Option<&'a str>,
        /// The largest frame the sender accepts, in bytes: the receiver sends none larger.
        max_frame: u64,
        /// The most references one message may hand the sender (each naming counts), and the
        /// most of the receiver's objects the sender holds at once: the receiver goes past
        /// neither.
        max_refs: u64,
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
        #[serde(borrow)]
        exports: IdList<'a>,
    },
    /// The call returned; the payload holds the result.
    Return {
        /// The call this answers.
        call: u64,
        /// The sender's objects handed over in the result.
        #[serde(borrow)]
        exports: IdList<'a>,
    },
    /// The method returned its own error; the payload holds it.
    Raised {
        /// The call this answers.
        call: u64,
        /// The sender's objects handed over in the error.
        #[serde(borrow)]
        exports: IdList<'a>,
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

/// A list of object ids as it lies in a frame: LEB128 varints, one after the other, carried
/// as one byte string.
///
/// Decoding a header does not decode the list: it borrows the bytes, so a header costs no
/// memory however many ids it claims, and [`IdList::decode`] checks the count against a limit
/// before it allocates anything.
#[derive(Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IdList<'a>(#[serde(borrow)] &'a [u8]);

impl<'a> IdList<'a> {
    /// The empty list.
    pub const EMPTY: IdList<'static> = IdList(&[]);

    /// A list over `encoded`, the bytes [`IdList::encode`] produced.
    pub fn from_encoded(encoded: &'a [u8]) -> Self {
        IdList(encoded)
    }

    /// Encodes `ids`, for [`IdList::from_encoded`].
    #[inline]
    pub fn encode(ids: &[u64]) -> Vec<u8> {
        // Most messages hand nothing over.
        if ids.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let mut id = id;
            while id >= 0x80 {
                out.push((id as u8) | 0x80);
                id >>= 7;
            }
            out.push(id as u8);
        }
        out
    }

    /// The encoded ids.
    pub(crate) fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Whether the list holds no id.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many ids the list holds (its well-formed ones), counted without decoding them.
    pub fn count(&self) -> usize {
        self.0.iter().filter(|&&byte| byte < 0x80).count()
    }

    /// The ids, if there are at most `limit` of them.
    ///
    /// # Errors
    /// [`ProtocolError::TooManyAnnouncedReferences`] past `limit` (checked before allocating),
    /// [`ProtocolError::Malformed`] if a varint is cut short or overflows 64 bits.
    pub fn decode(&self, limit: usize) -> Result<Vec<u64>, ProtocolError> {
        let count = self.count();
        if count > limit {
            return Err(ProtocolError::TooManyAnnouncedReferences { count, limit });
        }
        let mut ids = Vec::with_capacity(count);
        let mut id = 0u64;
        let mut shift = 0u32;
        for &byte in self.0 {
            let bits = u64::from(byte & 0x7f);
            if shift >= 64 || (shift == 63 && bits > 1) {
                return Err(ProtocolError::Malformed(
                    "an object id overflows 64 bits".into(),
                ));
            }
            id |= bits << shift;
            if byte < 0x80 {
                ids.push(id);
                id = 0;
                shift = 0;
            } else {
                shift += 7;
            }
        }
        if shift != 0 {
            return Err(ProtocolError::Malformed("an object id is cut short".into()));
        }
        Ok(ids)
    }
}

impl std::fmt::Debug for IdList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.decode(64) {
            Ok(ids) => f.debug_list().entries(ids).finish(),
            Err(_) => write!(f, "IdList({} bytes)", self.0.len()),
        }
    }
}

/// The number of message kinds this version knows.
const MESSAGE_KINDS: u64 = 9;

/// A framework failure as it crosses the wire. Its text, which the peer writes, is cut to
/// [`MAX_PEER_TEXT`](super::MAX_PEER_TEXT) bytes when decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Failure {
    /// See [`CallError::NoSuchObject`].
    NoSuchObject,
    /// See [`CallError::NoSuchMethod`].
    NoSuchMethod {
        /// The target's interface.
        #[serde(deserialize_with = "super::bounded")]
        interface: String,
        /// The method asked for.
        #[serde(deserialize_with = "super::bounded")]
        method: String,
    },
    /// See [`CallError::BadArguments`].
    BadArguments(#[serde(deserialize_with = "super::bounded")] String),
    /// See [`CallError::WrongReferenceType`].
    WrongReferenceType {
        /// The declared interface.
        #[serde(deserialize_with = "super::bounded")]
        expected: String,
        /// The object's interface.
        #[serde(deserialize_with = "super::bounded")]
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
    Encode(#[serde(deserialize_with = "super::bounded")] String),
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
        #[serde(deserialize_with = "super::bounded")]
        avatar: String,
    },
    /// See [`CallError::ShuttingDown`].
    ShuttingDown,
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
            Failure::ShuttingDown => CallError::ShuttingDown,
        }
    }
}

impl Message<'_> {
    /// Encodes the header.
    ///
    /// # Errors
    /// Never in practice: the header holds only integers and byte strings, which postcard
    /// always accepts; the error is postcard's, should that change.
    pub fn encode(&self) -> Result<bytes::Bytes, postcard::Error> {
        let mut head = [0u8; 64];
        match super::header::encode_into(self, &mut head) {
            Some(len) => Ok(bytes::Bytes::copy_from_slice(&head[..len])),
            None => postcard::to_stdvec(self).map(bytes::Bytes::from),
        }
    }

    /// What kind of message this is, in a word, for errors and logs: a peer's message can
    /// hold a method name of megabytes, which must go into neither.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "hello",
            Message::Call { .. } => "call",
            Message::Return { .. } => "return",
            Message::Raised { .. } => "raised",
            Message::Failed { .. } => "failed",
            Message::Release { .. } => "release",
            Message::Ping => "ping",
            Message::Pong => "pong",
            Message::Cancel { .. } => "cancel",
        }
    }
}

/// Decodes a frame's header; returns it and the offset where the payload starts.
///
/// # Errors
/// [`ProtocolError::UnknownMessageKind`] if the frame starts with a kind this version does not
/// know, [`ProtocolError::Malformed`] if it is not a valid header.
pub fn decode_message(frame: &[u8]) -> Result<(Message<'_>, usize), ProtocolError> {
    if let Some(decoded) = super::header::decode(frame) {
        return Ok(decoded);
    }
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
        let ids = IdList::encode(&[1, 1, 2, u64::MAX, 300]);
        let message = Message::Call {
            call: 7,
            target: 3,
            method: "echo",
            exports: IdList::from_encoded(&ids),
        };
        let mut frame = message.encode().expect("encodable").to_vec();
        frame.extend_from_slice(b"payload");
        let (decoded, offset) = decode_message(&frame).expect("valid header");
        assert_eq!(decoded, message);
        assert_eq!(&frame[offset..], b"payload");
        let Message::Call { exports, .. } = decoded else {
            unreachable!("decoded as a call")
        };
        assert_eq!(exports.decode(5), Ok(vec![1, 1, 2, u64::MAX, 300]));
        assert_eq!(
            exports.decode(4),
            Err(ProtocolError::TooManyAnnouncedReferences { count: 5, limit: 4 })
        );
    }

    #[test]
    fn malformed_id_lists_are_errors() {
        for bad in [
            &[0x80u8][..],
            &[0xff; 11][..],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02][..],
        ] {
            assert!(
                matches!(
                    IdList::from_encoded(bad).decode(100),
                    Err(ProtocolError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
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
        .encode()
        .expect("encodable");
        let result = decode_message(&frame[..2]);
        assert!(
            matches!(result, Err(ProtocolError::Malformed(_))),
            "{result:?}"
        );
    }
}
