//! Provides length-prefixed framing: a size limit checked before any allocation, room for long
//! frames made as their bytes arrive, and the memory budget pending connections share.

use super::spill::{LARGE_PAYLOAD, Spilled};
use bytes::{Buf, Bytes, BytesMut};
use std::cell::RefCell;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_util::codec::{Decoder, Encoder};

/// One outgoing frame: an encoded message header and its payload, written back to back after
/// one length prefix. Only their concatenation matters: the runtime usually builds both in
/// one buffer (`head` empty), tests may pass them apart.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    /// The postcard-encoded [`Message`](super::Message) header.
    pub head: Bytes,
    /// The payload (may be empty).
    pub body: Bytes,
    /// What follows `body`: the payload's large byte strings, each from its own buffer, with
    /// the encoded pieces between them (see [`spill`](super::spill)).
    rest: Vec<Bytes>,
}

/// What one queued frame costs beyond its bytes: its slot in the queue and its buffers'
/// bookkeeping. Counted so that many tiny frames fill a write queue too.
pub(crate) const FRAME_OVERHEAD: usize = 64;

impl Outgoing {
    /// A frame of `head` (an encoded [`Message`](super::Message)) and `body` (its payload).
    pub fn new(head: Bytes, body: Bytes) -> Self {
        Outgoing {
            head,
            body,
            rest: Vec::new(),
        }
    }

    /// A frame that is a header alone (a release, a failure, a ping).
    pub(crate) fn header(message: &super::Message<'_>) -> Result<Self, postcard::Error> {
        Ok(Outgoing::new(message.encode()?, Bytes::new()))
    }

    /// The frame's buffers after its head, in order: the body, then the rest.
    pub(crate) fn pieces(&self) -> impl Iterator<Item = &Bytes> {
        std::iter::once(&self.body).chain(&self.rest)
    }

    /// Whether the frame has a large piece, written from its own buffer.
    pub(crate) fn is_large(&self) -> bool {
        self.body.len() >= LARGE_PAYLOAD || !self.rest.is_empty()
    }

    /// What the frame counts against a write queue.
    pub(crate) fn queued_cost(&self) -> usize {
        self.len() + FRAME_OVERHEAD
    }

    /// The size of the frame without its length prefix.
    pub fn len(&self) -> usize {
        self.head.len() + self.pieces().map(Bytes::len).sum::<usize>()
    }

    /// Whether the frame is empty (never true for a well-formed message).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gives the frame buffers of its own where it may share larger ones: a small body may be
    /// a slice of a larger buffer (a frame handed in whole, say), and a byte string taken off
    /// the payload may be a slice of anything (a received frame, when a method returns part of
    /// its argument). One left waiting in a queue would keep those buffers alive, more than
    /// the queue counts for it.
    pub(crate) fn detach(&mut self) {
        if !self.rest.is_empty() {
            let mut whole = BytesMut::with_capacity(self.len() - self.head.len());
            for piece in self.pieces() {
                whole.extend_from_slice(piece);
            }
            self.body = whole.freeze();
            self.rest = Vec::new();
        } else if self.body.len() < LARGE_PAYLOAD {
            self.body = Bytes::copy_from_slice(&self.body);
        }
    }

    /// Appends the frame's length prefix and header to `dst`; its body follows, appended or
    /// written apart. The one place where a frame's bytes are laid out.
    ///
    /// # Errors
    /// If the frame is 4 GiB or more.
    pub(crate) fn put_head(&self, dst: &mut BytesMut) -> io::Result<()> {
        let prefix = length_prefix(self.len())?;
        dst.reserve(PREFIX_LEN + self.head.len());
        dst.extend_from_slice(&prefix);
        dst.extend_from_slice(&self.head);
        Ok(())
    }

    /// The frame's length prefix, which goes before its head.
    ///
    /// # Errors
    /// If the frame is 4 GiB or more.
    pub(crate) fn prefix(&self) -> io::Result<[u8; PREFIX_LEN]> {
        length_prefix(self.len())
    }

    /// Appends the whole frame to `dst`: length prefix, head and every piece.
    ///
    /// # Errors
    /// If the frame is 4 GiB or more.
    pub(crate) fn put_whole(&self, dst: &mut BytesMut) -> io::Result<()> {
        self.put_head(dst)?;
        for piece in self.pieces() {
            dst.extend_from_slice(piece);
        }
        Ok(())
    }
}

