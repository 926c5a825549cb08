//! Provides a connection's lifecycle: open, then closed once with a reason; the logins
//! (perspectives) made on it; and a close requested for after the current reply.

use crate::error::CloseReason;
use crate::lock::Lock;
use crate::perspective::Perspective;
use futures_util::task::AtomicWaker;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use tokio::sync::Notify;

/// What runs once a connection closed.
pub(crate) type CloseHook = Box<dyn FnOnce() + Send + 'static>;

/// Where the close hook waits: for the connection to close, then in a cell shared with the
/// users' code run after the close (see `after_close.rs`), which runs the hook once the logins
/// ended, whenever it was set.
enum HookSlot {
    /// Open: the hook to run once closed, if one was set.
    Open(Option<CloseHook>),
    /// Closed: the cell the users' code run after the close takes the hook from.
    Closed(Arc<Lock<HookCell>>),
}

/// The close hook of a closed connection, and whether the users' code run after the close
/// (which runs it) is done: a hook set after that runs at once.
#[derive(Default)]
pub(crate) struct HookCell {
    hook: Option<CloseHook>,
    ran: bool,
}

impl HookCell {
    /// Whether there is a hook waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.hook.is_none()
    }

    /// Takes the hook to run now; a hook set from now on runs at once.
    pub(crate) fn take_to_run(&mut self) -> Option<CloseHook> {
        self.ran = true;
        self.hook.take()
    }
}

/// Why a login could not be recorded on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginRefused {
    /// The connection is closing.
    Closed,
    /// The connection holds as many logins as it may.
    TooMany { limit: usize },
}

/// Whether a connection is open, why it closed, and the logins made on it.
pub(crate) struct Lifecycle {
    /// Told when the connection closes, for those who wait for it (`Connection::closed`).
    closing: Notify,
    /// The reader task, woken when the connection closes (cheaper to poll than the token).
    reader: AtomicWaker,
    /// How many times the reader was woken: it registers again only after a wake took its
    /// waker, not on every poll.
    reader_wakes: AtomicU64,
    /// Set once the connection closed: cheaper to read than the token on every call.
    closed: AtomicBool,
    /// Set when its server shuts down: no new calls, and a close once the running ones end.
    draining: AtomicBool,
    reason: Lock<Option<CloseReason>>,
    /// The logins open on this connection.
    perspectives: Lock<Vec<Arc<Perspective>>>,
    /// Whether a login ever succeeded here.
    logged_in: AtomicBool,
    /// Told at the first login: a server then stops counting the connection as pending.
    first_login: Notify,
    /// What to run once the connection closed and its logins ended (its server forgets it).
    on_close: Lock<HookSlot>,
    /// Why to close once the reply being prepared is queued, if set.
    close_after_reply: Lock<Option<CloseReason>>,
    close_after_reply_set: AtomicBool,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle")
            .field("closed", &self.is_closed())
            .field("logins", &self.logins())
            .finish_non_exhaustive()
    }
}

impl Lifecycle {
    /// An open connection.
    pub(crate) fn new() -> Self {
        Lifecycle {
            closing: Notify::new(),
            reader: AtomicWaker::new(),
            reader_wakes: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            reason: Lock::new(None),
            perspectives: Lock::new(Vec::new()),
            logged_in: AtomicBool::new(false),
            first_login: Notify::new(),
            on_close: Lock::new(HookSlot::Open(None)),
            close_after_reply: Lock::new(None),
            close_after_reply_set: AtomicBool::new(false),
        }
    }

    /// Whether the connection closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Records `reason` and stops the tasks, the first time only; returns whether it was the
    /// first time, and the logins to end.
    pub(crate) fn close(&self, reason: CloseReason) -> Option<Vec<Arc<Perspective>>> {
        {
            let mut slot = self.reason.lock();
            if slot.is_some() {
                return None;
            }
            *slot = Some(reason);
        }
        self.closed.store(true, Ordering::Release);
        self.wake_reader();
        self.closing.notify_waiters();
        Some(std::mem::take(&mut *self.perspectives.lock()))
    }

    /// Asks the reader to take no new call and to close once the running ones are done.
    pub(crate) fn drain(&self) {
        self.draining.store(true, Ordering::Release);
        self.wake_reader();
    }

    /// Wakes the reader task (to look at its timer again).
    pub(crate) fn wake_reader(&self) {
        self.reader_wakes.fetch_add(1, Ordering::AcqRel);
        self.reader.wake();
    }

