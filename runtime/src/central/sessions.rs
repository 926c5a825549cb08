//! Provides where an authentication server keeps its sessions and tickets: in memory, or in
//! the SQLite and PostgreSQL stores, so that a restart logs no one out.
//!
//! A ticket is kept as the SHA-256 of its token, so that reading the store does not give
//! tokens that work.

use super::protocol::SessionId;
use crate::cred::store::contract::StoreError;
use crate::lock::Lock;
use std::collections::{HashMap, HashSet};
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

    /// Marks the session ended, and moves its expiry to `keep_until` (Unix milliseconds) if
    /// that is sooner, so that a [`prune`](Self::prune) from then on removes it: once its last
    /// ticket expired, nothing needs its record to answer `Revoked`. Whether it was going.
    fn end_session(
        &self,
        id: &SessionId,
        keep_until: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Ends every session of `username`, each kept until `keep_until` as
    /// [`end_session`](Self::end_session) does; the ones that were going.
    fn end_sessions_of(
        &self,
        username: &str,
        keep_until: u64,
    ) -> impl Future<Output = Result<Vec<SessionId>, StoreError>> + Send;

    /// Ends the live sessions of `username` (not ended, not expired at `now`, Unix
    /// milliseconds) but the `keep` that expire last, the newest, and returns those it ended.
    /// They also expire at `now`, so that the next [`prune`](Self::prune) removes them: a user
    /// logging in over and over does not make the store grow. Their tickets stay until they
    /// expire (a ticket whose session is gone is refused as revoked).
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
    /// The ids of each user's sessions kept: a login looks at its user's alone.
    by_user: HashMap<String, HashSet<SessionId>>,
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
        let mut kept = self.inner.lock();
        let Kept {
            sessions, by_user, ..
        } = &mut *kept;
        if let Some(before) = sessions.insert(session.id.clone(), session.clone())
            && before.username != session.username
        {
            // The id was another user's: it is hers no longer.
            forget_in_index(by_user, &before.username, &session.id);
        }
        by_user
            .entry(session.username.clone())
            .or_default()
            .insert(session.id.clone());
        Ok(())
    }

    async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.inner.lock().sessions.get(id).cloned())
    }

    async fn end_session(&self, id: &SessionId, keep_until: u64) -> Result<bool, StoreError> {
        let mut kept = self.inner.lock();
        let Some(session) = kept.sessions.get_mut(id).filter(|session| !session.ended) else {
            return Ok(false);
        };
        session.ended = true;
        session.expires_at = session.expires_at.min(keep_until);
        Ok(true)
    }

    async fn end_sessions_of(
        &self,
        username: &str,
        keep_until: u64,
    ) -> Result<Vec<SessionId>, StoreError> {
        let mut kept = self.inner.lock();
        let Kept {
            sessions, by_user, ..
        } = &mut *kept;
        let mut ended = Vec::new();
        for id in by_user.get(username).into_iter().flatten() {
            if let Some(session) = sessions.get_mut(id)
                && session.username == username
                && !std::mem::replace(&mut session.ended, true)
            {
                session.expires_at = session.expires_at.min(keep_until);
                ended.push(id.clone());
            }
        }
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
        let Kept {
            sessions, by_user, ..
        } = &mut *kept;
        // The user's live sessions, the last to expire first.
        let mut live: Vec<(u64, &SessionId)> = by_user
            .get(username)
            .into_iter()
            .flatten()
            .filter_map(|id| sessions.get(id).map(|session| (session, id)))
            .filter(|(session, _)| {
                session.username == username && !session.ended && session.expires_at > now
            })
            .map(|(session, id)| (session.expires_at, id))
            .collect();
        live.sort_by(|a, b| b.cmp(a));
        let mut ended: Vec<SessionId> = live
            .into_iter()
            .skip(keep)
            .map(|(_, id)| id.clone())
            .collect();
        for id in &ended {
            if let Some(session) = sessions.get_mut(id) {
                session.ended = true;
                session.expires_at = now;
            }
        }
        ended.sort();
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
        let Kept {
            sessions,
            by_user,
            tickets,
        } = &mut *kept;
        sessions.retain(|id, session| {
            let going = session.expires_at > now;
            if !going {
                forget_in_index(by_user, &session.username, id);
            }
            going
        });
        tickets.retain(|_, ticket| ticket.expires_at > now);
        Ok(())
    }
}

/// Takes `id` out of `username`'s sessions in the index, and the user with her last one.
fn forget_in_index(
    by_user: &mut HashMap<String, HashSet<SessionId>>,
    username: &str,
    id: &SessionId,
) {
    if let Some(ids) = by_user.get_mut(username) {
        ids.remove(id);
        if ids.is_empty() {
            by_user.remove(username);
        }
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
        keep_until: u64,
    ) -> futures_util::future::BoxFuture<'a, Result<bool, StoreError>>;
    fn end_sessions_of<'a>(
        &'a self,
        username: &'a str,
        keep_until: u64,
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
        keep_until: u64,
    ) -> futures_util::future::BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(SessionStore::end_session(self, id, keep_until))
    }

    fn end_sessions_of<'a>(
        &'a self,
        username: &'a str,
        keep_until: u64,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<SessionId>, StoreError>> {
        Box::pin(SessionStore::end_sessions_of(self, username, keep_until))
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

#[cfg(test)]
mod tests {
    use super::{HashSet, MemorySessions, SessionId, SessionRecord, SessionStore};

    fn session(id: &str, username: &str, expires_at: u64) -> SessionRecord {
        SessionRecord {
            id: SessionId::from_text(id),
            username: username.to_owned(),
            expires_at,
            ended: false,
        }
    }

    #[tokio::test]
    async fn the_memory_store_finds_a_users_sessions_by_name_and_prunes_its_index() {
        let store = MemorySessions::new();
        for i in 0..100 {
            let record = session(&format!("s{i}"), &format!("user{}", i % 10), 1_000 + i);
            store.create_session(&record).await.expect("keeps");
        }
        let ended = store.end_sessions_past("user3", 2, 0).await.expect("ends");
        assert_eq!(ended.len(), 8, "ten sessions, two kept");
        assert!(
            ended.iter().all(|id| {
                let kept = store.inner.lock();
                kept.sessions.get(id).is_some_and(|s| s.username == "user3")
            }),
            "hers alone"
        );
        // Expired by 1,050: the first 51, and user3's eight ended ones (which expired when
        // they ended), three of them among the last 49.
        store.prune(1_050).await.expect("prunes");
        assert_eq!(store.inner.lock().sessions.len(), 46);
        let indexed: usize = store.inner.lock().by_user.values().map(HashSet::len).sum();
        assert_eq!(indexed, 46, "the index forgets what is pruned");
        store.prune(u64::MAX).await.expect("prunes");
        assert!(store.inner.lock().by_user.is_empty());
    }

    #[tokio::test]
    async fn a_session_kept_again_under_another_name_is_the_new_users_alone() {
        let store = MemorySessions::new();
        store
            .create_session(&session("s1", "alice", 1_000))
            .await
            .expect("keeps");
        store
            .create_session(&session("s1", "bob", 1_000))
            .await
            .expect("keeps");
        assert!(
            store
                .end_sessions_of("alice", u64::MAX)
                .await
                .expect("ends")
                .is_empty(),
            "not alice's any more"
        );
        assert_eq!(
            store
                .end_sessions_of("bob", u64::MAX)
                .await
                .expect("ends")
                .len(),
            1
        );
        store.prune(u64::MAX).await.expect("prunes");
        assert!(store.inner.lock().by_user.is_empty(), "nothing left behind");
    }
}
