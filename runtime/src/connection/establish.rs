//! Provides the opening of a connection: the handshake, then the reader and writer tasks.

use super::handle::Connection;
use super::transport::Transport;
use super::{neighbours, reader, writer};
use crate::config::Config;
use crate::error::{CloseReason, HandshakeError};
use crate::link::shared::{KeepAlive, Object, Peer, Shared};
use crate::refs::names::InterfaceNames;
use crate::wire::{FrameCodec, MemoryBudget, Message, Outgoing, decode_message, exchange_preamble};
use bytes::BytesMut;
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{Encoder, FramedRead};

/// What one side brings to a connection.
pub(crate) struct Side {
    pub(crate) config: Arc<Config>,
    pub(crate) root: Option<Arc<dyn Object>>,
    pub(crate) peer_addr: Option<SocketAddr>,
    /// Whether user handles keep the connection open (client side).
    pub(crate) client: bool,
    /// The budget long frames draw on while the connection is pending (server side).
    pub(crate) pending_budget: Option<Arc<MemoryBudget>>,
    /// Whether the connection stays pending after its handshake, until a login (a portal).
    pub(crate) pending_until_login: bool,
    /// The interfaces this side hands out: a server's, or the connection's own.
    pub(crate) interfaces: Arc<InterfaceNames>,
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
const READ_CAPACITY: usize = 256;

/// Runs the handshake on `io` and starts the connection's tasks.
pub(crate) async fn establish<S: Transport>(
    mut io: S,
    side: Side,
) -> Result<Connection, HandshakeError> {
    let timeout = side.config.handshake_timeout;
    let max_frame_size = side.config.max_frame_size;
    let max_refs = side.config.max_exports;
    let codec = match side.pending_budget.clone() {
        Some(budget) => FrameCodec::with_budget(max_frame_size, budget),
        None => FrameCodec::new(max_frame_size),
    };
    let root_interface = side.root.as_ref().map(|root| root.interface());
    // Before the hello: a peer in this process that reads it finds us registered.
    let registration = neighbours::register(io.local_addr());
    let pipe_on_this_thread = io.in_process() && neighbours::on_current_thread_runtime();
    let handshake = async move {
        let channel = io.channel();
        exchange_preamble(&mut io).await?;
        let hello = Message::Hello {
            root: root_interface,
            max_frame: u64::try_from(max_frame_size).unwrap_or(u64::MAX),
            max_refs: u64::try_from(max_refs).unwrap_or(u64::MAX),
        };
        let hello = Outgoing::header(&hello)
            .map_err(|error| HandshakeError::BadHello(error.to_string()))?;
        let mut bytes = BytesMut::new();
        FrameCodec::new(max_frame_size).encode(hello, &mut bytes)?;
        io.write_all(&bytes).await?;
        io.flush().await?;
        let (read, write) = io.split();
        let mut frames = FramedRead::with_capacity(read, codec, READ_CAPACITY);
        let first = match frames.next().await {
            None => return Err(HandshakeError::Closed),
            Some(Err(error)) => return Err(HandshakeError::BadHello(error.to_string())),
            Some(Ok(frame)) => frame,
        };
        let peer = match decode_message(&first) {
            Ok((
                Message::Hello {
                    root,
                    max_frame,
                    max_refs,
                },
                _,
            )) => Peer {
                // The peer's name for its root, which a mismatch puts in its error.
                root: root.map(crate::wire::peer_text),
                max_frame: usize::try_from(max_frame).unwrap_or(usize::MAX),
                max_refs: usize::try_from(max_refs).unwrap_or(usize::MAX),
            },
            Ok((other, _)) => {
                return Err(HandshakeError::BadHello(format!(
                    "a {} message",
                    other.kind()
                )));
            }
            Err(error) => return Err(HandshakeError::BadHello(error.to_string())),
        };
        Ok((frames, write, peer, channel))
    };
    let (mut frames, sink, peer, channel) = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| HandshakeError::Timeout)??;
    if !side.pending_until_login {
        frames.decoder_mut().leave_budget();
    }
    let peer_on_this_thread =
        pipe_on_this_thread || neighbours::peer_on_this_thread(side.peer_addr);

    let shared = Arc::new(Shared::new(
        side.config,
        side.peer_addr,
        channel,
        peer,
        side.interfaces,
    ));
    if let Some(root) = side.root {
        shared.tables.exports.lock().set_root(root);
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
    shared.outbox.install(Box::new(sink));
    let writer = tokio::spawn(async move {
        let shared = &writer_guard.0;
        if let Err(error) = writer::run(&shared.outbox).await {
            shared.write_failed(&error);
        }
    });
    let reader_guard = CloseOnDrop(Arc::clone(&shared));
    tokio::spawn(async move {
        reader::run(Arc::clone(&reader_guard.0), frames, peer_on_this_thread).await;
        drop(registration);
        // Closed: the writer gets a grace period for the last frames, then is stopped, so a
        // peer that never reads cannot keep the socket and the queue alive.
        let stop = writer.abort_handle();
        if Box::pin(tokio::time::timeout(writer::CLOSE_GRACE, writer))
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
            let hello = Message::Hello {
                root: None,
                max_frame: 1 << 20,
                max_refs: 16,
            }
            .encode()
            .expect("encodable");
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
            config: Arc::new(Config::default()),
            root: None,
            peer_addr: None,
            client: false,
            pending_budget: None,
            pending_until_login: false,
            interfaces: Arc::default(),
        };
        let (connection, _theirs) = tokio::join!(establish(ours, side), peer);
        let connection = connection.expect("handshake");
        let shared = Arc::downgrade(&connection.shared);
        // A frame the peer will never take: the writer blocks on it.
        connection.shared.send_built(
            crate::wire::Built::Large(Outgoing::new(
                bytes::Bytes::new(),
                bytes::Bytes::from(vec![0u8; 1 << 20]),
            )),
            false,
        );
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
