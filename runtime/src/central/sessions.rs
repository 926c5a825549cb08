//! Provides where an authentication server keeps its sessions and tickets: in memory, or in
//! the SQLite and PostgreSQL stores, so that a restart logs no one out.
//!
//! A ticket is kept as the SHA-256 of its token, so that reading the store does not give
//! tokens that work.

use super::protocol::SessionId;
use crate::cred::store::contract::StoreError;
use crate::lock::Lock;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// A session as kept: whose, until when (Unix milliseconds), and whether it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session.
    pub id: SessionId,
    /// Its user.
    pub username: String,
    /// When it expires, in milliseconds since the Unix epoch.
    pub expires_at: u64,
    /// Whether it was ended (logged out or revoked).
    pub ended: bool,
}

/// A ticket as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRecord {
    /// The SHA-256 of the token.
    pub hash: [u8; 32],
    /// The session it belongs to.
    pub session: SessionId,
    /// The broker it is for.
    pub audience: String,
    /// When it expires, in milliseconds since the Unix epoch.
    pub expires_at: u64,
}

/// Where sessions and tickets are kept.
pub trait SessionStore: Send + Sync + 'static {
    /// Keeps a new session.
    fn create_session(
        &self,
        session: &SessionRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session `id`, if it is kept.
    fn session(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Marks the session ended; whether it was going.
    fn end_session(&self, id: &SessionId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Ends every session of `username`; the ones that were going.
    fn end_sessions_of(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Vec<SessionId>, StoreError>> + Send;

    /// Ends the live sessions of `username` (not ended, not expired at `now`, Unix
    /// milliseconds) but the `keep` that expire last, the newest, and returns those it ended.
    /// They also expire at `now` and their tickets are forgotten, so that the next
    /// [`prune`](Self::prune) removes them: a user logging in over and over does not make the
    /// store grow.
    fn end_sessions_past(
        &self,
        username: &str,
        keep: usize,
        now: u64,
    ) -> impl Future<Output = Result<Vec<SessionId>, StoreError>> + Send;

    /// Keeps a new ticket.
    fn create_ticket(
        &self,
        ticket: &TicketRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The ticket whose token hashes to `hash`, if it is kept.
    fn ticket(
        &self,
        hash: &[u8; 32],
    ) -> impl Future<Output = Result<Option<TicketRecord>, StoreError>> + Send;

    /// Forgets the sessions and tickets expired before `now` (Unix milliseconds).
    fn prune(&self, now: u64) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Sessions and tickets in memory: a restart ends them all. Clones share them.
#[derive(Debug, Clone, Default)]
pub struct MemorySessions {
    inner: Arc<Lock<Kept>>,
}

#[derive(Debug, Default)]
struct Kept {
    sessions: HashMap<SessionId, SessionRecord>,
    tickets: HashMap<[u8; 32], TicketRecord>,
}

impl MemorySessions {
    /// No sessions yet.
    pub fn new() -> Self {
        MemorySessions::default()
    }
}

impl SessionStore for MemorySessions {
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.inner
            .lock()
            .sessions
            .insert(session.id.clone(), session.clone());
        Ok(())
    }

    async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.inner.lock().sessions.get(id).cloned())
    }

    async fn end_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        Ok(self
            .inner
            .lock()
            .sessions
            .get_mut(id)
            .is_some_and(|session| !std::mem::replace(&mut session.ended, true)))
    }

    async fn end_sessions_of(&self, username: &str) -> Result<Vec<SessionId>, StoreError> {
        let mut kept = self.inner.lock();
        let mut ended: Vec<SessionId> = kept
            .sessions
            .values_mut()
            .filter(|session| session.username == username && !session.ended)
            .map(|session| {
                session.ended = true;
                session.id.clone()
            })
            .collect();
        ended.sort();
        Ok(ended)
    }

    async fn end_sessions_past(
        &self,
        username: &str,
        keep: usize,
        now: u64,
    ) -> Result<Vec<SessionId>, StoreError> {
        let mut kept = self.inner.lock();
        let mut live: Vec<&mut SessionRecord> = kept
            .sessions
            .values_mut()
            .filter(|session| {
                session.username == username && !session.ended && session.expires_at > now
            })
            .collect();
        live.sort_by(|a, b| (b.expires_at, &b.id).cmp(&(a.expires_at, &a.id)));
        let mut ended: Vec<SessionId> = live
            .into_iter()
            .skip(keep)
            .map(|session| {
                session.ended = true;
                session.expires_at = now;
                session.id.clone()
            })
            .collect();
        ended.sort();
        kept.tickets
            .retain(|_, ticket| ended.binary_search(&ticket.session).is_err());
        Ok(ended)
    }

    async fn create_ticket(&self, ticket: &TicketRecord) -> Result<(), StoreError> {
        self.inner
            .lock()
            .tickets
            .insert(ticket.hash, ticket.clone());
        Ok(())
    }

    async fn ticket(&self, hash: &[u8; 32]) -> Result<Option<TicketRecord>, StoreError> {
        Ok(self.inner.lock().tickets.get(hash).cloned())
    }

    async fn prune(&self, now: u64) -> Result<(), StoreError> {
        let mut kept = self.inner.lock();
        kept.sessions.retain(|_, session| session.expires_at > now);
        kept.tickets.retain(|_, ticket| ticket.expires_at > now);
        Ok(())
    }
}

/// A [`SessionStore`], type-erased for the server.
pub(crate) trait DynSessions: Send + Sync + 'static {
    fn create_session<'a>(
        &'a self,
        session: &'a SessionRecord,
    ) -> futures_util::future::BoxFuture<'a, Result<(), StoreError>>;
    fn session<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<SessionRecord>, StoreError>>;
    fn end_session<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> futures_util::future::BoxFuture<'a, Result<bool, StoreError>>;
    fn end_sessions_of<'a>(
        &'a self,
        username: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<SessionId>, StoreError>>;
    fn end_sessions_past<'a>(
        &'a self,
        username: &'a str,
        keep: usize,
        now: u64,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<SessionId>, StoreError>>;
    fn create_ticket<'a>(
        &'a self,
        ticket: &'a TicketRecord,
    ) -> futures_util::future::BoxFuture<'a, Result<(), StoreError>>;
    fn ticket<'a>(
        &'a self,
        hash: &'a [u8; 32],
    ) -> futures_util::future::BoxFuture<'a, Result<Option<TicketRecord>, StoreError>>;
    fn prune(&self, now: u64) -> futures_util::future::BoxFuture<'_, Result<(), StoreError>>;
}

