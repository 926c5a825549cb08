//! Provides the writer task: writes queued frames, coalescing every frame that is ready into one
//! write, and shuts the socket's write side when the connection closes.

use super::Shared;
use crate::error::CloseReason;
use crate::wire::{FrameCodec, Outgoing};
use futures_util::SinkExt;
use std::sync::Arc;
use tokio::io::AsyncWrite;
use tokio::sync::mpsc;
use tokio_util::codec::FramedWrite;

/// Runs until the connection closes or a write fails.
pub(crate) async fn run<W>(
    shared: Arc<Shared>,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    mut sink: FramedWrite<W, FrameCodec>,
) where
    W: AsyncWrite + Unpin,
{
    let result: std::io::Result<()> = async {
        loop {
            let first = tokio::select! {
                biased;
                frame = queue.recv() => frame,
                () = shared.closing.cancelled() => None,
            };
            let Some(first) = first else {
                return Ok(());
            };
            sink.feed(first).await?;
            while let Ok(next) = queue.try_recv() {
                sink.feed(next).await?;
            }
            sink.flush().await?;
        }
    }
    .await;
    if let Err(error) = result {
        shared.close(CloseReason::Io(error.to_string()));
    }
    let _ = sink.close().await;
}
