//! Provides the seam itself: the `Codec` trait, its error, and the limits every decode runs on.

use bytes::BytesMut;
use serde::{Serialize, de::DeserializeOwned};

/// Why a value could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The bytes are not an encoding of the type, or the value cannot be encoded.
    #[error("{0}")]
    Invalid(String),
    /// The value nests deeper or holds more items than the limits allow.
    #[error("{0}")]
    Limit(String),
    /// The decode passed the items a worker thread decodes inline
    /// ([`Config::max_inline_decode_items`](crate::Config::max_inline_decode_items)): the
    /// runtime decodes it again off the workers.
    #[error("the value is too costly to decode inline")]
    Costly,
}

/// A serialization format for payloads: arguments (a tuple of the parameters), results and
/// method errors.
pub trait Codec: Send + Sync + 'static {
    /// Appends the encoding of `value` to `out`.
    ///
    /// # Errors
    /// When `value` cannot be represented (or a reference in it cannot be sent).
    fn encode<T: Serialize + ?Sized>(value: &T, out: &mut BytesMut) -> Result<(), CodecError>;

    /// Decodes one value that must span all of `bytes`, within `limits`.
    ///
    /// # Errors
    /// When `bytes` is not an encoding of a `T`, has bytes left over, or nests deeper or holds
    /// more items than `limits` allow.
    fn decode<T: DeserializeOwned>(bytes: &[u8], limits: DecodeLimits) -> Result<T, CodecError>;

    /// What [`decode_each`](Self::decode_each) reads values from, one after another.
    type Reader<'a>;

    /// Reads the next value from `reader`.
    ///
    /// # Errors
    /// When the bytes are not a `T`, or pass the limits.
    fn read<T: DeserializeOwned>(reader: &mut Self::Reader<'_>) -> Result<T, CodecError>;

    /// Decodes, with `f`, the values that follow one another in `bytes` (a call's arguments)
    /// and must span all of it, within `limits` for them all: the same bytes as their tuple.
    ///
    /// # Errors
    /// `f`'s error, bytes left over, or the limits passed.
    fn decode_each<R>(
        bytes: &[u8],
        limits: DecodeLimits,
        f: impl FnOnce(&mut Self::Reader<'_>) -> Result<R, CodecError>,
    ) -> Result<R, CodecError>;
}

/// How much work decoding one payload may take; the runtime fills it from
/// [`Config`](crate::Config) (`max_decode_depth`, `max_decode_items`,
/// `max_inline_decode_items`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeLimits {
    /// How deeply values may nest: every sequence, map, struct, tuple, enum, `Some` and newtype
    /// is one level.
    pub max_depth: u32,
    /// How many items (sequence elements, map entries) a payload may hold beyond one per byte
    /// of its encoding.
    pub extra_items: usize,
    /// For a decode on a worker thread: how many items it may decode before it stops with
    /// [`CodecError::Costly`], to be done again off the workers.
    pub inline_items: Option<usize>,
}

impl DecodeLimits {
    /// Limits of `max_depth` levels and `extra_items` items beyond one per byte.
    pub fn new(max_depth: u32, extra_items: usize) -> Self {
        DecodeLimits {
            max_depth,
            extra_items,
            inline_items: None,
        }
    }

    /// The same limits, for a decode on a worker thread that stops after `items` items.
    pub fn inline(self, items: usize) -> Self {
        DecodeLimits {
            inline_items: Some(items),
            ..self
        }
    }
}
