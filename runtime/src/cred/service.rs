//! Provides the login service: the root object of a connection to a portal, and the only
//! object reachable before a login. Its methods run the challenge-response, ask the realm for
//! the avatar, and end logins.

use super::checker::Admission;
use super::credentials::{
    CredentialKind, Credentials, PresentedToken, SessionEnd, VerifiedCertificate, VerifiedPassword,
};
use super::error::{LoginError, TokenError};
use super::portal::PortalInner;
use super::realm::DynRealm;
use super::scram::{self, Key, Nonce, PasswordVerifier};
use super::throttle;
use crate::address::AddressKey;
use crate::codec::Codec;
use crate::dispatch::{CallContext, Referenceable, decode_args, reply_result};
use crate::error::{CallError, CloseReason};
use crate::interface::Interface;
use crate::link::lifecycle::LoginRefused;
use crate::link::shared::{Object, Shared};
use crate::lock::Lock;
use crate::perspective::Perspective;
use crate::refs::error::{RefError, RefTag};
use crate::refs::handle::{AnyRemote, Proxy, RemoteRef};
use crate::refs::scope;
use crate::refs::table::Exported;
use crate::reply::{DispatchError, Started};
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The interface name of the login service.
pub(crate) const PORTAL_INTERFACE: &str = "tartine.Portal";

/// Wire names of the login service's methods.
pub(crate) mod method {
    pub(crate) const PASSWORD_BEGIN: &str = "tartine.login.password.begin";
    pub(crate) const PASSWORD_PROVE: &str = "tartine.login.password.prove";
    pub(crate) const PASSWORD_FINISH: &str = "tartine.login.password.finish";
    pub(crate) const ANONYMOUS: &str = "tartine.login.anonymous";
    pub(crate) const CERTIFICATE: &str = "tartine.login.certificate";
    pub(crate) const TOKEN: &str = "tartine.login.token";
    pub(crate) const LOGOUT: &str = "tartine.logout";
}

/// How many password logins may wait between their challenge and their end on one connection;
/// past it, the oldest not being proved makes room (see `make_room`).
const MAX_CHALLENGES: usize = 16;

/// How many logins that need no exchange (anonymous, certificate, token) may be checked at
/// once on one connection: past it, one fails with `TooManyChallenges`. A token check waits on
/// its issuer, so without this one connection could queue a call on that link per call it may
/// run (`Config::max_calls_in_flight`).
const MAX_CHECKING: usize = 16;

/// Why a token login from an address past its failed logins is refused unchecked.
const THROTTLED_ADDRESS: &str = "too many failed token logins, or token logins being checked, \
     from this address; try again later";

/// A token login among its peer's address's checks at once while its issuer is asked (see
/// [`Throttle::reserve_from`](throttle::Throttle::reserve_from)). Settled with the answer, as
/// a failure of the address if the token was made up. A check dropped before it answered
/// counts as a failure of the address and of the connection (so that cancelling does not ask
/// the issuer for free), unless the checker panicked or this side closed the connection for a
/// reason of its own (shutdown, room for a newer connection, the time to log in over).
struct TokenCheck<'a> {
    service: &'a PortalRoot,
    shared: &'a Shared,
    address: Option<AddressKey>,
    limit: crate::config::RateLimit,
    settled: bool,
}

impl<'a> TokenCheck<'a> {
    /// Counts the login against its address, if the address has room for it.
    fn reserve(service: &'a PortalRoot, cx: &'a CallContext) -> Option<Self> {
        let shared = &*cx.site.shared;
        let address = cx.peer_addr().map(|addr| AddressKey::of(addr.ip()));
        let limit = shared.config.failed_logins_per_address;
        service
            .portal
            .throttle
            .reserve_from(
                address,
                limit,
                shared.config.max_token_checks_per_address.max(1),
                Instant::now(),
            )
            // Made only once reserved: a check dropped unsettled counts as a failure.
            .then(|| TokenCheck {
                service,
                shared,
                address,
                limit,
                settled: false,
            })
    }

