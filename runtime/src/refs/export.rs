//! Provides the export table: our objects that one connection's peer may call, by id.

use super::RefError;
use crate::dispatch::Object;
use crate::id_map::IdMap;
use crate::session::Session;
use std::collections::HashMap;
use std::sync::Arc;

/// The id of the root object, when a side publishes one.
pub(crate) const ROOT_ID: u64 = 0;

/// One exported object, the login it was handed out through, and how many times its id was
/// sent and not yet released.
struct ExportEntry {
    object: Arc<dyn Object>,
    session: Option<Arc<Session>>,
    sent: u64,
    pinned: bool,
}

/// An exported object as a call finds it.
pub(crate) struct Exported {
    pub(crate) object: Arc<dyn Object>,
    /// The login the reference was handed out through (its perspective), if any.
    pub(crate) session: Option<Arc<Session>>,
}

/// Our objects exported to one connection.
///
/// Ids are never reused, so a released id stays invalid. Exporting an object that is already in
/// the table through the same login returns its existing id (identity is the object's address,
/// kept alive by the entry, and the login's); the same object handed out through two logins
/// gets two ids, each carrying its own perspective.
pub(crate) struct ExportTable {
    entries: IdMap<ExportEntry>,
    by_key: HashMap<(usize, usize), u64>,
    next_id: u64,
    limit: usize,
}

fn key(object: &Arc<dyn Object>, session: Option<&Arc<Session>>) -> (usize, usize) {
    (
        Arc::as_ptr(object).cast::<()>() as usize,
        Session::key(session),
    )
}

impl ExportTable {
    pub(crate) fn new(limit: usize) -> Self {
        ExportTable {
            entries: IdMap::default(),
            by_key: HashMap::new(),
            next_id: ROOT_ID + 1,
            limit,
        }
    }

    /// Publishes `object` as the root, under [`ROOT_ID`], never released by the peer.
    pub(crate) fn set_root(&mut self, object: Arc<dyn Object>) {
        self.by_key.insert(key(&object, None), ROOT_ID);
        self.entries.insert(
            ROOT_ID,
            ExportEntry {
                object,
                session: None,
                sent: 0,
                pinned: true,
            },
        );
    }

    /// Records one more sending of `object` through `session`; returns its id.
    pub(crate) fn export(
        &mut self,
        object: Arc<dyn Object>,
        session: Option<Arc<Session>>,
    ) -> Result<u64, RefError> {
        let key = key(&object, session.as_ref());
        if let Some(&id) = self.by_key.get(&key)
            && let Some(entry) = self.entries.get_mut(&id)
        {
            entry.sent += 1;
            return Ok(id);
        }
        if self.entries.len() >= self.limit {
            return Err(RefError::TooMany { limit: self.limit });
        }
        let id = self.next_id;
        self.next_id += 1;
        self.by_key.insert(key, id);
        self.entries.insert(
            id,
            ExportEntry {
                object,
                session,
                sent: 1,
                pinned: false,
            },
        );
        Ok(id)
    }

    /// The object exported under `id`, if any.
    pub(crate) fn get(&self, id: u64) -> Option<&Arc<dyn Object>> {
        self.entries.get(&id).map(|entry| &entry.object)
    }

    /// The object exported under `id` and its perspective, if any.
    pub(crate) fn exported(&self, id: u64) -> Option<Exported> {
        self.entries.get(&id).map(|entry| Exported {
            object: Arc::clone(&entry.object),
            session: entry.session.clone(),
        })
    }

    /// Takes back `count` sendings of `id`. Returns the object if its entry is gone, so the
    /// caller drops it outside the lock. Unknown ids are ignored: releases may cross a close.
    pub(crate) fn release(&mut self, id: u64, count: u64) -> Option<Arc<dyn Object>> {
        let entry = self.entries.get_mut(&id)?;
        if entry.pinned {
            return None;
        }
        entry.sent = entry.sent.saturating_sub(count);
        if entry.sent > 0 {
            return None;
        }
        self.remove(id)
    }

    fn remove(&mut self, id: u64) -> Option<Arc<dyn Object>> {
        let entry = self.entries.remove(&id)?;
        self.by_key
            .remove(&key(&entry.object, entry.session.as_ref()));
        Some(entry.object)
    }

    /// Removes every reference handed out through `session`; returns the objects so the caller
    /// drops them outside the lock.
    pub(crate) fn revoke(&mut self, session: &Arc<Session>) -> Vec<Arc<dyn Object>> {
        let ids: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, entry)| {
                entry
                    .session
                    .as_ref()
                    .is_some_and(|owner| Arc::ptr_eq(owner, session))
            })
            .map(|(&id, _)| id)
            .collect();
        ids.into_iter().filter_map(|id| self.remove(id)).collect()
    }

    /// Empties the table; returns the objects so the caller drops them outside the lock.
    pub(crate) fn drain(&mut self) -> Vec<Arc<dyn Object>> {
        self.by_key.clear();
        self.entries
            .drain()
            .map(|(_, entry)| entry.object)
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
