//! Provides named services on one listener, and the identity that takes up perspectives in
//! them by key (the older cred's `Service`, `Identity` and keyring).
//!
//! A client proves who it is once, with any credentials the shared checkers accept, and gets a
//! [`Remote<Identity>`](Identity). Through it, it asks for a perspective by key (a service's
//! name and a perspective's name); the server looks the key up on the identity's
//! [`Keyring`] at that moment, and the perspective's realm makes its avatar for the identity.
//! A service the server does not host, a perspective it does not have, and a key the identity
//! lacks all answer [`LoginError::NotPermitted`], so no one can list a server's services by
//! asking. Each perspective is a login of its own: its own logout action, run exactly once
//! (at its logout, or when the connection closes), and its own references.

use super::checker::{Admission, CredentialChecker, DynChecker};
use super::client::LoginCredentials;
use super::credentials::SessionEnd;
use super::error::LoginError;
use super::keyring::{DynKeyring, Keyring, PerspectiveKey};
use super::portal::Portal;
use super::realm::{AvatarId, DynRealm, ErasedLogin, Realm};
use super::service::{GrantIn, GrantOut, grant};
use super::store::contract::MAX_USERNAME_LEN;
use crate::codec::{Codec, Postcard};
use crate::connection::handle::Connection;
use crate::dispatch::{CallContext, Referenceable, decode_args, reply_result};
use crate::interface::{AvatarInterface, Interface};
use crate::refs::handle::{AnyRemote, MethodTimeout, Proxy, RemoteRef};
use crate::refs::local::Local;
use crate::refs::names::InterfaceInfo;
use crate::refs::remote::Remote;
use crate::reply::{DispatchError, Started};
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Wire names of the identity's methods.
mod method {
    pub(super) const PERSPECTIVE: &str = "tartine.identity.perspective";
    pub(super) const KEYS: &str = "tartine.identity.keys";
}

/// One service: its perspectives, each made by a realm of its own.
///
/// ```
/// # use tartine::cred::{AvatarId, LoggedIn, LoginError, NoMind, Realm, Service};
/// # use tartine::Remote;
/// # pub struct Player; #[tartine::avatar] impl Player { pub fn hello(&self) {} }
/// # pub struct Referee; #[tartine::avatar] impl Referee { pub fn whistle(&self) {} }
/// # struct Players; struct Referees;
/// # impl Realm for Players { type Avatar = Player; type Mind = NoMind;
/// #     async fn request_avatar(&self, _: AvatarId, _: Option<Remote<NoMind>>)
/// #         -> Result<LoggedIn<Player>, LoginError> { Ok(LoggedIn::new(Player)) } }
/// # impl Realm for Referees { type Avatar = Referee; type Mind = NoMind;
/// #     async fn request_avatar(&self, _: AvatarId, _: Option<Remote<NoMind>>)
/// #         -> Result<LoggedIn<Referee>, LoginError> { Ok(LoggedIn::new(Referee)) } }
/// let game = Service::new()
///     .with_perspective("player", Players)
///     .with_perspective("referee", Referees);
/// # let _ = game;
/// ```
#[derive(Default)]
pub struct Service {
    perspectives: HashMap<String, Arc<ServicePerspective>>,
}

/// A perspective of a service: the realm that makes its avatars, and their interface.
struct ServicePerspective {
    realm: Box<dyn DynRealm>,
    avatar: InterfaceInfo,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.perspectives.keys().collect();
        names.sort();
        f.debug_struct("Service")
            .field("perspectives", &names)
            .finish()
    }
}

impl Service {
    /// A service with no perspectives yet.
    pub fn new() -> Self {
        Service::default()
    }

    /// Adds the perspective `name`, whose avatars `realm` makes (for the identity that asks).
    pub fn with_perspective<R: Realm>(mut self, name: impl Into<String>, realm: R) -> Self {
        self.perspectives.insert(
            name.into(),
            Arc::new(ServicePerspective {
                avatar: InterfaceInfo::of::<<R::Avatar as Referenceable>::Interface>(),
                realm: Box::new(realm),
            }),
        );
        self
    }
}

