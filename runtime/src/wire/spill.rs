//! Provides the hand-off of large byte strings from a payload to its frame, without a copy.
//!
//! While a frame's payload is encoded on a thread, a [`Bytes`](crate::Bytes) of
//! [`LARGE_PAYLOAD`] bytes or more offers itself here as it is serialized. The codec, about to
//! copy those very bytes into the frame, takes the offer instead: it leaves the bytes out and
//! notes where they go. The frame is then written as its encoded pieces with the byte strings
//! between them, each from its own buffer.
//!
//! The codec knows the offer by its address and length, and takes it only into the buffer of
//! the frame being encoded, so the frame holds the same bytes whatever serializer ran in
//! between (one that writes elsewhere copies, as usual).

use bytes::{Bytes, BytesMut};
use std::cell::Cell;

/// What is large: a frame whose payload is at least this long leaves as an
/// [`Outgoing`](super::Outgoing), written from its own buffer (smaller ones are laid out whole
/// and copied into the write queue), and a byte string at least this long is taken off its
/// payload.
pub(crate) const LARGE_PAYLOAD: usize = 16 * 1024;

thread_local! {
    /// The address of the buffer the payload being encoded on this thread goes into; 0
    /// outside an encode. Arming and disarming an encode only sets this cell and reads the two
    /// below: the byte strings themselves are touched only when there are some.
    static INTO: Cell<usize> = const { Cell::new(0) };
    /// How many byte strings [`TAKEN_LIST`] holds.
    static TAKEN: Cell<usize> = const { Cell::new(0) };
    /// Whether [`OFFER`] holds an offer.
    static OFFERED: Cell<bool> = const { Cell::new(false) };
    /// The byte strings taken, each with the length of its buffer where it goes. Those of an
    /// encode that runs inside another (a rare thing: a value whose serialization builds a
    /// frame of its own) follow those of the outer one.
    static TAKEN_LIST: Cell<Vec<(usize, Bytes)>> = const { Cell::new(Vec::new()) };
    /// The last large byte string serialized, not yet taken.
    static OFFER: Cell<Option<Bytes>> = const { Cell::new(None) };
}

/// Ends an encode, even by a panic: puts back the buffer of the encode it ran inside, and
/// drops what it took and did not hand over, and any offer left (an offer pending in the encode
/// it ran inside too: that one copies its byte string instead).
struct Armed {
    outer: usize,
    /// How many byte strings were taken before this encode began.
    base: usize,
}

impl Drop for Armed {
    #[inline]
    fn drop(&mut self) {
        INTO.set(self.outer);
        if TAKEN.get() > self.base || OFFERED.get() {
            drop_leftovers(self.base);
        }
    }
}

/// Drops the byte strings taken after the first `base`, and the offer left.
#[cold]
#[inline(never)]
fn drop_leftovers(base: usize) {
    let dropped = split_taken(base);
    let offer = OFFER.try_with(Cell::take).ok().flatten();
    OFFERED.set(false);
    drop((dropped, offer));
}

/// Removes the byte strings taken after the first `base`, and returns them.
fn split_taken(base: usize) -> Vec<(usize, Bytes)> {
    TAKEN.set(base);
    TAKEN_LIST
        .try_with(|list| {
            let mut all = list.take();
            let mine = all.split_off(base.min(all.len()));
            list.set(all);
            mine
        })
        .unwrap_or_default()
}

/// The byte strings taken off one payload, each with the length of its buffer where it goes.
/// A frame builder keeps them boxed, as few frames have any: an empty one costs it one word
/// and no drop.
#[derive(Default)]
pub(crate) struct Spilled(pub(crate) Vec<(usize, Bytes)>);

/// Moves the byte strings taken after the first `base` to `spilled`.
#[cold]
#[inline(never)]
fn hand_over(base: usize, spilled: &mut Option<Box<Spilled>>) {
    spilled.get_or_insert_default().0.extend(split_taken(base));
}

/// Runs `encode`, which encodes one payload into `into`, taking large byte strings off it:
/// they are appended to `spilled`, each with the length of `into` where it goes. Costs a few
/// cell accesses when there are none.
#[inline(always)]
pub(crate) fn collecting<R>(
    into: &mut BytesMut,
    spilled: &mut Option<Box<Spilled>>,
    encode: impl FnOnce(&mut BytesMut) -> R,
) -> R {
    let armed = Armed {
        outer: INTO.replace(address(into)),
        base: TAKEN.get(),
    };
    let result = encode(into);
    if TAKEN.get() > armed.base {
        hand_over(armed.base, spilled);
    }
    drop(armed);
    result
}

/// Offers `bytes`, being serialized, for the codec to take rather than copy: only large ones,
/// during an encode.
#[inline]
pub(crate) fn offer(bytes: &Bytes) {
    if bytes.len() >= LARGE_PAYLOAD && INTO.get() != 0 {
        make_offer(bytes);
    }
}

/// Holds `bytes` as the offer, in place of any earlier one.
#[cold]
#[inline(never)]
fn make_offer(bytes: &Bytes) {
    if let Ok(previous) = OFFER.try_with(|offer| offer.replace(Some(bytes.clone()))) {
        OFFERED.set(true);
        drop(previous);
    }
}

/// The address of `buffer`, which tells it apart while it is borrowed.
fn address(buffer: &BytesMut) -> usize {
    std::ptr::from_ref(buffer).addr()
}