    /// Resolves once the connection closed: what the reader task waits on.
    pub(crate) fn closed_for_reader(&self) -> ClosedForReader<'_> {
        ClosedForReader {
            lifecycle: self,
            registered: None,
            drain_told: false,
        }
    }

    /// Resolves once the connection closed.
    pub(crate) async fn closed(&self) {
        until(&self.closing, || self.is_closed()).await;
    }

    /// Resolves once a login succeeded on the connection.
    pub(crate) async fn logged_in_once(&self) {
        until(&self.first_login, || self.logged_in()).await;
    }

    /// Runs `hook` once the connection closed and the users' code run after the close (its
    /// logout actions) is done: at once if it is.
    pub(crate) fn on_close(&self, hook: CloseHook) {
        let mut slot = self.on_close.lock();
        let cell = match &mut *slot {
            HookSlot::Open(waiting) => {
                *waiting = Some(hook);
                return;
            }
            HookSlot::Closed(cell) => Arc::clone(cell),
        };
        drop(slot);
        let mut cell = cell.lock();
        if cell.ran {
            drop(cell);
            hook();
        } else {
            cell.hook = Some(hook);
        }
    }

    /// The cell of the close hook, for the users' code run after the close; called once the
    /// connection closed.
    pub(crate) fn close_hook(&self) -> Arc<Lock<HookCell>> {
        let mut slot = self.on_close.lock();
        let hook = match &mut *slot {
            HookSlot::Closed(cell) => return Arc::clone(cell),
            HookSlot::Open(hook) => hook.take(),
        };
        let cell = Arc::new(Lock::new(HookCell { hook, ran: false }));
        *slot = HookSlot::Closed(Arc::clone(&cell));
        cell
    }

    /// Why the connection closed, once it has.
    pub(crate) fn reason(&self) -> Option<CloseReason> {
        self.reason.lock().clone()
    }

    /// Records a login; refuses it if the connection is closing or holds `limit` already.
    pub(crate) fn add_login(
        &self,
        perspective: Arc<Perspective>,
        limit: usize,
    ) -> Result<(), LoginRefused> {
        let mut perspectives = self.perspectives.lock();
        if self.is_closed() {
            return Err(LoginRefused::Closed);
        }
        if perspectives.len() >= limit {
            return Err(LoginRefused::TooMany { limit });
        }
        perspectives.push(perspective);
        self.logged_in.store(true, Ordering::Release);
        self.first_login.notify_waiters();
        Ok(())
    }

    /// Forgets a login (it ended).
    pub(crate) fn remove_login(&self, perspective: &Arc<Perspective>) {
        self.perspectives
            .lock()
            .retain(|other| !Arc::ptr_eq(other, perspective));
    }

    /// How many logins are open.
    pub(crate) fn logins(&self) -> usize {
        self.perspectives.lock().len()
    }

    /// Whether a login ever succeeded.
    pub(crate) fn logged_in(&self) -> bool {
        self.logged_in.load(Ordering::Acquire)
    }

    /// Asks the reader to close with `reason` once the reply of the call being run is queued:
    /// the peer gets its answer, then the connection ends.
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
}

/// Resolves once `done` holds; `notify` is told when it comes to hold.
async fn until(notify: &Notify, done: impl Fn() -> bool) {
    let notified = notify.notified();
    tokio::pin!(notified);
    // Registered before the flag is read: a change in between still wakes us.
    notified.as_mut().enable();
    if !done() {
        notified.await;
    }
}

/// What the reader is told by its connection's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReaderSignal {
    /// The connection closed.
    Closed,
    /// Its server shuts down: take no new call (told once).
    Drain,
}

/// Resolves once the connection closed, or once its server starts shutting down; polling it
/// costs a few atomic loads while it is open (its waker is registered again only when a wake
/// took it, or the task changed). It can be polled again after a `Drain`.
#[derive(Debug)]
pub(crate) struct ClosedForReader<'a> {
    lifecycle: &'a Lifecycle,
    /// The waker registered last, and the count of wakes when it was.
    registered: Option<(Waker, u64)>,
    /// Whether `Drain` was returned already.
    drain_told: bool,
}

impl ClosedForReader<'_> {
    /// Whether a poll would resolve now (a few atomic loads; nothing is registered or told).
    pub(crate) fn is_ready(&self) -> bool {
        self.lifecycle.is_closed()
            || (!self.drain_told && self.lifecycle.draining.load(Ordering::Acquire))
    }

    fn signal(&mut self) -> Option<ReaderSignal> {
        if self.lifecycle.is_closed() {
            return Some(ReaderSignal::Closed);
        }
        if !self.drain_told && self.lifecycle.draining.load(Ordering::Acquire) {
            self.drain_told = true;
            return Some(ReaderSignal::Drain);
        }
        None
    }
}

impl Future for ClosedForReader<'_> {
    type Output = ReaderSignal;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ReaderSignal> {
        let this = self.get_mut();
        let lifecycle = this.lifecycle;
        if let Some(signal) = this.signal() {
            return Poll::Ready(signal);
        }
        let wakes = lifecycle.reader_wakes.load(Ordering::Acquire);
        if let Some((waker, seen)) = &this.registered
            && *seen == wakes
            && waker.will_wake(cx.waker())
        {
            // Still registered: no wake took it since.
            return Poll::Pending;
        }
        lifecycle.reader.register(cx.waker());
        this.registered = Some((cx.waker().clone(), wakes));
        match this.signal() {
            Some(signal) => Poll::Ready(signal),
            None => Poll::Pending,
        }
    }
}
