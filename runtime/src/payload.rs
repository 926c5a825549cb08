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
/// the frame.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(bytes::Bytes);

impl Bytes {
    /// An empty buffer.
    pub const fn new() -> Self {
        Bytes(bytes::Bytes::new())
    }

    /// A buffer holding a copy of `data`.
    pub fn copy_from_slice(data: &[u8]) -> Self {
        Bytes(bytes::Bytes::copy_from_slice(data))
    }

    /// A buffer over static data, without copying it.
    pub const fn from_static(data: &'static [u8]) -> Self {
        Bytes(bytes::Bytes::from_static(data))
    }

    /// The underlying `bytes::Bytes`.
    pub fn into_inner(self) -> bytes::Bytes {
        self.0
    }
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl From<bytes::Bytes> for Bytes {
    fn from(bytes: bytes::Bytes) -> Self {
        Bytes(bytes)
    }
}

impl From<Bytes> for bytes::Bytes {
    fn from(bytes: Bytes) -> Self {
        bytes.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(data: Vec<u8>) -> Self {
        Bytes(data.into())
    }
}

impl From<&'static [u8]> for Bytes {
    fn from(data: &'static [u8]) -> Self {
        Bytes(bytes::Bytes::from_static(data))
    }
}

impl From<String> for Bytes {
    fn from(data: String) -> Self {
        Bytes(data.into())
    }
}

impl PartialEq<[u8]> for Bytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::wire::spill::offer(&self.0);
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(BytesVisitor)
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_borrowed_bytes<E: de::Error>(self, data: &'de [u8]) -> Result<Bytes, E> {
        Ok(Bytes(
            scope::frame_slice(data).unwrap_or_else(|| bytes::Bytes::copy_from_slice(data)),
        ))
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
