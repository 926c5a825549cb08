//! Provides realms: what turns an authenticated avatar id (and the client's mind) into an
//! avatar and its logout action.

use super::error::LoginError;
use crate::codec::Codec;
use crate::dispatch::{Avatar, CallContext, Referenceable, interface_name};
use crate::interface::Interface;
use crate::link::shared::Object;
use crate::perspective::LogoutAction;
use crate::refs::handle::{Proxy, RemoteRef};
use crate::refs::remote::Remote;
use crate::reply::{DispatchError, Started};
use futures_util::future::BoxFuture;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// Who a login is, as the checkers established it.
///
/// Anonymous access is its own variant: it can never be confused with a user who happens to be
/// called "Anonymous".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AvatarId {
    /// An anonymous login.
    Anonymous,
    /// A named user.
    User(String),
}

impl fmt::Display for AvatarId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AvatarId::Anonymous => f.write_str("(anonymous)"),
            AvatarId::User(name) => f.write_str(name),
        }
    }
}

/// What a realm returns: the avatar, and what to run once the login ends.
pub struct LoggedIn<A> {
    pub(crate) avatar: Arc<A>,
    pub(crate) logout: Option<LogoutAction>,
}

impl<A> fmt::Debug for LoggedIn<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedIn")
            .field("has_logout", &self.logout.is_some())
            .finish_non_exhaustive()
    }
}

impl<A> LoggedIn<A> {
    /// A login yielding `avatar` (new, or shared with other logins as an `Arc`).
    pub fn new(avatar: impl Into<Arc<A>>) -> Self {
        LoggedIn {
            avatar: avatar.into(),
            logout: None,
        }
    }

    /// Runs `action` exactly once when the login ends: on explicit logout or when the
    /// connection closes, whichever comes first.
    pub fn on_logout(mut self, action: impl FnOnce() + Send + 'static) -> Self {
        self.logout = Some(Box::new(action));
        self
    }
}

/// Makes avatars for authenticated ids (cred's `IRealm`).
pub trait Realm: Send + Sync + 'static {
    /// The avatar type a login yields.
    type Avatar: Avatar;
    /// The type of the client object a login may pass (use [`NoMind`] if none).
    type Mind: Interface + ?Sized;

    /// The avatar for `id`; `mind` is the client's own object if it passed one.
    fn request_avatar(
        &self,
        id: AvatarId,
        mind: Option<Remote<Self::Mind>>,
    ) -> impl Future<Output = Result<LoggedIn<Self::Avatar>, LoginError>> + Send;
}

/// A login's outcome, type-erased for the portal.
pub(crate) struct ErasedLogin {
    pub(crate) avatar: Arc<dyn Any + Send + Sync>,
    pub(crate) object: Arc<dyn Object>,
    pub(crate) interface: &'static str,
    pub(crate) logout: Option<LogoutAction>,
}

/// A [`Realm`], type-erased for the portal.
pub(crate) trait DynRealm: Send + Sync + 'static {
    fn request(
        &self,
        id: AvatarId,
        mind: Option<RemoteRef>,
    ) -> BoxFuture<'_, Result<ErasedLogin, LoginError>>;
}

impl<R: Realm> DynRealm for R {
    fn request(
        &self,
        id: AvatarId,
        mind: Option<RemoteRef>,
    ) -> BoxFuture<'_, Result<ErasedLogin, LoginError>> {
        Box::pin(async move {
            let mind = mind.map(Remote::<R::Mind>::from_ref);
            let login = self.request_avatar(id, mind).await?;
            let avatar: Arc<dyn Any + Send + Sync> = login.avatar.clone();
            let object: Arc<dyn Object> = login.avatar;
            Ok(ErasedLogin {
                avatar,
                object,
                interface: interface_name::<R::Avatar>(),
                logout: login.logout,
            })
        })
    }
}

/// The mind type of a realm whose clients pass none: an object with no methods.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMind;

/// The proxy of [`NoMind`]: it has no methods.
#[derive(Debug, Clone)]
pub struct NoMindProxy {
    reference: RemoteRef,
}

impl Proxy for NoMindProxy {
    fn from_remote_ref(reference: RemoteRef) -> Self {
        NoMindProxy { reference }
    }

    fn remote_ref(&self) -> &RemoteRef {
        &self.reference
    }
}

impl Interface for NoMind {
    const NAME: &'static str = "tartine.NoMind";
    const METHODS: &'static [&'static str] = &[];
    type Proxy = NoMindProxy;
}

impl Referenceable for NoMind {
    type Interface = NoMind;

    fn dispatch<C: Codec>(
        self: Arc<Self>,
        _: &str,
        _: &[u8],
        _: &CallContext,
    ) -> Result<Started, DispatchError> {
        Err(DispatchError::NoSuchMethod)
    }
}
