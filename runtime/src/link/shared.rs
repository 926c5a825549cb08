//! Provides `Shared`, the state of one connection that its tasks, its handles and its
//! references share, split by job: the reference tables, the reply slots of our calls, the
//! outbox the writer drains, the limits (`Config`) and the lifecycle.
//!
//! Three kinds of values point back at a connection, and the connection holds them in turn, so
//! their types are defined here, beside it, and their behaviour in the layers that use them:
//! - [`Object`], our objects in the export table, which a call reaches with a [`CallSite`]
//!   naming this connection (dispatch, in `dispatch.rs`);
//! - [`RemoteInner`], what every handle to one of the peer's objects shares (in
//!   `refs/handle.rs`), held weakly by the import table;
//! - [`KeepAlive`], which keeps a client connection open while a user handle lives.

use super::after_close::AfterClose;
use super::channel::Channel;
use super::lifecycle::{Lifecycle, LoginRefused};
use super::outbox::{Outbox, PushError};
use super::replies::ReplySlots;
use crate::config::Config;
use crate::error::CloseReason;
use crate::lock::Lock;
use crate::perspective::Perspective;
use crate::refs::names::{InterfaceInfo, InterfaceKey, InterfaceNames};
use crate::refs::table::{ExportTable, ImportTable};
use crate::reply::{DispatchError, Started};
use crate::wire::{Built, FrameBuilder, Message, Outgoing};
use bytes::Bytes;
use std::any::Any;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// One of our objects as the export table holds it: a referenceable, type-erased.
pub(crate) trait Object: Send + Sync + 'static {
    /// Its interface name.
    fn interface(&self) -> &'static str;
    /// Its interface's Rust type, to tell two interfaces of one name apart.
    fn interface_key(&self) -> InterfaceKey;
    /// Its interface, with those its signatures name.
    fn interface_info(&self) -> InterfaceInfo;
    /// The object, for a typed downcast.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// Decodes the arguments of `method` and starts it.
    fn dispatch_native(
        self: Arc<Self>,
        method: &str,
        args: &[u8],
        site: CallSite,
    ) -> Result<Started, DispatchError>;
}

/// Where a call arrived: what a method's `CallContext` is made of.
#[derive(Clone)]
pub(crate) struct CallSite {
    pub(crate) shared: Arc<Shared>,
    /// The perspective of the reference the call came through.
    pub(crate) perspective: Option<Arc<Perspective>>,
    /// The frame the arguments lie in, so byte payloads can share it.
    pub(crate) frame: Bytes,
    /// Whether the call starts on a worker thread, where decoding is capped.
    pub(crate) inline: bool,
}

/// The reference tables of one connection.
pub(crate) struct Tables {
    /// Our objects the peer may call.
    pub(crate) exports: Lock<ExportTable<dyn Object>>,
    /// The peer's objects we hold.
    pub(crate) imports: Lock<ImportTable<RemoteInner>>,
}

/// What a connection's write queue may hold: `max_write_queue`, and beside it room for one
/// frame of the largest size this side sends, when that is larger: a large reply queued in a
/// burst does not make a peer that reads look slow to the small frames queued after it.
fn write_queue_room(max_write_queue: usize, max_send_frame: usize) -> usize {
    if max_send_frame > max_write_queue {
        max_write_queue
            .saturating_add(max_send_frame)
            .saturating_add(crate::wire::FRAME_OVERHEAD)
    } else {
        max_write_queue
    }
}

/// What the peer's hello told of it.
#[derive(Debug)]
pub(crate) struct Peer {
    /// The interface of its root object, if it publishes one.
    pub(crate) root: Option<String>,
    /// The largest frame it accepts.
    pub(crate) max_frame: usize,
    /// The most references (namings) one message may hand it.
    pub(crate) max_refs: usize,
}

/// The state of one connection.
pub(crate) struct Shared {
    /// A process-unique id, for logs and to tell connections apart.
    pub(crate) id: u64,
    /// The limits, shared by the connections of one server.
    pub(crate) config: Arc<Config>,
    pub(crate) tables: Tables,
    /// The slots of our calls waiting for a reply.
    pub(crate) replies: Lock<ReplySlots>,
    pub(crate) outbox: Outbox,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) peer_addr: Option<SocketAddr>,
    /// What the transport knows of the channel (TLS binding, the peer's certificate); boxed,
    /// and only on TLS, so that a plain connection pays a pointer for it.
    pub(crate) channel: Option<Box<Channel>>,
    /// The interface of the peer's root object, if it publishes one.
    pub(crate) peer_root: Option<String>,
    /// The largest frame with a payload this side sends: the smaller of its own limit and the
    /// peer's, which its hello told.
    pub(crate) max_send_frame: usize,
    /// The most references (namings) one message this side sends may hand over: the peer's
    /// limit, which its hello told.
    pub(crate) max_send_refs: usize,
    /// The interfaces this side hands out, by name: shared by a server's connections.
    pub(crate) interfaces: Arc<InterfaceNames>,
    keepalive: OnceLock<Weak<KeepAlive>>,
    /// Set when a call took a deadline earlier than the reader's timer knows.
    pub(crate) earlier_deadline: AtomicBool,
    /// Replies to our calls received but not decoded yet: one may name our objects, whose
    /// releases then wait (see [`Shared::release_ours`]).
    undecoded: AtomicUsize,
    /// Set while releases wait.
    releases_wait: AtomicBool,
    pub(crate) span: tracing::Span,
}