impl<S: SessionStore> DynSessions for S {
    fn create_session<'a>(
        &'a self,
        session: &'a SessionRecord,
    ) -> futures_util::future::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(SessionStore::create_session(self, session))
    }

    fn session<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        Box::pin(SessionStore::session(self, id))
    }

    fn end_session<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> futures_util::future::BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(SessionStore::end_session(self, id))
    }

    fn end_sessions_of<'a>(
        &'a self,
        username: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<SessionId>, StoreError>> {
        Box::pin(SessionStore::end_sessions_of(self, username))
    }

    fn end_sessions_past<'a>(
        &'a self,
        username: &'a str,
        keep: usize,
        now: u64,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<SessionId>, StoreError>> {
        Box::pin(SessionStore::end_sessions_past(self, username, keep, now))
    }

    fn create_ticket<'a>(
        &'a self,
        ticket: &'a TicketRecord,
    ) -> futures_util::future::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(SessionStore::create_ticket(self, ticket))
    }

    fn ticket<'a>(
        &'a self,
        hash: &'a [u8; 32],
    ) -> futures_util::future::BoxFuture<'a, Result<Option<TicketRecord>, StoreError>> {
        Box::pin(SessionStore::ticket(self, hash))
    }

    fn prune(&self, now: u64) -> futures_util::future::BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(SessionStore::prune(self, now))
    }
}
