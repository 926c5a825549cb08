//! Provides maps keyed by the runtime's own ids (call ids, export ids): [`IdMap`], hashed with
//! one multiplication instead of SipHash (the keys are counters the runtime hands out, so there
//! is nothing for a peer to collide on), and [`SequenceMap`], which hands out its ids in
//! sequence and keeps the recent entries in a ring indexed by id.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by runtime ids.
pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of a `u64` id.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by ids it hands out in sequence, for entries that mostly leave in about the
/// order they came (our calls in flight): the recent ones sit in a ring indexed by id, and an
/// entry that outlives [`RECENT_LIMIT`] newer ones moves to a hash map, so the ring stays short
/// however long one entry waits.
#[derive(Debug)]
pub(crate) struct SequenceMap<V> {
    /// The entries of ids `first..first + recent.len()`, `None` where removed; the first one,
    /// if any, is present.
    recent: VecDeque<Option<V>>,
    first: u64,
    /// Entries older than `first`; boxed, since most maps never hold one.
    older: Option<Box<IdMap<V>>>,
    len: usize,
}

/// How many ids the ring spans at most.
pub(crate) const RECENT_LIMIT: usize = 256;

/// Past this capacity, an emptied ring lets its memory go.
const KEPT_CAPACITY: usize = 64;

impl<V> Default for SequenceMap<V> {
    fn default() -> Self {
        SequenceMap {
            recent: VecDeque::new(),
            first: 1,
            older: None,
            len: 0,
        }
    }
}

impl<V> SequenceMap<V> {
    /// Inserts `value` under the next id (the first is 1), and returns that id.
    pub(crate) fn push(&mut self, value: V) -> u64 {
        let id = self.end();
        self.recent.push_back(Some(value));
        self.len += 1;
        if self.recent.len() > RECENT_LIMIT {
            if let Some(Some(oldest)) = self.recent.pop_front() {
                self.older
                    .get_or_insert_default()
                    .insert(self.first, oldest);
            }
            self.first += 1;
            self.trim_front();
        }
        id
    }

    /// The entry of `id`, if present.
    #[inline]
    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut V> {
        match self.recent_index(id) {
            Some(index) => self.recent.get_mut(index)?.as_mut(),
            None => self.older.as_mut()?.get_mut(&id),
        }
    }

    /// Removes the entry of `id` and returns it, if present.
    pub(crate) fn remove(&mut self, id: u64) -> Option<V> {
        let removed = match self.recent_index(id) {
            Some(index) => {
                let removed = self.recent.get_mut(index)?.take();
                if index == 0 {
                    self.trim_front();
                }
                removed
            }
            None => {
                let older = self.older.as_mut()?;
                let removed = older.remove(&id);
                if older.is_empty() {
                    self.older = None;
                }
                removed
            }
        };
        if removed.is_some() {
            self.len -= 1;
        }
        removed
    }

