//! Provides the authentication server: users log in once, by password, and get a session;
//! brokers check the tickets of those sessions, and hear when one ends.

use super::protocol::{
    AUTH_SERVICE, AuthBroker, AuthUser, BrokerMind, SessionId, Ticket, VerifiedTicket, hex,
};
use super::sessions::{DynSessions, SessionRecord, SessionStore, TicketRecord};
use crate::cred::{
    AvatarId, CredentialChecker, Keyring, LoggedIn, LoginError, PerspectiveKey, Portal, Realm,
    Service, Services, StoreError, TokenError,
};
use crate::lock::Lock;
use crate::refs::remote::Remote;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest broker name a ticket may be asked for, in bytes.
const MAX_AUDIENCE: usize = 256;

/// The most sessions a broker may ask about at once.
const MAX_ACTIVE_QUERY: usize = 10_000;

/// How long the server waits for a broker to take a session-ended notice.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often, at most, expired sessions and tickets are removed from the store.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Sets up an authentication server; [`portal`](Self::portal) gives what
/// [`Server::bind_portal`](crate::Server::bind_portal) serves.
///
/// Users log in with any credentials its checkers accept (a password store, say) and get a
/// [`Remote<dyn AuthUser>`](AuthUser) holding a new session. Brokers are accounts of the same
/// checkers, named with [`with_broker`](Self::with_broker); they get a
/// [`Remote<dyn AuthBroker>`](AuthBroker) instead.
pub struct AuthServer {
    services_checkers: Vec<Box<dyn FnOnce(Services) -> Services + Send>>,
    brokers: HashSet<String>,
    hub: Hub,
}

impl fmt::Debug for AuthServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthServer")
            .field("brokers", &self.brokers)
            .field("session_lifetime", &self.hub.session_lifetime)
            .field("ticket_lifetime", &self.hub.ticket_lifetime)
            .finish_non_exhaustive()
    }
}

/// What the perspectives of one authentication server share.
struct Hub {
    sessions: Arc<dyn DynSessions>,
    /// The minds of the brokers logged in now, by login.
    brokers: Lock<HashMap<u64, Remote<dyn BrokerMind>>>,
    next_broker: AtomicU64,
    session_lifetime: Duration,
    ticket_lifetime: Duration,
    tickets_per_minute: u32,
    /// How many sessions one user may have going at once; a login past it ends the oldest.
    sessions_per_user: usize,
    clock: Arc<dyn Fn() -> SystemTime + Send + Sync>,
    /// When expired rows were last removed (Unix milliseconds).
    last_prune: AtomicU64,
}

impl Hub {
    /// Removes expired sessions and tickets, at most once per [`PRUNE_EVERY`], in the
    /// background.
    fn prune_now_and_then(self: &Arc<Self>) {
        let now = self.now();
        let last = self.last_prune.load(Ordering::Relaxed);
        let every = u64::try_from(PRUNE_EVERY.as_millis()).unwrap_or(u64::MAX);
        if now.saturating_sub(last) < every
            || self
                .last_prune
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(error) = hub.sessions.prune(now).await {
                tracing::warn!(%error, "could not remove expired sessions");
            }
        });
    }

    /// When every ticket issued until now has expired (Unix milliseconds): how long the record
    /// of a session ended now is kept, so that its tickets answer `Revoked` until then.
    fn tickets_expired_by(&self) -> u64 {
        let lifetime = u64::try_from(self.ticket_lifetime.as_millis()).unwrap_or(u64::MAX);
        self.now().saturating_add(lifetime)
    }

    fn now(&self) -> u64 {
        let since = (self.clock)()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    }

    /// Ends `sessions` and tells every broker logged in now.
    fn announce(self: &Arc<Self>, sessions: Vec<SessionId>) {
        let minds: Vec<Remote<dyn BrokerMind>> = self.brokers.lock().values().cloned().collect();
        for session in sessions {
            tracing::info!(%session, "session ended");
            for mind in &minds {
                let (mind, session) = (mind.clone(), session.clone());
                tokio::spawn(async move {
                    let notice = mind.session_ended(session);
                    if tokio::time::timeout(NOTICE_TIMEOUT, notice).await.is_err() {
                        tracing::warn!("a broker did not take a session-ended notice in time");
                    }
                });
            }
        }
    }
}