/// The length prefix of a frame of `len` bytes: the one place it is laid out.
///
/// # Errors
/// If the frame is 4 GiB or more.
fn length_prefix(len: usize) -> io::Result<[u8; PREFIX_LEN]> {
    u32::try_from(len)
        .map(u32::to_be_bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame of 4 GiB or more"))
}

/// Room kept in front of a payload for its header, so header and payload share one buffer.
const HEADROOM: usize = 48;

/// Room kept in front of a payload for the length prefix and the header.
const FRONT: usize = PREFIX_LEN + HEADROOM;

/// The largest buffer a thread keeps for the next frame it builds.
const SPARE_MAX: usize = 16 * 1024;

thread_local! {
    /// The buffer the next frame built on this thread is encoded into: a small frame is
    /// copied into its connection's write queue, and its buffer comes back here.
    static SPARE: RefCell<Option<BytesMut>> = const { RefCell::new(None) };
}

/// Gives `buffer` back to this thread, unless it is too large or the thread has a larger one.
fn give_back(buffer: BytesMut) {
    if buffer.capacity() <= SPARE_MAX {
        SPARE.with_borrow_mut(|spare| {
            if buffer.capacity() > spare.as_ref().map_or(0, BytesMut::capacity) {
                *spare = Some(buffer);
            }
        });
    }
}

/// Builds one frame in a single buffer: the payload is encoded first, after some room, then
/// the header (whose export list is only known once the payload is encoded) and the length
/// prefix are written into that room, just before it. The buffer is the thread's spare.
pub(crate) struct FrameBuilder {
    buffer: BytesMut,
    /// The payload's large byte strings, left out of `buffer` (see [`spill`](super::spill)).
    spilled: Option<Box<Spilled>>,
}

impl Drop for FrameBuilder {
    fn drop(&mut self) {
        // A finished builder's buffer went into its frame.
        if self.buffer.capacity() != 0 {
            give_back(std::mem::take(&mut self.buffer));
        }
    }
}

/// A frame, built.
pub(crate) enum Built {
    /// A small frame, laid out whole: length prefix, header, payload.
    Small(LaidOut),
    /// A frame with a large payload, written from its own buffer.
    Large(Outgoing),
}

impl Built {
    /// The size of the frame without its length prefix.
    pub(crate) fn len(&self) -> usize {
        match self {
            Built::Small(frame) => frame.bytes().len() - PREFIX_LEN,
            Built::Large(frame) => frame.len(),
        }
    }
}

/// A small frame laid out whole in a thread's buffer, which goes back to the thread that drops
/// it.
pub(crate) struct LaidOut {
    buffer: BytesMut,
    start: usize,
}

impl LaidOut {
    /// The frame's bytes, its length prefix first.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.buffer.get(self.start..).unwrap_or_default()
    }
}

impl Drop for LaidOut {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.buffer));
    }
}

impl FrameBuilder {
    pub(crate) fn new() -> Self {
        let mut buffer = SPARE.with_borrow_mut(Option::take).unwrap_or_default();
        if buffer.len() >= FRONT {
            // The room in front is written over before it is sent: it need not be zeroed.
            buffer.truncate(FRONT);
        } else {
            buffer.clear();
            buffer.resize(FRONT, 0);
        }
        FrameBuilder {
            buffer,
            spilled: None,
        }
    }

    /// Where the codec appends the payload.
    #[cfg(test)]
    pub(crate) fn payload(&mut self) -> &mut BytesMut {
        &mut self.buffer
    }

    /// Runs `encode`, which appends (part of) the payload to the buffer it is given; the large
    /// byte strings it serializes are kept apart rather than copied.
    #[inline(always)]
    pub(crate) fn encode<R>(&mut self, encode: impl FnOnce(&mut BytesMut) -> R) -> R {
        super::spill::collecting(&mut self.buffer, &mut self.spilled, encode)
    }

    /// The large byte strings kept apart, taken out of the builder.
    fn take_spilled(&mut self) -> Vec<(usize, Bytes)> {
        self.spilled
            .take()
            .map(|spilled| spilled.0)
            .unwrap_or_default()
    }

