//! Provides the writer task: writes queued frames, coalescing every frame that is ready into one
//! write (large payloads are written from their own buffer, never copied), releases its buffer
//! when idle, and shuts the socket's write side when the connection closes.

use crate::link::outbox::{Outbox, Queued, Work};
use crate::wire::{LARGE_PAYLOAD, Outgoing};
use bytes::BytesMut;
use std::collections::VecDeque;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The coalescing buffer is written out once it holds this much.
const FLUSH_AT: usize = 64 * 1024;

/// An idle writer keeps at most this much buffer.
const IDLE_CAPACITY: usize = 512;

/// How long a closed connection's last frames (a final error, say) may take to leave. Past it,
/// the writer is stopped (see `establish.rs`), so a peer that never reads cannot keep a closed
/// connection's socket and queue alive.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Drops the write half if the writer task ends, or is stopped, without shutting it.
struct DiscardOnDrop<'a>(&'a Outbox);

impl Drop for DiscardOnDrop<'_> {
    fn drop(&mut self) {
        self.0.discard_io();
    }
}

/// Runs until the outbox ends and what was queued is written, or a write fails (then returns
/// the error); then shuts the write half, waiting [`CLOSE_GRACE`] at most.
pub(crate) async fn run(outbox: &Outbox) -> io::Result<()> {
    let _discard = DiscardOnDrop(outbox);
    let mut buffer = BytesMut::new();
    let mut batch = VecDeque::new();
    loop {
        match std::future::poll_fn(|cx| outbox.poll_work(cx, &mut batch)).await {
            Work::Write(mut io) => {
                // Boxed, as below: an idle writer keeps only its small waiting state.
                let written = Box::pin(write_batch(&mut io, &mut batch, &mut buffer)).await;
                batch.clear();
                batch.shrink_to(0);
                if buffer.capacity() > IDLE_CAPACITY {
                    buffer = BytesMut::new();
                }
                outbox.give_back(io);
                written?;
            }
            Work::End(mut io) => {
                let _ = Box::pin(tokio::time::timeout(CLOSE_GRACE, io.shutdown())).await;
                return Ok(());
            }
        }
    }
}

/// Writes `batch`: every small frame coalesced into as few writes as it takes.
async fn write_batch<W: AsyncWrite + Unpin>(
    io: &mut W,
    batch: &mut VecDeque<Queued>,
    buffer: &mut BytesMut,
) -> io::Result<()> {
    for item in batch.drain(..) {
        match item {
            Queued::Frame(frame) => write_frame(io, buffer, frame).await?,
            Queued::Run { bytes, .. } if buffer.is_empty() => io.write_all(&bytes).await?,
            Queued::Run { bytes, .. } => buffer.extend_from_slice(&bytes),
            // The rest of a large payload, from its own buffer.
            Queued::Rest(rest) if rest.len() >= LARGE_PAYLOAD => {
                write_apart(io, buffer, &rest).await?;
            }
            Queued::Rest(rest) => buffer.extend_from_slice(&rest),
        }
    }
    if !buffer.is_empty() {
        io.write_all(buffer).await?;
        buffer.clear();
    }
    io.flush().await
}

/// Appends `frame` (length prefix, head, body and the rest) to `buffer`, but for its large
/// pieces: what `buffer` holds is written out before each, and each is written from its own
/// buffer.
async fn write_frame<W: AsyncWrite + Unpin>(
    io: &mut W,
    buffer: &mut BytesMut,
    frame: Outgoing,
) -> io::Result<()> {
    frame.put_head(buffer)?;
    for piece in frame.pieces() {
        if piece.len() >= LARGE_PAYLOAD {
            write_apart(io, buffer, piece).await?;
        } else {
            buffer.extend_from_slice(piece);
        }
    }
    if buffer.len() >= FLUSH_AT {
        io.write_all(buffer).await?;
        buffer.clear();
    }
    Ok(())
}