    /// The issuer answered: a made-up token counts as a failure of the address.
    fn settle(mut self, made_up: bool) {
        self.settled = true;
        self.service
            .portal
            .throttle
            .settle_from(self.address, self.limit, Instant::now(), made_up);
    }
}

impl Drop for TokenCheck<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // Unless the checker panicked, or this side closed the connection (shutting down,
        // making room for another, its time to log in over): the issuer did not answer, and
        // the peer is not to blame.
        let closed_here = matches!(
            self.shared.lifecycle.reason(),
            Some(
                CloseReason::Local
                    | CloseReason::Busy
                    | CloseReason::LoginTimeout
                    | CloseReason::RuntimeGone
            )
        );
        let blamed = !std::thread::panicking() && !closed_here;
        self.service
            .portal
            .throttle
            .settle_from(self.address, self.limit, Instant::now(), blamed);
        if !blamed {
            return;
        }
        let failures = self.service.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= self.shared.config.max_failed_logins_per_connection {
            tracing::info!(parent: &self.shared.span, failures, "too many failed logins; closing");
            self.shared.close(CloseReason::TooManyFailedLogins);
        }
    }
}

/// Whether a token login failed as a token made up or taken from someone else would: those
/// count against the address. A real token that expired, was revoked or went to the wrong
/// broker does not (clients behind one address retrying an old ticket would otherwise lock
/// everyone there out), nor does an issuer that could not answer.
fn is_made_up<T>(result: &Result<T, LoginError>) -> bool {
    matches!(
        result,
        Err(
            LoginError::Token(TokenError::Unknown | TokenError::WrongUser)
                | LoginError::Unauthorized
        )
    )
}

/// One login being checked, of at most [`MAX_CHECKING`] on its connection.
struct Checking<'a>(&'a AtomicUsize);

impl<'a> Checking<'a> {
    /// Counts one more login being checked on `checking`, if there is room.
    fn enter(checking: &'a AtomicUsize) -> Option<Self> {
        if checking.fetch_add(1, Ordering::AcqRel) >= MAX_CHECKING {
            checking.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Checking(checking))
    }
}

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The longest username accepted, in bytes.
const MAX_USERNAME: usize = 1024;

/// The longest token accepted, in bytes.
const MAX_TOKEN: usize = 1024;

/// What the server answers to the start of a password login.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ChallengeMessage {
    pub(crate) challenge: u64,
    pub(crate) salt: Vec<u8>,
    pub(crate) iterations: u32,
    pub(crate) server_nonce: Nonce,
}

/// A granted avatar as the server sends it: exported through the new login's perspective before
/// the reply is encoded, so a login that cannot hand out its avatar is no login.
pub(crate) struct GrantOut {
    interface: &'static str,
    id: u64,
}

impl Serialize for GrantOut {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let id = scope::hand_over(self.id).map_err(S::Error::custom)?;
        (self.interface, RefTag::Sender(id)).serialize(serializer)
    }
}

/// A granted avatar as the client receives it.
#[derive(Deserialize)]
pub(crate) struct GrantIn {
    /// The avatar's interface name, which a refused login puts in its error: cut as any
    /// peer's text.
    #[serde(deserialize_with = "crate::wire::bounded")]
    pub(crate) interface: String,
    pub(crate) avatar: AnyRemote,
}

/// One of our exports handed back, whatever its type (the avatar of a logout), or `None` if it
/// is gone: a logout of a login that ended already is `NotLoggedIn`, not a bad argument.
struct AnyLocal(Option<Exported<dyn Object>>);

impl<'de> Deserialize<'de> for AnyLocal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match RefTag::deserialize(deserializer)? {
            RefTag::Receiver(id) => scope::find_exported(id)
                .map(AnyLocal)
                .map_err(D::Error::custom),
            RefTag::Sender(_) => Err(D::Error::custom(scope::refuse(RefError::WrongDirection {
                expected: "receiver",
            }))),
        }
    }
}