    /// Drops the payload written so far, to write it again.
    pub(crate) fn clear_payload(&mut self) {
        self.buffer.truncate(FRONT);
        self.spilled = None;
    }

    /// The size of the payload so far.
    pub(crate) fn payload_len(&self) -> usize {
        let spilled: usize = self
            .spilled
            .iter()
            .flat_map(|spilled| spilled.0.iter())
            .map(|(_, bytes)| bytes.len())
            .sum();
        self.buffer.len().saturating_sub(FRONT) + spilled
    }

    /// The payload so far, without the large byte strings kept apart.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn payload_bytes(&self) -> &[u8] {
        self.buffer.get(FRONT..).unwrap_or_default()
    }

    /// The frame: `message` as header, then the payload.
    ///
    /// # Errors
    /// If the header cannot be encoded (see [`Message::encode`](super::Message::encode)).
    pub(crate) fn finish(mut self, message: &super::Message<'_>) -> Result<Built, postcard::Error> {
        let mut head = [0u8; HEADROOM];
        let encoded = match super::header::encode_into(message, &mut head) {
            Some(len) => Some(len),
            None => postcard::to_slice(message, &mut head)
                .ok()
                .map(|encoded| encoded.len()),
        };
        let payload_len = self.payload_len();
        if self.buffer.len() < FRONT {
            // A codec took back more than it wrote: no room is left in front.
            return Err(postcard::Error::SerializeBufferFull);
        }
        let Some(encoded) = encoded else {
            // The header does not fit in the room (a long method name, many ids).
            let head = message.encode()?;
            if payload_len >= LARGE_PAYLOAD {
                let buffer = std::mem::take(&mut self.buffer);
                return Ok(Built::Large(reassemble(
                    head,
                    buffer,
                    FRONT,
                    self.take_spilled(),
                )?));
            }
            // Laid out anew; the builder's buffer goes back to the thread.
            let payload = self.buffer.get(FRONT..).unwrap_or_default();
            let prefix = length_prefix(head.len() + payload.len())
                .map_err(|_| postcard::Error::SerializeBufferFull)?;
            let mut buffer = BytesMut::with_capacity(PREFIX_LEN + head.len() + payload.len());
            buffer.extend_from_slice(&prefix);
            buffer.extend_from_slice(&head);
            buffer.extend_from_slice(payload);
            return Ok(Built::Small(LaidOut { buffer, start: 0 }));
        };
        let header_at = FRONT - encoded;
        let (Some(room), Some(header)) =
            (self.buffer.get_mut(header_at..FRONT), head.get(..encoded))
        else {
            return Err(postcard::Error::SerializeBufferFull);
        };
        room.copy_from_slice(header);
        let mut buffer = std::mem::take(&mut self.buffer);
        if payload_len >= LARGE_PAYLOAD {
            return Ok(Built::Large(reassemble(
                Bytes::new(),
                buffer,
                header_at,
                self.take_spilled(),
            )?));
        }
        let prefix = length_prefix(encoded + payload_len)
            .map_err(|_| postcard::Error::SerializeBufferFull)?;
        let start = header_at - PREFIX_LEN;
        let Some(room) = buffer.get_mut(start..header_at) else {
            return Err(postcard::Error::SerializeBufferFull);
        };
        room.copy_from_slice(&prefix);
        Ok(Built::Small(LaidOut { buffer, start }))
    }
}

/// The frame of `head`, then `buffer` from `start` with the byte strings `spilled` (each with
/// the length of `buffer` where it goes, in order) put back in their places: the encoded pieces
/// and the byte strings, each in its own buffer, none copied.
///
/// # Errors
/// If a byte string's place is not in `buffer` (a codec took back what it wrote).
fn reassemble(
    head: Bytes,
    mut buffer: BytesMut,
    start: usize,
    spilled: Vec<(usize, Bytes)>,
) -> Result<Outgoing, postcard::Error> {
    if start > buffer.len() {
        return Err(postcard::Error::SerializeBufferFull);
    }
    buffer.advance(start);
    // From the last byte string back: each takes the encoded piece after it off the buffer.
    let mut rest = Vec::with_capacity(2 * spilled.len());
    for (goes_at, bytes) in spilled.into_iter().rev() {
        let at = goes_at
            .checked_sub(start)
            .filter(|&at| at <= buffer.len())
            .ok_or(postcard::Error::SerializeBufferFull)?;
        let after = buffer.split_off(at).freeze();
        if !after.is_empty() {
            rest.push(after);
        }
        rest.push(bytes);
    }
    rest.reverse();
    Ok(Outgoing {
        head,
        body: buffer.freeze(),
        rest,
    })
}