    /// How many entries there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Every entry with its id, the older ones first.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (u64, &mut V)> {
        let first = self.first;
        let older = self
            .older
            .iter_mut()
            .flat_map(|older| older.iter_mut())
            .map(|(&id, value)| (id, value));
        let recent = (first..)
            .zip(self.recent.iter_mut())
            .filter_map(|(id, value)| Some((id, value.as_mut()?)));
        older.chain(recent)
    }

    /// Keeps the entries for which `keep` says so.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        let mut older_len = 0;
        if let Some(older) = self.older.as_mut() {
            older.retain(|_, value| keep(value));
            older_len = older.len();
            if older_len == 0 {
                self.older = None;
            }
        }
        for entry in &mut self.recent {
            if entry.as_mut().is_some_and(|value| !keep(value)) {
                *entry = None;
            }
        }
        self.len = older_len + self.recent.iter().flatten().count();
        self.trim_front();
    }

    /// The id the next entry gets.
    fn end(&self) -> u64 {
        self.first + self.recent.len() as u64
    }

    /// Where `id` would sit in the ring; `None` if it is older than the ring. An index past the
    /// ring's end is an id not handed out yet, which the lookups then do not find.
    #[inline]
    fn recent_index(&self, id: u64) -> Option<usize> {
        id.checked_sub(self.first)
            .and_then(|offset| usize::try_from(offset).ok())
    }

    /// Drops the removed entries at the front, so that the first one is present.
    fn trim_front(&mut self) {
        while let Some(None) = self.recent.front() {
            self.recent.pop_front();
            self.first += 1;
        }
        if self.recent.is_empty() && self.recent.capacity() > KEPT_CAPACITY {
            self.recent = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_in_sequence_and_find_their_entries() {
        let mut map = SequenceMap::default();
        let ids: Vec<u64> = (0..10).map(|n| map.push(n)).collect();
        assert_eq!(ids, (1..=10).collect::<Vec<_>>());
        assert_eq!(map.len(), 10);
        assert_eq!(map.get_mut(4), Some(&mut 3));
        assert_eq!(map.remove(4), Some(3));
        assert_eq!(map.remove(4), None, "removed once");
        assert_eq!(map.get_mut(4), None);
        assert_eq!(map.get_mut(0), None, "never handed out");
        assert_eq!(map.get_mut(11), None, "not handed out yet");
        assert_eq!(map.get_mut(u64::MAX), None);
        assert_eq!(map.len(), 9);
    }

    #[test]
    fn removing_in_order_empties_the_ring_and_ids_keep_rising() {
        let mut map = SequenceMap::default();
        for n in 0..1_000u64 {
            let id = map.push(n);
            assert_eq!(id, n + 1);
            assert_eq!(map.remove(id), Some(n));
        }
        assert_eq!(map.len(), 0);
        assert!(map.recent.is_empty());
        assert_eq!(map.push(0), 1_001, "an id is never handed out twice");
    }

    #[test]
    fn a_long_wait_moves_to_the_older_entries_and_the_ring_stays_short() {
        let mut map = SequenceMap::default();
        let waiting = map.push(u64::MAX);
        for n in 0..10_000u64 {
            let id = map.push(n);
            assert!(map.recent.len() <= RECENT_LIMIT + 1);
            assert_eq!(map.remove(id), Some(n));
        }
        assert_eq!(map.len(), 1);
        assert!(
            map.recent.is_empty(),
            "the ring emptied once the old entry moved out"
        );
        assert_eq!(map.get_mut(waiting).copied(), Some(u64::MAX));
        assert_eq!(map.remove(waiting), Some(u64::MAX));
        assert_eq!(map.len(), 0);
        assert!(map.older.is_none(), "the older entries let their memory go");
    }

    #[test]
    fn entries_leave_in_any_order() {
        let mut map = SequenceMap::default();
        let ids: Vec<u64> = (0..600u64).map(|n| map.push(n)).collect();
        // Every third first, then the rest backwards.
        for id in ids.iter().copied().filter(|id| id % 3 == 0) {
            assert_eq!(map.remove(id), Some(id - 1));
        }
        for id in ids.iter().rev().copied().filter(|id| id % 3 != 0) {
            assert_eq!(map.get_mut(id), Some(&mut (id - 1)));
            assert_eq!(map.remove(id), Some(id - 1));
        }
        assert_eq!(map.len(), 0);
        assert!(map.older.is_none());
    }

    #[test]
    fn iteration_and_retain_see_old_and_recent_entries() {
        let mut map = SequenceMap::default();
        let old = map.push(0u64);
        for n in 1..=300u64 {
            let id = map.push(n);
            if n % 2 == 0 {
                map.remove(id);
            }
        }
        let mut seen: Vec<u64> = map.iter_mut().map(|(id, value)| id - 1 - *value).collect();
        seen.dedup();
        assert_eq!(seen, [0], "each id with its own entry");
        assert_eq!(map.iter_mut().count(), map.len());
        assert!(
            map.older
                .as_ref()
                .is_some_and(|older| older.contains_key(&old)),
            "the first entry outlived the ring"
        );
        assert!(map.iter_mut().any(|(id, _)| id == old));
        map.retain(|value| *value % 3 == 0);
        assert_eq!(map.len(), map.iter_mut().count());
        assert!(map.iter_mut().all(|(_, value)| *value % 3 == 0));
        assert_eq!(map.get_mut(old), Some(&mut 0));
    }
}
