//! The floor: a raw tokio length-delimited echo of the same bytes, coalescing every ready frame
//! into one write on both ends.

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// The frame codec both ends use: 4-byte length, frames up to 64 MiB.
pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(64 << 20)
        .new_codec()
}

/// Accepts connections on `listener` and echoes every frame back.
pub async fn serve(listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        tokio::spawn(echo_connection(stream));
    }
}

async fn echo_connection(stream: TcpStream) -> io::Result<()> {
    let mut framed = Framed::new(stream, codec());
    while let Some(frame) = framed.next().await {
        framed.feed(frame?.freeze()).await?;
        // Echo every frame already received, then write them all at once.
        while let Some(Some(frame)) = framed.next().now_or_never() {
            framed.feed(frame?.freeze()).await?;
        }
        SinkExt::<Bytes>::flush(&mut framed).await?;
    }
    Ok(())
}

/// A raw client connection.
#[derive(Debug)]
pub struct RawClient {
    framed: Framed<TcpStream, LengthDelimitedCodec>,
}

impl RawClient {
    /// Connects to a raw echo server.
    ///
    /// # Errors
    /// When the connection fails.
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(RawClient {
            framed: Framed::new(stream, codec()),
        })
    }

    /// Sends `payload` and waits for it to come back.
    ///
    /// # Errors
    /// When the connection fails.
    pub async fn round_trip(&mut self, payload: Bytes) -> io::Result<BytesMut> {
        self.framed.send(payload).await?;
        self.framed
            .next()
            .await
            .unwrap_or_else(|| Err(io::ErrorKind::UnexpectedEof.into()))
    }

    /// Keeps `window` frames of `payload` in flight until `total` came back; coalesces writes
    /// of frames sent together.
    ///
    /// # Errors
    /// When the connection fails.
    pub async fn pipelined(&mut self, payload: Bytes, window: usize, total: u64) -> io::Result<()> {
        let mut sent = 0u64;
        for _ in 0..window.min(total as usize) {
            self.framed.feed(payload.clone()).await?;
            sent += 1;
        }
        SinkExt::<Bytes>::flush(&mut self.framed).await?;
        let mut received = 0u64;
        while received < total {
            let mut ready = match self.framed.next().await {
                Some(frame) => {
                    frame?;
                    1
                }
                None => return Err(io::ErrorKind::UnexpectedEof.into()),
            };
            while let Some(Some(frame)) = self.framed.next().now_or_never() {
                frame?;
                ready += 1;
            }
            received += ready;
            let more = ready.min(total - sent);
            for _ in 0..more {
                self.framed.feed(payload.clone()).await?;
            }
            sent += more;
            SinkExt::<Bytes>::flush(&mut self.framed).await?;
        }
        Ok(())
    }
}
