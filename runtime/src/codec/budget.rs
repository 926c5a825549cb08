//! Provides decoding on a budget: a serde adapter that wraps any `Deserializer` and fails the
//! decode, with an ordinary error, once the value nests deeper or holds more items than the
//! connection allows.
//!
//! A peer chooses the bytes and, through the method it calls, the type they are decoded as. Two
//! shapes would otherwise cost the receiver without bound:
//! - a recursive type nested deeper than the stack can follow (every level of nesting is a
//!   few stack frames), which aborts the process;
//! - a sequence of a zero-sized type (`Vec<()>`) that announces `u64::MAX` elements: each
//!   element takes no input, so the decoder loops for as long as the length says.
//!
//! The adapter counts nesting on every compound value (sequence, map, struct, tuple, enum,
//! `Some`, newtype), and counts items (sequence elements and map entries) against an allowance
//! of one item per byte of input plus a fixed number, so that decoding work is linear in the
//! size of the payload. It also caps the length hint a sequence reports, so a collection never
//! reserves room for more items than the budget has left.

use super::seam::DecodeLimits;
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::fmt;

/// What is left of the budget while one value is decoded.
#[derive(Debug)]
pub(crate) struct Budget {
    depth_left: Cell<u32>,
    items_left: Cell<usize>,
    /// Items left before a decode on a worker thread stops, to be done again off the workers.
    inline_items_left: Cell<Option<usize>>,
    max_depth: u32,
    /// Why the budget stopped the decode, if it did. Kept here because some formats (postcard
    /// among them) drop the text of custom errors.
    exceeded: Cell<Option<Exceeded>>,
}

/// Which limit stopped a decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    /// The value nests deeper than this many levels.
    Depth(u32),
    /// The value holds more items than its size allows.
    Items,
    /// The value holds more items than a worker thread decodes inline.
    Inline,
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exceeded::Depth(limit) => {
                write!(f, "the value nests deeper than the limit of {limit} levels")
            }
            Exceeded::Items => f.write_str(
                "the value holds more items than its size allows (decode budget exhausted)",
            ),
            Exceeded::Inline => f.write_str("the value is too costly to decode inline"),
        }
    }
}

impl Budget {
    /// The budget for decoding `input_len` bytes under `limits`.
    pub(crate) fn new(limits: DecodeLimits, input_len: usize) -> Self {
        Budget {
            depth_left: Cell::new(limits.max_depth),
            items_left: Cell::new(input_len.saturating_add(limits.extra_items)),
            inline_items_left: Cell::new(limits.inline_items),
            max_depth: limits.max_depth,
            exceeded: Cell::new(None),
        }
    }

    /// Which limit stopped the decode, if one did.
    pub(crate) fn exceeded(&self) -> Option<Exceeded> {
        self.exceeded.get()
    }

    fn fail<E: de::Error>(&self, exceeded: Exceeded) -> E {
        self.exceeded.set(Some(exceeded));
        E::custom(exceeded)
    }

    /// Enters one level of nesting, or fails past the limit.
    fn enter<E: de::Error>(&self) -> Result<(), E> {
        match self.depth_left.get().checked_sub(1) {
            Some(left) => {
                self.depth_left.set(left);
                Ok(())
            }
            None => Err(self.fail(Exceeded::Depth(self.max_depth))),
        }
    }

    fn leave(&self) {
        self.depth_left.set(self.depth_left.get().saturating_add(1));
    }

    /// Counts one decoded item, or fails once the allowance is spent.
    fn take_item<E: de::Error>(&self) -> Result<(), E> {
        if let Some(inline) = self.inline_items_left.get() {
            match inline.checked_sub(1) {
                Some(left) => self.inline_items_left.set(Some(left)),
                None => return Err(self.fail(Exceeded::Inline)),
            }
        }
        match self.items_left.get().checked_sub(1) {
            Some(left) => {
                self.items_left.set(left);
                Ok(())
            }
            None => Err(self.fail(Exceeded::Items)),
        }
    }

    /// A collection's length hint, capped at what the budget can still pay for.
    fn cap_hint(&self, hint: Option<usize>) -> Option<usize> {
        hint.map(|hint| hint.min(self.items_left.get()))
    }

    /// Runs `f` one level deeper.
    fn nested<T, E: de::Error>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.enter::<E>()?;
        let result = f();
        self.leave();
        result
    }
}

/// A `Deserializer`, `Visitor`, access or seed, wrapped so that it reports to a [`Budget`].
pub(crate) struct Budgeted<'b, T> {
    inner: T,
    budget: &'b Budget,
}

impl<'b, T> Budgeted<'b, T> {
    /// Wraps `inner` (a deserializer, usually) to decode within `budget`.
    pub(crate) fn new(inner: T, budget: &'b Budget) -> Self {
        Budgeted { inner, budget }
    }

    fn wrap<U>(&self, inner: U) -> Budgeted<'b, U> {
        Budgeted {
            inner,
            budget: self.budget,
        }
    }
}

