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
    /// Cancelled at the first login: a server then stops counting the connection as pending.
    pub(crate) first_login: CancellationToken,
    /// Why to close the connection once the reply being prepared is queued, if set.
    close_after_reply: Lock<Option<CloseReason>>,
    close_after_reply_set: AtomicBool,
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
            first_login: CancellationToken::new(),
            close_after_reply: Lock::new(None),
            close_after_reply_set: AtomicBool::new(false),
            span,
        }
    }

    /// Queues a frame for the writer; a closed connection drops it.
    ///
    /// The write queue is bounded here, whoever queues: the frame that would take it past
    /// [`Config::max_write_queue`] closes the connection as a slow peer instead.
    pub(crate) fn send(&self, frame: Outgoing) {
        // Count before queueing: the writer may take the frame (and subtract) at once.
        let cost = frame.queued_cost();
        let queued = self
            .queued
            .fetch_add(cost, Ordering::AcqRel)
            .saturating_add(cost);
        if queued > self.config.max_write_queue {
            self.queued.fetch_sub(cost, Ordering::AcqRel);
            tracing::warn!(parent: &self.span, queued, "the peer does not read; closing");
            self.close(CloseReason::SlowPeer {
                limit: self.config.max_write_queue,
            });
            return;
        }
        if self.outgoing.send(frame).is_err() {
            self.queued.fetch_sub(cost, Ordering::AcqRel);
        }
    }

    /// Queues a frame that is a header alone.
    pub(crate) fn send_header(&self, message: &Message<'_>) {
        match Outgoing::header(message) {
            Ok(frame) => self.send(frame),
            Err(error) => {
                tracing::error!(parent: &self.span, %error, "could not encode a header");
                self.close(CloseReason::Io(format!(
                    "could not encode a header: {error}"
                )));
            }
        }
    }

    /// Bytes waiting for the writer, with each frame's overhead.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Tells the peer we dropped `count` references to its object `id`.
    pub(crate) fn send_release(&self, id: u64, count: u64) {
        if self.is_closed() {
            return;
        }
        self.send_header(&Message::Release { target: id, count });
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

    /// Records a login; refuses it if the connection is closing or holds
    /// [`Config::max_logins_per_connection`] logins already.
    pub(crate) fn add_session(&self, session: Arc<Session>) -> Result<(), SessionRefused> {
        let mut sessions = self.sessions.lock();
        if self.is_closed() {
            return Err(SessionRefused::Closed);
        }
        let limit = self.config.max_logins_per_connection;
        if sessions.len() >= limit {
            return Err(SessionRefused::TooMany { limit });
        }
        sessions.push(session);
        self.logged_in.store(true, Ordering::Release);
        self.first_login.cancel();
        Ok(())
    }

    /// Asks the reader to close the connection with `reason` once the reply of the call being
    /// run is queued: the peer gets its answer, then the connection ends.
    pub(crate) fn close_after_reply(&self, reason: CloseReason) {
        *self.close_after_reply.lock() = Some(reason);
        self.close_after_reply_set.store(true, Ordering::Release);
    }

    /// The reason given to [`close_after_reply`](Self::close_after_reply), once.
    pub(crate) fn take_close_after_reply(&self) -> Option<CloseReason> {
        if !self.close_after_reply_set.load(Ordering::Acquire) {
            return None;
        }
        self.close_after_reply.lock().take()
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

/// Why a login could not be recorded on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionRefused {
    /// The connection is closing.
    Closed,
    /// The connection holds as many logins as it may.
    TooMany { limit: usize },
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