impl Shared {
    /// The channel binding of the connection's TLS session, if on TLS.
    pub(crate) fn channel_binding(&self) -> Option<&[u8; 32]> {
        self.channel.as_ref()?.binding.as_ref()
    }

    /// The certificate the peer showed in the TLS handshake, if any.
    pub(crate) fn peer_certificate(&self) -> Option<&std::sync::Arc<[u8]>> {
        self.channel.as_ref()?.peer_certificate.as_ref()
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("id", &self.id).finish()
    }
}

impl Shared {
    /// A new open connection.
    pub(crate) fn new(
        config: Arc<Config>,
        peer_addr: Option<SocketAddr>,
        channel: Option<Box<Channel>>,
        peer: Peer,
        interfaces: Arc<InterfaceNames>,
    ) -> Self {
        let id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("tartine.connection", id, peer = ?peer_addr);
        let max_send_frame = peer.max_frame.min(config.max_frame_size);
        let outbox = Outbox::new(write_queue_room(config.max_write_queue, max_send_frame));
        Shared {
            id,
            tables: Tables {
                // The peer holds at most what it told us it takes (its own `max_exports`).
                exports: Lock::new(ExportTable::new(config.max_exports.min(peer.max_refs))),
                imports: Lock::new(ImportTable::default()),
            },
            replies: Lock::new(ReplySlots::default()),
            outbox,
            lifecycle: Lifecycle::new(),
            peer_addr,
            channel,
            peer_root: peer.root,
            max_send_frame,
            max_send_refs: peer.max_refs,
            config,
            interfaces,
            keepalive: OnceLock::new(),
            earlier_deadline: AtomicBool::new(false),
            undecoded: AtomicUsize::new(0),
            releases_wait: AtomicBool::new(false),
            span,
        }
    }

    /// Queues a frame [`FrameBuilder`](crate::wire::FrameBuilder) built; a closed connection
    /// drops it, and the frame that would take the queue past [`Config::max_write_queue`]
    /// closes the connection as a slow peer instead. With `now`, the frame is written at once
    /// if nobody is writing and nothing is queued.
    pub(crate) fn send_built(&self, frame: Built, now: bool) {
        match frame {
            Built::Small(frame) => {
                let pushed = self.outbox.push_laid_out(frame.bytes(), now);
                drop(frame);
                self.pushed(pushed);
            }
            Built::Large(frame) => self.push(frame, now),
        }
    }

    fn push(&self, frame: Outgoing, now: bool) {
        self.pushed(self.outbox.push(frame, now));
    }

    /// Acts on the outcome of queuing a frame.
    fn pushed(&self, pushed: Result<(), PushError>) {
        match pushed {
            Ok(()) => {}
            Err(PushError::Overflow(overflow)) => {
                let queued = self.outbox.queued();
                tracing::warn!(parent: &self.span, queued, "the peer does not read; closing");
                self.close(CloseReason::SlowPeer {
                    limit: overflow.limit,
                });
            }
            Err(PushError::Io(error)) => self.write_failed(&error),
        }
    }

    /// Closes the connection after a failed write.
    pub(crate) fn write_failed(&self, error: &std::io::Error) {
        tracing::debug!(parent: &self.span, %error, "write failed");
        self.close(CloseReason::Io(error.to_string()));
    }

    /// Queues a frame that is a header alone.
    pub(crate) fn send_header(&self, message: &Message<'_>) {
        self.send_header_with(message, false);
    }

    /// Queues a frame that is a header alone; with `now`, as [`send_built`](Self::send_built).
    pub(crate) fn send_header_with(&self, message: &Message<'_>, now: bool) {
        match FrameBuilder::new().finish(message) {
            Ok(frame) => self.send_built(frame, now),
            Err(error) => {
                tracing::error!(parent: &self.span, %error, "could not encode a header");
                self.close(CloseReason::Io(format!(
                    "could not encode a header: {error}"
                )));
            }
        }
    }

    /// Tells the peer we dropped `count` references to its object `id`.
    pub(crate) fn send_release(&self, id: u64, count: u64) {
        if self.is_closed() {
            return;
        }
        self.send_header(&Message::Release { target: id, count });
    }

    /// The peer releases `count` sendings of our object `id`. While a reply to one of our calls
    /// is undecoded (it came before this release and may name the object), the release waits.
    pub(crate) fn release_ours(&self, id: u64, count: u64) {
        let mut exports = self.tables.exports.lock();
        if self.undecoded.load(Ordering::SeqCst) == 0 {
            let released = exports.release(id, count);
            drop(exports);
            drop(released);
            return;
        }
        exports.defer_release(id, count);
        self.releases_wait
            .store(exports.has_deferred(), Ordering::SeqCst);
        // The last reply may have been decoded meanwhile, before it saw the flag.
        let freed = if self.undecoded.load(Ordering::SeqCst) == 0 {
            self.releases_wait.store(false, Ordering::SeqCst);
            exports.apply_deferred()
        } else {
            Vec::new()
        };
        drop(exports);
        drop(freed);
    }