/// A password login in progress: challenged, then proved.
enum Pending {
    /// The challenge is out; the proof has not come.
    Challenged {
        username: String,
        checker: usize,
        verifier: PasswordVerifier,
        known: bool,
        auth_message: Vec<u8>,
    },
    /// The proof is being checked: a `finish` sent with it (a login without a mind) waits.
    Proving(Arc<Notify>),
    /// The proof matched: the client may finish the login (and only now sends its mind).
    Proved { admission: Admission },
}

/// Makes room in a full table of password logins for one more: the oldest that is not being
/// proved goes (a login its client gave up on, most likely: nothing else takes them off).
/// `false` if every one is being proved.
fn make_room(challenges: &mut HashMap<u64, Pending>) -> bool {
    if challenges.len() < MAX_CHALLENGES {
        return true;
    }
    let oldest = challenges
        .iter()
        .filter(|(_, pending)| !matches!(pending, Pending::Proving(_)))
        .map(|(challenge, _)| *challenge)
        .min();
    match oldest {
        Some(challenge) => {
            challenges.remove(&challenge);
            true
        }
        None => false,
    }
}

/// Ends a proof in progress: takes a challenge still marked as being proved off the table,
/// and wakes the `finish` waiting for it.
struct ProvingGuard<'a> {
    challenges: &'a Lock<HashMap<u64, Pending>>,
    challenge: u64,
    notify: Arc<Notify>,
}

impl Drop for ProvingGuard<'_> {
    fn drop(&mut self) {
        {
            let mut challenges = self.challenges.lock();
            if matches!(challenges.get(&self.challenge), Some(Pending::Proving(_))) {
                challenges.remove(&self.challenge);
            }
        }
        self.notify.notify_waiters();
    }
}

/// The login service of one connection.
pub(crate) struct PortalRoot {
    portal: Arc<PortalInner>,
    challenges: Lock<HashMap<u64, Pending>>,
    next_challenge: AtomicU64,
    /// Failed logins on this connection.
    failures: AtomicU32,
    /// Logins being checked that need no exchange (see [`MAX_CHECKING`]).
    checking: AtomicUsize,
}

impl PortalRoot {
    pub(crate) fn new(portal: Arc<PortalInner>) -> Self {
        PortalRoot {
            portal,
            challenges: Lock::new(HashMap::new()),
            next_challenge: AtomicU64::new(1),
            failures: AtomicU32::new(0),
            checking: AtomicUsize::new(0),
        }
    }

    async fn begin(
        &self,
        cx: &CallContext,
        username: String,
        client_nonce: Nonce,
    ) -> Result<ChallengeMessage, LoginError> {
        if username.len() > MAX_USERNAME {
            return Err(LoginError::Refused("username too long".to_owned()));
        }
        if !make_room(&mut self.challenges.lock()) {
            return Err(LoginError::TooManyChallenges);
        }
        let (checker_index, verifier, known) = self.portal.verifier(&username).await?;
        let server_nonce =
            scram::nonce().map_err(|error| LoginError::Internal(error.to_string()))?;
        let auth_message = scram::auth_message(
            &username,
            &client_nonce,
            &server_nonce,
            verifier.salt(),
            verifier.iterations(),
            cx.channel_binding(),
        );
        let challenge = self.next_challenge.fetch_add(1, Ordering::Relaxed);
        let message = ChallengeMessage {
            challenge,
            salt: verifier.salt().to_vec(),
            iterations: verifier.iterations(),
            server_nonce,
        };
        let mut challenges = self.challenges.lock();
        if !make_room(&mut challenges) {
            return Err(LoginError::TooManyChallenges);
        }
        challenges.insert(
            challenge,
            Pending::Challenged {
                username,
                checker: checker_index,
                verifier,
                known,
                auth_message,
            },
        );
        Ok(message)
    }