impl AuthServer {
    /// An authentication server keeping its sessions in `sessions` (a
    /// [`MemorySessions`](super::MemorySessions), or a SQLite or PostgreSQL store so that a
    /// restart logs no one out). Sessions last 8 hours, tickets 10 minutes, a user has at most
    /// 32 sessions going, and a session may ask for 60 tickets a minute. Expired sessions and
    /// tickets are removed from the store once a minute, as logins come.
    pub fn new(sessions: impl SessionStore) -> Self {
        AuthServer {
            services_checkers: Vec::new(),
            brokers: HashSet::new(),
            hub: Hub {
                sessions: Arc::new(sessions),
                brokers: Lock::new(HashMap::new()),
                next_broker: AtomicU64::new(1),
                session_lifetime: Duration::from_secs(8 * 3600),
                ticket_lifetime: Duration::from_secs(600),
                tickets_per_minute: 60,
                sessions_per_user: 32,
                clock: Arc::new(SystemTime::now),
                last_prune: AtomicU64::new(0),
            },
        }
    }

    /// Adds a credential checker, for users and brokers alike.
    pub fn with_checker<C: CredentialChecker>(mut self, checker: C) -> Self {
        self.services_checkers
            .push(Box::new(move |services: Services| {
                services.with_checker(checker)
            }));
        self
    }

    /// Makes the account `name` a broker: its login yields a broker's link, and tickets for
    /// the audience `name` are checked by it alone.
    pub fn with_broker(mut self, name: impl Into<String>) -> Self {
        self.brokers.insert(name.into());
        self
    }

    /// How long a session lasts after its password login (default 8 hours).
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.hub.session_lifetime = lifetime;
        self
    }

    /// How long a ticket stays good (default 10 minutes; never past its session).
    pub fn ticket_lifetime(mut self, lifetime: Duration) -> Self {
        self.hub.ticket_lifetime = lifetime;
        self
    }

    /// How many tickets one session may ask for per minute (default 60): what one user can add
    /// to the store.
    pub fn tickets_per_minute(mut self, tickets: u32) -> Self {
        self.hub.tickets_per_minute = tickets.max(1);
        self
    }

    /// How many sessions one user may have going at once (default 32): a password login past
    /// it ends the user's oldest session, at the brokers too, and the store forgets it at its
    /// next pruning. This bounds what one user (or whoever has her password) can add to the
    /// store, with [`tickets_per_minute`] per session. It holds for logins of one user made at
    /// the same time too: once each has made its session, the oldest past the allowance end,
    /// whichever login made them (one that ends its own is refused, `LoginError::Refused`).
    ///
    /// [`tickets_per_minute`]: Self::tickets_per_minute
    pub fn sessions_per_user(mut self, sessions: usize) -> Self {
        self.hub.sessions_per_user = sessions.max(1);
        self
    }

    /// The clock sessions and tickets expire by (default the system's): for tests.
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.hub.clock = Arc::new(clock);
        self
    }

    /// The portal to serve, and a handle to revoke sessions while it serves.
    pub fn portal(self) -> (Portal, AuthAdmin) {
        let hub = Arc::new(self.hub);
        let keys = Roles {
            brokers: self.brokers,
        };
        let service = Service::new()
            .with_perspective(
                "user",
                UserRealm {
                    hub: Arc::clone(&hub),
                },
            )
            .with_perspective(
                "broker",
                BrokerRealm {
                    hub: Arc::clone(&hub),
                },
            );
        let services = self
            .services_checkers
            .into_iter()
            .fold(Services::new(keys), |services, add| add(services))
            .with_service(AUTH_SERVICE, service);
        (services.portal(), AuthAdmin { hub })
    }
}

/// Revokes sessions of a running authentication server.
#[derive(Clone)]
pub struct AuthAdmin {
    hub: Arc<Hub>,
}

impl fmt::Debug for AuthAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthAdmin").finish_non_exhaustive()
    }
}

