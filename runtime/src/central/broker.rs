//! Provides the broker's side of central authentication: a credential checker that logs users
//! in by the tickets of an authentication server, over a link it keeps to that server.

use super::protocol::{AUTH_SERVICE, AuthBroker, BrokerMind, SessionId, VerifiedTicket};
use crate::client::connect_with;
use crate::config::Config;
use crate::connection::handle::Connection;
use crate::cred::{
    Admission, AvatarId, CredentialChecker, CredentialKind, Credentials, Identity,
    LoginCredentials, LoginError, SessionEnd, TokenError,
};
use crate::endpoint::{Endpoint, EndpointError, ToEndpoint};
use crate::error::RemoteError;
use crate::lock::Lock;
use crate::reconnect::Backoff;
use crate::refs::remote::Remote;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Logs users in at a broker by the tickets of a central authentication server: a
/// [`CredentialChecker`] for token credentials ([`LoginCredentials::token`]).
///
/// It keeps a link to the authentication server, logged in as the broker's own account, and
/// made again with capped backoff whenever it is lost. Each token login is checked over the
/// link, so a session that ended is refused at once. While the link is down, token logins
/// fail with [`LoginError::AuthServerUnavailable`] and the logins already made go on.
///
/// A login it admits ends when its session ends: at once when the authentication server
/// announces it (a logout or a revocation, pushed to every linked broker), at the session's
/// expiry by this broker's own timer, and otherwise at the next check of the open sessions,
/// made every [`recheck`](CentralAuthBuilder::recheck) and as soon as a lost link is made
/// again. A login checked while its session still went, but admitted after the news that it
/// ended came, is refused: the broker remembers the last 1,024 sessions it learnt ended, and
/// when more than that ended during one check, it asks again whether the session goes.
#[derive(Clone)]
pub struct CentralAuth {
    state: Arc<State>,
}

impl fmt::Debug for CentralAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CentralAuth")
            .field("linked", &self.is_linked())
            .field("sessions", &self.state.sessions.lock().len())
            .finish()
    }
}

/// What the checker, its link task and its mind share.
struct State {
    link: watch::Sender<Option<Remote<dyn AuthBroker>>>,
    /// The sessions of the logins admitted here, with the signal that ends those logins.
    sessions: Lock<HashMap<SessionId, SessionEnd>>,
    /// The most sessions kept at once.
    max_sessions: usize,
    /// How long a question to the authentication server about a login may take.
    answer_timeout: Duration,
    /// The sessions this broker learnt ended (see [`RecentlyEnded`]).
    recently_ended: Lock<RecentlyEnded>,
    stop: CancellationToken,
}

/// How many of the sessions it learnt ended a broker remembers.
const RECENTLY_ENDED: usize = 1_024;

/// The last [`RECENTLY_ENDED`] sessions this broker learnt ended (announced, rechecked or
/// expired). A token login whose check at the authentication server crossed the news (checked
/// while the session went, admitted after the notice came) finds its session here and is
/// refused, instead of going on until the next recheck. How many were forgotten tells a login
/// whether more ended during its check than this remembers: it then asks again.
#[derive(Default)]
struct RecentlyEnded {
    order: VecDeque<SessionId>,
    ended: HashSet<SessionId>,
    /// How many were forgotten to make room, ever.
    forgotten: u64,
}

impl RecentlyEnded {
    fn remember(&mut self, session: SessionId) {
        if !self.ended.insert(session.clone()) {
            return;
        }
        self.order.push_back(session);
        if self.order.len() > RECENTLY_ENDED
            && let Some(oldest) = self.order.pop_front()
        {
            self.ended.remove(&oldest);
            self.forgotten += 1;
        }
    }

    fn contains(&self, session: &SessionId) -> bool {
        self.ended.contains(session)
    }
}

impl State {
    /// Ends the logins of `session`, and remembers that it ended, for a login of it being
    /// admitted now.
    fn end(&self, session: &SessionId) {
        let mut sessions = self.sessions.lock();
        let going = sessions.remove(session);
        // Under the sessions' lock: `session_end` cannot slip in between.
        self.recently_ended.lock().remember(session.clone());
        drop(sessions);
        if let Some(end) = going {
            tracing::info!(%session, "session ended; ending its logins");
            end.end();
        }
    }

