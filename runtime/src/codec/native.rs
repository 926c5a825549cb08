//! Provides the native codec: postcard, decoded on a budget.

use super::budget::{Budget, Budgeted, Exceeded};
use super::seam::{Codec, CodecError, DecodeLimits};
use bytes::{BufMut, BytesMut};
use serde::{Serialize, de::DeserializeOwned};

/// The native codec: postcard, compact and fast, not self-describing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Postcard;

/// Reads values one after another from one postcard payload, on one budget.
pub struct PostcardReader<'a> {
    deserializer: postcard::Deserializer<'a, postcard::de_flavors::Slice<'a>>,
    budget: &'a Budget,
    /// Postcard's own error of the first value that failed, for the message.
    error: Option<postcard::Error>,
}

impl std::fmt::Debug for PostcardReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostcardReader").finish_non_exhaustive()
    }
}

impl PostcardReader<'_> {
    /// Keeps postcard's error; the caller sees it once the decode ends, in context.
    fn failed(&mut self, error: postcard::Error) -> CodecError {
        let message = error.to_string();
        self.error.get_or_insert(error);
        CodecError::Invalid(message)
    }
}

/// A postcard flavor that appends to a `BytesMut` with whole-slice copies, but for the large
/// byte strings it is handed off (see [`spill`](crate::wire::spill)).
struct BytesMutFlavor<'a>(&'a mut BytesMut);

impl postcard::ser_flavors::Flavor for BytesMutFlavor<'_> {
    type Output = ();

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.put_u8(data);
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        if crate::wire::spill::take(data, self.0) {
            return Ok(());
        }
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
        Self::decode_each(bytes, limits, |reader| Self::read::<T>(reader))
    }

    type Reader<'a> = PostcardReader<'a>;

    fn read<T: DeserializeOwned>(reader: &mut PostcardReader<'_>) -> Result<T, CodecError> {
        T::deserialize(Budgeted::new(&mut reader.deserializer, reader.budget))
            .map_err(|error| reader.failed(error))
    }

    fn decode_each<R>(
        bytes: &[u8],
        limits: DecodeLimits,
        f: impl FnOnce(&mut PostcardReader<'_>) -> Result<R, CodecError>,
    ) -> Result<R, CodecError> {
        let budget = Budget::new(limits, bytes.len());
        let mut reader = PostcardReader {
            deserializer: postcard::Deserializer::from_bytes(bytes),
            budget: &budget,
            error: None,
        };
        let value = f(&mut reader);
        let error = reader.error.take();
        match budget.exceeded() {
            Some(Exceeded::Inline) => return Err(CodecError::Costly),
            Some(exceeded) => return Err(CodecError::Limit(exceeded.to_string())),
            None => {}
        }
        let decoded = match (value, error) {
            (Ok(value), _) => reader.deserializer.finalize().map(|rest| (value, rest)),
            (Err(_), Some(error)) => Err(error),
            (Err(error), None) => return Err(error),
        };
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
