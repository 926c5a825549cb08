//! Provides the bytes on the wire: the opening handshake, length-prefixed frames and the message
//! set. Nothing above this module knows how a message is laid out.
//!
//! A connection starts with both sides writing [`PREAMBLE`] (magic and protocol version). From
//! then on every message is one frame: a 4-byte big-endian length, then a postcard-encoded
//! [`Message`] header, then the payload the header describes (call arguments, a result or a
//! method's error), encoded by the runtime's codec (postcard).
//!
//! The module is public so that tests and other implementations can speak the protocol by hand.

mod frame;
mod handshake;
mod header;
mod message;
pub(crate) mod spill;
mod text;

pub(crate) use frame::{Built, FrameBuilder};
pub(crate) use frame::{
    DETACH_AFTER, FRAME_OVERHEAD, FrameError, MemoryBudget, PREFIX_LEN, frame_error,
};
pub use frame::{FrameCodec, Outgoing};
pub use handshake::{PREAMBLE, PROTOCOL_VERSION, exchange_preamble};
pub use message::{Failure, IdList, Message, decode_message};
pub(crate) use spill::LARGE_PAYLOAD;
pub use text::MAX_PEER_TEXT;
pub(crate) use text::{bounded, peer_text, prefix};
