//! Provides login sessions: the avatar a login yielded on one connection, its logout action,
//! and the perspective every reference handed out through that avatar carries.

use crate::dispatch::Object;
use crate::lock::Lock;
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_SESSION_ID: AtomicU64 = AtomicU64::new(1);

/// What runs once when a login ends.
pub(crate) type LogoutAction = Box<dyn FnOnce() + Send + 'static>;

/// One login on one connection.
pub(crate) struct Session {
    pub(crate) id: u64,
    /// The avatar, for viewables to downcast.
    pub(crate) avatar: Arc<dyn Any + Send + Sync>,
    /// The avatar, for the export table.
    pub(crate) object: Arc<dyn Object>,
    logout: Lock<Option<LogoutAction>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("avatar", &self.object.interface())
            .finish()
    }
}

impl Session {
    pub(crate) fn new(
        avatar: Arc<dyn Any + Send + Sync>,
        object: Arc<dyn Object>,
        logout: Option<LogoutAction>,
    ) -> Arc<Self> {
        Arc::new(Session {
            id: NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed),
            avatar,
            object,
            logout: Lock::new(logout),
        })
    }

    /// Runs the logout action if it has not run yet; a panic in it is logged and contained.
    pub(crate) fn end(&self) {
        let action = self.logout.lock().take();
        if let Some(action) = action
            && std::panic::catch_unwind(std::panic::AssertUnwindSafe(action)).is_err()
        {
            tracing::error!(session = self.id, "a logout action panicked");
        }
    }

    /// The address that identifies this session in export keys.
    pub(crate) fn key(session: Option<&Arc<Session>>) -> usize {
        session.map_or(0, |session| Arc::as_ptr(session).cast::<()>() as usize)
    }
}