/// Frames as bytes: a 4-byte big-endian length, then that many bytes, of at most
/// `max_frame_size` bytes.
///
/// Decoding rejects a frame whose announced length is over the limit before reserving memory
/// for it. A codec that draws on a budget (a server's, for connections that have not logged
/// in) makes room for a long frame as its bytes arrive, about twice what arrived at most, and
/// counts it against the budget; the others reserve the whole frame when its length arrives.
/// Encoding rejects an outgoing frame over the limit.
#[derive(Debug)]
pub struct FrameCodec {
    max_frame_size: usize,
    /// The length of the frame being received, once its prefix is read.
    expecting: Option<usize>,
    /// Where room for long frames comes from, while the connection is pending.
    budget: Option<Arc<MemoryBudget>>,
    /// How much of the budget this codec holds.
    leased: usize,
}

/// The length prefix of every frame.
pub(crate) const PREFIX_LEN: usize = 4;

/// A frame being received grows its buffer by at least this much at a time.
const MIN_GROWTH: usize = 64 * 1024;

/// Read buffers up to this capacity need nothing from a budget: every connection has one.
pub(crate) const FREE_CAPACITY: usize = 8 * 1024;

impl FrameCodec {
    /// A codec for frames of at most `max_frame_size` bytes.
    pub fn new(max_frame_size: usize) -> Self {
        FrameCodec {
            max_frame_size,
            expecting: None,
            budget: None,
            leased: 0,
        }
    }

    /// A codec that draws the room for frames longer than its first buffer from `budget`.
    pub(crate) fn with_budget(max_frame_size: usize, budget: Arc<MemoryBudget>) -> Self {
        FrameCodec {
            budget: Some(budget),
            ..Self::new(max_frame_size)
        }
    }

    /// The configured limit.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Whether `buffer` (this codec's read buffer) holds a whole frame already, so that the
    /// next decode needs no read.
    pub(crate) fn has_frame(&self, buffer: &BytesMut) -> bool {
        let len = match self.expecting {
            Some(len) => len,
            None => match buffer.get(..PREFIX_LEN) {
                Some(&[a, b, c, d]) => {
                    PREFIX_LEN.saturating_add(u32::from_be_bytes([a, b, c, d]) as usize)
                }
                _ => return false,
            },
        };
        buffer.len() >= len
    }

    /// Stops drawing from the budget, and gives back what this codec held.
    pub(crate) fn leave_budget(&mut self) {
        if let Some(budget) = self.budget.take() {
            budget.give_back(std::mem::take(&mut self.leased));
        }
    }

    /// Whether this codec draws from a budget.
    pub(crate) fn is_budgeted(&self) -> bool {
        self.budget.is_some()
    }

    /// Makes room for `missing` more bytes of the current frame: all at once, or, drawing on a
    /// budget, a step at a time as the bytes arrive.
    fn grow(&mut self, src: &mut BytesMut, missing: usize) -> Result<(), io::Error> {
        let room = src.capacity() - src.len();
        let Some(budget) = &self.budget else {
            // Address space only: the memory is touched as the bytes arrive.
            if room < missing {
                src.reserve(missing);
            }
            return Ok(());
        };
        if room >= missing.min(MIN_GROWTH) {
            return Ok(());
        }
        let step = missing.min(src.len().max(MIN_GROWTH));
        let needed = (src.len() + step).saturating_sub(FREE_CAPACITY);
        if needed > self.leased {
            if !budget.take(needed - self.leased) {
                return Err(io::Error::other(FrameError::BudgetExhausted {
                    limit: budget.limit,
                }));
            }
            self.leased = needed;
        }
        src.reserve(step);
        Ok(())
    }
}

