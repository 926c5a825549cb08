//! Provides `Bytes`, a byte buffer for payloads: it crosses the wire as one block (never byte
//! by byte), is received without a copy, as a slice of the frame it arrived in, and when it is
//! large, is sent without a copy too, from its own buffer.

use crate::refs::scope;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;

/// A cheaply cloneable byte buffer for payloads (a `bytes::Bytes`).
///
/// Use it for binary data in arguments and results: a `Vec<u8>` is encoded element by element,
/// `Bytes` as one block; on the receiving side it shares the frame's memory instead of copying
/// it; and one of 16 KiB or more is written to the socket from its own buffer, not copied into
/// the frame. A received one that is less than a quarter of its frame, or came in a frame under
/// 64 KiB (which lies in the connection's read buffer), is copied instead, so that keeping it
/// never keeps more than four times its size alive (a peer cannot make you hold a frame of
/// 16 MiB for one byte); one less than half of its frame is copied when it is sent on, so
/// that a frame waiting to be written never keeps a larger one alive.
///
/// Two `Bytes` compare, order and hash by their bytes alone.
#[derive(Clone, Default)]
pub struct Bytes {
    data: bytes::Bytes,
    /// The length of the received frame whose memory `data` shares; 0 for any other buffer.
    within: usize,
}

impl Bytes {
    /// An empty buffer.
    pub const fn new() -> Self {
        Bytes::plain(bytes::Bytes::new())
    }

    /// A buffer of `data`, not from a received frame.
    const fn plain(data: bytes::Bytes) -> Self {
        Bytes { data, within: 0 }
    }

    /// A buffer holding a copy of `data`.
    pub fn copy_from_slice(data: &[u8]) -> Self {
        Bytes::plain(bytes::Bytes::copy_from_slice(data))
    }

    /// A buffer over static data, without copying it.
    pub const fn from_static(data: &'static [u8]) -> Self {
        Bytes::plain(bytes::Bytes::from_static(data))
    }

    /// The bytes in `range`, sharing this buffer's memory. Out-of-range bounds panic, as with
    /// slices.
    pub fn slice(&self, range: impl std::ops::RangeBounds<usize>) -> Self {
        Bytes {
            data: self.data.slice(range),
            within: self.within,
        }
    }

    /// The underlying `bytes::Bytes`. A slice of it made into a `Bytes` again no longer knows
    /// the frame it came in: prefer [`slice`](Self::slice).
    pub fn into_inner(self) -> bytes::Bytes {
        self.data
    }

    /// Whether these bytes may leave from their own buffer: unless they are a small part of a
    /// received frame, which a frame waiting to be written would keep alive.
    fn may_leave_from_own_buffer(&self) -> bool {
        self.data.len().saturating_mul(2) >= self.within
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}

impl Eq for Bytes {}

impl PartialOrd for Bytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.data.cmp(&other.data)
    }
}

impl std::hash::Hash for Bytes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.data.hash(state);
    }
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.data
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.data, f)
    }
}

impl From<bytes::Bytes> for Bytes {
    fn from(bytes: bytes::Bytes) -> Self {
        Bytes::plain(bytes)
    }
}

impl From<Bytes> for bytes::Bytes {
    fn from(bytes: Bytes) -> Self {
        bytes.data
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(data: Vec<u8>) -> Self {
        Bytes::plain(data.into())
    }
}

impl From<&'static [u8]> for Bytes {
    fn from(data: &'static [u8]) -> Self {
        Bytes::plain(bytes::Bytes::from_static(data))
    }
}

impl From<String> for Bytes {
    fn from(data: String) -> Self {
        Bytes::plain(data.into())
    }
}

impl PartialEq<[u8]> for Bytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.data == other
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.may_leave_from_own_buffer() {
            crate::wire::spill::offer(&self.data);
        }
        serializer.serialize_bytes(&self.data)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(BytesVisitor)
    }
}

