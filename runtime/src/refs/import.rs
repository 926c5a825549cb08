//! Provides the import table: the peer's objects we hold proxies for, and how many times each
//! id was handed to us, so a release gives back exactly what we received.

use super::{RefError, RemoteInner};
use std::collections::HashMap;
use std::sync::{Arc, Weak};

/// One of the peer's objects as we see it.
struct ImportEntry {
    /// How many times the peer handed us this id since the entry was created.
    received: u64,
    /// Messages that handed us this id and are not yet decoded (or discarded).
    holds: u32,
    /// The shared inner of every live `Remote` for this id.
    live: Weak<RemoteInner>,
}

/// The peer's objects held on one connection. Its keys come from the peer, so it keeps
/// std's randomly keyed hasher.
#[derive(Default)]
pub(crate) struct ImportTable {
    entries: HashMap<u64, ImportEntry>,
}

impl ImportTable {
    /// Counts one handing-over of `id` by a message about to be decoded.
    pub(crate) fn announce(&mut self, id: u64) {
        let entry = self.entries.entry(id).or_insert_with(|| ImportEntry {
            received: 0,
            holds: 0,
            live: Weak::new(),
        });
        entry.received += 1;
        entry.holds += 1;
    }

    /// The live inner for `id`, or a new one made by `make`; `id` must have been announced.
    pub(crate) fn attach(
        &mut self,
        id: u64,
        make: impl FnOnce() -> Arc<RemoteInner>,
    ) -> Result<Arc<RemoteInner>, RefError> {
        let entry = self
            .entries
            .get_mut(&id)
            .ok_or(RefError::NotAnnounced(id))?;
        if let Some(inner) = entry.live.upgrade() {
            return Ok(inner);
        }
        let inner = make();
        entry.live = Arc::downgrade(&inner);
        Ok(inner)
    }

    /// Ends one hold on `id` (its message was decoded or discarded). Returns the count to
    /// release if no `Remote` for it is alive.
    pub(crate) fn settle(&mut self, id: u64) -> Option<u64> {
        let entry = self.entries.get_mut(&id)?;
        entry.holds = entry.holds.saturating_sub(1);
        if entry.holds == 0 && entry.live.strong_count() == 0 {
            return self.entries.remove(&id).map(|entry| entry.received);
        }
        None
    }

    /// The last `Remote` of `inner` is gone. Returns the count to release, unless a message
    /// still holds the id (it then releases everything when it settles).
    pub(crate) fn dropped(&mut self, id: u64, inner: *const RemoteInner) -> Option<u64> {
        let entry = self.entries.get_mut(&id)?;
        if entry.live.as_ptr() != inner {
            return None;
        }
        if entry.holds > 0 {
            entry.live = Weak::new();
            return None;
        }
        self.entries.remove(&id).map(|entry| entry.received)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}