    /// The signal of `session`, made (with its expiry timer) if it is new here; refused past
    /// [`CentralAuthBuilder::max_sessions`].
    fn session_end(self: &Arc<Self>, verified: &VerifiedTicket) -> Result<SessionEnd, LoginError> {
        let mut sessions = self.sessions.lock();
        if let Some(end) = sessions.get(&verified.session) {
            return Ok(end.clone());
        }
        // Checked before it ended, but its end was announced since.
        if self.recently_ended.lock().contains(&verified.session) {
            return Err(LoginError::Token(TokenError::Revoked));
        }
        if sessions.len() >= self.max_sessions {
            // Forget the sessions none of whose logins is still going here (firing their
            // signal ends no login, and stops their expiry timers).
            sessions.retain(|_, end| {
                let going = end.is_shared();
                if !going {
                    end.end();
                }
                going
            });
        }
        if sessions.len() >= self.max_sessions {
            tracing::warn!(
                limit = self.max_sessions,
                "too many sessions; token login refused"
            );
            return Err(LoginError::Refused(format!(
                "this broker holds as many sessions as it may ({})",
                self.max_sessions
            )));
        }
        let end = SessionEnd::new();
        sessions.insert(verified.session.clone(), end.clone());
        let (state, session) = (Arc::downgrade(self), verified.session.clone());
        let left = Duration::from_millis(verified.session_left_ms);
        // Not a clone of the signal: the timer must not count as a login still going.
        let ended = end.token();
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(left) => {
                    if let Some(state) = state.upgrade() {
                        state.end(&session);
                    }
                }
                // Ended sooner (announced, rechecked, or forgotten): the timer goes too.
                () = ended.cancelled() => {}
            }
        });
        Ok(end)
    }

    /// Asks the authentication server which open sessions still go; ends the others.
    async fn recheck(&self, link: &Remote<dyn AuthBroker>) {
        let open: Vec<SessionId> = self.sessions.lock().keys().cloned().collect();
        if open.is_empty() {
            return;
        }
        for batch in open.chunks(10_000) {
            match link.active(batch.to_vec()).await {
                Ok(active) => {
                    let active: HashSet<SessionId> = active.into_iter().collect();
                    for session in batch.iter().filter(|session| !active.contains(session)) {
                        self.end(session);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not recheck the open sessions");
                    return;
                }
            }
        }
    }
}

/// The broker's mind at the authentication server: hears of sessions that end.
struct Notices {
    state: Weak<State>,
}

#[tartine_macros::referenceable]
impl BrokerMind for Notices {
    async fn session_ended(&self, session: SessionId) {
        if let Some(state) = self.state.upgrade() {
            state.end(&session);
        }
    }
}

/// Sets up a [`CentralAuth`]; [`start`](Self::start) starts its link.
pub struct CentralAuthBuilder {
    endpoint: Endpoint,
    credentials: LoginCredentials,
    config: Config,
    recheck: Duration,
    backoff: Backoff,
    max_sessions: usize,
    answer_timeout: Duration,
}

impl fmt::Debug for CentralAuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CentralAuthBuilder")
            .field("endpoint", &self.endpoint)
            .field("recheck", &self.recheck)
            .finish_non_exhaustive()
    }
}

impl CentralAuthBuilder {
    /// The settings of the link's connection (`tls_client` for a `tls://` endpoint).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// How often the open sessions are checked again, beside the announcements (default 30
    /// seconds).
    pub fn recheck(mut self, every: Duration) -> Self {
        self.recheck = every.max(Duration::from_millis(10));
        self
    }