impl Drop for FrameCodec {
    fn drop(&mut self) {
        self.leave_budget();
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, io::Error> {
        let len = match self.expecting {
            Some(len) => len,
            None => {
                let Some(prefix) = src.get(..PREFIX_LEN) else {
                    make_room(src);
                    return Ok(None);
                };
                let mut bytes = [0u8; PREFIX_LEN];
                bytes.copy_from_slice(prefix);
                let len = u32::from_be_bytes(bytes) as usize;
                if len > self.max_frame_size {
                    return Err(io::Error::other(FrameError::TooLarge {
                        limit: self.max_frame_size,
                    }));
                }
                src.advance(PREFIX_LEN);
                self.expecting = Some(len);
                len
            }
        };
        if src.len() >= len {
            self.expecting = None;
            if let Some(budget) = &self.budget {
                budget.give_back(std::mem::take(&mut self.leased));
            }
            let frame = src.split_to(len);
            if len >= DETACH_AFTER {
                // The read buffer's memory lies under this large frame: leave it to the frame
                // alone. The frames read after it go to memory of their own, so a small one
                // that a waiting call keeps does not keep this memory alive, unseen by the
                // limit on what running calls hold.
                *src = BytesMut::from(&src[..]);
            }
            return Ok(Some(frame));
        }
        self.grow(src, len - src.len())?;
        make_room(src);
        Ok(None)
    }
}

/// A frame at least this large leaves the read buffer's memory to itself: the bytes after it
/// are moved to a buffer of their own.
pub(crate) const DETACH_AFTER: usize = 64 * 1024;

/// Below this much room, the read buffer grows before the next read.
const MIN_READ: usize = 512;

/// How much room the read buffer gets when it runs short: a burst of small frames is read in
/// one go rather than a few bytes at a time.
pub(crate) const READ_CHUNK: usize = 4 * 1024;

/// Makes room for the next read, if little is left.
fn make_room(src: &mut BytesMut) {
    if src.capacity() - src.len() < MIN_READ {
        src.reserve(READ_CHUNK);
    }
}

impl Encoder<Outgoing> for FrameCodec {
    type Error = io::Error;

    fn encode(&mut self, frame: Outgoing, dst: &mut BytesMut) -> Result<(), io::Error> {
        let len = frame.len();
        if len > self.max_frame_size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "frame of {len} bytes exceeds the limit of {} bytes",
                    self.max_frame_size
                ),
            ));
        }
        frame.put_whole(dst)
    }
}

/// Why a frame could not be received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    /// The peer announced a frame over the limit.
    #[error("the peer announced a frame larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// The budget shared by pending connections has no room for this frame.
    #[error("no room left in the {limit}-byte budget of pending connections")]
    BudgetExhausted { limit: usize },
}

/// What an i/o error from [`FrameCodec`] means, if it is a framing error.
pub(crate) fn frame_error(error: &io::Error) -> Option<FrameError> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<FrameError>())
        .copied()
}

