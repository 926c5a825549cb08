//! Provides length-prefixed framing with a size limit checked before any allocation.

use bytes::{BufMut, Bytes, BytesMut};
use std::io;
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

/// One outgoing frame: an encoded message header and its payload, written back to back after
/// one length prefix. Only their concatenation matters: the runtime usually builds both in
/// one buffer (`head` empty), tests may pass them apart.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    /// The postcard-encoded [`Message`](super::Message) header.
    pub head: Bytes,
    /// The payload (may be empty).
    pub body: Bytes,
}

impl Outgoing {
    /// A frame that is a header alone (a release, a failure, a ping).
    pub(crate) fn header(message: &super::Message<'_>) -> Self {
        Outgoing {
            head: message.encode(),
            body: Bytes::new(),
        }
    }

    /// The size of the frame without its length prefix.
    pub fn len(&self) -> usize {
        self.head.len() + self.body.len()
    }

    /// Whether the frame is empty (never true for a well-formed message).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Room kept in front of a payload for its header, so header and payload share one buffer.
const HEADROOM: usize = 48;

/// Builds one frame in a single buffer: the payload is encoded first, after some headroom,
/// then the header (whose export list is only known once the payload is encoded) is written
/// into the headroom just before it.
pub(crate) struct FrameBuilder {
    buffer: BytesMut,
}

impl FrameBuilder {
    pub(crate) fn new() -> Self {
        let mut buffer = BytesMut::with_capacity(HEADROOM + 32);
        buffer.resize(HEADROOM, 0);
        FrameBuilder { buffer }
    }

    /// Where the codec appends the payload.
    pub(crate) fn payload(&mut self) -> &mut BytesMut {
        &mut self.buffer
    }

    /// The size of the payload so far.
    pub(crate) fn payload_len(&self) -> usize {
        self.buffer.len() - HEADROOM
    }

    /// The frame: `message` as header, then the payload.
    pub(crate) fn finish(mut self, message: &super::Message<'_>) -> Outgoing {
        let mut head = [0u8; HEADROOM];
        match postcard::to_slice(message, &mut head) {
            Ok(encoded) => {
                let start = HEADROOM - encoded.len();
                self.buffer[start..HEADROOM].copy_from_slice(encoded);
                bytes::Buf::advance(&mut self.buffer, start);
                Outgoing {
                    head: Bytes::new(),
                    body: self.buffer.freeze(),
                }
            }
            Err(_) => {
                let body = self.buffer.split_off(HEADROOM).freeze();
                Outgoing {
                    head: message.encode(),
                    body,
                }
            }
        }
    }
}

/// Length-delimited frames of at most `max_frame_size` bytes, on tokio-util's codec.
///
/// Decoding rejects a frame whose announced length is over the limit before reserving memory
/// for it; encoding rejects an outgoing frame over the limit.
#[derive(Debug)]
pub struct FrameCodec {
    inner: LengthDelimitedCodec,
    max_frame_size: usize,
}

impl FrameCodec {
    /// A codec for frames of at most `max_frame_size` bytes.
    pub fn new(max_frame_size: usize) -> Self {
        let inner = LengthDelimitedCodec::builder()
            .length_field_length(4)
            .max_frame_length(max_frame_size)
            .new_codec();
        FrameCodec {
            inner,
            max_frame_size,
        }
    }

    /// The configured limit.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, io::Error> {
        self.inner.decode(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, io::Error> {
        self.inner.decode_eof(src)
    }
}

impl Encoder<Outgoing> for FrameCodec {
    type Error = io::Error;

    fn encode(&mut self, frame: Outgoing, dst: &mut BytesMut) -> Result<(), io::Error> {
        let len = frame.len();
        let Some(prefix) = u32::try_from(len)
            .ok()
            .filter(|_| len <= self.max_frame_size)
        else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "frame of {len} bytes exceeds the limit of {} bytes",
                    self.max_frame_size
                ),
            ));
        };
        dst.reserve(4 + len);
        dst.put_u32(prefix);
        dst.extend_from_slice(&frame.head);
        dst.extend_from_slice(&frame.body);
        Ok(())
    }
}

/// Whether an i/o error from [`FrameCodec`] means the peer announced an oversized frame.
pub(crate) fn is_frame_too_large(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<tokio_util::codec::LengthDelimitedCodecError>())
}
