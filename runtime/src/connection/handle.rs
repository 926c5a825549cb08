//! Provides the handshake that opens a connection and the `Connection` handle users hold.

use super::{KeepAlive, Shared, reader, writer};
use crate::config::Config;
use crate::dispatch::{Object, Referenceable};
use crate::error::{CloseReason, HandshakeError, RootError};
use crate::refs::{ROOT_ID, Remote, RemoteInner, RemoteRef};
use crate::wire::{FrameCodec, MemoryBudget, Message, decode_message, exchange_preamble};
use futures_util::StreamExt;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

/// One side of an open connection.
///
/// On the client side, the connection stays open while this handle, a clone of it, or any
/// `Remote` obtained through it is alive; dropping the last one closes it.
#[derive(Clone)]
pub struct Connection {
    pub(crate) shared: Arc<Shared>,
    _keepalive: Option<Arc<KeepAlive>>,
}

/// A snapshot of a connection's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// Our objects the peer holds references to (the root included).
    pub exports: usize,
    /// The peer's objects we hold references to.
    pub imports: usize,
    /// Our calls waiting for a reply.
    pub pending_calls: usize,
    /// Bytes waiting to be written to the peer, with a fixed overhead per frame (bounded by
    /// [`Config::max_write_queue`](crate::Config::max_write_queue)).
    pub write_queue: usize,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.shared.id)
            .field("peer_addr", &self.shared.peer_addr)
            .field("closed", &self.shared.is_closed())
            .finish()
    }
}

impl Connection {
    /// A typed reference to the peer's root object.
    ///
    /// # Errors
    /// [`RootError::NoRoot`] if the peer publishes none, [`RootError::WrongType`] if it is not
    /// a `T`, [`RootError::ConnectionLost`] if the connection is closed.
    pub fn root<T: Referenceable>(&self) -> Result<Remote<T>, RootError> {
        let found = self.shared.peer_root.as_deref().ok_or(RootError::NoRoot)?;
        if found != T::INTERFACE {
            return Err(RootError::WrongType {
                expected: T::INTERFACE.to_owned(),
                found: found.to_owned(),
            });
        }
        self.root_reference()
            .map(Remote::from_ref)
            .ok_or(RootError::ConnectionLost)
    }

    /// An untyped reference to the peer's root object, unless the connection is closed.
    pub(crate) fn root_reference(&self) -> Option<RemoteRef> {
        if self.shared.is_closed() {
            return None;
        }
        let mut imports = self.shared.imports.lock();
        imports.announce(ROOT_ID);
        let inner = imports.attach(ROOT_ID, || {
            RemoteInner::new(ROOT_ID, Arc::clone(&self.shared))
        });
        let _ = imports.settle(ROOT_ID);
        inner.ok().map(RemoteRef::from_inner)
    }

    /// The peer's address, as the socket reports it.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.shared.peer_addr
    }

    /// The interface name of the peer's root object, if it publishes one.
    pub fn peer_root_interface(&self) -> Option<&str> {
        self.shared.peer_root.as_deref()
    }

    /// A snapshot of the connection's tables.
    pub fn stats(&self) -> ConnectionStats {
        ConnectionStats {
            exports: self.shared.exports.lock().len(),
            imports: self.shared.imports.lock().len(),
            pending_calls: self.shared.pending.lock().len(),
            write_queue: self.shared.queued_bytes(),
        }
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Closes the connection: pending calls fail with `ConnectionLost`, exports are freed.
    pub fn close(&self) {
        self.shared.close(CloseReason::Local);
    }

    /// Waits until the connection is closed; returns why.
    pub async fn closed(&self) -> CloseReason {
        self.shared.closing.cancelled().await;
        self.shared.close_reason().unwrap_or(CloseReason::Local)
    }
}

/// What one side brings to a connection.
pub(crate) struct Side {
    pub(crate) config: Config,
    pub(crate) root: Option<Arc<dyn Object>>,
    pub(crate) peer_addr: Option<SocketAddr>,
    /// Cancelled when the owner (a server) shuts down.
    pub(crate) parent: Option<CancellationToken>,
    /// Whether user handles keep the connection open (client side).
    pub(crate) client: bool,
    /// The budget long frames draw on while the connection is pending (server side).
    pub(crate) pending_budget: Option<Arc<MemoryBudget>>,
    /// Whether the connection stays pending after its handshake, until a login (a portal).
    pub(crate) pending_until_login: bool,
}

/// A stream a connection runs on, and how to split it into halves the tasks own.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {
    /// The read half.
    type Read: AsyncRead + Send + Unpin + 'static;
    /// The write half.
    type Write: AsyncWrite + Send + Unpin + 'static;
    /// Splits the stream.
    fn split(self) -> (Self::Read, Self::Write);
}

impl Transport for tokio::net::TcpStream {
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;

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
}

/// Closes the connection if the task holding it is dropped before it ends: the runtime that
/// ran it shut down. Calls waiting on it then fail at once, wherever they run.
struct CloseOnDrop(Arc<Shared>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        if !self.0.is_closed() {
            self.0.close(CloseReason::RuntimeGone);
        }
    }
}

/// The read buffer a connection starts with; it grows for larger frames.
const READ_CAPACITY: usize = 2 * 1024;

