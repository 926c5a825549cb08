//! Provides the `Connection` handle users hold: the peer's root, statistics, closing.

use crate::error::{CloseReason, RootError};
use crate::interface::Interface;
use crate::link::shared::{KeepAlive, RemoteInner, Shared};
use crate::refs::handle::RemoteRef;
use crate::refs::remote::Remote;
use crate::refs::table::ROOT_ID;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// One side of an open connection.
///
/// On the client side, the connection stays open while this handle, a clone of it, or any
/// `Remote` obtained through it is alive; dropping the last one closes it.
#[derive(Clone)]
pub struct Connection {
    pub(crate) shared: Arc<Shared>,
    pub(crate) _keepalive: Option<Arc<KeepAlive>>,
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
    pub fn root<T: Interface + ?Sized>(&self) -> Result<Remote<T>, RootError> {
        let found = self.shared.peer_root.as_deref().ok_or(RootError::NoRoot)?;
        if found != T::NAME {
            return Err(RootError::WrongType {
                expected: T::NAME.to_owned(),
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
        let mut imports = self.shared.tables.imports.lock();
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
            exports: self.shared.tables.exports.lock().len(),
            imports: self.shared.tables.imports.lock().len(),
            pending_calls: self.shared.replies.lock().len(),
            write_queue: self.shared.outbox.queued(),
        }
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Closes the connection: pending calls fail with `ConnectionLost`, exports are released
    /// (their objects dropped just after, on a task of their own).
    pub fn close(&self) {
        self.shared.close(CloseReason::Local);
    }

    /// Waits until the connection is closed; returns why.
    pub async fn closed(&self) -> CloseReason {
        self.shared.lifecycle.closed().await;
        self.shared.lifecycle.reason().unwrap_or(CloseReason::Local)
    }
}
