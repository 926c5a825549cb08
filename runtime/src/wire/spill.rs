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
use std::cell::RefCell;

/// What is large: a frame whose payload is at least this long leaves as an
/// [`Outgoing`](super::Outgoing), written from its own buffer (smaller ones are laid out whole
/// and copied into the write queue), and a byte string at least this long is taken off its
/// payload.
pub(crate) const LARGE_PAYLOAD: usize = 16 * 1024;

/// The byte strings handed off during one encode.
struct Collector {
    /// The address of the buffer the payload is encoded into.
    into: usize,
    /// The last large byte string serialized, not yet taken.
    offered: Option<Bytes>,
    /// The byte strings taken, each with the length the payload had where it goes.
    taken: Vec<(usize, Bytes)>,
}

thread_local! {
    /// The encode running on this thread, if any.
    static COLLECTOR: RefCell<Option<Collector>> = const { RefCell::new(None) };
}

/// Puts back the collector of an encode this one runs inside (a rare thing: a value whose
/// serialization builds a frame of its own), even if the inner encode panics.
struct Restore(Option<Option<Collector>>);

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(outer) = self.0.take() {
            COLLECTOR.with(|collector| *collector.borrow_mut() = outer);
        }
    }
}

/// Runs `encode`, which encodes one payload into `into`, taking large byte strings off it;
/// returns its result and the byte strings taken, each with the length of `into` where it goes.
pub(crate) fn collecting<R>(
    into: &mut BytesMut,
    encode: impl FnOnce(&mut BytesMut) -> R,
) -> (R, Vec<(usize, Bytes)>) {
    let mine = Collector {
        into: address(into),
        offered: None,
        taken: Vec::new(),
    };
    let mut restore = Restore(Some(
        COLLECTOR.with(|collector| collector.replace(Some(mine))),
    ));
    let result = encode(into);
    let outer = restore.0.take().unwrap_or_default();
    let mine = COLLECTOR.with(|collector| collector.replace(outer));
    (result, mine.map(|mine| mine.taken).unwrap_or_default())
}

/// Offers `bytes`, being serialized, for the codec to take rather than copy: only large ones,
/// during an encode.
pub(crate) fn offer(bytes: &Bytes) {
    if bytes.len() < LARGE_PAYLOAD {
        return;
    }
    COLLECTOR.with(|collector| {
        if let Ok(mut collector) = collector.try_borrow_mut()
            && let Some(collector) = collector.as_mut()
        {
            collector.offered = Some(bytes.clone());
        }
    });
}

/// The address of `buffer`, which tells it apart while it is borrowed.
fn address(buffer: &BytesMut) -> usize {
    std::ptr::from_ref(buffer).addr()
}

/// Takes the offered byte string if `data` is it and `into` is the buffer of the payload being
/// encoded, to go where `into` ends; returns whether it did (then the codec leaves `data` out).
pub(crate) fn take(data: &[u8], into: &BytesMut) -> bool {
    if data.len() < LARGE_PAYLOAD {
        return false;
    }
    COLLECTOR.with(|collector| {
        let Ok(mut collector) = collector.try_borrow_mut() else {
            return false;
        };
        let Some(collector) = collector.as_mut().filter(|c| c.into == address(into)) else {
            return false;
        };
        match collector.offered.take() {
            Some(offered) if offered.as_ptr() == data.as_ptr() && offered.len() == data.len() => {
                collector.taken.push((into.len(), offered));
                true
            }
            other => {
                collector.offered = other;
                false
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (took, taken) = collecting(&mut filled(12), |out| {
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
        let (took, taken) = collecting(&mut BytesMut::new(), |out| {
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
        let ((), taken) = collecting(&mut out, |_| offer(&bytes));
        assert!(taken.is_empty());
        assert!(!take(&bytes, &out));
        assert!(bytes.is_unique(), "no copy of the handle stays behind");
    }

    #[test]
    fn small_byte_strings_are_not_offered() {
        let bytes = Bytes::from(vec![1u8; LARGE_PAYLOAD - 1]);
        let (took, _) = collecting(&mut BytesMut::new(), |out| {
            offer(&bytes);
            take(&bytes, out)
        });
        assert!(!took);
    }

    #[test]
    fn an_encode_inside_an_encode_keeps_its_own() {
        let (outer, inner) = (large(), large());
        let ((inner_taken, took), outer_taken) = collecting(&mut filled(5), |out| {
            offer(&outer);
            let (took_inner, inner_taken) = collecting(&mut filled(3), |inner_out| {
                offer(&inner);
                take(&inner, inner_out)
            });
            assert!(took_inner);
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
        let outer = large();
        let (took, taken) = collecting(&mut BytesMut::new(), |out| {
            offer(&outer);
            let inner = std::panic::catch_unwind(|| {
                collecting(&mut BytesMut::new(), |_| panic!("encode failed"))
            });
            assert!(inner.is_err());
            take(&outer, out)
        });
        assert!(took);
        assert_eq!(taken.len(), 1);
    }
}
