//! Provides one connection's reference tables: the export table (our objects the peer may
//! call, by id) and the import table (the peer's objects we hold, and how many times each id
//! was handed to us).
//!
//! Both are generic over what they hold, so that they know nothing of dispatch or of handles,
//! and are tested here on their own.

use super::error::RefError;
use crate::id_map::IdMap;
use crate::perspective::Perspective;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

/// The id of the root object, when a side publishes one.
pub(crate) const ROOT_ID: u64 = 0;

/// The identity of an object: its address (kept alive by the entry).
fn address<O: ?Sized>(object: &Arc<O>) -> usize {
    Arc::as_ptr(object).cast::<()>() as usize
}

/// The identity of a perspective, `0` for none.
fn perspective_key(perspective: Option<&Arc<Perspective>>) -> usize {
    perspective.map_or(0, address)
}

/// One exported object, the perspective it was handed out through, and how many times its id
/// was sent and not yet released.
struct ExportEntry<O: ?Sized> {
    object: Arc<O>,
    perspective: Option<Arc<Perspective>>,
    sent: u64,
    pinned: bool,
}

/// An exported object as a call finds it, with its perspective.
pub(crate) struct Exported<O: ?Sized> {
    pub(crate) object: Arc<O>,
    pub(crate) perspective: Option<Arc<Perspective>>,
}

/// Our objects exported to one connection.
///
/// Ids are never reused, so a released id stays invalid. Exporting an object that is already in
/// the table through the same perspective returns its existing id; the same object handed out
/// through two perspectives gets two ids, each carrying its own.
pub(crate) struct ExportTable<O: ?Sized> {
    entries: IdMap<ExportEntry<O>>,
    by_identity: HashMap<(usize, usize), u64>,
    next_id: u64,
    limit: usize,
    /// Releases of our objects that came while a reply to one of our calls was undecoded (it
    /// may name them), by id: at most one entry per object in the table.
    deferred: HashMap<u64, u64>,
    /// Sendings of objects taken back by [`revoke`](Self::revoke) (their login ended) that
    /// the peer has not released yet, by id. The peer still counts them among the objects it
    /// holds, so they count against the limit here too until it lets them go.
    revoked: HashMap<u64, u64>,
    /// The interfaces this connection already claimed their names for (see `names.rs`): a
    /// handful, so that exporting does not take the server-wide lock every time.
    claimed: Vec<std::any::TypeId>,
}

impl<O: ?Sized> ExportTable<O> {
    /// An empty table that holds at most `limit` objects.
    pub(crate) fn new(limit: usize) -> Self {
        ExportTable {
            entries: IdMap::default(),
            by_identity: HashMap::new(),
            next_id: ROOT_ID + 1,
            limit,
            deferred: HashMap::new(),
            revoked: HashMap::new(),
            claimed: Vec::new(),
        }
    }

    /// Whether the interface `id` was claimed through this table already.
    pub(crate) fn has_claimed(&self, id: std::any::TypeId) -> bool {
        self.claimed.contains(&id)
    }

    /// Records that the interface `id` was claimed (at most one entry per interface of the
    /// program).
    pub(crate) fn remember_claim(&mut self, id: std::any::TypeId) {
        if !self.has_claimed(id) {
            self.claimed.push(id);
        }
    }

    /// Keeps a release of our object `id` for later (a reply that may name it is not decoded
    /// yet); an unknown or pinned id is ignored, as [`release`](Self::release) would.
    pub(crate) fn defer_release(&mut self, id: u64, count: u64) {
        match self.entries.get(&id) {
            Some(entry) if !entry.pinned => {
                let deferred = self.deferred.entry(id).or_default();
                *deferred = deferred.saturating_add(count);
            }
            Some(_) => {}
            // A revoked object is never sent again under its id: nothing to wait for.
            None => self.release_revoked(id, count),
        }
    }

    /// Whether releases wait.
    pub(crate) fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// Applies the releases kept for later; returns the objects they free, to drop outside the
    /// lock.
    pub(crate) fn apply_deferred(&mut self) -> Vec<Arc<O>> {
        let deferred = std::mem::take(&mut self.deferred);
        deferred
            .into_iter()
            .filter_map(|(id, count)| self.release(id, count))
            .collect()
    }

    /// Publishes `object` as the root, under [`ROOT_ID`], never released by the peer.
    pub(crate) fn set_root(&mut self, object: Arc<O>) {
        self.by_identity.insert((address(&object), 0), ROOT_ID);
        let entry = ExportEntry {
            object,
            perspective: None,
            sent: 0,
            pinned: true,
        };
        self.entries.insert(ROOT_ID, entry);
    }