    /// A reply to one of our calls that may name our objects arrived: counted before its
    /// caller can take it.
    pub(crate) fn reply_waiting(&self) {
        self.undecoded.fetch_add(1, Ordering::SeqCst);
    }

    /// Such a reply was decoded or dropped; the last one lets waiting releases apply.
    pub(crate) fn reply_done(&self) {
        if self.undecoded.fetch_sub(1, Ordering::SeqCst) == 1
            && self.releases_wait.load(Ordering::SeqCst)
        {
            let mut exports = self.tables.exports.lock();
            if self.undecoded.load(Ordering::SeqCst) == 0 {
                self.releases_wait.store(false, Ordering::SeqCst);
                let freed = exports.apply_deferred();
                drop(exports);
                drop(freed);
            }
        }
    }

    /// Ends the holds a message put on the peer's ids it handed over (it was decoded or
    /// discarded); ids no handle holds are released to the peer.
    pub(crate) fn settle(&self, ids: &[u64]) {
        if ids.is_empty() {
            return;
        }
        let releases: Vec<(u64, u64)> = {
            let mut imports = self.tables.imports.lock();
            ids.iter()
                .filter_map(|&id| imports.settle(id).map(|count| (id, count)))
                .collect()
        };
        for (id, count) in releases {
            self.send_release(id, count);
        }
    }

    /// Takes back one sending of each of our ids, after the message that carried them was
    /// not sent.
    pub(crate) fn rollback(&self, exported: &[u64]) {
        if exported.is_empty() {
            return;
        }
        let dropped: Vec<_> = {
            let mut exports = self.tables.exports.lock();
            exported
                .iter()
                .filter_map(|&id| exports.release(id, 1))
                .collect()
        };
        drop(dropped);
    }

    /// Whether the peer takes a message handing over `exported` (one id per naming): whether
    /// it names at most [`max_send_refs`](Self::max_send_refs) ids.
    pub(crate) fn peer_takes(&self, exported: &[u64]) -> bool {
        exported.len() <= self.max_send_refs
    }

    /// Whether the connection is closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.lifecycle.is_closed()
    }

    /// Closes the connection once: fails our calls waiting for a reply, stops the tasks, and
    /// has a task of its own free every export, end every login and run the close hook (see
    /// `after_close.rs`).
    pub(crate) fn close(&self, reason: CloseReason) {
        tracing::debug!(parent: &self.span, %reason, "connection closing");
        let Some(perspectives) = self.lifecycle.close(reason) else {
            return;
        };
        self.outbox.end();
        let waiting = self.replies.lock().close();
        for waker in waiting {
            waker.wake();
        }
        let objects = self.tables.exports.lock().drain();
        self.tables.imports.lock().clear();
        // Users' code (objects' drops, logout actions, the close hook) runs after the caller
        // returns: it may hold a lock that code takes.
        AfterClose {
            objects: (!objects.is_empty()).then(|| Box::new(objects) as Box<dyn Send>),
            perspectives,
            hook: self.lifecycle.close_hook(),
        }
        .run_soon();
    }

    /// Records a login, within [`Config::max_logins_per_connection`] logins besides
    /// `uncounted` (the login it was asked for through, which is to end: see `cred::grant`).
    pub(crate) fn add_login(
        &self,
        perspective: Arc<Perspective>,
        uncounted: usize,
    ) -> Result<(), LoginRefused> {
        let limit = self.config.max_logins_per_connection;
        self.lifecycle
            .add_login(perspective, limit.saturating_add(uncounted))
            .map_err(|refused| match refused {
                LoginRefused::TooMany { .. } => LoginRefused::TooMany { limit },
                closed => closed,
            })
    }

    /// Ends one login: revokes every reference handed out through it, and runs its logout
    /// action.
    pub(crate) fn end_login(&self, perspective: &Arc<Perspective>) {
        self.lifecycle.remove_login(perspective);
        let revoked = self.tables.exports.lock().revoke(perspective);
        drop(revoked);
        perspective.end();
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

/// What every handle to one of the peer's objects shares; its drop releases the object.
pub(crate) struct RemoteInner {
    pub(crate) id: u64,
    pub(crate) shared: Arc<Shared>,
    _keepalive: Option<Arc<KeepAlive>>,
}

impl RemoteInner {
    /// The shared part of the handles to the peer's object `id`.
    pub(crate) fn new(id: u64, shared: Arc<Shared>) -> Arc<Self> {
        let keepalive = shared.keepalive();
        Arc::new(RemoteInner {
            id,
            shared,
            _keepalive: keepalive,
        })
    }
}

impl Drop for RemoteInner {
    fn drop(&mut self) {
        let released = self.shared.tables.imports.lock().dropped(self.id, self);
        if let Some(count) = released {
            self.shared.send_release(self.id, count);
        }
    }
}