impl AuthAdmin {
    /// Ends the session `id`: its tickets stop working at once, and brokers end its logins.
    ///
    /// # Errors
    /// When the session store fails.
    pub async fn revoke_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        let ended = self
            .hub
            .sessions
            .end_session(id, self.hub.tickets_expired_by())
            .await?;
        if ended {
            self.hub.announce(vec![id.clone()]);
        }
        Ok(ended)
    }

    /// Ends every session of `username`; returns them.
    ///
    /// # Errors
    /// When the session store fails.
    pub async fn revoke_user(&self, username: &str) -> Result<Vec<SessionId>, StoreError> {
        let ended = self
            .hub
            .sessions
            .end_sessions_of(username, self.hub.tickets_expired_by())
            .await?;
        self.hub.announce(ended.clone());
        Ok(ended)
    }

    /// Forgets the sessions and tickets that expired.
    ///
    /// # Errors
    /// When the session store fails.
    pub async fn prune(&self) -> Result<(), StoreError> {
        self.hub.sessions.prune(self.hub.now()).await
    }

    /// How many brokers are logged in now.
    pub fn brokers_online(&self) -> usize {
        self.hub.brokers.lock().len()
    }
}

/// The keyring of an authentication server: every user holds the `user` key, and the named
/// brokers the `broker` key instead.
struct Roles {
    brokers: HashSet<String>,
}

impl Keyring for Roles {
    async fn keys(&self, identity: &AvatarId) -> Result<Vec<PerspectiveKey>, StoreError> {
        Ok(match identity {
            AvatarId::User(name) if self.brokers.contains(name) => {
                vec![PerspectiveKey::new(AUTH_SERVICE, "broker")]
            }
            AvatarId::User(_) => vec![PerspectiveKey::new(AUTH_SERVICE, "user")],
            _ => Vec::new(),
        })
    }

    async fn grant(&self, _: &AvatarId, _: &PerspectiveKey) -> Result<(), StoreError> {
        Err(StoreError::NoKeyring)
    }

    async fn revoke(&self, _: &AvatarId, _: &PerspectiveKey) -> Result<(), StoreError> {
        Err(StoreError::NoKeyring)
    }
}

fn store_failed(error: StoreError) -> TokenError {
    tracing::warn!(%error, "session store failed");
    TokenError::StoreUnavailable
}

/// Why a login is refused when the user's other logins made at the same time took up her
/// whole allowance of sessions.
const TOO_MANY_LOGINS_AT_ONCE: &str =
    "too many logins of this user at once: her allowance of sessions is taken";

/// Makes a session for each user login.
struct UserRealm {
    hub: Arc<Hub>,
}

impl Realm for UserRealm {
    type Avatar = UserSession;
    type Mind = crate::cred::NoMind;

    async fn request_avatar(
        &self,
        id: AvatarId,
        _mind: Option<Remote<crate::cred::NoMind>>,
    ) -> Result<LoggedIn<UserSession>, LoginError> {
        let AvatarId::User(username) = id else {
            return Err(LoginError::NotPermitted);
        };
        let id = SessionId::random().map_err(|error| LoginError::Internal(error.to_string()))?;
        // Room for this one: the oldest sessions past the user's allowance end.
        let ended = self
            .hub
            .sessions
            .end_sessions_past(
                &username,
                self.hub.sessions_per_user.saturating_sub(1),
                self.hub.now(),
            )
            .await
            .map_err(|_| LoginError::StoreUnavailable)?;
        if !ended.is_empty() {
            tracing::info!(user = %username, ended = ended.len(), "oldest sessions ended for a new one");
            self.hub.announce(ended);
        }
        let lifetime = u64::try_from(self.hub.session_lifetime.as_millis()).unwrap_or(u64::MAX);
        let record = SessionRecord {
            id: id.clone(),
            username: username.clone(),
            expires_at: self.hub.now().saturating_add(lifetime),
            ended: false,
        };
        // From here, the session ends if the login fails or is given up on (see its drop),
        // even while the store makes it.
        let session = UserSession {
            hub: Arc::clone(&self.hub),
            id: id.clone(),
            issued: Lock::new((0, 0)),
            ticketed: AtomicBool::new(false),
            ended: AtomicBool::new(false),
        };
        self.hub
            .sessions
            .create_session(&record)
            .await
            .map_err(|_| LoginError::StoreUnavailable)?;
        // Logins of hers made at the same time each made room for one above: counting this
        // one, the oldest past her allowance end now, so that it holds once they are all in,
        // and across authentication servers sharing one store.
        let ended = self
            .hub
            .sessions
            .end_sessions_past(&username, self.hub.sessions_per_user, self.hub.now())
            .await
            .map_err(|_| LoginError::StoreUnavailable)?;
        if !ended.is_empty() {
            let lost = ended.contains(&id);
            tracing::info!(
                user = %username,
                ended = ended.len(),
                "sessions past the allowance ended after logins at once"
            );
            self.hub.announce(ended);
            if lost {
                session.ended.store(true, Ordering::Release);
                return Err(LoginError::Refused(TOO_MANY_LOGINS_AT_ONCE.to_owned()));
            }
        }
        tracing::info!(session = %id, user = %username, "session started");
        self.hub.prune_now_and_then();
        // Once it has a ticket, the session outlives this connection: it ends at its logout,
        // its revocation or its expiry, not when the user disconnects.
        Ok(LoggedIn::new(session))
    }
}

