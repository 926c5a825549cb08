//! Provides the writer task: writes queued frames, coalescing every frame that is ready into one
//! write, and shuts the socket's write side when the connection closes.

use crate::wire::{FrameCodec, Outgoing};
use futures_util::SinkExt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::AsyncWrite;
use tokio::sync::mpsc;
use tokio_util::codec::FramedWrite;
use tokio_util::sync::CancellationToken;

/// Runs until `closing` is cancelled, the queue ends, or a write fails (then returns the error).
pub(crate) async fn run<W>(
    closing: CancellationToken,
    queued: &AtomicUsize,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    mut sink: FramedWrite<W, FrameCodec>,
) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let result: io::Result<()> = async {
        loop {
            let first = tokio::select! {
                biased;
                frame = queue.recv() => frame,
                () = closing.cancelled() => None,
            };
            let Some(first) = first else {
                return Ok(());
            };
            queued.fetch_sub(first.len(), Ordering::Relaxed);
            sink.feed(first).await?;
            while let Ok(next) = queue.try_recv() {
                queued.fetch_sub(next.len(), Ordering::Relaxed);
                sink.feed(next).await?;
            }
            sink.flush().await?;
        }
    }
    .await;
    let _ = sink.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    /// Counts the writes that reach the socket.
    struct CountingWriter(Arc<AtomicUsize>);

    impl AsyncWrite for CountingWriter {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn ready_frames_leave_in_one_write() {
        let writes = Arc::new(AtomicUsize::new(0));
        let sink = FramedWrite::new(CountingWriter(writes.clone()), FrameCodec::new(1 << 20));
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        for i in 0..100u8 {
            queue_tx
                .send(Outgoing {
                    head: Bytes::from(vec![i; 8]),
                    body: Bytes::from(vec![i; 32]),
                })
                .expect("queue open");
        }
        drop(queue_tx);
        run(
            CancellationToken::new(),
            &AtomicUsize::new(0),
            queue_rx,
            sink,
        )
        .await
        .expect("writes succeed");
        assert_eq!(writes.load(Ordering::SeqCst), 1);
    }
}