/// Writes what `buffer` gathered, then `large` from its own buffer.
async fn write_apart<W: AsyncWrite + Unpin>(
    io: &mut W,
    buffer: &mut BytesMut,
    large: &[u8],
) -> io::Result<()> {
    if !buffer.is_empty() {
        io.write_all(buffer).await?;
        buffer.clear();
    }
    io.write_all(large).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::FrameCodec;
    use bytes::Bytes;
    use futures_util::StreamExt;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll};
    use tokio_util::codec::FramedRead;

    /// Counts the writes that reach the socket and keeps the bytes.
    struct CountingWriter {
        writes: Arc<AtomicUsize>,
        bytes: Arc<std::sync::Mutex<Vec<u8>>>,
    }

    impl AsyncWrite for CountingWriter {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.bytes.lock().unwrap().extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn frame(i: u8, body: usize) -> Outgoing {
        Outgoing::new(Bytes::from(vec![i; 8]), Bytes::from(vec![i; body]))
    }

    async fn write_all_of(frames: Vec<Outgoing>) -> (usize, Vec<u8>) {
        let writes = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = CountingWriter {
            writes: writes.clone(),
            bytes: Arc::clone(&bytes),
        };
        let outbox = Outbox::new(1 << 30);
        for frame in frames {
            outbox.push(frame, false).expect("room");
        }
        outbox.end();
        outbox.install(Box::new(writer));
        run(&outbox).await.expect("writes succeed");
        let written = bytes.lock().unwrap().clone();
        (writes.load(Ordering::SeqCst), written)
    }

    #[tokio::test]
    async fn ready_frames_leave_in_one_write() {
        let (writes, _) = write_all_of((0..100).map(|i| frame(i, 32)).collect()).await;
        assert_eq!(writes, 1);
    }

    #[tokio::test]
    async fn runs_of_small_frames_and_large_frames_leave_in_order() {
        let writes = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = CountingWriter {
            writes: writes.clone(),
            bytes: Arc::clone(&bytes),
        };
        let outbox = Outbox::new(1 << 30);
        let small = |i: u8| {
            let mut laid_out = 8u32.to_be_bytes().to_vec();
            laid_out.extend([i; 8]);
            laid_out
        };
        outbox.push_laid_out(&small(1), false).expect("room");
        outbox.push_laid_out(&small(2), false).expect("room");
        outbox.push(frame(3, 100_000), false).expect("room");
        outbox.push_laid_out(&small(4), false).expect("room");
        outbox.end();
        outbox.install(Box::new(writer));
        run(&outbox).await.expect("writes succeed");
        let written = bytes.lock().unwrap().clone();
        let mut read = FramedRead::new(&written[..], FrameCodec::new(1 << 20));
        for (first, len) in [(1, 8), (2, 8), (3, 100_008), (4, 8)] {
            let got = read.next().await.expect("a frame").expect("well formed");
            assert_eq!((got[0], got.len()), (first, len));
        }
        assert!(writes.load(Ordering::SeqCst) <= 4);
    }

    #[tokio::test]
    async fn the_rest_of_a_large_payload_is_written_from_its_own_buffer_in_order() {
        let writes = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut writer = CountingWriter {
            writes: writes.clone(),
            bytes: Arc::clone(&bytes),
        };
        let parts = [vec![1u8; 10], vec![2u8; LARGE_PAYLOAD], vec![3u8; 5]];
        let mut batch: VecDeque<Queued> = parts
            .iter()
            .map(|part| Queued::Rest(Bytes::from(part.clone())))
            .collect();
        write_batch(&mut writer, &mut batch, &mut BytesMut::new())
            .await
            .expect("writes succeed");
        assert_eq!(*bytes.lock().unwrap(), parts.concat());
        assert_eq!(
            writes.load(Ordering::SeqCst),
            3,
            "what was gathered, the large rest apart, then the small one"
        );
    }

    #[tokio::test]
    async fn large_bodies_are_written_whole_and_frames_stay_in_order() {
        let frames = vec![frame(1, 10), frame(2, 100_000), frame(3, 10)];
        let (writes, bytes) = write_all_of(frames.clone()).await;
        assert_eq!(writes, 3, "small+prefix, the large body, then the rest");
        let mut read = FramedRead::new(&bytes[..], FrameCodec::new(1 << 20));
        for expected in frames {
            let got = read.next().await.expect("a frame").expect("well formed");
            assert_eq!(got.len(), expected.len());
            assert_eq!(&got[..8], &expected.head[..]);
            assert_eq!(&got[8..], &expected.body[..]);
        }
    }
}