/// Takes the offered byte string if `data` is it and `into` is the buffer of the payload being
/// encoded, to go where `into` ends; returns whether it did (then the codec leaves `data` out).
#[inline]
pub(crate) fn take(data: &[u8], into: &BytesMut) -> bool {
    data.len() >= LARGE_PAYLOAD && OFFERED.get() && take_offer(data, into)
}

/// [`take`], once an offer is known to be held.
#[cold]
#[inline(never)]
fn take_offer(data: &[u8], into: &BytesMut) -> bool {
    if INTO.get() != address(into) {
        return false;
    }
    let Ok(offered) = OFFER.try_with(Cell::take) else {
        return false;
    };
    match offered {
        Some(offered) if offered.as_ptr() == data.as_ptr() && offered.len() == data.len() => {
            OFFERED.set(false);
            TAKEN_LIST
                .try_with(|list| {
                    let mut all = list.take();
                    all.push((into.len(), offered));
                    TAKEN.set(all.len());
                    list.set(all);
                })
                .is_ok()
        }
        other => {
            let _ = OFFER.try_with(|offer| offer.set(other));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `encode` as [`collecting`] does, and returns what it took too.
    fn collect<R>(
        into: &mut BytesMut,
        encode: impl FnOnce(&mut BytesMut) -> R,
    ) -> (R, Vec<(usize, Bytes)>) {
        let mut spilled = None;
        let result = collecting(into, &mut spilled, encode);
        (result, spilled.map(|spilled| spilled.0).unwrap_or_default())
    }

    fn large() -> Bytes {
        Bytes::from(vec![7u8; LARGE_PAYLOAD])
    }

    /// A buffer of `len` bytes.
    fn filled(len: usize) -> BytesMut {
        BytesMut::from(&vec![0u8; len][..])
    }

    #[test]
    fn an_offered_byte_string_is_taken_where_it_goes() {
        let bytes = large();
        let (took, taken) = collect(&mut filled(12), |out| {
            offer(&bytes);
            take(&bytes, out)
        });
        assert!(took);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].0, 12);
        assert_eq!(taken[0].1.as_ptr(), bytes.as_ptr());
    }

    #[test]
    fn other_bytes_and_other_buffers_are_copied() {
        let bytes = large();
        let same_content = bytes.to_vec();
        let (took, taken) = collect(&mut BytesMut::new(), |out| {
            offer(&bytes);
            let other = take(&same_content, out);
            let shorter = take(&bytes[..LARGE_PAYLOAD - 1], out);
            let tail = take(&bytes[1..], out);
            let elsewhere = take(&bytes, &BytesMut::new());
            other || shorter || tail || elsewhere
        });
        assert!(!took);
        assert!(taken.is_empty());
    }

    #[test]
    fn nothing_is_taken_outside_an_encode_or_kept_after_it() {
        let bytes = large();
        let mut out = BytesMut::new();
        offer(&bytes);
        assert!(!take(&bytes, &out));
        let ((), taken) = collect(&mut out, |_| offer(&bytes));
        assert!(taken.is_empty());
        assert!(!take(&bytes, &out));
        assert!(bytes.is_unique(), "no copy of the handle stays behind");
    }

    #[test]
    fn small_byte_strings_are_not_offered() {
        let bytes = Bytes::from(vec![1u8; LARGE_PAYLOAD - 1]);
        let (took, _) = collect(&mut BytesMut::new(), |out| {
            offer(&bytes);
            take(&bytes, out)
        });
        assert!(!took);
    }

    #[test]
    fn an_encode_inside_an_encode_keeps_its_own() {
        let (outer, inner) = (large(), large());
        let ((inner_taken, took), outer_taken) = collect(&mut filled(5), |out| {
            let (took_inner, inner_taken) = collect(&mut filled(3), |inner_out| {
                offer(&inner);
                take(&inner, inner_out)
            });
            assert!(took_inner);
            offer(&outer);
            (inner_taken, take(&outer, out))
        });
        assert!(took);
        assert_eq!(inner_taken.len(), 1);
        assert_eq!(inner_taken[0].0, 3);
        assert_eq!(outer_taken.len(), 1);
        assert_eq!(outer_taken[0].0, 5);
    }

    #[test]
    fn a_panicking_encode_leaves_the_outer_one_intact() {
        let (outer, inner) = (large(), large());
        let (took, taken) = collect(&mut BytesMut::new(), |out| {
            let panicked = std::panic::catch_unwind(|| {
                collect(&mut BytesMut::new(), |inner_out| {
                    offer(&inner);
                    assert!(take(&inner, inner_out));
                    panic!("encode failed")
                })
            });
            assert!(panicked.is_err());
            offer(&outer);
            take(&outer, out)
        });
        assert!(took);
        assert_eq!(taken.len(), 1, "the inner encode's byte string is dropped");
        assert_eq!(taken[0].1.as_ptr(), outer.as_ptr());
        assert!(inner.is_unique());
    }

    #[test]
    fn an_offer_pending_around_an_inner_encode_is_copied_not_lost() {
        let outer = large();
        let (took, taken) = collect(&mut BytesMut::new(), |out| {
            offer(&outer);
            let ((), _) = collect(&mut BytesMut::new(), |_| {});
            take(&outer, out)
        });
        assert!(!took, "the codec copies it");
        assert!(taken.is_empty());
        assert!(outer.is_unique());
    }
}