/// Bytes that several connections draw on together (the room pending connections may take
/// for long frames).
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    pub(crate) fn new(limit: usize) -> Self {
        MemoryBudget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Takes `amount` bytes, unless that would pass the limit.
    fn take(&self, amount: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(amount)
                    .filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, amount: usize) {
        self.used.fetch_sub(amount, Ordering::AcqRel);
    }

    /// Bytes in use.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    fn prefixed(len: u32, body: &[u8]) -> BytesMut {
        let mut bytes = BytesMut::new();
        bytes.put_u32(len);
        bytes.extend_from_slice(body);
        bytes
    }

    /// The bytes of `frame` as they are written: length prefix, head, pieces.
    fn written(frame: &Outgoing) -> Vec<u8> {
        let mut bytes = BytesMut::new();
        frame.put_whole(&mut bytes).expect("small enough");
        bytes.to_vec()
    }

    /// Reads `bytes` back as the peer would: one whole frame, its message and its payload.
    fn read_back(bytes: &[u8]) -> (String, Vec<u8>) {
        let mut src = BytesMut::from(bytes);
        let frame = FrameCodec::new(1 << 30)
            .decode(&mut src)
            .expect("well formed")
            .expect("whole");
        assert!(src.is_empty());
        let (decoded, offset) = crate::wire::message::decode_message(&frame).expect("a message");
        (format!("{decoded:?}"), frame[offset..].to_vec())
    }

    /// Builds a frame of `message` with `payload`, and reads it back as the peer would.
    fn built(message: &crate::wire::message::Message<'_>, payload: &[u8]) -> (bool, Vec<u8>) {
        let mut builder = FrameBuilder::new();
        builder.payload().extend_from_slice(payload);
        let built = builder.finish(message).expect("encodable");
        let len = built.len();
        let (small, bytes) = match built {
            Built::Small(frame) => (true, frame.bytes().to_vec()),
            Built::Large(frame) => (false, written(&frame)),
        };
        assert_eq!(bytes.len(), PREFIX_LEN + len);
        let (decoded, payload) = read_back(&bytes);
        assert_eq!(decoded, format!("{message:?}"));
        (small, payload)
    }

    #[test]
    fn frames_are_laid_out_whole_when_small_and_apart_when_large() {
        use crate::wire::message::{IdList, Message};
        let call = Message::Call {
            call: 300,
            target: 7,
            method: "echo",
            exports: IdList::EMPTY,
        };
        assert_eq!(built(&call, b"args"), (true, b"args".to_vec()));
        let large = vec![9u8; LARGE_PAYLOAD];
        assert_eq!(built(&call, &large), (false, large.clone()));
        // A header too long for the room in front of the payload.
        let long = "m".repeat(200);
        let long_call = Message::Call {
            call: 1,
            target: 2,
            method: &long,
            exports: IdList::EMPTY,
        };
        assert_eq!(built(&long_call, b"args"), (true, b"args".to_vec()));
        assert_eq!(built(&long_call, &large), (false, large));
        // A header alone, laid out by hand or by postcard.
        assert_eq!(built(&Message::Ping, b""), (true, Vec::new()));
        let failed = Message::Failed {
            call: 3,
            failure: crate::wire::message::Failure::Busy,
        };
        assert_eq!(built(&failed, b""), (true, Vec::new()));
    }

    /// Encodes `parts` as a codec would: small ones copied, large ones offered and taken.
    fn encode_parts(builder: &mut FrameBuilder, parts: &[Bytes]) {
        builder.encode(|out| {
            for part in parts {
                crate::wire::spill::offer(part);
                if !crate::wire::spill::take(part, out) {
                    out.extend_from_slice(part);
                }
            }
        });
    }

    #[test]
    fn large_byte_strings_leave_from_their_own_buffers_in_their_places() {
        use crate::wire::message::{IdList, Message};
        let call = Message::Call {
            call: 1,
            target: 2,
            method: "store",
            exports: IdList::EMPTY,
        };
        let first = Bytes::from(vec![1u8; LARGE_PAYLOAD]);
        let second = Bytes::from(vec![2u8; 3 * LARGE_PAYLOAD]);
        let parts = [
            Bytes::from_static(b"ab"),
            first.clone(),
            Bytes::from_static(b"cd"),
            second.clone(),
            second.clone(),
            Bytes::from_static(b"e"),
        ];
        let mut builder = FrameBuilder::new();
        encode_parts(&mut builder, &parts);
        assert_eq!(builder.payload_len(), parts.iter().map(Bytes::len).sum());
        let Ok(Built::Large(mut frame)) = builder.finish(&call) else {
            panic!("a large frame");
        };
        let pieces: Vec<&Bytes> = frame.pieces().collect();
        assert_eq!(pieces.len(), 6, "body, first, cd, second, second, e");
        assert_eq!(pieces[1].as_ptr(), first.as_ptr(), "not copied");
        assert_eq!(pieces[3].as_ptr(), second.as_ptr(), "not copied");
        assert_eq!(pieces[4].as_ptr(), second.as_ptr(), "not copied");
        let expected: Vec<u8> = parts.iter().flat_map(|part| part.to_vec()).collect();
        assert_eq!(read_back(&written(&frame)), (format!("{call:?}"), expected));
        // Waiting in a queue, it keeps no buffer of anyone else's.
        let before = written(&frame);
        frame.detach();
        assert_eq!(frame.pieces().count(), 1);
        assert_eq!(written(&frame), before);
        drop((frame, parts));
        assert!(first.is_unique() && second.is_unique());
    }

    #[test]
    fn a_payload_encoded_again_forgets_the_byte_strings_taken_before() {
        let large = Bytes::from(vec![3u8; LARGE_PAYLOAD]);
        let mut builder = FrameBuilder::new();
        encode_parts(&mut builder, std::slice::from_ref(&large));
        builder.clear_payload();
        assert_eq!(builder.payload_len(), 0);
        encode_parts(&mut builder, &[Bytes::from_static(b"small")]);
        let Ok(Built::Small(frame)) = builder.finish(&crate::wire::message::Message::Ping) else {
            panic!("a small frame");
        };
        assert!(frame.bytes().ends_with(b"small"));
        assert!(large.is_unique());
    }

    #[test]
    fn a_header_too_long_for_the_room_keeps_the_byte_strings_apart() {
        use crate::wire::message::{IdList, Message};
        let long = "m".repeat(200);
        let call = Message::Call {
            call: 1,
            target: 2,
            method: &long,
            exports: IdList::EMPTY,
        };
        let large = Bytes::from(vec![5u8; LARGE_PAYLOAD]);
        let mut builder = FrameBuilder::new();
        encode_parts(&mut builder, &[Bytes::from_static(b"x"), large.clone()]);
        let Ok(Built::Large(frame)) = builder.finish(&call) else {
            panic!("a large frame");
        };
        assert!(frame.pieces().any(|piece| piece.as_ptr() == large.as_ptr()));
        let (_, payload) = read_back(&written(&frame));
        assert_eq!(payload, [&b"x"[..], &large[..]].concat());
    }

    #[test]
    fn a_codec_that_takes_back_the_room_in_front_gets_an_error_not_a_panic() {
        let mut builder = FrameBuilder::new();
        builder.payload().clear();
        assert_eq!(builder.payload_len(), 0);
        assert!(
            builder
                .finish(&crate::wire::message::Message::Ping)
                .is_err()
        );
    }

    #[test]
    fn frames_split_and_the_limit_is_checked_before_any_room_is_made() {
        let mut codec = FrameCodec::new(16);
        let mut src = prefixed(3, b"abcxy");
        assert_eq!(
            codec.decode(&mut src).ok().flatten().as_deref(),
            Some(&b"abc"[..])
        );
        assert_eq!(codec.decode(&mut src).ok().flatten(), None);
        let mut src = prefixed(17, b"");
        let capacity = src.capacity();
        let error = codec.decode(&mut src).expect_err("too large");
        assert_eq!(
            frame_error(&error),
            Some(FrameError::TooLarge { limit: 16 })
        );
        assert_eq!(src.capacity(), capacity);
    }

    #[test]
    fn on_a_budget_room_for_a_long_frame_follows_the_bytes_that_arrive() {
        let budget = Arc::new(MemoryBudget::new(64 << 20));
        let mut codec = FrameCodec::with_budget(64 << 20, budget);
        let mut src = prefixed(60 << 20, &[7; 10]);
        assert!(codec.decode(&mut src).expect("well formed").is_none());
        assert!(src.capacity() <= 2 * MIN_GROWTH, "{}", src.capacity());
        // Off a budget, the whole frame is reserved at once (and touched as it arrives).
        let mut codec = FrameCodec::new(64 << 20);
        let mut src = prefixed(1 << 20, &[7; 10]);
        assert!(codec.decode(&mut src).expect("well formed").is_none());
        assert!(src.capacity() >= 1 << 20);
    }

    #[test]
    fn a_budget_bounds_the_room_of_budgeted_codecs_together() {
        let budget = Arc::new(MemoryBudget::new(300 * 1024));
        let mut first = FrameCodec::with_budget(1 << 20, Arc::clone(&budget));
        let mut second = FrameCodec::with_budget(1 << 20, Arc::clone(&budget));
        let mut a = prefixed(1 << 20, &[0; FREE_CAPACITY]);
        let mut b = prefixed(1 << 20, &[0; FREE_CAPACITY]);
        // Each grows by steps, until the shared budget is spent.
        let mut refused = None;
        for _ in 0..8 {
            for (codec, src) in [(&mut first, &mut a), (&mut second, &mut b)] {
                match codec.decode(src) {
                    Ok(_) => src.extend_from_slice(&vec![0; src.capacity() - src.len()]),
                    Err(error) => refused = frame_error(&error),
                }
            }
        }
        assert_eq!(
            refused,
            Some(FrameError::BudgetExhausted { limit: 300 * 1024 })
        );
        assert!(budget.used() <= 300 * 1024);
        // Leaving the budget gives back what was held.
        first.leave_budget();
        drop(second);
        assert_eq!(budget.used(), 0);
    }
}
