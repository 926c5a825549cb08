//! Provides perspectives: how a viewable learns who calls it.
//!
//! A perspective is one login's avatar on one connection (PB's perspective, cred's avatar as
//! a login yielded it). This file is where the avatar a viewable receives is attached and read:
//! - attached: a login creates its [`Perspective`]; every reference handed out through it
//!   (the avatar itself, and whatever a call through a reference of that login returns) is
//!   entered in the connection's export table with the perspective beside the object;
//! - read: a call through such a reference carries the perspective of its export entry into
//!   its `CallContext`, where [`Perspective::avatar`] gives the avatar back, typed. Nothing the
//!   caller sends takes part.
//!
//! A logout (or the connection's end) runs the logout action once and revokes every reference
//! handed out through the perspective.

use crate::lock::Lock;
use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio_util::sync::CancellationToken;

static NEXT_PERSPECTIVE_ID: AtomicU64 = AtomicU64::new(1);

/// What runs once when a login ends.
pub(crate) type LogoutAction = Box<dyn FnOnce() + Send + 'static>;

/// One login's avatar on one connection, and its logout action.
pub(crate) struct Perspective {
    id: u64,
    avatar: Arc<dyn Any + Send + Sync>,
    /// The avatar's interface name, for logs.
    interface: &'static str,
    logout: Lock<Option<LogoutAction>>,
    /// Fired when the login ends, whichever way; made only when asked for (most logins never
    /// are), so that an idle login costs no more.
    ended: OnceLock<CancellationToken>,
    /// What the login keeps until it ends (its session's end signal, say).
    held: Lock<Option<Box<dyn Any + Send + Sync>>>,
}

impl fmt::Debug for Perspective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Perspective")
            .field("id", &self.id)
            .field("avatar", &self.interface)
            .finish()
    }
}

impl Perspective {
    /// The perspective of a new login that yielded `avatar`.
    pub(crate) fn new(
        avatar: Arc<dyn Any + Send + Sync>,
        interface: &'static str,
        logout: Option<LogoutAction>,
    ) -> Arc<Self> {
        Arc::new(Perspective {
            id: NEXT_PERSPECTIVE_ID.fetch_add(1, Ordering::Relaxed),
            avatar,
            interface,
            logout: Lock::new(logout),
            ended: OnceLock::new(),
            held: Lock::new(None),
        })
    }

    /// The avatar, if it is an `A`: what a viewable method receives.
    pub(crate) fn avatar<A: Any + Send + Sync>(&self) -> Option<Arc<A>> {
        Arc::clone(&self.avatar).downcast::<A>().ok()
    }

    /// Whether `object` is this perspective's avatar (the same allocation).
    pub(crate) fn is_avatar<O: ?Sized>(&self, object: &Arc<O>) -> bool {
        Arc::as_ptr(&self.avatar).cast::<()>() == Arc::as_ptr(object).cast::<()>()
    }

    /// Keeps `value` until the login ends.
    pub(crate) fn hold_until_end(&self, value: Box<dyn Any + Send + Sync>) {
        *self.held.lock() = Some(value);
    }

    /// A copy of what the login keeps, if it is a `T`.
    pub(crate) fn held<T: Any + Clone>(&self) -> Option<T> {
        self.held.lock().as_ref()?.downcast_ref::<T>().cloned()
    }

    /// Fires once the login ends (at once if it has).
    pub(crate) fn ended(&self) -> CancellationToken {
        self.ended.get_or_init(CancellationToken::new).clone()
    }

    /// Runs the logout action if it has not run yet; a panic in it is logged and contained.
    pub(crate) fn end(&self) {
        self.ended.get_or_init(CancellationToken::new).cancel();
        let held = self.held.lock().take();
        drop(held);
        let action = self.logout.lock().take();
        if let Some(action) = action
            && std::panic::catch_unwind(std::panic::AssertUnwindSafe(action)).is_err()
        {
            tracing::error!(perspective = self.id, "a logout action panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn the_avatar_comes_back_typed_and_the_logout_runs_once() {
        let avatar = Arc::new(7u32);
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let perspective = Perspective::new(
            avatar.clone(),
            "u32",
            Some(Box::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            })),
        );
        assert_eq!(perspective.avatar::<u32>().as_deref(), Some(&7));
        assert!(
            perspective.avatar::<u64>().is_none(),
            "another type is no avatar"
        );
        assert!(perspective.is_avatar(&avatar));
        assert!(!perspective.is_avatar(&Arc::new(7u32)));
        perspective.end();
        perspective.end();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
