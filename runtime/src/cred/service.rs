//! Provides the login service: the root object of a connection to a portal, and the only
//! object reachable before a login. Its methods run the challenge-response, ask the realm for
//! the avatar, and end logins.

use super::checker::{CredentialKind, Credentials, VerifiedPassword};
use super::error::LoginError;
use super::portal::PortalInner;
use super::scram::{self, Key, Nonce, PasswordVerifier};
use crate::codec::Codec;
use crate::dispatch::{CallContext, DispatchError, Object, Referenceable, Started};
use crate::lock::Lock;
use crate::refs::{AnyRemote, Exported, Proxy, RefError, RefTag, RemoteRef, scope};
use crate::session::Session;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The interface name of the login service.
pub(crate) const PORTAL_INTERFACE: &str = "tartine::Portal";

/// Wire names of the login service's methods.
pub(crate) mod method {
    pub(crate) const PASSWORD_BEGIN: &str = "tartine.login.password.begin";
    pub(crate) const PASSWORD_FINISH: &str = "tartine.login.password.finish";
    pub(crate) const ANONYMOUS: &str = "tartine.login.anonymous";
    pub(crate) const LOGOUT: &str = "tartine.logout";
}

/// How many challenges may wait for an answer on one connection.
const MAX_CHALLENGES: usize = 16;

/// The longest username accepted, in bytes.
const MAX_USERNAME: usize = 1024;

/// What the server answers to the start of a password login.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ChallengeMessage {
    pub(crate) challenge: u64,
    pub(crate) salt: Vec<u8>,
    pub(crate) iterations: u32,
    pub(crate) server_nonce: Nonce,
}

/// A granted avatar as the server sends it: exported through the new login's session.
pub(crate) struct GrantOut {
    interface: &'static str,
    object: Arc<dyn Object>,
    session: Arc<Session>,
    server_signature: Option<Key>,
}

impl Serialize for GrantOut {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let id = scope::export_through(Arc::clone(&self.object), Arc::clone(&self.session))
            .map_err(S::Error::custom)?;
        (self.interface, RefTag::Sender(id), self.server_signature).serialize(serializer)
    }
}

/// A granted avatar as the client receives it.
#[derive(Deserialize)]
pub(crate) struct GrantIn {
    pub(crate) interface: String,
    pub(crate) avatar: AnyRemote,
    pub(crate) server_signature: Option<Key>,
}

/// One of our exports handed back, whatever its type (the avatar of a logout).
struct AnyLocal(Exported);

impl<'de> Deserialize<'de> for AnyLocal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match RefTag::deserialize(deserializer)? {
            RefTag::Receiver(id) => scope::resolve_exported(id)
                .map(AnyLocal)
                .map_err(D::Error::custom),
            RefTag::Sender(_) => Err(D::Error::custom(scope::record(RefError::WrongDirection {
                expected: "receiver",
            }))),
        }
    }
}

/// A challenge waiting for its answer.
struct Pending {
    username: String,
    checker: usize,
    verifier: PasswordVerifier,
    known: bool,
    auth_message: Vec<u8>,
}

/// The login service of one connection.
pub(crate) struct PortalRoot {
    portal: Arc<PortalInner>,
    challenges: Lock<HashMap<u64, Pending>>,
    next_challenge: AtomicU64,
}

impl PortalRoot {
    pub(crate) fn new(portal: Arc<PortalInner>) -> Self {
        PortalRoot {
            portal,
            challenges: Lock::new(HashMap::new()),
            next_challenge: AtomicU64::new(1),
        }
    }

    async fn begin(
        &self,
        username: String,
        client_nonce: Nonce,
    ) -> Result<ChallengeMessage, LoginError> {
        let (checker_index, checker) = self
            .portal
            .checker_for(CredentialKind::Password)
            .ok_or(LoginError::NoChecker(CredentialKind::Password))?;
        if username.len() > MAX_USERNAME {
            return Err(LoginError::Refused("username too long".to_owned()));
        }
        if self.challenges.lock().len() >= MAX_CHALLENGES {
            return Err(LoginError::TooManyChallenges);
        }
        let (verifier, known) = self.portal.verifier(checker, &username).await;
        let server_nonce =
            scram::nonce().map_err(|error| LoginError::Internal(error.to_string()))?;
        let auth_message = scram::auth_message(
            &username,
            &client_nonce,
            &server_nonce,
            verifier.salt(),
            verifier.iterations(),
        );
        let challenge = self.next_challenge.fetch_add(1, Ordering::Relaxed);
        let message = ChallengeMessage {
            challenge,
            salt: verifier.salt().to_vec(),
            iterations: verifier.iterations(),
            server_nonce,
        };
        let mut challenges = self.challenges.lock();
        if challenges.len() >= MAX_CHALLENGES {
            return Err(LoginError::TooManyChallenges);
        }
        challenges.insert(
            challenge,
            Pending {
                username,
                checker: checker_index,
                verifier,
                known,
                auth_message,
            },
        );
        Ok(message)
    }

