//! Provides `AfterClose`: the users' code a closing connection has to run (the logout actions
//! of its logins, the close hook, the drop of the objects it exported), run on a task of its
//! own rather than inside `close`.
//!
//! A connection closes from wherever a limit is met, and that can be in the middle of a
//! user's code: a `Remote` dropped while its holder keeps a lock sends a release, and when
//! that release overflows the write queue, the connection closes there and then. If the
//! logout action ran inline it could take the same lock and deadlock the worker. So `close`
//! only records what to run, and this runs it once the caller has returned.

use super::lifecycle::CloseHook;
use crate::perspective::Perspective;
use std::sync::Arc;

/// What a closed connection still runs of its users' code, in order: the objects it exported
/// are dropped, its logins end (their logout actions), then its close hook.
///
/// It runs on a task of its own (see [`run_soon`](Self::run_soon)); if that task never runs,
/// because the runtime is shutting down or there is none, it runs when dropped.
pub(crate) struct AfterClose {
    /// The objects the connection exported, to be dropped (`None` if there were none).
    pub(crate) objects: Option<Box<dyn Send>>,
    /// The logins to end.
    pub(crate) perspectives: Vec<Arc<Perspective>>,
    /// The close hook.
    pub(crate) hook: Option<CloseHook>,
}

impl AfterClose {
    /// Whether there is nothing to run.
    fn is_empty(&self) -> bool {
        self.objects.is_none() && self.perspectives.is_empty() && self.hook.is_none()
    }

    /// Runs it on a new task of the current runtime, or here if there is no runtime.
    pub(crate) fn run_soon(self) {
        if self.is_empty() {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            // The task only drops it: `Drop` runs it, whether the task is polled or, on a
            // runtime shutting down, dropped unpolled.
            Ok(runtime) => drop(runtime.spawn(async move { drop(self) })),
            Err(_) => drop(self),
        }
    }

    fn run(&mut self) {
        drop(self.objects.take());
        for perspective in std::mem::take(&mut self.perspectives) {
            perspective.end();
        }
        if let Some(hook) = self.hook.take() {
            hook();
        }
    }
}

impl Drop for AfterClose {
    fn drop(&mut self) {
        self.run();
    }
}