/// A user's session, as the server holds it.
pub(crate) struct UserSession {
    hub: Arc<Hub>,
    id: SessionId,
    /// Tickets issued in the current minute: (the minute, the count).
    issued: Lock<(u64, u32)>,
    /// Whether a ticket of it was ever kept.
    ticketed: AtomicBool,
    /// Whether it ended while its avatar was held.
    ended: AtomicBool,
}

/// A session that never had a ticket ends with its avatar: its login failed, was given up on,
/// or its user left without asking for one. Nobody can use it then (a session is reached only
/// through its avatar and its tickets), and it would count against the user's allowance,
/// newer than the sessions she uses, until it expired. It expires at once, so the next pruning
/// removes it. Best effort: the end is a task of its own, which a runtime shutting down may
/// drop; the session then lasts until it expires.
impl Drop for UserSession {
    fn drop(&mut self) {
        if *self.ticketed.get_mut() || *self.ended.get_mut() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (hub, id) = (Arc::clone(&self.hub), self.id.clone());
        runtime.spawn(async move {
            // No broker has heard of it: nothing to announce.
            if let Err(error) = hub.sessions.end_session(&id, hub.now()).await {
                tracing::warn!(%error, session = %id, "could not end a session without tickets");
            }
        });
    }
}

impl UserSession {
    /// Counts one more ticket; refuses it past the session's allowance for this minute.
    fn count_ticket(&self, now: u64) -> Result<(), TokenError> {
        let minute = now / 60_000;
        let mut issued = self.issued.lock();
        if issued.0 != minute {
            *issued = (minute, 0);
        }
        if issued.1 >= self.hub.tickets_per_minute {
            return Err(TokenError::TooManyTickets);
        }
        issued.1 += 1;
        Ok(())
    }
}

#[tartine_macros::avatar]
impl AuthUser for UserSession {
    async fn ticket(&self, audience: String) -> Result<Ticket, TokenError> {
        if audience.is_empty() || audience.len() > MAX_AUDIENCE {
            return Err(TokenError::WrongAudience);
        }
        let session = self
            .hub
            .sessions
            .session(&self.id)
            .await
            .map_err(store_failed)?
            .ok_or(TokenError::Revoked)?;
        let now = self.hub.now();
        if session.ended {
            return Err(TokenError::Revoked);
        }
        if session.expires_at <= now {
            return Err(TokenError::Expired);
        }
        self.count_ticket(now)?;
        let mut token = [0u8; 32];
        getrandom::fill(&mut token).map_err(|_| TokenError::StoreUnavailable)?;
        let lifetime = u64::try_from(self.hub.ticket_lifetime.as_millis()).unwrap_or(u64::MAX);
        let expires_at = now.saturating_add(lifetime).min(session.expires_at);
        let record = TicketRecord {
            hash: Sha256::digest(token).into(),
            session: self.id.clone(),
            audience: audience.clone(),
            expires_at,
        };
        self.hub
            .sessions
            .create_ticket(&record)
            .await
            .map_err(store_failed)?;
        self.ticketed.store(true, Ordering::Release);
        Ok(Ticket {
            token: token.to_vec(),
            audience,
            lifetime_ms: expires_at - now,
        })
    }

