//! Lays out the headers of the messages every call sends (call, return, raise, release, ping,
//! pong, cancel) by hand, byte for byte as postcard lays out [`Message`], because postcard's
//! serde path costs several times the bytes it writes. The other messages, and any header the
//! hand-written decoder does not take as well formed, go through postcard, which stays the
//! reference: the tests hold the two to the same bytes and the same values.
//!
//! Postcard's layout: the variant's index as a varint, then the fields in order; integers as
//! LEB128 varints; strings and byte strings as a varint length, then their bytes.

use super::message::{IdList, Message};

/// The variant indexes of [`Message`], in declaration order.
const CALL: u8 = 1;
const RETURN: u8 = 2;
const RAISED: u8 = 3;
const RELEASE: u8 = 5;
const PING: u8 = 6;
const PONG: u8 = 7;
const CANCEL: u8 = 8;

/// The longest varint of a `u64`.
const VARINT_MAX: usize = 10;

/// Writes `message` at the start of `out`; returns the header's length, or `None` if
/// `message` is not one of the kinds laid out here, or does not fit in `out`.
pub(super) fn encode_into(message: &Message<'_>, out: &mut [u8]) -> Option<usize> {
    let mut writer = Writer { out, at: 0 };
    match *message {
        Message::Call {
            call,
            target,
            method,
            exports,
        } => {
            writer.byte(CALL)?;
            writer.varint(call)?;
            writer.varint(target)?;
            writer.bytes(method.as_bytes())?;
            writer.bytes(exports.as_bytes())?;
        }
        Message::Return { call, exports } => {
            writer.byte(RETURN)?;
            writer.varint(call)?;
            writer.bytes(exports.as_bytes())?;
        }
        Message::Raised { call, exports } => {
            writer.byte(RAISED)?;
            writer.varint(call)?;
            writer.bytes(exports.as_bytes())?;
        }
        Message::Release { target, count } => {
            writer.byte(RELEASE)?;
            writer.varint(target)?;
            writer.varint(count)?;
        }
        Message::Ping => writer.byte(PING)?,
        Message::Pong => writer.byte(PONG)?,
        Message::Cancel { call } => {
            writer.byte(CANCEL)?;
            writer.varint(call)?;
        }
        Message::Hello { .. } | Message::Failed { .. } => return None,
    }
    Some(writer.at)
}

/// Reads the header at the start of `frame`: the message and the offset of its payload, or
/// `None` if it is not one of the kinds laid out here or not well formed (postcard then says
/// what it is).
pub(super) fn decode(frame: &[u8]) -> Option<(Message<'_>, usize)> {
    let mut reader = Reader { frame, at: 0 };
    let message = match reader.byte()? {
        CALL => Message::Call {
            call: reader.varint()?,
            target: reader.varint()?,
            method: std::str::from_utf8(reader.bytes()?).ok()?,
            exports: IdList::from_encoded(reader.bytes()?),
        },
        RETURN => Message::Return {
            call: reader.varint()?,
            exports: IdList::from_encoded(reader.bytes()?),
        },
        RAISED => Message::Raised {
            call: reader.varint()?,
            exports: IdList::from_encoded(reader.bytes()?),
        },
        RELEASE => Message::Release {
            target: reader.varint()?,
            count: reader.varint()?,
        },
        PING => Message::Ping,
        PONG => Message::Pong,
        CANCEL => Message::Cancel {
            call: reader.varint()?,
        },
        _ => return None,
    };
    Some((message, reader.at))
}

struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn byte(&mut self, byte: u8) -> Option<()> {
        *self.out.get_mut(self.at)? = byte;
        self.at += 1;
        Some(())
    }

    fn varint(&mut self, mut value: u64) -> Option<()> {
        while value >= 0x80 {
            self.byte((value as u8) | 0x80)?;
            value >>= 7;
        }
        self.byte(value as u8)
    }

    fn bytes(&mut self, bytes: &[u8]) -> Option<()> {
        self.varint(bytes.len() as u64)?;
        let end = self.at.checked_add(bytes.len())?;
        self.out.get_mut(self.at..end)?.copy_from_slice(bytes);
        self.at = end;
        Some(())
    }
}

