//! Provides the state of one connection that tasks, handles and references share.

use super::calls::PendingCalls;
use crate::config::Config;
use crate::error::CloseReason;
use crate::lock::Lock;
use crate::refs::{ExportTable, ImportTable};
use crate::session::Session;
use crate::wire::{Message, Outgoing};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// The state of one connection.
pub(crate) struct Shared {
    /// A process-unique id, for logs and to tell connections apart.
    pub(crate) id: u64,
    pub(crate) config: Config,
    pub(crate) exports: Lock<ExportTable>,
    pub(crate) imports: Lock<ImportTable>,
    pub(crate) pending: Lock<PendingCalls>,
    pub(crate) next_call: AtomicU64,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    /// Bytes queued for the writer and not yet taken by it.
    pub(crate) queued: AtomicUsize,
    pub(crate) peer_addr: Option<SocketAddr>,
    pub(crate) peer_root: Option<String>,
    pub(crate) closing: CancellationToken,
    /// Set once `close` ran: cheaper to read than the token on every call.
    closed: AtomicBool,
    reason: Lock<Option<CloseReason>>,
    keepalive: OnceLock<Weak<KeepAlive>>,
    /// The logins made on this connection.
    sessions: Lock<Vec<Arc<Session>>>,
    /// Whether a login ever succeeded here.
    logged_in: AtomicBool,
    pub(crate) span: tracing::Span,
}

impl Shared {
    pub(crate) fn new(
        config: Config,
        outgoing: mpsc::UnboundedSender<Outgoing>,
        peer_addr: Option<SocketAddr>,
        peer_root: Option<String>,
        closing: CancellationToken,
    ) -> Self {
        let id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("tartine.connection", id, peer = ?peer_addr);
        Shared {
            id,
            exports: Lock::new(ExportTable::new(config.max_exports)),
            imports: Lock::new(ImportTable::default()),
            pending: Lock::new(PendingCalls::default()),
            next_call: AtomicU64::new(1),
            config,
            outgoing,
            queued: AtomicUsize::new(0),
            peer_addr,
            peer_root,
            closing,
            closed: AtomicBool::new(false),
            reason: Lock::new(None),
            keepalive: OnceLock::new(),
            sessions: Lock::new(Vec::new()),
            logged_in: AtomicBool::new(false),
            span,
        }
    }

    /// Queues a frame for the writer; a closed connection drops it.
    pub(crate) fn send(&self, frame: Outgoing) {
        // Count before queueing: the writer may take the frame (and subtract) at once.
        let len = frame.len();
        self.queued.fetch_add(len, Ordering::Relaxed);
        if self.outgoing.send(frame).is_err() {
            self.queued.fetch_sub(len, Ordering::Relaxed);
        }
    }

    /// Whether more replies wait for the peer than it may leave unread.
    pub(crate) fn write_queue_full(&self) -> bool {
        self.queued.load(Ordering::Relaxed) > self.config.max_write_queue
    }

    /// Tells the peer we dropped `count` references to its object `id`.
    pub(crate) fn send_release(&self, id: u64, count: u64) {
        if self.is_closed() {
            return;
        }
        self.send(Outgoing::header(&Message::Release { target: id, count }));
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the connection once: fails pending calls, frees every export, stops the tasks.
    pub(crate) fn close(&self, reason: CloseReason) {
        {
            let mut slot = self.reason.lock();
            if slot.is_some() {
                return;
            }
            tracing::debug!(parent: &self.span, %reason, "connection closed");
            *slot = Some(reason);
        }
        self.closed.store(true, Ordering::Release);
        self.closing.cancel();
        let pending = self.pending.lock().close();
        drop(pending);
        let objects = self.exports.lock().drain();
        drop(objects);
        self.imports.lock().clear();
        let sessions = std::mem::take(&mut *self.sessions.lock());
        for session in sessions {
            session.end();
        }
    }

    /// Records a login; refuses it (returns false) if the connection is closing.
    pub(crate) fn add_session(&self, session: Arc<Session>) -> bool {
        let mut sessions = self.sessions.lock();
        if self.is_closed() {
            return false;
        }
        sessions.push(session);
        self.logged_in.store(true, Ordering::Release);
        true
    }

    /// Ends one login: runs its logout action and revokes every reference handed out through
    /// its avatar.
    pub(crate) fn end_session(&self, session: &Arc<Session>) {
        self.sessions
            .lock()
            .retain(|other| !Arc::ptr_eq(other, session));
        let revoked = self.exports.lock().revoke(session);
        drop(revoked);
        session.end();
    }

    /// Whether a login ever succeeded on this connection.
    pub(crate) fn logged_in(&self) -> bool {
        self.logged_in.load(Ordering::Acquire)
    }

    /// How many logins are open on this connection.
    pub(crate) fn session_count(&self) -> usize {
        self.sessions.lock().len()
    }

    /// Why the connection closed, once it has.
    pub(crate) fn close_reason(&self) -> Option<CloseReason> {
        self.reason.lock().clone()
    }

    /// Makes handles keep the connection open; only client-side connections do.
    pub(crate) fn set_keepalive(&self, keepalive: &Arc<KeepAlive>) {
        let _ = self.keepalive.set(Arc::downgrade(keepalive));
    }

    /// The keep-alive token new references hold, if this side has one.
    pub(crate) fn keepalive(&self) -> Option<Arc<KeepAlive>> {
        self.keepalive.get().and_then(Weak::upgrade)
    }
}

/// Held by every user handle of a client connection; the last one dropped closes it.
pub(crate) struct KeepAlive {
    pub(crate) shared: Arc<Shared>,
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.shared.close(CloseReason::Local);
    }
}
