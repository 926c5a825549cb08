//! Provides the seam through which arguments, results and method errors are (de)serialized.
//!
//! Generated dispatch tables and proxies are generic over [`Codec`], and look methods up by name,
//! so a second wire format can drive the same tables. [`Postcard`] is the native, fast one.
//! References inside values (`Remote<T>`, `Local<T>`) are resolved against the connection's
//! tables by the runtime around each encode and decode, whatever the codec.

mod budget;

use budget::{Budget, Budgeted};
use bytes::BytesMut;
use serde::{Serialize, de::DeserializeOwned};

use budget::Exceeded;

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

/// The native codec: postcard, compact and fast, not self-describing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Postcard;

/// A postcard flavor that appends to a `BytesMut` with whole-slice copies.
struct BytesMutFlavor<'a>(&'a mut BytesMut);

impl postcard::ser_flavors::Flavor for BytesMutFlavor<'_> {
    type Output = ();

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.extend_from_slice(&[data]);
        Ok(())
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

impl Codec for Postcard {
    fn encode<T: Serialize + ?Sized>(value: &T, out: &mut BytesMut) -> Result<(), CodecError> {
        postcard::serialize_with_flavor(value, BytesMutFlavor(out))
            .map_err(|error| CodecError::Invalid(error.to_string()))
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8], limits: DecodeLimits) -> Result<T, CodecError> {
        let budget = Budget::new(limits, bytes.len());
        let mut deserializer = postcard::Deserializer::from_bytes(bytes);
        let decoded = T::deserialize(Budgeted::new(&mut deserializer, &budget))
            .and_then(|value| Ok((value, deserializer.finalize()?)));
        match budget.exceeded() {
            Some(Exceeded::Inline) => return Err(CodecError::Costly),
            Some(exceeded) => return Err(CodecError::Limit(exceeded.to_string())),
            None => {}
        }
        match decoded {
            Ok((value, [])) => Ok(value),
            Ok((_, rest)) => Err(CodecError::Invalid(format!(
                "{} unexpected bytes after the value (too many arguments?)",
                rest.len()
            ))),
            Err(postcard::Error::DeserializeUnexpectedEnd) => Err(CodecError::Invalid(
                "the value ends early (too few arguments?)".to_owned(),
            )),
            Err(error) => Err(CodecError::Invalid(error.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DecodeLimits = DecodeLimits {
        max_depth: 8,
        extra_items: 8,
        inline_items: None,
    };

    #[test]
    fn round_trip() {
        let mut out = BytesMut::new();
        Postcard::encode(&("hi".to_owned(), 5u64), &mut out).expect("encodable");
        let back: (String, u64) = Postcard::decode(&out, LIMITS).expect("decodable");
        assert_eq!(back, ("hi".to_owned(), 5));
    }

    #[test]
    fn trailing_and_missing_bytes_are_errors() {
        let mut out = BytesMut::new();
        Postcard::encode(&(1u8, 2u8), &mut out).expect("encodable");
        assert!(Postcard::decode::<(u8,)>(&out, LIMITS).is_err());
        assert!(Postcard::decode::<(u8, u8, u8)>(&out, LIMITS).is_err());
    }
}