/// Several named services behind one listener, sharing their credential checkers and one
/// keyring. Serve them with [`Server::bind_portal`](crate::Server::bind_portal)`(endpoint,
/// services.portal())`.
///
/// ```
/// # use tartine::cred::{AvatarId, LoggedIn, LoginError, NoMind, Realm, Service};
/// # use tartine::Remote;
/// # pub struct Member; #[tartine::avatar] impl Member { pub fn hello(&self) {} }
/// # struct Members;
/// # impl Realm for Members { type Avatar = Member; type Mind = NoMind;
/// #     async fn request_avatar(&self, _: AvatarId, _: Option<Remote<NoMind>>)
/// #         -> Result<LoggedIn<Member>, LoginError> { Ok(LoggedIn::new(Member)) } }
/// use tartine::cred::{InMemoryPasswords, MemoryKeyring, PerspectiveKey, Services};
///
/// let alice = AvatarId::User("alice".into());
/// let keyring = MemoryKeyring::new().with_key(alice, PerspectiveKey::new("chat", "member"));
/// let portal = Services::new(keyring)
///     .with_checker(InMemoryPasswords::new().with_user("alice", "1234")?)
///     .with_service("chat", Service::new().with_perspective("member", Members))
///     .portal();
/// # let _ = portal;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Services {
    services: HashMap<String, Service>,
    keyring: Box<dyn DynKeyring>,
    checkers: Vec<Box<dyn DynChecker>>,
}

impl fmt::Debug for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.services.keys().collect();
        names.sort();
        f.debug_struct("Services")
            .field("services", &names)
            .field("checkers", &self.checkers.len())
            .finish_non_exhaustive()
    }
}

impl Services {
    /// No services yet; identities' keys are looked up in `keyring`.
    pub fn new(keyring: impl Keyring) -> Self {
        Services {
            services: HashMap::new(),
            keyring: Box::new(keyring),
            checkers: Vec::new(),
        }
    }

    /// Adds a credential checker, shared by every service.
    pub fn with_checker<C: CredentialChecker>(mut self, checker: C) -> Self {
        self.checkers.push(Box::new(checker));
        self
    }

    /// Hosts `service` under `name`.
    pub fn with_service(mut self, name: impl Into<String>, service: Service) -> Self {
        self.services.insert(name.into(), service);
        self
    }

    /// The portal that serves these services: a login yields a [`Remote<Identity>`].
    pub fn portal(self) -> Portal {
        let reachable = self
            .services
            .values()
            .flat_map(|service| service.perspectives.values())
            .map(|perspective| perspective.avatar)
            .collect();
        let hosted = Arc::new(Hosted {
            services: self
                .services
                .into_iter()
                .map(|(name, service)| (name, service.perspectives))
                .collect(),
            keyring: self.keyring,
        });
        Portal::from_parts(
            Box::new(IdentityRealm { hosted }),
            InterfaceInfo::of::<Identity>(),
            reachable,
            self.checkers,
        )
    }
}

/// What the identities of one portal can reach.
struct Hosted {
    services: HashMap<String, HashMap<String, Arc<ServicePerspective>>>,
    keyring: Box<dyn DynKeyring>,
}

impl Hosted {
    /// The perspective an identity asked for, if its keyring holds the key now: by name, or
    /// the first (in key order) of the service whose avatars are `interface`.
    async fn choose(
        &self,
        identity: &AvatarId,
        service: &str,
        perspective: Option<&str>,
        interface: &str,
    ) -> Result<Arc<ServicePerspective>, LoginError> {
        // The keyring first, whatever the service: an unknown service must not answer sooner
        // than a known one the identity holds no key for.
        let keys = self.keyring.keys(identity).await.map_err(|error| {
            tracing::warn!(%error, "keyring failed; perspective refused");
            LoginError::StoreUnavailable
        })?;
        let Some(hosted) = self.services.get(service) else {
            return Err(LoginError::NotPermitted);
        };
        let mut held = keys
            .iter()
            .filter(|key| key.service == service)
            .filter(|key| perspective.is_none_or(|name| key.perspective == name))
            .filter_map(|key| hosted.get(&key.perspective));
        match perspective {
            Some(_) => {
                let chosen = held.next().ok_or(LoginError::NotPermitted)?;
                if chosen.avatar.name != interface {
                    return Err(LoginError::WrongAvatarType {
                        expected: interface.to_owned(),
                        found: chosen.avatar.name.to_owned(),
                    });
                }
                Ok(Arc::clone(chosen))
            }
            None => held
                .find(|chosen| chosen.avatar.name == interface)
                .cloned()
                .ok_or(LoginError::NotPermitted),
        }
    }