/// Whether a received byte string of `len` bytes shares its frame of `frame_len` bytes rather
/// than being copied: when it is a quarter of it or more, and the frame has its memory to
/// itself (a smaller frame lies in the connection's read buffer, which a kept slice would keep
/// whole).
fn worth_sharing(len: usize, frame_len: usize) -> bool {
    frame_len >= crate::wire::DETACH_AFTER && len.saturating_mul(4) >= frame_len
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_borrowed_bytes<E: de::Error>(self, data: &'de [u8]) -> Result<Bytes, E> {
        Ok(match scope::frame_slice(data) {
            Some((data, within)) if worth_sharing(data.len(), within) => Bytes { data, within },
            _ => Bytes::copy_from_slice(data),
        })
    }

    fn visit_bytes<E: de::Error>(self, data: &[u8]) -> Result<Bytes, E> {
        Ok(Bytes::copy_from_slice(data))
    }

    fn visit_byte_buf<E: de::Error>(self, data: Vec<u8>) -> Result<Bytes, E> {
        Ok(Bytes::from(data))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
        let mut data = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64 * 1024));
        while let Some(byte) = seq.next_element::<u8>()? {
            data.push(byte);
        }
        Ok(Bytes::from(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::LARGE_PAYLOAD;

    /// Whether serializing `bytes` into a frame's payload leaves them out of it (they leave
    /// from their own buffer).
    fn leaves_from_own_buffer(bytes: &Bytes) -> bool {
        let mut spilled = None;
        crate::wire::spill::collecting(&mut bytes::BytesMut::new(), &mut spilled, |out| {
            <crate::codec::Postcard as crate::codec::Codec>::encode(bytes, out).expect("encodable");
        });
        spilled.is_some()
    }

    #[test]
    fn large_bytes_leave_from_their_own_buffer_unless_a_small_part_of_a_received_frame() {
        let frame = bytes::Bytes::from(vec![1u8; 4 * LARGE_PAYLOAD]);
        let whole = Bytes {
            data: frame.clone(),
            within: frame.len(),
        };
        assert!(leaves_from_own_buffer(&whole));
        assert!(leaves_from_own_buffer(&whole.slice(..2 * LARGE_PAYLOAD)));
        assert!(
            !leaves_from_own_buffer(&whole.slice(..LARGE_PAYLOAD)),
            "a quarter"
        );
        assert!(leaves_from_own_buffer(&Bytes::from(vec![
            2u8;
            LARGE_PAYLOAD
        ])));
        assert!(!leaves_from_own_buffer(&Bytes::from(vec![
            2u8;
            LARGE_PAYLOAD - 1
        ])));
    }

    #[test]
    fn a_received_byte_string_shares_its_frame_only_when_a_quarter_of_it_or_more() {
        let frame = 16 << 20;
        assert!(
            worth_sharing(frame - 10, frame),
            "the usual: one string, the whole frame"
        );
        assert!(worth_sharing(frame / 4, frame), "four parts");
        assert!(!worth_sharing(frame / 4 - 1, frame));
        assert!(!worth_sharing(1, frame), "one byte never holds 16 MiB");
        assert!(
            !worth_sharing(1000, 1010),
            "a small frame lies in the read buffer: copied"
        );
    }

    /// One part of a payload in the round trip below.
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    enum Part {
        Text(String),
        Number(u64),
        Data(Bytes),
    }

    #[test]
    fn payloads_with_large_byte_strings_anywhere_read_back_the_same() {
        use crate::codec::{Codec, DecodeLimits, Postcard};
        use crate::wire::{Built, FrameBuilder, FrameCodec, IdList, Message, decode_message};
        use tokio_util::codec::Decoder;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        let shared = bytes::Bytes::from(vec![7u8; 3 * LARGE_PAYLOAD]);
        let mut handed_off = 0;
        for round in 0..300 {
            let parts: Vec<Part> = (0..next(8))
                .map(|i| match next(5) {
                    0 => Part::Text("x".repeat(next(40) as usize)),
                    1 => Part::Number(next(u64::MAX)),
                    2 => Part::Data(Bytes::from(vec![i as u8; next(100) as usize])),
                    3 => Part::Data(Bytes::from(vec![
                        round as u8;
                        LARGE_PAYLOAD + next(3) as usize
                    ])),
                    _ => Part::Data(Bytes::from(shared.slice(next(100) as usize..))),
                })
                .collect();
            let mut builder = FrameBuilder::new();
            builder
                .encode(|out| Postcard::encode(&parts, out))
                .expect("encodable");
            let message = Message::Return {
                call: round,
                exports: IdList::EMPTY,
            };
            let mut written = bytes::BytesMut::new();
            match builder.finish(&message).expect("a frame") {
                Built::Small(frame) => written.extend_from_slice(frame.bytes()),
                Built::Large(frame) => {
                    handed_off += usize::from(frame.pieces().count() > 1);
                    frame.put_whole(&mut written).expect("small enough");
                }
            }
            let frame = FrameCodec::new(1 << 30)
                .decode(&mut written)
                .expect("well formed")
                .expect("whole");
            assert!(written.is_empty());
            let (_, offset) = decode_message(&frame).expect("a message");
            let back: Vec<Part> =
                Postcard::decode(&frame[offset..], DecodeLimits::new(16, 1 << 20))
                    .expect("decodable");
            assert_eq!(back, parts, "round {round}");
        }
        assert!(
            handed_off > 100,
            "{handed_off} frames took byte strings off"
        );
    }

    #[test]
    fn equality_order_and_hash_are_the_bytes_alone() {
        use std::hash::{BuildHasher, RandomState};
        let received = Bytes {
            data: bytes::Bytes::from_static(b"abc"),
            within: 100,
        };
        let made = Bytes::from_static(b"abc");
        assert_eq!(received, made);
        assert_eq!(received.cmp(&made), std::cmp::Ordering::Equal);
        let hasher = RandomState::new();
        assert_eq!(hasher.hash_one(&received), hasher.hash_one(&made));
    }
}
