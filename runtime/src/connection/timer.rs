//! Provides a connection's one timer, which its reader runs: the deadlines of our calls (the
//! reply slots keep them; the timer wakes at the earliest and expires what is due), the
//! keepalive (a ping after a silent period, the connection closed after three), and the idle
//! check (a connection silent for [`IDLE_AFTER`] lets its read buffer go).

use crate::link::shared::Shared;
use crate::wire::Message;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// How many keepalive periods may pass without a frame before the peer counts as vanished.
const SILENT_PERIODS: u32 = 3;

/// A reader that keeps receiving frames looks at its timer every this many frames.
pub(crate) const FRAMES_PER_LOOK: u32 = 64;

/// A connection that heard nothing for this long lets its read buffer go.
pub(crate) const IDLE_AFTER: Duration = Duration::from_secs(1);

/// The timer of one connection.
pub(crate) struct ConnectionTimer {
    sleep: Pin<Box<Sleep>>,
    /// When the sleep is set to end, if it is.
    armed: Option<Instant>,
    /// Whether the sleep was set since it was last polled: until it is, it holds no waker.
    /// Otherwise it keeps the reader's, and is polled again only once it ended.
    unpolled: bool,
    keepalive: Option<Duration>,
    next_ping: Option<Instant>,
    /// Whether a frame came since the last keepalive period, and how many periods had none.
    heard: bool,
    silent_periods: u32,
    /// What the read buffer held when the timer last rang: bytes of a frame that arrived since
    /// then show a peer that is sending, if slowly.
    buffered: usize,
    /// When to look whether the connection went idle, if its buffers are worth releasing.
    idle_check: Option<Instant>,
    /// Whether a frame came since the idle check was set.
    heard_since_check: bool,
}

/// What the timer found when it woke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alarm {
    /// Nothing to do but wait again.
    Quiet,
    /// Nothing came for [`IDLE_AFTER`]: let buffers go.
    Idle,
    /// The peer said nothing for too long.
    Vanished,
}

impl ConnectionTimer {
    /// The timer of a connection with `keepalive` periods, if any.
    pub(crate) fn new(keepalive: Option<Duration>) -> Self {
        let now = Instant::now();
        let next_ping = keepalive.and_then(|period| now.checked_add(period));
        let mut timer = ConnectionTimer {
            sleep: Box::pin(tokio::time::sleep_until(now)),
            armed: None,
            unpolled: true,
            keepalive,
            next_ping,
            heard: false,
            silent_periods: 0,
            buffered: 0,
            idle_check: None,
            heard_since_check: false,
        };
        timer.arm(next_ping);
        timer
    }

    /// A frame came from the peer.
    pub(crate) fn heard(&mut self) {
        self.heard = true;
        self.heard_since_check = true;
    }

    /// Notes, each time the timer rang, what the read buffer holds (`buffered` bytes): if that
    /// changed since it last rang, bytes of a frame arrived (a long frame over a slow link),
    /// and the silent periods start again. Returns whether they did: a peer found
    /// [vanished](Alarm::Vanished) that did is not. A peer is vanished once it sent nothing,
    /// not a whole frame and not a byte, for [`SILENT_PERIODS`] periods.
    pub(crate) fn still_receiving(&mut self, buffered: usize) -> bool {
        let moved = buffered != std::mem::replace(&mut self.buffered, buffered);
        if moved {
            self.silent_periods = 0;
        }
        moved
    }

    /// Looks, [`IDLE_AFTER`] from now, whether the connection went idle (unless it is set to
    /// look already).
    pub(crate) fn watch_idle(&mut self) {
        if self.idle_check.is_none() {
            self.idle_check = Instant::now().checked_add(IDLE_AFTER);
            self.heard_since_check = false;
            let earliest = self.armed;
            self.armed = None;
            self.arm(earliest);
        }
    }

    /// Sets the sleep to end at the earlier of the next ping and the earliest deadline, if a
    /// call set an earlier deadline since the last look.
    fn refresh(&mut self, shared: &Shared) {
        if shared.earlier_deadline.load(Ordering::Acquire)
            && shared.earlier_deadline.swap(false, Ordering::AcqRel)
        {
            let earliest = shared.replies.lock().earliest();
            self.arm(earliest);
        }
    }

    fn arm(&mut self, earliest: Option<Instant>) {
        let wake = [earliest, self.next_ping, self.idle_check]
            .into_iter()
            .flatten()
            .min();
        if wake != self.armed
            && let Some(wake) = wake
        {
            self.sleep.as_mut().reset(wake);
            self.unpolled = true;
        }
        self.armed = wake;
    }

    /// Waits for the sleep to end, then [rings](Self::ring). `cx` must be the reader's: the
    /// sleep keeps its waker between polls.
    pub(crate) fn poll_alarm(&mut self, cx: &mut Context<'_>, shared: &Shared) -> Poll<Alarm> {
        self.refresh(shared);
        if self.armed.is_none() || (!self.unpolled && !self.sleep.is_elapsed()) {
            return Poll::Pending;
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            self.unpolled = false;
            return Poll::Pending;
        }
        Poll::Ready(self.ring(shared))
    }

    /// Rings if the sleep ended, without waiting: for a reader that keeps receiving frames.
    pub(crate) fn alarm_now(&mut self, shared: &Shared) -> Option<Alarm> {
        self.refresh(shared);
        (self.armed.is_some() && self.sleep.is_elapsed()).then(|| self.ring(shared))
    }

    /// Expires the calls whose deadline passed (telling the peer to stop running them), keeps
    /// the connection alive, looks whether it went idle, and sets the sleep again.
    fn ring(&mut self, shared: &Shared) -> Alarm {
        let now = Instant::now();
        let expired = shared.replies.lock().expire(now);
        for (call, waker) in expired {
            shared.send_header(&Message::Cancel { call });
            if let Some(waker) = waker {
                waker.wake();
            }
        }
        let mut alarm = Alarm::Quiet;
        if let (Some(period), Some(due)) = (self.keepalive, self.next_ping)
            && due <= now
        {
            self.next_ping = now.checked_add(period);
            if std::mem::take(&mut self.heard) {
                self.silent_periods = 0;
            } else {
                self.silent_periods += 1;
                if self.silent_periods >= SILENT_PERIODS {
                    alarm = Alarm::Vanished;
                } else {
                    shared.send_header(&Message::Ping);
                }
            }
        }
        if let Some(due) = self.idle_check
            && due <= now
        {
            if std::mem::take(&mut self.heard_since_check) {
                self.idle_check = now.checked_add(IDLE_AFTER);
            } else {
                self.idle_check = None;
                if alarm == Alarm::Quiet {
                    alarm = Alarm::Idle;
                }
            }
        }
        let earliest = shared.replies.lock().earliest();
        self.armed = None;
        self.arm(earliest);
        alarm
    }
}