    /// The keys of `identity` to perspectives this server hosts.
    async fn keys(&self, identity: &AvatarId) -> Result<Vec<PerspectiveKey>, LoginError> {
        let keys = self.keyring.keys(identity).await.map_err(|error| {
            tracing::warn!(%error, "keyring failed");
            LoginError::StoreUnavailable
        })?;
        Ok(keys
            .into_iter()
            .filter(|key| {
                self.services
                    .get(&key.service)
                    .is_some_and(|service| service.contains_key(&key.perspective))
            })
            .collect())
    }
}

/// The realm of a services portal: a login yields the identity.
struct IdentityRealm {
    hosted: Arc<Hosted>,
}

impl DynRealm for IdentityRealm {
    fn request(
        &self,
        id: AvatarId,
        _mind: Option<RemoteRef>,
    ) -> BoxFuture<'_, Result<ErasedLogin, LoginError>> {
        let identity = Arc::new(IdentityObject {
            id,
            hosted: Arc::clone(&self.hosted),
        });
        Box::pin(std::future::ready(Ok(ErasedLogin {
            avatar: identity.clone(),
            object: identity,
            interface: Identity::NAME,
            logout: None,
        })))
    }
}

/// The identity as the server holds it: who proved themselves, and what they may reach.
struct IdentityObject {
    id: AvatarId,
    hosted: Arc<Hosted>,
}

impl IdentityObject {
    async fn perspective(
        &self,
        cx: &CallContext,
        service: String,
        perspective: Option<String>,
        interface: String,
        mind: Option<AnyRemote>,
    ) -> Result<GrantOut, LoginError> {
        let too_long = |name: &str| name.len() > MAX_USERNAME_LEN;
        if too_long(&service) || perspective.as_deref().is_some_and(too_long) {
            return Err(LoginError::NotPermitted);
        }
        // A perspective ends with the session the identity's own login belongs to, if any (a
        // central authentication server's). Taken before anything is awaited: the identity's
        // login may end meanwhile (a logout sent right behind this call), and lets go of its
        // session then; an identity whose login already ended gets nothing.
        let identity = cx.site.perspective.as_ref();
        let session = identity.and_then(|identity| identity.held::<SessionEnd>());
        if identity.is_some_and(|identity| identity.ended().is_cancelled()) {
            return Err(LoginError::NotLoggedIn);
        }
        let chosen = self
            .hosted
            .choose(&self.id, &service, perspective.as_deref(), &interface)
            .await?;
        let admission = match session {
            Some(session) => Admission::ending_with(self.id.clone(), session),
            None => Admission::new(self.id.clone()),
        };
        grant(cx, &*chosen.realm, admission, mind).await
    }
}

impl Referenceable for IdentityObject {
    type Interface = Identity;

    fn dispatch<C: Codec>(
        self: Arc<Self>,
        name: &str,
        args: &[u8],
        cx: &CallContext,
    ) -> Result<Started, DispatchError> {
        let cx = cx.clone();
        match name {
            method::PERSPECTIVE => {
                let (service, perspective, interface, mind): (
                    String,
                    Option<String>,
                    String,
                    Option<AnyRemote>,
                ) = decode_args::<C, _>(&cx, args)?;
                Ok(Started::Running(Box::pin(async move {
                    let result = self
                        .perspective(&cx, service, perspective, interface, mind)
                        .await;
                    reply_result::<C, _, _>(&cx, result)
                })))
            }
            method::KEYS => {
                let (): () = decode_args::<C, _>(&cx, args)?;
                Ok(Started::Running(Box::pin(async move {
                    let result = self.hosted.keys(&self.id).await;
                    reply_result::<C, _, _>(&cx, result)
                })))
            }
            _ => Err(DispatchError::NoSuchMethod),
        }
    }
}

/// A proved identity, as a login to [`Services`] yields it: a `Remote<Identity>` asks for
/// perspectives by key.
///
/// ```no_run
/// # async fn run(connection: tartine::Connection) -> Result<(), tartine::cred::LoginError> {
/// # pub struct Member; #[tartine::avatar] impl Member { pub fn hello(&self) {} }
/// use tartine::cred::{Identity, LoginCredentials};
///
/// let identity = connection
///     .login::<Identity>(LoginCredentials::password("alice", "1234"))
///     .await?;
/// let member = identity.perspective::<Member>("chat", "member").await?;
/// let keys = identity.keys().await?;
/// # let _ = (member, keys);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Identity;

// Not a suggestion for other types' errors.
#[diagnostic::do_not_recommend]
impl Interface for Identity {
    const NAME: &'static str = "tartine.Identity";
    const METHODS: &'static [&'static str] = &[method::PERSPECTIVE, method::KEYS];
    type Proxy = IdentityProxy;
}