    /// Checks the client's proof; answers the server's signature, so the client can tell a
    /// real server before it finishes the login and sends its mind.
    ///
    /// A failed proof, an unknown user and a throttled attempt get the same answer after the
    /// same delay; a throttled attempt is not checked at all.
    async fn prove(&self, cx: &CallContext, challenge: u64, proof: Key) -> Result<Key, LoginError> {
        let proving = Arc::new(Notify::new());
        let (username, checker, verifier, known, auth_message) = {
            let mut challenges = self.challenges.lock();
            match challenges.remove(&challenge) {
                Some(Pending::Challenged {
                    username,
                    checker,
                    verifier,
                    known,
                    auth_message,
                }) => {
                    challenges.insert(challenge, Pending::Proving(Arc::clone(&proving)));
                    (username, checker, verifier, known, auth_message)
                }
                // Proved already: each challenge is proved once.
                Some(proved) => {
                    challenges.insert(challenge, proved);
                    return Err(LoginError::UnknownChallenge);
                }
                None => return Err(LoginError::UnknownChallenge),
            }
        };
        // However the proof ends (matched, refused, or its call dropped), a `finish` waiting
        // for it wakes.
        let _proving = ProvingGuard {
            challenges: &self.challenges,
            challenge,
            notify: proving,
        };
        let config = &cx.site.shared.config;
        let limits = throttle::Limits {
            per_user: config.failed_logins_per_user,
            per_address: config.failed_logins_per_address,
        };
        let attempt = self.portal.throttle.attempt(
            &username,
            cx.peer_addr().map(|addr| AddressKey::of(addr.ip())),
        );
        let now = Instant::now();
        let allowed = self.portal.throttle.allows(attempt, limits, now);
        // Checked whether or not the attempt is allowed, so both take the same time.
        let signature = scram::verify(&verifier, &auth_message, &proof);
        let outcome = match signature {
            Some(signature) if allowed && known => {
                let checker = self
                    .portal
                    .checkers
                    .get(checker)
                    .ok_or_else(|| LoginError::Internal("checker vanished".to_owned()))?;
                let credentials = Credentials::Password(VerifiedPassword::new(username));
                checker
                    .admit(&credentials)
                    .await
                    .map(|admission| (admission, signature))
            }
            _ => Err(LoginError::Unauthorized),
        };
        match outcome {
            Ok((admission, signature)) => {
                self.portal.stats.succeeded.fetch_add(1, Ordering::Relaxed);
                self.challenges
                    .lock()
                    .insert(challenge, Pending::Proved { admission });
                Ok(signature)
            }
            Err(error) => {
                if allowed {
                    self.portal.throttle.failed(attempt, limits, now);
                    self.portal.stats.failed.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.portal.stats.throttled.fetch_add(1, Ordering::Relaxed);
                }
                self.failed(cx).await;
                Err(error)
            }
        }
    }

    /// Holds back the answer to a failed login, and closes the connection once it failed too
    /// often. The failure counts before the delay, so a peer that stops waiting for the answer
    /// (it cancels the call) still spends it, and a connection past its failures closes even
    /// then: at once if the call is cancelled, after the answer otherwise.
    async fn failed(&self, cx: &CallContext) {
        let shared = &cx.site.shared;
        let config = &shared.config;
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        let closing = (failures >= config.max_failed_logins_per_connection)
            .then(|| CloseIfCancelled(Some(&**shared)));
        if !config.failed_login_delay.is_zero() {
            tokio::time::sleep(config.failed_login_delay).await;
        }
        if let Some(mut closing) = closing {
            closing.0 = None;
            tracing::info!(parent: &shared.span, failures, "too many failed logins; closing");
            shared
                .lifecycle
                .close_after_reply(CloseReason::TooManyFailedLogins);
        }
    }