    /// Records one more sending of `object` through `perspective`; returns its id.
    ///
    /// # Errors
    /// [`RefError::TooMany`] if the object is new and the table is full.
    pub(crate) fn export(
        &mut self,
        object: Arc<O>,
        perspective: Option<Arc<Perspective>>,
    ) -> Result<u64, RefError> {
        let identity = (address(&object), perspective_key(perspective.as_ref()));
        if let Some(&id) = self.by_identity.get(&identity)
            && let Some(entry) = self.entries.get_mut(&id)
        {
            entry.sent += 1;
            return Ok(id);
        }
        if self.entries.len() + self.revoked.len() >= self.limit {
            return Err(RefError::TooMany { limit: self.limit });
        }
        let id = self.next_id;
        self.next_id += 1;
        self.by_identity.insert(identity, id);
        let entry = ExportEntry {
            object,
            perspective,
            sent: 1,
            pinned: false,
        };
        self.entries.insert(id, entry);
        Ok(id)
    }

    /// The object exported under `id`, if any.
    pub(crate) fn get(&self, id: u64) -> Option<&Arc<O>> {
        self.entries.get(&id).map(|entry| &entry.object)
    }

    /// The object exported under `id` and its perspective, if any.
    pub(crate) fn exported(&self, id: u64) -> Option<Exported<O>> {
        self.entries.get(&id).map(|entry| Exported {
            object: Arc::clone(&entry.object),
            perspective: entry.perspective.clone(),
        })
    }

    /// Takes back `count` sendings of `id`. Returns the object if its entry is gone, so the
    /// caller drops it outside the lock. Unknown ids are ignored: releases may cross a close.
    pub(crate) fn release(&mut self, id: u64, count: u64) -> Option<Arc<O>> {
        let Some(entry) = self.entries.get_mut(&id) else {
            self.release_revoked(id, count);
            return None;
        };
        if entry.pinned {
            return None;
        }
        entry.sent = entry.sent.saturating_sub(count);
        if entry.sent > 0 {
            return None;
        }
        self.remove(id)
    }

    /// Takes back `count` sendings of the revoked object `id`, forgetting it once the peer
    /// holds none.
    fn release_revoked(&mut self, id: u64, count: u64) {
        if let Some(left) = self.revoked.get_mut(&id) {
            *left = left.saturating_sub(count);
            if *left == 0 {
                self.revoked.remove(&id);
            }
        }
    }

    fn remove(&mut self, id: u64) -> Option<Arc<O>> {
        let entry = self.entries.remove(&id)?;
        let identity = (
            address(&entry.object),
            perspective_key(entry.perspective.as_ref()),
        );
        self.by_identity.remove(&identity);
        Some(entry.object)
    }

    /// Removes every reference handed out through `perspective`; returns the objects so the
    /// caller drops them outside the lock. Their ids count against the limit until the peer
    /// releases them (it is not told, and may hold them a while).
    pub(crate) fn revoke(&mut self, perspective: &Arc<Perspective>) -> Vec<Arc<O>> {
        let ids: Vec<(u64, u64)> = self
            .entries
            .iter()
            .filter(|(_, entry)| {
                entry
                    .perspective
                    .as_ref()
                    .is_some_and(|owner| Arc::ptr_eq(owner, perspective))
            })
            .map(|(&id, entry)| (id, entry.sent))
            .collect();
        ids.into_iter()
            .filter_map(|(id, sent)| {
                let released = self.deferred.remove(&id).unwrap_or(0);
                let held = sent.saturating_sub(released);
                if held > 0 {
                    self.revoked.insert(id, held);
                }
                self.remove(id)
            })
            .collect()
    }

    /// Empties the table; returns the objects so the caller drops them outside the lock.
    pub(crate) fn drain(&mut self) -> Vec<Arc<O>> {
        self.by_identity.clear();
        self.revoked.clear();
        self.entries
            .drain()
            .map(|(_, entry)| entry.object)
            .collect()
    }

    /// How many objects the table holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// One of the peer's objects as we see it.
struct ImportEntry<R> {
    /// How many times the peer handed us this id since the entry was created.
    received: u64,
    /// Messages that handed us this id and are not yet decoded (or discarded).
    holds: u32,
    /// What every live handle for this id shares.
    live: Weak<R>,
}

/// The peer's objects held on one connection: for each id, the one value (`R`) every handle
/// to it shares, and the count to give back once none is left. Its keys come from the peer,
/// so it keeps std's randomly keyed hasher.
pub(crate) struct ImportTable<R> {
    entries: HashMap<u64, ImportEntry<R>>,
}

impl<R> Default for ImportTable<R> {
    fn default() -> Self {
        ImportTable {
            entries: HashMap::new(),
        }
    }
}

impl<R> ImportTable<R> {
    /// Counts one handing-over of `id` by a message about to be decoded.
    pub(crate) fn announce(&mut self, id: u64) {
        let entry = self.entries.entry(id).or_insert_with(|| ImportEntry {
            received: 0,
            holds: 0,
            live: Weak::new(),
        });
        entry.received = entry.received.saturating_add(1);
        entry.holds = entry.holds.saturating_add(1);
    }