    /// The most sessions with logins here at once (default 100,000, about 100 bytes and one
    /// timer each): a token login of one more session is refused with
    /// [`LoginError::Refused`] until a login of another ends.
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// How long a token login waits for the authentication server's answers, all questions
    /// together (default 10 seconds); past it the login fails with
    /// [`LoginError::AuthServerUnavailable`], which counts against nobody. Keep it below the
    /// clients' call timeout ([`Config::call_timeout`], 30 seconds by default): a client that
    /// gives up first cancels its login, and a cancelled token login counts as a failed one
    /// for its address.
    pub fn answer_timeout(mut self, timeout: Duration) -> Self {
        self.answer_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long to wait between attempts to link again (default: 100 ms, doubling up to 5
    /// seconds, jittered as a [`Reconnecting`](crate::Reconnecting) client's are).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Starts linking in the background, and returns the checker at once: token logins fail
    /// with [`LoginError::AuthServerUnavailable`] until the link is made. Needs a tokio
    /// runtime.
    pub fn start(self) -> CentralAuth {
        let (link, _) = watch::channel(None);
        let state = Arc::new(State {
            link,
            sessions: Lock::new(HashMap::new()),
            max_sessions: self.max_sessions,
            answer_timeout: self.answer_timeout,
            recently_ended: Lock::new(RecentlyEnded::default()),
            stop: CancellationToken::new(),
        });
        tokio::spawn(keep_linked(Arc::downgrade(&state), self));
        CentralAuth { state }
    }
}

impl CentralAuth {
    /// A checker linked to the authentication server at `endpoint`, logging in there as the
    /// broker with `credentials` (the account the server names with `with_broker`).
    ///
    /// # Errors
    /// [`EndpointError`] if `endpoint` does not parse.
    pub fn builder(
        endpoint: impl ToEndpoint,
        credentials: LoginCredentials,
    ) -> Result<CentralAuthBuilder, EndpointError> {
        Ok(CentralAuthBuilder {
            endpoint: endpoint.to_endpoint()?,
            credentials,
            config: Config::default(),
            recheck: Duration::from_secs(30),
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(5)),
            max_sessions: 100_000,
            answer_timeout: Duration::from_secs(10),
        })
    }

    /// Whether the link to the authentication server is up.
    pub fn is_linked(&self) -> bool {
        self.state.link.borrow().is_some()
    }

    /// Resolves once the link is up.
    pub async fn linked(&self) {
        let mut link = self.state.link.subscribe();
        let _ = link.wait_for(Option::is_some).await;
    }

    /// Resolves once the link is down.
    pub async fn unlinked(&self) {
        let mut link = self.state.link.subscribe();
        let _ = link.wait_for(Option::is_none).await;
    }

    /// How many sessions this broker keeps: those with logins here, and those whose logins
    /// ended, until room is needed or the session ends.
    pub fn open_sessions(&self) -> usize {
        self.state.sessions.lock().len()
    }

    /// Stops the link; token logins fail from then on.
    pub fn close(&self) {
        self.state.stop.cancel();
        self.state.link.send_replace(None);
    }

    /// The link to the authentication server, if it is up.
    fn link(&self) -> Result<Remote<dyn AuthBroker>, LoginError> {
        self.state
            .link
            .borrow()
            .clone()
            .ok_or(LoginError::AuthServerUnavailable)
    }

    /// Asks the authentication server whether `session` still goes.
    async fn confirm_active(&self, session: &SessionId) -> Result<(), LoginError> {
        match self.link()?.active(vec![session.clone()]).await {
            Ok(active) if active.contains(session) => Ok(()),
            Ok(_) => Err(LoginError::Token(TokenError::Revoked)),
            Err(_) => Err(LoginError::AuthServerUnavailable),
        }
    }

    /// `answer`, or [`LoginError::AuthServerUnavailable`] if the authentication server does
    /// not give it within the builder's [`answer_timeout`](CentralAuthBuilder::answer_timeout):
    /// the call is then dropped, which cancels it at the server.
    async fn in_time<T>(&self, answer: impl Future<Output = T>) -> Result<T, LoginError> {
        tokio::time::timeout(self.state.answer_timeout, answer)
            .await
            .map_err(|_| {
                tracing::warn!(
                    timeout = ?self.state.answer_timeout,
                    "the authentication server did not answer a login in time"
                );
                LoginError::AuthServerUnavailable
            })
    }

    async fn verify(&self, username: &str, token: &[u8]) -> Result<VerifiedTicket, LoginError> {
        match self
            .link()?
            .verify(username.to_owned(), token.to_vec())
            .await
        {
            Ok(verified) if verified.username == username => Ok(verified),
            Ok(_) => Err(LoginError::Token(TokenError::WrongUser)),
            Err(RemoteError::Method(TokenError::StoreUnavailable)) => {
                Err(LoginError::AuthServerUnavailable)
            }
            Err(RemoteError::Method(error)) => Err(LoginError::Token(error)),
            Err(RemoteError::Call(error)) => {
                tracing::warn!(%error, "the authentication server did not answer");
                Err(LoginError::AuthServerUnavailable)
            }
        }
    }
}

impl CredentialChecker for CentralAuth {
    fn kinds(&self) -> &[CredentialKind] {
        &[CredentialKind::Token]
    }

