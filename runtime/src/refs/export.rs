//! Provides the export table: our objects that one connection's peer may call, by id.

use super::RefError;
use crate::dispatch::Object;
use std::collections::HashMap;
use std::sync::Arc;

/// The id of the root object, when a side publishes one.
pub(crate) const ROOT_ID: u64 = 0;

/// One exported object and how many times its id was sent and not yet released.
struct ExportEntry {
    object: Arc<dyn Object>,
    sent: u64,
    pinned: bool,
}

/// Our objects exported to one connection.
///
/// Ids are never reused, so a released id stays invalid. Exporting an object that is already in
/// the table returns its existing id (identity is the object's address, kept alive by the entry).
pub(crate) struct ExportTable {
    entries: HashMap<u64, ExportEntry>,
    by_address: HashMap<usize, u64>,
    next_id: u64,
    limit: usize,
}

fn address(object: &Arc<dyn Object>) -> usize {
    Arc::as_ptr(object).cast::<()>() as usize
}

impl ExportTable {
    pub(crate) fn new(limit: usize) -> Self {
        ExportTable {
            entries: HashMap::new(),
            by_address: HashMap::new(),
            next_id: ROOT_ID + 1,
            limit,
        }
    }

    /// Publishes `object` as the root, under [`ROOT_ID`], never released by the peer.
    pub(crate) fn set_root(&mut self, object: Arc<dyn Object>) {
        self.by_address.insert(address(&object), ROOT_ID);
        self.entries.insert(
            ROOT_ID,
            ExportEntry {
                object,
                sent: 0,
                pinned: true,
            },
        );
    }

    /// Records one more sending of `object`; returns its id.
    pub(crate) fn export(&mut self, object: Arc<dyn Object>) -> Result<u64, RefError> {
        if let Some(&id) = self.by_address.get(&address(&object))
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
        self.by_address.insert(address(&object), id);
        self.entries.insert(
            id,
            ExportEntry {
                object,
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
        let entry = self.entries.remove(&id)?;
        self.by_address.remove(&address(&entry.object));
        Some(entry.object)
    }

    /// Empties the table; returns the objects so the caller drops them outside the lock.
    pub(crate) fn drain(&mut self) -> Vec<Arc<dyn Object>> {
        self.by_address.clear();
        self.entries
            .drain()
            .map(|(_, entry)| entry.object)
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
