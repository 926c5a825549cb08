//! Provides the writer task: writes queued frames, coalescing every frame that is ready into one
//! write (large payloads are written from their own buffer, never copied), releases its buffer
//! when idle, and shuts the socket's write side when the connection closes.

use crate::link::outbox::Outbox;
use crate::wire::Outgoing;
use bytes::BytesMut;
use std::collections::VecDeque;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Payloads at least this large are written from their own buffer instead of being copied.
const LARGE_BODY: usize = 16 * 1024;

/// The coalescing buffer is written out once it holds this much.
const FLUSH_AT: usize = 64 * 1024;

/// An idle writer keeps at most this much buffer.
const IDLE_CAPACITY: usize = 512;

/// How long a closed connection's last frames (a final error, say) may take to leave. Past it,
/// the writer is stopped (see `establish.rs`), so a peer that never reads cannot keep a closed
/// connection's socket and queue alive.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Runs until the outbox ends and what was queued is written, or a write fails (then returns
/// the error); then shuts the write side, waiting [`CLOSE_GRACE`] at most.
pub(crate) async fn run<W>(outbox: &Outbox, mut io: W) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut buffer = BytesMut::new();
    let result = write_queued(outbox, &mut io, &mut buffer).await;
    let _ = tokio::time::timeout(CLOSE_GRACE, io.shutdown()).await;
    result
}

/// Writes frames as they are queued, all those queued at once in one write, until the outbox
/// ends and nothing is left in it.
async fn write_queued<W: AsyncWrite + Unpin>(
    outbox: &Outbox,
    io: &mut W,
    buffer: &mut BytesMut,
) -> io::Result<()> {
    let mut batch = VecDeque::new();
    while std::future::poll_fn(|cx| outbox.poll_take(cx, &mut batch)).await {
        for frame in batch.drain(..) {
            write_frame(io, buffer, frame).await?;
        }
        if !buffer.is_empty() {
            io.write_all(buffer).await?;
            buffer.clear();
        }
        io.flush().await?;
        if buffer.capacity() > IDLE_CAPACITY {
            *buffer = BytesMut::new();
        }
        batch.shrink_to(4);
    }
    Ok(())
}

/// Appends `frame` (length prefix, head, body) to `buffer`, or writes it out if its body is large.
async fn write_frame<W: AsyncWrite + Unpin>(
    io: &mut W,
    buffer: &mut BytesMut,
    frame: Outgoing,
) -> io::Result<()> {
    frame.put_head(buffer)?;
    if frame.body.len() >= LARGE_BODY {
        io.write_all(buffer).await?;
        buffer.clear();
        io.write_all(&frame.body).await?;
        return Ok(());
    }
    buffer.extend_from_slice(&frame.body);
    if buffer.len() >= FLUSH_AT {
        io.write_all(buffer).await?;
        buffer.clear();
    }
    Ok(())
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
        bytes: Vec<u8>,
    }

    impl AsyncWrite for CountingWriter {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.bytes.extend_from_slice(buf);
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
        Outgoing {
            head: Bytes::from(vec![i; 8]),
            body: Bytes::from(vec![i; body]),
        }
    }

    async fn write_all_of(frames: Vec<Outgoing>) -> (usize, Vec<u8>) {
        let writes = Arc::new(AtomicUsize::new(0));
        let mut writer = CountingWriter {
            writes: writes.clone(),
            bytes: Vec::new(),
        };
        let outbox = Outbox::new(1 << 30);
        for frame in frames {
            outbox.push(frame).expect("room");
        }
        outbox.end();
        run(&outbox, &mut writer).await.expect("writes succeed");
        (writes.load(Ordering::SeqCst), writer.bytes)
    }

    #[tokio::test]
    async fn ready_frames_leave_in_one_write() {
        let (writes, _) = write_all_of((0..100).map(|i| frame(i, 32)).collect()).await;
        assert_eq!(writes, 1);
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