    async fn check(&self, credentials: &Credentials) -> Result<AvatarId, LoginError> {
        self.admit(credentials)
            .await
            .map(|admission| admission.id().clone())
    }

    async fn admit(&self, credentials: &Credentials) -> Result<Admission, LoginError> {
        let Credentials::Token(presented) = credentials else {
            return Err(LoginError::Unauthorized);
        };
        let forgotten = self.state.recently_ended.lock().forgotten;
        let asked = async {
            let verified = self.verify(presented.username(), presented.token()).await?;
            if self.state.recently_ended.lock().forgotten != forgotten {
                // More sessions ended during the check than the broker remembers: this one may
                // be among those forgotten. Ask again.
                self.confirm_active(&verified.session).await?;
            }
            Ok::<_, LoginError>(verified)
        };
        // Both questions within one timeout, so that a login ends before its client's.
        let verified = self.in_time(asked).await??;
        let end = self.state.session_end(&verified)?;
        Ok(Admission::ending_with(
            AvatarId::User(verified.username),
            end,
        ))
    }
}

impl Drop for State {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Keeps the link made, until the checker is dropped or closed.
async fn keep_linked(state: Weak<State>, settings: CentralAuthBuilder) {
    // Attempts since the link was last up for long (links that each lasted less than the
    // backoff's longest wait go on counting, so a server that drops them at once is tried
    // ever less often).
    let mut attempt = 0u32;
    loop {
        let Some(strong) = state.upgrade() else {
            return;
        };
        let stop = strong.stop.clone();
        let linked = tokio::select! {
            () = stop.cancelled() => return,
            linked = link(&strong, &settings) => linked,
        };
        match linked {
            Ok((connection, remote)) => {
                if stop.is_cancelled() {
                    connection.close();
                    return;
                }
                let linked_at = tokio::time::Instant::now();
                strong.link.send_replace(Some(remote.clone()));
                tracing::info!("linked to the authentication server");
                strong.recheck(&remote).await;
                drop(strong);
                let mut every = tokio::time::interval(settings.recheck);
                every.tick().await;
                loop {
                    tokio::select! {
                        _ = connection.closed() => break,
                        () = stop.cancelled() => {
                            connection.close();
                            return;
                        }
                        _ = every.tick() => match state.upgrade() {
                            Some(state) => state.recheck(&remote).await,
                            None => return,
                        },
                    }
                }
                if let Some(state) = state.upgrade() {
                    state.link.send_replace(None);
                }
                if !settings.backoff.short_lived(linked_at.elapsed()) {
                    attempt = 0;
                }
                tracing::warn!("lost the link to the authentication server; linking again");
            }
            Err(error) => {
                drop(strong);
                tracing::warn!(%error, "could not link to the authentication server");
            }
        }
        attempt = attempt.saturating_add(1);
        let wait = settings.backoff.delay(attempt);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// Connects, logs in as the broker and takes the broker's link, with our mind.
async fn link(
    state: &Arc<State>,
    settings: &CentralAuthBuilder,
) -> Result<(Connection, Remote<dyn AuthBroker>), LoginError> {
    let connection = connect_with(&settings.endpoint, settings.config.clone())
        .await
        .map_err(|error| LoginError::Internal(error.to_string()))?;
    let identity = connection
        .login::<Identity>(settings.credentials.clone())
        .await?;
    let notices = Arc::new(Notices {
        state: Arc::downgrade(state),
    });
    let remote = identity
        .perspective_with_mind::<dyn AuthBroker, Notices>(AUTH_SERVICE, "broker", notices)
        .await?;
    let _ = connection.logout(&identity).await;
    Ok((connection, remote))
}

#[cfg(test)]
mod tests {
    use super::super::protocol::AuthUser;
    use super::super::server::AuthServer;
    use super::super::sessions::{MemorySessions, SessionRecord, SessionStore, TicketRecord};
    use super::*;
    use crate::cred::store::contract::StoreError;
    use crate::cred::{InMemoryPasswords, PresentedToken};
    use crate::server::{Server, ServerHandle};

    fn state() -> Arc<State> {
        let (link, _) = watch::channel(None);
        Arc::new(State {
            link,
            sessions: Lock::new(HashMap::new()),
            max_sessions: 8,
            answer_timeout: Duration::from_secs(10),
            recently_ended: Lock::new(RecentlyEnded::default()),
            stop: CancellationToken::new(),
        })
    }

    fn verified(session: &str) -> VerifiedTicket {
        VerifiedTicket {
            username: "alice".into(),
            session: SessionId(session.into()),
            session_left_ms: 60_000,
        }
    }

    #[tokio::test]
    async fn a_login_checked_before_its_session_ended_is_refused_after_the_notice() {
        let state = state();
        // The notice comes between the check at the authentication server and the admission.
        state.end(&SessionId("s1".into()));
        assert_eq!(
            state.session_end(&verified("s1")).err(),
            Some(LoginError::Token(TokenError::Revoked))
        );
        assert!(
            state.session_end(&verified("s2")).is_ok(),
            "other sessions go on"
        );
    }

    #[tokio::test]
    async fn a_login_checked_while_another_of_its_session_was_open_is_refused_too() {
        let state = state();
        let open = state.session_end(&verified("s1")).expect("admitted");
        // The notice ends the open login, and a login being checked meanwhile is refused.
        state.end(&SessionId("s1".into()));
        assert!(open.token().is_cancelled(), "the open login ended");
        assert_eq!(
            state.session_end(&verified("s1")).err(),
            Some(LoginError::Token(TokenError::Revoked))
        );
    }

    /// The memory store, whose `session` can be held once it read a record: the record it
    /// returns then is what the store held before the hold, as when a session ends while the
    /// authentication server checks a ticket of it.
    #[derive(Clone, Default)]
    struct Held {
        inner: MemorySessions,
        hold: Arc<Lock<bool>>,
        read: Arc<tokio::sync::Notify>,
        release: Arc<tokio::sync::Notify>,
        asked: Arc<Lock<Option<SessionId>>>,
        /// Reads of a session, by the check of a ticket or a question whether it goes.
        reads: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl SessionStore for Held {
        async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
            self.inner.create_session(session).await
        }

        async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let record = self.inner.session(id).await;
            if std::mem::take(&mut *self.hold.lock()) {
                *self.asked.lock() = Some(id.clone());
                self.read.notify_one();
                self.release.notified().await;
            }
            record
        }

        async fn end_session(&self, id: &SessionId, keep_until: u64) -> Result<bool, StoreError> {
            self.inner.end_session(id, keep_until).await
        }

        async fn end_sessions_of(
            &self,
            username: &str,
            keep_until: u64,
        ) -> Result<Vec<SessionId>, StoreError> {
            self.inner.end_sessions_of(username, keep_until).await
        }

        async fn end_sessions_past(
            &self,
            username: &str,
            keep: usize,
            now: u64,
        ) -> Result<Vec<SessionId>, StoreError> {
            self.inner.end_sessions_past(username, keep, now).await
        }

        async fn create_ticket(&self, ticket: &TicketRecord) -> Result<(), StoreError> {
            self.inner.create_ticket(ticket).await
        }

        async fn ticket(&self, hash: &[u8; 32]) -> Result<Option<TicketRecord>, StoreError> {
            self.inner.ticket(hash).await
        }

        async fn prune(&self, now: u64) -> Result<(), StoreError> {
            self.inner.prune(now).await
        }
    }

    /// An authentication server on `store` with alice and broker b, and broker b's checker
    /// linked to it; alice's ticket for b.
    async fn linked_broker(store: Held) -> (CentralAuth, Vec<u8>, ServerHandle, Connection) {
        let accounts = InMemoryPasswords::new()
            .with_user("alice", "1234")
            .and_then(|users| users.with_user("broker-b", "b-pw"))
            .expect("randomness");
        let (portal, _admin) = AuthServer::new(store)
            .with_checker(accounts)
            .with_broker("broker-b")
            .portal();
        let server = Server::bind_portal("127.0.0.1:0", portal)
            .await
            .expect("binds");
        let addr = server.local_addr().expect("an address");
        let handle = server.handle();
        tokio::spawn(server.run());
        let checker = CentralAuth::builder(addr, LoginCredentials::password("broker-b", "b-pw"))
            .expect("an endpoint")
            .start();
        checker.linked().await;
        let connection = crate::connect(addr).await.expect("connects");
        let alice = connection
            .login_service::<dyn AuthUser>(
                AUTH_SERVICE,
                LoginCredentials::password("alice", "1234"),
            )
            .await
            .expect("alice logs in at the authentication server");
        let token = alice
            .ticket("broker-b".into())
            .await
            .expect("a ticket")
            .token;
        (checker, token, handle, connection)
    }

    /// Alice's token login at the broker, held at the authentication server once it read her
    /// session; `during` runs then. What the broker answers.
    async fn admit_across(
        checker: &CentralAuth,
        store: &Held,
        token: Vec<u8>,
        during: impl AsyncFnOnce(&SessionId),
    ) -> Result<Admission, LoginError> {
        store.reads.store(0, std::sync::atomic::Ordering::SeqCst);
        *store.hold.lock() = true;
        let admitting = {
            let checker = checker.clone();
            tokio::spawn(async move {
                let presented = PresentedToken::new("alice".into(), token);
                checker.admit(&Credentials::Token(presented)).await
            })
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), store.read.notified())
            .await
            .expect("the authentication server reads her session");
        let session = store.asked.lock().clone().expect("the session read");
        during(&session).await;
        store.release.notify_one();
        admitting.await.expect("the login's task")
    }

    /// More sessions than the broker remembers end while a login is checked: it asks the
    /// authentication server again, over its link.
    fn forget_past(checker: &CentralAuth, many: usize) {
        let mut recent = checker.state.recently_ended.lock();
        for i in 0..many {
            recent.remember(SessionId(format!("other-{i}")));
        }
    }

    #[tokio::test]
    async fn a_login_whose_ended_session_was_forgotten_during_its_check_is_asked_about_again() {
        let store = Held::default();
        let (checker, token, _server, _alice) = linked_broker(store.clone()).await;
        let refused = admit_across(&checker, &store, token, async |session| {
            // Her session ends, the broker hears it, then forgets it among many others. (Ended
            // in the store directly: the notice the authentication server would send could
            // come after, and be remembered again.)
            assert!(
                store
                    .inner
                    .end_session(session, u64::MAX)
                    .await
                    .expect("the store")
            );
            checker.state.end(session);
            forget_past(&checker, RECENTLY_ENDED + 1);
        })
        .await;
        assert_eq!(refused.err(), Some(LoginError::Token(TokenError::Revoked)));
    }

    #[tokio::test]
    async fn a_login_asked_about_again_gets_in_while_its_session_goes() {
        let store = Held::default();
        let (checker, token, _server, _alice) = linked_broker(store.clone()).await;
        let admitted = admit_across(&checker, &store, token, async |_| {
            forget_past(&checker, RECENTLY_ENDED + 1);
        })
        .await;
        assert!(admitted.is_ok(), "{:?}", admitted.err());
        assert_eq!(
            store.reads.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "read for the ticket, then asked about again"
        );
    }

    #[test]
    fn the_sessions_remembered_ended_are_bounded() {
        let mut recent = RecentlyEnded::default();
        for i in 0..RECENTLY_ENDED + 10 {
            recent.remember(SessionId(format!("s{i}")));
        }
        assert_eq!(recent.order.len(), RECENTLY_ENDED);
        assert_eq!(recent.ended.len(), RECENTLY_ENDED);
        assert_eq!(
            recent.forgotten, 10,
            "what a login checked meanwhile asks again about"
        );
        assert!(!recent.contains(&SessionId("s0".into())), "the oldest went");
        assert!(recent.contains(&SessionId(format!("s{}", RECENTLY_ENDED + 9))));
    }
}