/// Forwards `deserialize_*` methods that take only a visitor.
macro_rules! forward_deserialize {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                let visitor = self.wrap(visitor);
                self.inner.$method(visitor)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Budgeted<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Forwards `visit_*` methods of leaf values.
macro_rules! forward_visit {
    ($($method:ident($ty:ty))*) => {
        $(
            fn $method<E: de::Error>(self, value: $ty) -> Result<Self::Value, E> {
                self.inner.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Budgeted<'_, V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(formatter)
    }

    forward_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let budget = self.budget;
        budget.nested(|| self.inner.visit_some(Budgeted::new(deserializer, budget)))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        let budget = self.budget;
        budget.nested(|| {
            self.inner
                .visit_newtype_struct(Budgeted::new(deserializer, budget))
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let budget = self.budget;
        budget.nested(|| self.inner.visit_seq(Budgeted::new(seq, budget)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let budget = self.budget;
        budget.nested(|| self.inner.visit_map(Budgeted::new(map, budget)))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        let budget = self.budget;
        budget.nested(|| self.inner.visit_enum(Budgeted::new(data, budget)))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Budgeted<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.inner
            .deserialize(Budgeted::new(deserializer, self.budget))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Budgeted<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        let seed = self.wrap(seed);
        let element = self.inner.next_element_seed(seed)?;
        if element.is_some() {
            self.budget.take_item::<A::Error>()?;
        }
        Ok(element)
    }

    fn size_hint(&self) -> Option<usize> {
        self.budget.cap_hint(self.inner.size_hint())
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Budgeted<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let seed = self.wrap(seed);
        let key = self.inner.next_key_seed(seed)?;
        if key.is_some() {
            self.budget.take_item::<A::Error>()?;
        }
        Ok(key)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let seed = self.wrap(seed);
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.budget.cap_hint(self.inner.size_hint())
    }
}

impl<'b, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Budgeted<'b, A> {
    type Error = A::Error;
    type Variant = Budgeted<'b, A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), Self::Error> {
        let budget = self.budget;
        let (value, variant) = self.inner.variant_seed(Budgeted::new(seed, budget))?;
        Ok((value, Budgeted::new(variant, budget)))
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Budgeted<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), Self::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        let seed = self.wrap(seed);
        self.inner.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.struct_variant(fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    const LIMITS: DecodeLimits = DecodeLimits {
        max_depth: 16,
        extra_items: 100,
        inline_items: None,
    };

    fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8], limits: DecodeLimits) -> Result<T, String> {
        let budget = Budget::new(limits, bytes.len());
        let mut deserializer = postcard::Deserializer::from_bytes(bytes);
        T::deserialize(Budgeted::new(&mut deserializer, &budget)).map_err(|error| {
            budget
                .exceeded()
                .map_or_else(|| error.to_string(), |exceeded| exceeded.to_string())
        })
    }

    #[derive(Debug, PartialEq, Deserialize, serde::Serialize)]
    enum Tree {
        Leaf,
        Node(Box<Tree>),
    }

    fn nested(depth: usize) -> Vec<u8> {
        let mut bytes = vec![1u8; depth];
        bytes.push(0);
        bytes
    }

    #[test]
    fn shallow_values_decode_as_without_the_adapter() {
        let value = (
            vec![1u32, 2, 3],
            Some("x".to_owned()),
            Tree::Node(Box::new(Tree::Leaf)),
        );
        let bytes = postcard::to_stdvec(&value).expect("encodable");
        assert_eq!(
            decode::<(Vec<u32>, Option<String>, Tree)>(&bytes, LIMITS).ok(),
            Some(value)
        );
    }

    #[test]
    fn nesting_past_the_limit_fails_without_recursing_further() {
        assert!(decode::<Tree>(&nested(15), LIMITS).is_ok());
        let error = decode::<Tree>(&nested(100_000), LIMITS).expect_err("too deep");
        assert!(error.to_string().contains("deeper"), "{error}");
    }

    #[test]
    fn zero_sized_elements_cannot_loop_past_the_allowance() {
        // A `Vec<()>` announcing u64::MAX elements, in 11 bytes.
        let bytes = postcard::to_stdvec(&u64::MAX).expect("encodable");
        let error = decode::<Vec<()>>(&bytes, LIMITS).expect_err("over budget");
        assert!(error.to_string().contains("budget"), "{error}");
        // Within the allowance, they decode.
        let bytes = postcard::to_stdvec(&vec![(); 50]).expect("encodable");
        assert_eq!(
            decode::<Vec<()>>(&bytes, LIMITS).ok().map(|v| v.len()),
            Some(50)
        );
    }

    #[test]
    fn one_item_per_byte_is_always_allowed() {
        let value: Vec<u8> = vec![7; 10_000];
        let bytes = postcard::to_stdvec(&value).expect("encodable");
        assert_eq!(decode::<Vec<u8>>(&bytes, LIMITS).ok(), Some(value));
    }

    #[test]
    fn an_inline_decode_stops_after_its_items_and_says_so() {
        let value: Vec<u8> = vec![7; 1_000];
        let bytes = postcard::to_stdvec(&value).expect("encodable");
        let inline = DecodeLimits {
            inline_items: Some(999),
            ..LIMITS
        };
        let budget = Budget::new(inline, bytes.len());
        let mut deserializer = postcard::Deserializer::from_bytes(&bytes);
        assert!(Vec::<u8>::deserialize(Budgeted::new(&mut deserializer, &budget)).is_err());
        assert_eq!(budget.exceeded(), Some(Exceeded::Inline));
        let enough = DecodeLimits {
            inline_items: Some(1_000),
            ..LIMITS
        };
        assert_eq!(decode::<Vec<u8>>(&bytes, enough).ok(), Some(value));
    }
}