    /// The live value for `id`, or a new one made by `make`.
    ///
    /// # Errors
    /// [`RefError::NotAnnounced`] if no message handed `id` over.
    pub(crate) fn attach(
        &mut self,
        id: u64,
        make: impl FnOnce() -> Arc<R>,
    ) -> Result<Arc<R>, RefError> {
        let entry = self
            .entries
            .get_mut(&id)
            .ok_or(RefError::NotAnnounced(id))?;
        if let Some(live) = entry.live.upgrade() {
            return Ok(live);
        }
        let live = make();
        entry.live = Arc::downgrade(&live);
        Ok(live)
    }

    /// Ends one hold on `id` (its message was decoded or discarded). Returns the count to
    /// release if no handle for it is alive.
    pub(crate) fn settle(&mut self, id: u64) -> Option<u64> {
        let entry = self.entries.get_mut(&id)?;
        entry.holds = entry.holds.saturating_sub(1);
        if entry.holds == 0 && entry.live.strong_count() == 0 {
            return self.entries.remove(&id).map(|entry| entry.received);
        }
        None
    }

    /// The last handle sharing `live` is gone. Returns the count to release, unless a message
    /// still holds the id (it then releases everything when it settles).
    pub(crate) fn dropped(&mut self, id: u64, live: *const R) -> Option<u64> {
        let entry = self.entries.get_mut(&id)?;
        if entry.live.as_ptr() != live {
            return None;
        }
        if entry.holds > 0 {
            entry.live = Weak::new();
            return None;
        }
        self.entries.remove(&id).map(|entry| entry.received)
    }

    /// How many of the peer's objects we hold, or are being handed.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Forgets every entry (the connection closed).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> Arc<Perspective> {
        Perspective::new(Arc::new(()), "test", None)
    }

    #[test]
    fn an_object_keeps_its_id_per_perspective() {
        let mut table = ExportTable::<str>::new(8);
        let object: Arc<str> = Arc::from("object");
        let first = table.export(Arc::clone(&object), None).expect("room");
        assert_eq!(table.export(Arc::clone(&object), None), Ok(first));
        let alice = login();
        let through_alice = table.export(Arc::clone(&object), Some(Arc::clone(&alice)));
        assert_ne!(through_alice, Ok(first), "another perspective, another id");
        let equal_but_other: Arc<str> = Arc::from("object");
        assert_ne!(
            table.export(equal_but_other, None),
            Ok(first),
            "identity, not equality"
        );
        assert_eq!(table.len(), 3);
        let found = table
            .exported(through_alice.expect("room"))
            .expect("exported");
        assert!(Arc::ptr_eq(&found.object, &object));
        assert!(found.perspective.is_some_and(|p| Arc::ptr_eq(&p, &alice)));
    }

    #[test]
    fn an_id_lives_until_every_sending_is_released_and_is_never_reused() {
        let mut table = ExportTable::<u8>::new(8);
        let object = Arc::new(1u8);
        let id = table.export(Arc::clone(&object), None).expect("room");
        table.export(Arc::clone(&object), None).expect("room");
        assert!(table.release(id, 1).is_none(), "one sending left");
        assert!(table.get(id).is_some());
        let gone = table
            .release(id, 1)
            .expect("the last release gives the object back");
        assert!(Arc::ptr_eq(&gone, &object));
        assert!(table.get(id).is_none());
        assert!(table.release(id, 1).is_none(), "a stale release is ignored");
        let again = table.export(object, None).expect("room");
        assert_ne!(again, id, "a released id stays invalid");
    }

    #[test]
    fn releases_wait_while_a_reply_is_undecoded() {
        let mut table = ExportTable::<u8>::new(8);
        let object = Arc::new(1u8);
        let id = table.export(Arc::clone(&object), None).expect("room");
        table.defer_release(id, 1);
        table.defer_release(id + 100, 1);
        assert!(table.get(id).is_some(), "a reply may still name it");
        assert!(table.has_deferred());
        let freed = table.apply_deferred();
        assert_eq!(freed.len(), 1, "applied, the release frees the object");
        assert!(table.get(id).is_none());
        assert!(!table.has_deferred(), "and the unknown id was never kept");
    }

    #[test]
    fn unknown_ids_and_the_root_resist_release() {
        let mut table = ExportTable::<u8>::new(8);
        table.set_root(Arc::new(0));
        assert!(table.release(ROOT_ID, u64::MAX).is_none());
        assert!(table.get(ROOT_ID).is_some(), "the root is pinned");
        assert!(
            table.get(12345).is_none(),
            "an id never handed out is no object"
        );
        assert!(table.release(12345, 1).is_none());
    }