#[diagnostic::do_not_recommend]
impl AvatarInterface for Identity {}

/// The proxy of a [`Remote<Identity>`](Identity): asks for perspectives by key.
#[derive(Debug, Clone)]
pub struct IdentityProxy {
    reference: RemoteRef,
}

impl Proxy for IdentityProxy {
    fn from_remote_ref(reference: RemoteRef) -> Self {
        IdentityProxy { reference }
    }

    fn remote_ref(&self) -> &RemoteRef {
        &self.reference
    }
}

impl IdentityProxy {
    /// The perspective `perspective` of `service`, whose avatar is an `A`.
    ///
    /// # Errors
    /// [`LoginError::NotPermitted`] if the server hosts no such service or perspective, or
    /// the identity's keyring lacks the key (the three are not told apart);
    /// [`LoginError::WrongAvatarType`] if the perspective's avatar is not an `A`; and the
    /// others of a login ([`LoginError::TooManyLogins`], ...).
    pub async fn perspective<A: AvatarInterface + ?Sized>(
        &self,
        service: &str,
        perspective: &str,
    ) -> Result<Remote<A>, LoginError> {
        self.request::<A, super::NoMind>(service, Some(perspective), None)
            .await
    }

    /// As [`perspective`](Self::perspective), passing `mind` (one of our objects) for the
    /// perspective's avatar to call back.
    ///
    /// # Errors
    /// As [`perspective`](Self::perspective).
    pub async fn perspective_with_mind<A: AvatarInterface + ?Sized, M: Referenceable>(
        &self,
        service: &str,
        perspective: &str,
        mind: impl Into<Local<M>>,
    ) -> Result<Remote<A>, LoginError> {
        self.request::<A, M>(service, Some(perspective), Some(mind.into()))
            .await
    }

    /// The first perspective of `service` (in key order) that the identity holds a key to
    /// and whose avatar is an `A`.
    ///
    /// # Errors
    /// As [`perspective`](Self::perspective): [`LoginError::NotPermitted`] if there is none.
    pub async fn service<A: AvatarInterface + ?Sized>(
        &self,
        service: &str,
    ) -> Result<Remote<A>, LoginError> {
        self.request::<A, super::NoMind>(service, None, None).await
    }

    /// The identity's keys to perspectives this server hosts.
    ///
    /// # Errors
    /// [`LoginError::StoreUnavailable`] if the keyring cannot be read; [`LoginError::Call`]
    /// if the call fails.
    pub async fn keys(&self) -> Result<Vec<PerspectiveKey>, LoginError> {
        self.reference
            .call_result::<Postcard, _, Vec<PerspectiveKey>, LoginError>(
                method::KEYS,
                MethodTimeout::DEFAULT,
                &(),
            )
            .await
            .map_err(LoginError::from)
    }

    async fn request<A: AvatarInterface + ?Sized, M: Referenceable>(
        &self,
        service: &str,
        perspective: Option<&str>,
        mind: Option<Local<M>>,
    ) -> Result<Remote<A>, LoginError> {
        let grant: GrantIn = self
            .reference
            .call_result::<Postcard, _, GrantIn, LoginError>(
                method::PERSPECTIVE,
                MethodTimeout::DEFAULT,
                &(service, perspective, A::NAME, mind),
            )
            .await
            .map_err(LoginError::from)?;
        if grant.interface != A::NAME {
            return Err(LoginError::WrongAvatarType {
                expected: A::NAME.to_owned(),
                found: grant.interface,
            });
        }
        Ok(Remote::from_ref(grant.avatar.0))
    }
}

impl Connection {
    /// Logs in to the service `service` of a server that hosts several ([`Services`]): proves
    /// `credentials`, takes the first perspective of the service that the identity holds a
    /// key to and whose avatar is an `A`, and ends the identity's own login.
    ///
    /// # Errors
    /// Those of [`login`](Self::login), and of [`IdentityProxy::service`]: an unknown service
    /// and a service the identity holds no key for are both [`LoginError::NotPermitted`].
    pub async fn login_service<A: AvatarInterface + ?Sized>(
        &self,
        service: &str,
        credentials: LoginCredentials,
    ) -> Result<Remote<A>, LoginError> {
        let identity = self.login::<Identity>(credentials).await?;
        let avatar = identity.service::<A>(service).await;
        let _ = self.logout(&identity).await;
        avatar
    }
}
