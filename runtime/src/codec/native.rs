//! Provides the native codec: postcard, decoded on a budget.

use super::budget::{Budget, Budgeted, Exceeded};
use super::seam::{Codec, CodecError, DecodeLimits};
use bytes::{BufMut, BytesMut};
use serde::{Serialize, de::DeserializeOwned};

/// The native codec: postcard, compact and fast, not self-describing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Postcard;

/// A postcard flavor that appends to a `BytesMut` with whole-slice copies.
struct BytesMutFlavor<'a>(&'a mut BytesMut);

impl postcard::ser_flavors::Flavor for BytesMutFlavor<'_> {
    type Output = ();

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.put_u8(data);
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