    #[test]
    fn an_id_of_another_table_never_names_that_tables_object() {
        let (mut ours, mut theirs) = (ExportTable::<u8>::new(8), ExportTable::<u8>::new(8));
        let secret = Arc::new(42u8);
        let id = ours.export(Arc::clone(&secret), None).expect("room");
        assert!(theirs.get(id).is_none(), "nothing there under that id");
        let other = theirs.export(Arc::new(7), None).expect("room");
        assert_eq!(other, id, "ids are per table: the same number...");
        assert!(
            theirs
                .get(id)
                .is_some_and(|found| !Arc::ptr_eq(found, &secret)),
            "...names that table's own object, never ours"
        );
    }

    #[test]
    fn a_full_table_refuses_new_objects_but_not_known_ones() {
        let mut table = ExportTable::<u8>::new(2);
        let kept = Arc::new(1u8);
        let id = table.export(Arc::clone(&kept), None).expect("room");
        table.export(Arc::new(2), None).expect("room");
        assert_eq!(
            table.export(Arc::new(3), None),
            Err(RefError::TooMany { limit: 2 })
        );
        assert_eq!(
            table.export(kept, None),
            Ok(id),
            "a known object needs no room"
        );
    }

    #[test]
    fn revoking_a_perspective_removes_what_it_handed_out() {
        let mut table = ExportTable::<u8>::new(8);
        let (alice, bob) = (login(), login());
        let a = table
            .export(Arc::new(1), Some(Arc::clone(&alice)))
            .expect("room");
        let b = table
            .export(Arc::new(2), Some(Arc::clone(&bob)))
            .expect("room");
        let plain = table.export(Arc::new(3), None).expect("room");
        assert_eq!(table.revoke(&alice).len(), 1);
        assert!(table.get(a).is_none());
        assert!(table.get(b).is_some() && table.get(plain).is_some());
        assert_eq!(table.drain().len(), 2);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn what_a_revoked_login_handed_out_holds_its_room_until_the_peer_releases_it() {
        let mut table = ExportTable::<u8>::new(2);
        let alice = login();
        let a = table
            .export(Arc::new(1), Some(Arc::clone(&alice)))
            .expect("room");
        table
            .export(Arc::new(1), Some(Arc::clone(&alice)))
            .expect("room");
        assert_eq!(table.revoke(&alice).len(), 2);
        assert!(table.get(a).is_none(), "no longer callable");
        // The peer was not told: it holds both still, so there is no room for another.
        assert_eq!(
            table.export(Arc::new(3), None),
            Err(RefError::TooMany { limit: 2 })
        );
        // Its release, deferred or not, makes the room again.
        table.defer_release(a, 1);
        let fresh = table.export(Arc::new(3), None).expect("room again");
        assert_eq!(
            table.export(Arc::new(4), None),
            Err(RefError::TooMany { limit: 2 })
        );
        table.release(a + 1, 1);
        table.export(Arc::new(4), None).expect("room again");
        assert!(table.get(fresh).is_some());
    }

    #[test]
    fn an_import_is_released_with_exactly_the_count_received() {
        let mut table = ImportTable::<u8>::default();
        table.announce(5);
        table.announce(5);
        let live = table.attach(5, || Arc::new(0)).expect("announced");
        let same = table.attach(5, || Arc::new(1)).expect("announced");
        assert!(Arc::ptr_eq(&live, &same), "one shared value per id");
        assert_eq!(table.settle(5), None, "a handle is alive");
        assert_eq!(table.settle(5), None);
        drop(same);
        assert_eq!(table.dropped(5, Arc::as_ptr(&live)), Some(2));
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn an_import_never_attached_is_released_when_its_message_settles() {
        let mut table = ImportTable::<u8>::default();
        table.announce(9);
        assert_eq!(table.settle(9), Some(1));
        assert_eq!(
            table.attach(9, || Arc::new(0)).err(),
            Some(RefError::NotAnnounced(9)),
            "an id no message handed over cannot be attached"
        );
    }

    #[test]
    fn a_handle_dropped_while_a_message_holds_its_id_waits_for_the_message() {
        let mut table = ImportTable::<u8>::default();
        table.announce(3);
        let live = table.attach(3, || Arc::new(0)).expect("announced");
        assert_eq!(table.settle(3), None);
        table.announce(3);
        let pointer = Arc::as_ptr(&live);
        drop(live);
        assert_eq!(
            table.dropped(3, pointer),
            None,
            "the second message holds it"
        );
        assert_eq!(table.settle(3), Some(2));
        assert_eq!(
            table.dropped(3, pointer),
            None,
            "a handle of an entry gone does nothing"
        );
    }
}
