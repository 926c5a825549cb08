//! Provides `AfterClose`: the users' code a closing connection has to run (the logout actions
//! of its logins, the close hook, the drop of the objects it exported), run on a task of its
//! own rather than inside `close`.
//!
//! A connection closes from wherever a limit is met, and that can be in the middle of a
//! user's code: a `Remote` dropped while its holder keeps a lock sends a release, and when
//! that release overflows the write queue, the connection closes there and then. If the
//! logout action ran inline it could take the same lock and deadlock the worker. So `close`
//! only records what to run, and this runs it on a task of the runtime the connection closed
//! on, once the caller has returned (closed from a thread outside any runtime, there is no
//! task to run it on, and it runs inline). A close hook set after the close (the server sets
//! its own once a connection stops being pending) also waits for the logouts.

use super::lifecycle::HookCell;
use crate::lock::Lock;
use crate::perspective::Perspective;
use std::panic::{AssertUnwindSafe, catch_unwind};
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
    /// The close hook's cell: the hook set before the close, or after it, until this ran.
    pub(crate) hook: Arc<Lock<HookCell>>,
}

impl AfterClose {
    /// Whether there is nothing to run.
    fn is_empty(&self) -> bool {
        self.objects.is_none() && self.perspectives.is_empty() && self.hook.lock().is_empty()
    }

    /// Runs it on a new task of the current runtime; here if there is none (a connection
    /// closed from a thread outside any runtime, or as its runtime shuts down).
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
        // A panicking drop must not keep the logouts and the hook from running.
        if let Some(objects) = self.objects.take()
            && catch_unwind(AssertUnwindSafe(|| drop(objects))).is_err()
        {
            tracing::error!("an exported object panicked as it was dropped");
        }
        for perspective in std::mem::take(&mut self.perspectives) {
            // The last reference to an avatar may go here: its drop is users' code too.
            if catch_unwind(AssertUnwindSafe(move || {
                perspective.end();
                drop(perspective);
            }))
            .is_err()
            {
                tracing::error!("a login panicked as it ended");
            }
        }
        let hook = self.hook.lock().take_to_run();
        if let Some(hook) = hook {
            hook();
        }
    }
}

impl Drop for AfterClose {
    fn drop(&mut self) {
        self.run();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CloseReason;
    use crate::link::lifecycle::Lifecycle;
    use std::sync::Mutex;

    fn noting(
        order: &Arc<Mutex<Vec<&'static str>>>,
        what: &'static str,
    ) -> Box<dyn FnOnce() + Send> {
        let order = Arc::clone(order);
        Box::new(move || order.lock().expect("not poisoned").push(what))
    }

    #[test]
    fn a_hook_set_after_the_close_waits_for_the_logouts() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let lifecycle = Lifecycle::new();
        let login = Perspective::new(Arc::new(()), "unit", Some(noting(&order, "logout")));
        lifecycle.add_login(login, 1).expect("room");
        let perspectives = lifecycle
            .close(CloseReason::Local)
            .expect("the first close");
        let after = AfterClose {
            objects: None,
            perspectives,
            hook: lifecycle.close_hook(),
        };
        // Set once the connection closed, before the logouts ran: it waits for them.
        lifecycle.on_close(noting(&order, "hook"));
        assert!(order.lock().expect("not poisoned").is_empty());
        drop(after);
        assert_eq!(*order.lock().expect("not poisoned"), ["logout", "hook"]);
        // Set after they ran: at once.
        lifecycle.on_close(noting(&order, "late"));
        assert_eq!(
            *order.lock().expect("not poisoned"),
            ["logout", "hook", "late"]
        );
    }

    #[test]
    fn panicking_drops_do_not_keep_the_logouts_from_running() {
        struct Panics;
        impl Drop for Panics {
            fn drop(&mut self) {
                panic!("dropped");
            }
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let lifecycle = Lifecycle::new();
        // A login whose avatar panics as its last reference goes, then one with a logout.
        let first = Perspective::new(Arc::new(Panics), "unit", None);
        lifecycle.add_login(first, 2).expect("room");
        let login = Perspective::new(Arc::new(()), "unit", Some(noting(&order, "logout")));
        lifecycle.add_login(login, 2).expect("room");
        lifecycle.on_close(noting(&order, "hook"));
        let perspectives = lifecycle
            .close(CloseReason::Local)
            .expect("the first close");
        drop(AfterClose {
            objects: Some(Box::new(Panics)),
            perspectives,
            hook: lifecycle.close_hook(),
        });
        assert_eq!(*order.lock().expect("not poisoned"), ["logout", "hook"]);
    }
}
