//! Provides [`Transport`], the streams a connection runs on (TCP, Unix domain sockets, TLS,
//! in-memory pipes, or any tokio stream through [`AnyStream`]), each split into the halves its
//! reader and writer tasks own.

use crate::link::channel::Channel;
use tokio::io::{AsyncRead, AsyncWrite};

/// A stream a connection runs on, and how to split it into halves the tasks own.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {
    /// The read half.
    type Read: AsyncRead + Send + Unpin + 'static;
    /// The write half.
    type Write: AsyncWrite + Send + Unpin + 'static;
    /// Splits the stream.
    fn split(self) -> (Self::Read, Self::Write);
    /// What the stream knows of its channel: nothing, but for TLS.
    fn channel(&self) -> Option<Box<Channel>> {
        None
    }

    /// The stream's local address, over TCP.
    fn local_addr(&self) -> Option<std::net::SocketAddr> {
        None
    }

    /// Whether both ends of the stream are in this process, on this runtime (a pipe).
    fn in_process(&self) -> bool {
        false
    }
}

impl Transport for tokio::net::TcpStream {
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;

    fn split(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }

    fn local_addr(&self) -> Option<std::net::SocketAddr> {
        tokio::net::TcpStream::local_addr(self).ok()
    }
}

#[cfg(unix)]
impl Transport for tokio::net::UnixStream {
    type Read = tokio::net::unix::OwnedReadHalf;
    type Write = tokio::net::unix::OwnedWriteHalf;

    fn split(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }
}

impl Transport for tokio::io::DuplexStream {
    type Read = tokio::io::ReadHalf<Self>;
    type Write = tokio::io::WriteHalf<Self>;

    fn split(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }

    fn in_process(&self) -> bool {
        true
    }
}

/// Both ends of a TLS session: split through `tokio::io::split` (a TLS stream has no owned
/// halves), with the session's channel.
macro_rules! tls_transport {
    ($stream:ty) => {
        #[cfg(feature = "tls")]
        impl<S: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for $stream {
            type Read = tokio::io::ReadHalf<Self>;
            type Write = tokio::io::WriteHalf<Self>;

            fn split(self) -> (Self::Read, Self::Write) {
                tokio::io::split(self)
            }

            fn channel(&self) -> Option<Box<Channel>> {
                Some(Box::new(tls_channel(self.get_ref().1)))
            }
        }
    };
}

tls_transport!(tokio_rustls::client::TlsStream<S>);
tls_transport!(tokio_rustls::server::TlsStream<S>);

/// The channel of a TLS session, from either end: its `tls-exporter` value (RFC 9266) and the
/// peer's end-entity certificate.
#[cfg(feature = "tls")]
fn tls_channel<D>(session: &tokio_rustls::rustls::ConnectionCommon<D>) -> Channel {
    let binding = session
        .export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
        .ok();
    let peer_certificate = session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|cert| std::sync::Arc::from(cert.as_ref()));
    Channel {
        binding,
        peer_certificate,
    }
}

/// Any tokio stream, split through `tokio::io::split` (its halves share a lock).
pub(crate) struct AnyStream<S>(pub(crate) S);

impl<S: AsyncRead + Unpin> AsyncRead for AnyStream<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AnyStream<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

impl<S: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for AnyStream<S> {
    type Read = tokio::io::ReadHalf<Self>;
    type Write = tokio::io::WriteHalf<Self>;

    fn split(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }
}