    async fn end_session(&self) -> Result<(), TokenError> {
        // Its record stays while a ticket of it may still be presented, to answer `Revoked`.
        let keep_until = if self.ticketed.load(Ordering::Acquire) {
            self.hub.tickets_expired_by()
        } else {
            self.hub.now()
        };
        let ended = self
            .hub
            .sessions
            .end_session(&self.id, keep_until)
            .await
            .map_err(store_failed)?;
        self.ended.store(true, Ordering::Release);
        if ended {
            self.hub.announce(vec![self.id.clone()]);
        }
        Ok(())
    }

    fn session(&self) -> SessionId {
        self.id.clone()
    }
}

/// Links each broker login, and keeps its mind for session-ended notices.
struct BrokerRealm {
    hub: Arc<Hub>,
}

impl Realm for BrokerRealm {
    type Avatar = BrokerLink;
    type Mind = dyn BrokerMind;

    async fn request_avatar(
        &self,
        id: AvatarId,
        mind: Option<Remote<dyn BrokerMind>>,
    ) -> Result<LoggedIn<BrokerLink>, LoginError> {
        let AvatarId::User(name) = id else {
            return Err(LoginError::NotPermitted);
        };
        let login = self.hub.next_broker.fetch_add(1, Ordering::Relaxed);
        if let Some(mind) = mind {
            self.hub.brokers.lock().insert(login, mind);
        }
        tracing::info!(broker = %name, "broker linked");
        let hub = Arc::clone(&self.hub);
        Ok(LoggedIn::new(BrokerLink {
            hub: Arc::clone(&self.hub),
            name,
        })
        .on_logout(move || {
            hub.brokers.lock().remove(&login);
        }))
    }
}

/// A broker's link, as the server holds it.
pub(crate) struct BrokerLink {
    hub: Arc<Hub>,
    name: String,
}

#[tartine_macros::avatar]
impl AuthBroker for BrokerLink {
    async fn verify(&self, username: String, token: Vec<u8>) -> Result<VerifiedTicket, TokenError> {
        let hash: [u8; 32] = Sha256::digest(&token).into();
        let sessions = &self.hub.sessions;
        let ticket = sessions
            .ticket(&hash)
            .await
            .map_err(store_failed)?
            .ok_or(TokenError::Unknown)?;
        if ticket.audience != self.name {
            tracing::warn!(
                broker = %self.name,
                audience = %ticket.audience,
                ticket = %hex(&hash[..8]),
                "a ticket for another broker was presented here"
            );
            return Err(TokenError::WrongAudience);
        }
        let now = self.hub.now();
        if ticket.expires_at <= now {
            return Err(TokenError::Expired);
        }
        // A ticket kept here is one this server issued: if its session is gone (ended, then
        // pruned), the ticket was revoked, not made up.
        let session = sessions
            .session(&ticket.session)
            .await
            .map_err(store_failed)?
            .ok_or(TokenError::Revoked)?;
        if session.ended {
            return Err(TokenError::Revoked);
        }
        if session.expires_at <= now {
            return Err(TokenError::Expired);
        }
        if session.username != username {
            return Err(TokenError::WrongUser);
        }
        Ok(VerifiedTicket {
            username,
            session: session.id,
            session_left_ms: session.expires_at - now,
        })
    }

    async fn active(&self, sessions: Vec<SessionId>) -> Result<Vec<SessionId>, TokenError> {
        if sessions.len() > MAX_ACTIVE_QUERY {
            return Err(TokenError::NotPermitted);
        }
        let now = self.hub.now();
        let mut active = Vec::new();
        for id in sessions {
            let session = self.hub.sessions.session(&id).await.map_err(store_failed)?;
            if session.is_some_and(|session| !session.ended && session.expires_at > now) {
                active.push(id);
            }
        }
        Ok(active)
    }
}