    /// Ends a proved password login: the realm makes the avatar, with the client's mind.
    async fn finish(
        &self,
        cx: &CallContext,
        challenge: u64,
        mind: Option<AnyRemote>,
    ) -> Result<GrantOut, LoginError> {
        let admission = loop {
            let proving = {
                let mut challenges = self.challenges.lock();
                match challenges.remove(&challenge) {
                    Some(Pending::Proved { admission }) => break admission,
                    // Sent right behind its proof (a login without a mind): wait for the
                    // proof's outcome.
                    Some(Pending::Proving(notify)) => {
                        challenges.insert(challenge, Pending::Proving(Arc::clone(&notify)));
                        notify
                    }
                    // Not proved yet: a finish cannot skip the proof.
                    Some(challenged) => {
                        challenges.insert(challenge, challenged);
                        return Err(LoginError::UnknownChallenge);
                    }
                    None => return Err(LoginError::UnknownChallenge),
                }
            };
            let notified = proving.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // The proof may have ended between the look and the registration.
            if matches!(
                self.challenges.lock().get(&challenge),
                Some(Pending::Proving(_))
            ) {
                notified.await;
            }
        };
        self.grant(cx, admission, mind).await
    }

    async fn anonymous(
        &self,
        cx: &CallContext,
        mind: Option<AnyRemote>,
    ) -> Result<GrantOut, LoginError> {
        self.check_and_grant(cx, CredentialKind::Anonymous, mind, || {
            Ok(Credentials::Anonymous)
        })
        .await
    }

    /// Logs in by the certificate the connection's TLS handshake verified.
    async fn certificate(
        &self,
        cx: &CallContext,
        mind: Option<AnyRemote>,
    ) -> Result<GrantOut, LoginError> {
        self.check_and_grant(cx, CredentialKind::Certificate, mind, || {
            let der = cx
                .site
                .shared
                .peer_certificate()
                .cloned()
                .ok_or(LoginError::NoCertificate)?;
            Ok(Credentials::Certificate(VerifiedCertificate::new(der)))
        })
        .await
    }

    /// Logs in by a token another server issued: the token checker asks its issuer. A refused
    /// token counts as a failed login on the connection.
    async fn token(
        &self,
        cx: &CallContext,
        username: String,
        token: Vec<u8>,
        mind: Option<AnyRemote>,
    ) -> Result<GrantOut, LoginError> {
        if username.len() > MAX_USERNAME || token.len() > MAX_TOKEN {
            return Err(LoginError::Token(TokenError::Unknown));
        }
        let result = self
            .check_and_grant(cx, CredentialKind::Token, mind, || {
                Ok(Credentials::Token(PresentedToken::new(username, token)))
            })
            .await;
        if matches!(result, Err(LoginError::Token(_) | LoginError::Unauthorized)) {
            self.failed(cx).await;
        }
        result
    }

    /// A login whose credentials need no exchange: the checker for `kind` (if the portal has
    /// one) checks what `credentials` gives, and the realm makes the avatar.
    async fn check_and_grant(
        &self,
        cx: &CallContext,
        kind: CredentialKind,
        mind: Option<AnyRemote>,
        credentials: impl FnOnce() -> Result<Credentials, LoginError>,
    ) -> Result<GrantOut, LoginError> {
        let (_, checker) = self
            .portal
            .checker_for(kind)
            .ok_or(LoginError::NoChecker(kind))?;
        let _checking = Checking::enter(&self.checking).ok_or(LoginError::TooManyChallenges)?;
        // A token's check costs its issuer a question: it counts among the address's checks at
        // once while it runs, and as a failure if the token was made up (see `TokenCheck`).
        let token_check = if kind == CredentialKind::Token {
            let Some(check) = TokenCheck::reserve(self, cx) else {
                // Refused unchecked, as a failed login of the connection.
                self.failed(cx).await;
                return Err(LoginError::Refused(THROTTLED_ADDRESS.to_owned()));
            };
            Some(check)
        } else {
            None
        };
        let admitted = match credentials() {
            Ok(credentials) => checker.admit(&credentials).await,
            Err(error) => Err(error),
        };
        if let Some(check) = token_check {
            check.settle(is_made_up(&admitted));
        }
        self.grant(cx, admitted?, mind).await
    }