struct Reader<'a> {
    frame: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.frame.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    /// A varint as postcard takes a `u64`: at most ten bytes, the tenth holding one bit.
    #[inline]
    fn varint(&mut self) -> Option<u64> {
        // Most are one byte: call ids early on, targets, lengths.
        let first = *self.frame.get(self.at)?;
        if first < 0x80 {
            self.at += 1;
            return Some(u64::from(first));
        }
        self.long_varint()
    }

    /// A varint of two bytes or more (its first byte has the high bit set).
    fn long_varint(&mut self) -> Option<u64> {
        // Two or three bytes: call ids from 128 to about two million.
        match *self.frame.get(self.at..)? {
            [a, b, ..] if b < 0x80 => {
                self.at += 2;
                return Some(u64::from(a & 0x7f) | u64::from(b) << 7);
            }
            [a, b, c, ..] if c < 0x80 => {
                self.at += 3;
                return Some(u64::from(a & 0x7f) | u64::from(b & 0x7f) << 7 | u64::from(c) << 14);
            }
            _ => {}
        }
        let mut value = 0u64;
        for i in 0..VARINT_MAX {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return (i < VARINT_MAX - 1 || byte <= 1).then_some(value);
            }
        }
        None
    }

    #[inline]
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        let end = self.at.checked_add(len)?;
        let bytes = self.frame.get(self.at..end)?;
        self.at = end;
        Some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Failure;

    /// Headers of every kind, with integers at each varint length's edges.
    fn samples(ids: &[u8]) -> Vec<Message<'_>> {
        let numbers = [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            u64::from(u32::MAX),
            u64::MAX,
        ];
        let long_name = "m".repeat(200);
        let long_name: &'static str = Box::leak(long_name.into_boxed_str());
        let mut messages = vec![
            Message::Ping,
            Message::Pong,
            Message::Hello {
                root: Some("x"),
                max_frame: 1 << 20,
                max_refs: 1_000,
            },
            Message::Failed {
                call: 9,
                failure: Failure::Busy,
            },
        ];
        for &n in &numbers {
            for method in ["", "echo", "échange", long_name] {
                messages.push(Message::Call {
                    call: n,
                    target: n / 3,
                    method,
                    exports: IdList::from_encoded(ids),
                });
            }
            messages.push(Message::Return {
                call: n,
                exports: IdList::from_encoded(ids),
            });
            messages.push(Message::Raised {
                call: n,
                exports: IdList::EMPTY,
            });
            messages.push(Message::Release {
                target: n,
                count: n / 7,
            });
            messages.push(Message::Cancel { call: n });
        }
        messages
    }

    #[test]
    fn headers_are_laid_out_as_postcard_lays_them_out() {
        let ids = IdList::encode(&[1, 300, u64::MAX]);
        for message in samples(&ids) {
            let reference = postcard::to_stdvec(&message).expect("encodable");
            let mut out = [0u8; 512];
            match encode_into(&message, &mut out) {
                Some(len) => assert_eq!(&out[..len], &reference[..], "{message:?}"),
                None => assert!(
                    matches!(message, Message::Hello { .. } | Message::Failed { .. }),
                    "{message:?} is laid out by hand"
                ),
            }
            // Too little room is no header at all, never a cut one.
            if reference.len() > 1 {
                let mut short = vec![0u8; reference.len() - 1];
                assert_eq!(encode_into(&message, &mut short), None, "{message:?}");
            }
        }
    }

    #[test]
    fn what_is_decoded_by_hand_is_what_postcard_decodes() {
        let ids = IdList::encode(&[5, 1 << 40]);
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for message in samples(&ids) {
            let mut frame = postcard::to_stdvec(&message).expect("encodable");
            frame.extend_from_slice(b"payload");
            // Every cut, and every byte changed in a few ways.
            for cut in 0..frame.len() {
                inputs.push(frame[..cut].to_vec());
            }
            for at in 0..frame.len().min(24) {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut changed = frame.clone();
                    changed[at] ^= flip;
                    inputs.push(changed);
                }
            }
            inputs.push(frame);
        }
        // Overlong and overflowing varints, bad UTF-8, lengths past the end.
        inputs.push(vec![CANCEL, 0x80, 0x00]);
        inputs.push(vec![
            CANCEL, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ]);
        inputs.push(vec![
            CANCEL, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        ]);
        inputs.push(vec![CALL, 1, 1, 2, 0xc3, 0x28, 0]);
        inputs.push(vec![
            CALL, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ]);
        let mut decoded_by_hand = 0;
        for input in &inputs {
            let reference = postcard::take_from_bytes::<Message<'_>>(input)
                .map(|(message, rest)| (message, input.len() - rest.len()));
            if let Some(by_hand) = decode(input) {
                decoded_by_hand += 1;
                assert_eq!(Ok(by_hand), reference.map_err(|_| ()), "{input:?}");
            } else if let Ok((message, _)) = &reference {
                // A kind whose varint is overlong is postcard's alone, too.
                assert!(
                    matches!(message, Message::Hello { .. } | Message::Failed { .. })
                        || input[0] >= 0x80,
                    "{input:?} is postcard's {message:?} but not decoded by hand"
                );
            }
        }
        assert!(decoded_by_hand > 1_000, "{decoded_by_hand}");
    }
}