    async fn finish(
        &self,
        cx: &CallContext,
        challenge: u64,
        proof: Key,
        mind: Option<AnyRemote>,
    ) -> Result<GrantOut, LoginError> {
        let pending = self
            .challenges
            .lock()
            .remove(&challenge)
            .ok_or(LoginError::UnknownChallenge)?;
        let signature = scram::verify(&pending.verifier, &pending.auth_message, &proof);
        let signature = match signature {
            Some(signature) if pending.known => signature,
            _ => return Err(LoginError::Unauthorized),
        };
        let checker = self
            .portal
            .checkers
            .get(pending.checker)
            .ok_or_else(|| LoginError::Internal("checker vanished".to_owned()))?;
        let credentials = Credentials::Password(VerifiedPassword::new(pending.username));
        let id = checker.check(&credentials).await?;
        self.grant(cx, id, mind, Some(signature)).await
    }

    async fn anonymous(
        &self,
        cx: &CallContext,
        mind: Option<AnyRemote>,
    ) -> Result<GrantOut, LoginError> {
        let (_, checker) = self
            .portal
            .checker_for(CredentialKind::Anonymous)
            .ok_or(LoginError::NoChecker(CredentialKind::Anonymous))?;
        let id = checker.check(&Credentials::Anonymous).await?;
        self.grant(cx, id, mind, None).await
    }

    async fn grant(
        &self,
        cx: &CallContext,
        id: super::AvatarId,
        mind: Option<AnyRemote>,
        server_signature: Option<Key>,
    ) -> Result<GrantOut, LoginError> {
        tracing::debug!(parent: &cx.shared.span, avatar = %id, "login");
        let login = self
            .portal
            .realm
            .request(id, mind.map(|mind| mind.0))
            .await?;
        let session = Session::new(login.avatar, Arc::clone(&login.object), login.logout);
        if !cx.shared.add_session(Arc::clone(&session)) {
            session.end();
            return Err(LoginError::Call(crate::CallError::ConnectionLost));
        }
        Ok(GrantOut {
            interface: login.interface,
            object: login.object,
            session,
            server_signature,
        })
    }

    fn logout(&self, cx: &CallContext, avatar: AnyLocal) -> Result<(), LoginError> {
        let session = avatar.0.session.ok_or(LoginError::NotLoggedIn)?;
        let same =
            Arc::as_ptr(&session.object).cast::<()>() == Arc::as_ptr(&avatar.0.object).cast::<()>();
        if !same {
            return Err(LoginError::NotLoggedIn);
        }
        cx.shared.end_session(&session);
        Ok(())
    }
}

/// The proxy type of the login service; clients call it through `Connection::login`.
#[derive(Debug, Clone)]
pub(crate) struct PortalProxy {
    reference: RemoteRef,
}

impl Proxy for PortalProxy {
    fn from_remote_ref(reference: RemoteRef) -> Self {
        PortalProxy { reference }
    }

    fn remote_ref(&self) -> &RemoteRef {
        &self.reference
    }
}

impl Referenceable for PortalRoot {
    const INTERFACE: &'static str = PORTAL_INTERFACE;
    const METHODS: &'static [&'static str] = &[
        method::PASSWORD_BEGIN,
        method::PASSWORD_FINISH,
        method::ANONYMOUS,
        method::LOGOUT,
    ];
    type Proxy = PortalProxy;

    fn dispatch<C: Codec>(
        self: Arc<Self>,
        name: &str,
        args: &[u8],
        cx: &CallContext,
    ) -> Result<Started, DispatchError> {
        let cx = cx.clone();
        match name {
            method::PASSWORD_BEGIN => {
                let (username, nonce): (String, Nonce) =
                    C::decode(args).map_err(DispatchError::bad_arguments)?;
                Ok(Started::Running(Box::pin(async move {
                    let result = self.begin(username, nonce).await;
                    cx.reply_result::<C, _, _>(result)
                })))
            }
            method::PASSWORD_FINISH => {
                let (challenge, proof, mind): (u64, Key, Option<AnyRemote>) =
                    C::decode(args).map_err(DispatchError::bad_arguments)?;
                Ok(Started::Running(Box::pin(async move {
                    let result = self.finish(&cx, challenge, proof, mind).await;
                    cx.reply_result::<C, _, _>(result)
                })))
            }
            method::ANONYMOUS => {
                let (mind,): (Option<AnyRemote>,) =
                    C::decode(args).map_err(DispatchError::bad_arguments)?;
                Ok(Started::Running(Box::pin(async move {
                    let result = self.anonymous(&cx, mind).await;
                    cx.reply_result::<C, _, _>(result)
                })))
            }
            method::LOGOUT => {
                let (avatar,): (AnyLocal,) =
                    C::decode(args).map_err(DispatchError::bad_arguments)?;
                let result = self.logout(&cx, avatar);
                Ok(Started::Ready(cx.reply_result::<C, _, _>(result)))
            }
            _ => Err(DispatchError::NoSuchMethod),
        }
    }
}