    async fn grant(
        &self,
        cx: &CallContext,
        admission: Admission,
        mind: Option<AnyRemote>,
    ) -> Result<GrantOut, LoginError> {
        grant(cx, &*self.portal.realm, admission, mind).await
    }

    fn logout(&self, cx: &CallContext, avatar: AnyLocal) -> Result<(), LoginError> {
        let avatar = avatar.0.ok_or(LoginError::NotLoggedIn)?;
        let perspective = avatar.perspective.ok_or(LoginError::NotLoggedIn)?;
        if !perspective.is_avatar(&avatar.object) {
            return Err(LoginError::NotLoggedIn);
        }
        cx.site.shared.end_login(&perspective);
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

impl Interface for PortalRoot {
    const NAME: &'static str = PORTAL_INTERFACE;
    const METHODS: &'static [&'static str] = &[
        method::PASSWORD_BEGIN,
        method::PASSWORD_PROVE,
        method::PASSWORD_FINISH,
        method::ANONYMOUS,
        method::CERTIFICATE,
        method::TOKEN,
        method::LOGOUT,
    ];
    type Proxy = PortalProxy;
}

impl Referenceable for PortalRoot {
    type Interface = PortalRoot;

    fn dispatch<C: Codec>(
        self: Arc<Self>,
        name: &str,
        args: &[u8],
        cx: &CallContext,
    ) -> Result<Started, DispatchError> {
        let cx = cx.clone();
        match name {
            method::PASSWORD_BEGIN => {
                let (username, nonce): (String, Nonce) = decode_args::<C, _>(&cx, args)?;
                Ok(Started::Running(Box::pin(async move {
                    let result = self.begin(&cx, username, nonce).await;
                    reply_result::<C, _, _>(&cx, result)
                })))
            }
            method::PASSWORD_PROVE => {
                let (challenge, proof): (u64, Key) = decode_args::<C, _>(&cx, args)?;
                Ok(Started::Running(Box::pin(async move {
                    let result = self.prove(&cx, challenge, proof).await;
                    reply_result::<C, _, _>(&cx, result)
                })))
            }
            method::PASSWORD_FINISH => {
                let (challenge, mind): (u64, Option<AnyRemote>) = decode_args::<C, _>(&cx, args)?;
                Ok(Started::Running(Box::pin(async move {
                    let result = self.finish(&cx, challenge, mind).await;
                    reply_result::<C, _, _>(&cx, result)
                })))
            }
            method::ANONYMOUS => {
                let (mind,): (Option<AnyRemote>,) = decode_args::<C, _>(&cx, args)?;
                Ok(Started::Running(Box::pin(async move {
                    let result = self.anonymous(&cx, mind).await;
                    reply_result::<C, _, _>(&cx, result)
                })))
            }
            method::CERTIFICATE => {
                let (mind,): (Option<AnyRemote>,) = decode_args::<C, _>(&cx, args)?;
                Ok(Started::Running(Box::pin(async move {
                    let result = self.certificate(&cx, mind).await;
                    reply_result::<C, _, _>(&cx, result)
                })))
            }
            method::TOKEN => {
                let (username, token, mind): (String, Vec<u8>, Option<AnyRemote>) =
                    decode_args::<C, _>(&cx, args)?;
                Ok(Started::Running(Box::pin(async move {
                    let result = self.token(&cx, username, token, mind).await;
                    reply_result::<C, _, _>(&cx, result)
                })))
            }
            method::LOGOUT => {
                let (avatar,): (AnyLocal,) = decode_args::<C, _>(&cx, args)?;
                let result = self.logout(&cx, avatar);
                Ok(Started::Ready(reply_result::<C, _, _>(&cx, result)))
            }
            _ => Err(DispatchError::NoSuchMethod),
        }
    }
}

/// Makes a login for `id` on the connection of `cx`: `realm` makes the avatar (with the
/// client's mind), and the avatar is exported through a perspective of its own, so that the
/// login has its own logout action and references. A login that cannot hand out its avatar is
/// undone whole.
pub(crate) async fn grant(
    cx: &CallContext,
    realm: &dyn DynRealm,
    admission: Admission,
    mind: Option<AnyRemote>,
) -> Result<GrantOut, LoginError> {
    let Admission { id, ends } = admission;
    let shared = &cx.site.shared;
    let limit = shared.config.max_logins_per_connection;
    // A login asked for through another (an identity's perspective) may take that one's
    // place: `login_service` ends the identity at once, so it is not counted against the new
    // login. The connection then holds one login past the limit until it does.
    let through_a_login = usize::from(cx.site.perspective.is_some());
    if shared.lifecycle.logins().saturating_sub(through_a_login) >= limit {
        return Err(LoginError::TooManyLogins { limit });
    }
    tracing::debug!(parent: &shared.span, avatar = %id, "login");
    let login = realm.request(id, mind.map(|mind| mind.0)).await?;
    let perspective = Perspective::new(login.avatar, login.interface, login.logout);
    // The avatar's reference first: if the connection holds too many, the login fails
    // whole, and its logout action runs.
    let exported = shared
        .interfaces
        .claim(login.object.interface(), login.object.interface_key())
        .and_then(|()| {
            shared
                .tables
                .exports
                .lock()
                .export(login.object, Some(Arc::clone(&perspective)))
        });
    let avatar_id = match exported {
        Ok(avatar_id) => avatar_id,
        Err(error) => {
            perspective.end();
            return Err(match error {
                RefError::TooMany { limit } => LoginError::TooManyReferences { limit },
                other => LoginError::Internal(other.to_string()),
            });
        }
    };
    if let Err(refused) = shared.add_login(Arc::clone(&perspective), through_a_login) {
        let mut exports = shared.tables.exports.lock();
        // The avatar was never sent: its sending is taken back, not left for a release that
        // will not come.
        let unsent = exports.release(avatar_id, 1);
        let revoked = exports.revoke(&perspective);
        drop(exports);
        drop((unsent, revoked));
        perspective.end();
        return Err(match refused {
            LoginRefused::TooMany { limit } => LoginError::TooManyLogins { limit },
            LoginRefused::Closed => LoginError::Call(CallError::ConnectionLost),
        });
    }
    if let Some(ends) = ends {
        end_with_session(shared, &perspective, ends);
    }
    Ok(GrantOut {
        interface: login.interface,
        id: avatar_id,
    })
}

/// Ends the login of `perspective` when `ends` fires; forgets it once the login ends otherwise.
fn end_with_session(shared: &Arc<Shared>, perspective: &Arc<Perspective>, ends: SessionEnd) {
    let (shared, login) = (Arc::downgrade(shared), Arc::downgrade(perspective));
    let ended = perspective.ended();
    let session = ends.token();
    // The login holds the signal until it ends, so the checker can tell which sessions still
    // have logins (`SessionEnd::is_shared`) the moment they end.
    perspective.hold_until_end(Box::new(ends));
    tokio::spawn(async move {
        tokio::select! {
            () = session.cancelled() => {
                if let (Some(shared), Some(login)) = (shared.upgrade(), login.upgrade()) {
                    tracing::debug!(parent: &shared.span, "login ended with its session");
                    shared.end_login(&login);
                }
            }
            () = ended.cancelled() => {}
        }
    });
}

/// Closes a connection past its failed logins if the failed call is dropped (cancelled by the
/// peer, or the connection closing) before its answer leaves.
struct CloseIfCancelled<'a>(Option<&'a Shared>);

impl Drop for CloseIfCancelled<'_> {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            tracing::info!(parent: &shared.span, "too many failed logins; closing");
            shared.close(CloseReason::TooManyFailedLogins);
        }
    }
}