/// Runs the handshake on `io` and starts the connection's tasks.
pub(crate) async fn establish<S: Transport>(
    mut io: S,
    side: Side,
) -> Result<Connection, HandshakeError> {
    let timeout = side.config.handshake_timeout;
    let max_frame_size = side.config.max_frame_size;
    let codec = match side.pending_budget.clone() {
        Some(budget) => FrameCodec::with_budget(max_frame_size, budget),
        None => FrameCodec::new(max_frame_size),
    };
    let root_interface = side.root.as_ref().map(|root| root.interface());
    let handshake = async move {
        exchange_preamble(&mut io).await?;
        let hello = Message::Hello {
            root: root_interface,
        }
        .encode()
        .map_err(|error| HandshakeError::BadHello(error.to_string()))?;
        io.write_all(&(hello.len() as u32).to_be_bytes()).await?;
        io.write_all(&hello).await?;
        io.flush().await?;
        let (read, write) = io.split();
        let mut frames = FramedRead::with_capacity(read, codec, READ_CAPACITY);
        let first = match frames.next().await {
            None => return Err(HandshakeError::Closed),
            Some(Err(error)) => return Err(HandshakeError::BadHello(error.to_string())),
            Some(Ok(frame)) => frame,
        };
        let peer_root = match decode_message(&first) {
            Ok((Message::Hello { root }, _)) => root.map(str::to_owned),
            Ok((other, _)) => {
                return Err(HandshakeError::BadHello(format!("{other:?}")));
            }
            Err(error) => return Err(HandshakeError::BadHello(error.to_string())),
        };
        Ok((frames, write, peer_root))
    };
    let (mut frames, sink, peer_root) = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| HandshakeError::Timeout)??;
    if !side.pending_until_login {
        frames.decoder_mut().leave_budget();
    }

    let closing = match &side.parent {
        Some(parent) => parent.child_token(),
        None => CancellationToken::new(),
    };
    let (queue_tx, queue_rx) = tokio::sync::mpsc::unbounded_channel();
    let shared = Arc::new(Shared::new(
        side.config,
        queue_tx,
        side.peer_addr,
        peer_root,
        closing,
    ));
    if let Some(root) = side.root {
        shared.exports.lock().set_root(root);
    }
    let keepalive = side.client.then(|| {
        let keepalive = Arc::new(KeepAlive {
            shared: Arc::clone(&shared),
        });
        shared.set_keepalive(&keepalive);
        keepalive
    });
    tracing::debug!(parent: &shared.span, "connection open");
    let writer_guard = CloseOnDrop(Arc::clone(&shared));
    let writer = tokio::spawn(async move {
        let shared = &writer_guard.0;
        let closing = shared.closing.clone();
        if let Err(error) = writer::run(closing, &shared.queued, queue_rx, sink).await {
            tracing::debug!(parent: &shared.span, %error, "write failed");
            shared.close(CloseReason::Io(error.to_string()));
        }
    });
    let reader_guard = CloseOnDrop(Arc::clone(&shared));
    tokio::spawn(async move {
        reader::run(Arc::clone(&reader_guard.0), frames).await;
        // Closed: the writer gets a grace period for the last frames, then is stopped, so a
        // peer that never reads cannot keep the socket and the queue alive.
        let stop = writer.abort_handle();
        if tokio::time::timeout(writer::CLOSE_GRACE, writer)
            .await
            .is_err()
        {
            stop.abort();
        }
        drop(reader_guard);
    });
    Ok(Connection {
        shared,
        _keepalive: keepalive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::PREAMBLE;
    use tokio::io::AsyncReadExt;

    #[tokio::test(start_paused = true)]
    async fn a_closed_connection_stops_writing_to_a_peer_that_never_reads() {
        let (ours, mut theirs) = tokio::io::duplex(256);
        // The peer says hello, then never reads again.
        let peer = async move {
            theirs.write_all(&PREAMBLE).await.expect("written");
            let hello = Message::Hello { root: None }.encode().expect("encodable");
            theirs
                .write_all(&(hello.len() as u32).to_be_bytes())
                .await
                .expect("written");
            theirs.write_all(&hello).await.expect("written");
            let mut their_preamble = [0u8; 8];
            theirs.read_exact(&mut their_preamble).await.expect("read");
            theirs
        };
        let side = Side {
            config: Config::default(),
            root: None,
            peer_addr: None,
            parent: None,
            client: false,
            pending_budget: None,
            pending_until_login: false,
        };
        let (connection, _theirs) = tokio::join!(establish(ours, side), peer);
        let connection = connection.expect("handshake");
        let shared = Arc::downgrade(&connection.shared);
        // A frame the peer will never take: the writer blocks on it.
        connection.shared.send(crate::wire::Outgoing {
            head: bytes::Bytes::new(),
            body: bytes::Bytes::from(vec![0u8; 1 << 20]),
        });
        tokio::task::yield_now().await;
        connection.close();
        drop(connection);
        tokio::time::sleep(writer::CLOSE_GRACE * 2).await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(
            shared.upgrade().is_none(),
            "the connection's tasks ended, its queue and socket with them"
        );
    }
}
