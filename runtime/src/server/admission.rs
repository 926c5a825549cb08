//! Provides admission: which accepted connections a server keeps, counted in all, per address,
//! and while pending (in the handshake, or on a portal not logged in yet).
//!
//! Pending connections are counted apart from the others, so sockets that never say anything
//! cannot take the places of real clients: one address holds at most
//! `max_pending_per_address` of them, and when all `max_pending_connections` are taken the
//! oldest pending connection is closed to admit the new one. A real client's handshake and
//! login take milliseconds, so an attacker would have to open connections faster than that to
//! crowd it out.

use crate::address::AddressKey;
use crate::config::Config;
use crate::lock::Lock;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `max_connections` are open.
    Full,
    /// `max_connections_per_address` are open from this address.
    AddressFull,
    /// `max_pending_per_address` are pending from this address.
    AddressPendingFull,
}

/// Connections counted per address.
#[derive(Debug, Default, Clone, Copy)]
struct AddressCount {
    open: usize,
    pending: usize,
}

/// The counts behind a server's admission.
#[derive(Debug, Default)]
struct Counts {
    open: usize,
    per_address: HashMap<AddressKey, AddressCount>,
    /// Pending connections, oldest first, with what closes them.
    pending: BTreeMap<u64, (Option<AddressKey>, CancellationToken)>,
    next_ticket: u64,
}

impl Counts {
    fn address(&mut self, key: Option<AddressKey>) -> Option<&mut AddressCount> {
        self.per_address.entry(key?).or_default().into()
    }

    /// Forgets `key`'s counts once it has no connection left.
    fn tidy(&mut self, key: Option<AddressKey>) {
        if let Some(key) = key
            && self
                .per_address
                .get(&key)
                .is_some_and(|count| count.open == 0 && count.pending == 0)
        {
            self.per_address.remove(&key);
        }
    }

    /// Stops counting ticket `id` as pending, if it still was.
    fn end_pending(&mut self, id: u64) -> bool {
        let Some((key, _)) = self.pending.remove(&id) else {
            return false;
        };
        if let Some(count) = self.address(key) {
            count.pending -= 1;
        }
        true
    }
}

/// Decides which connections a server keeps; shared by the accept loop and the connections.
#[derive(Debug)]
pub(crate) struct Admission {
    counts: Lock<Counts>,
    max_connections: usize,
    max_per_address: usize,
    max_pending: usize,
    max_pending_per_address: usize,
}

impl Admission {
    pub(crate) fn new(config: &Config) -> Self {
        Admission {
            counts: Lock::new(Counts::default()),
            max_connections: config.max_connections,
            max_per_address: config.max_connections_per_address,
            max_pending: config.max_pending_connections.max(1),
            max_pending_per_address: config.max_pending_per_address,
        }
    }

    /// Admits a new connection from `ip` as pending, closing the oldest pending connection if
    /// every pending slot is taken; or refuses it.
    pub(crate) fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<Ticket, Refusal> {
        let key = ip.map(AddressKey::of);
        let mut counts = self.counts.lock();
        if counts.open >= self.max_connections {
            return Err(Refusal::Full);
        }
        if let Some(count) = key.and_then(|key| counts.per_address.get(&key)) {
            if count.open >= self.max_per_address {
                return Err(Refusal::AddressFull);
            }
            if count.pending >= self.max_pending_per_address {
                return Err(Refusal::AddressPendingFull);
            }
        }
        while counts.pending.len() >= self.max_pending {
            let Some((&oldest, _)) = counts.pending.iter().next() else {
                break;
            };
            if let Some((_, evict)) = counts.pending.get(&oldest) {
                evict.cancel();
            }
            counts.end_pending(oldest);
        }
        let id = counts.next_ticket;
        counts.next_ticket += 1;
        let evicted = CancellationToken::new();
        counts.pending.insert(id, (key, evicted.clone()));
        counts.open += 1;
        if let Some(count) = counts.address(key) {
            count.open += 1;
            count.pending += 1;
        }
        Ok(Ticket {
            admission: Arc::clone(self),
            id,
            key,
            evicted,
        })
    }

    /// Connections open, and pending among them.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let counts = self.counts.lock();
        (counts.open, counts.pending.len())
    }
}

/// One admitted connection's place, held from accept to close.
#[derive(Debug)]
pub(crate) struct Ticket {
    admission: Arc<Admission>,
    id: u64,
    key: Option<AddressKey>,
    evicted: CancellationToken,
}

impl Ticket {
    /// The connection is pending no more (its handshake is done, or it logged in).
    pub(crate) fn settled(&self) {
        self.admission.counts.lock().end_pending(self.id);
    }

    /// Cancelled when the connection is closed to make room for a newer pending one.
    pub(crate) fn evicted(&self) -> &CancellationToken {
        &self.evicted
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = self.admission.counts.lock();
        counts.end_pending(self.id);
        counts.open -= 1;
        if let Some(count) = counts.address(self.key) {
            count.open -= 1;
        }
        counts.tidy(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(configure: impl FnOnce(&mut Config)) -> Arc<Admission> {
        let mut config = Config::default();
        configure(&mut config);
        Arc::new(Admission::new(&config))
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn one_address_holds_at_most_its_pending_share() {
        let admission = admission(|config| config.max_pending_per_address = 2);
        let first = admission.admit(ip("10.0.0.1")).expect("admitted");
        let _second = admission.admit(ip("10.0.0.1")).expect("admitted");
        assert_eq!(
            admission.admit(ip("10.0.0.1")).err(),
            Some(Refusal::AddressPendingFull)
        );
        assert!(admission.admit(ip("10.0.0.2")).is_ok(), "another address");
        first.settled();
        assert!(
            admission.admit(ip("10.0.0.1")).is_ok(),
            "a settled one frees a place"
        );
    }

    #[test]
    fn the_oldest_pending_connection_makes_room() {
        let admission = admission(|config| config.max_pending_connections = 2);
        let oldest = admission.admit(ip("10.0.0.1")).expect("admitted");
        let settled = admission.admit(ip("10.0.0.2")).expect("admitted");
        settled.settled();
        let _middle = admission.admit(ip("10.0.0.3")).expect("admitted");
        assert!(!oldest.evicted().is_cancelled());
        let _newest = admission.admit(ip("10.0.0.4")).expect("admitted");
        assert!(
            oldest.evicted().is_cancelled(),
            "the oldest pending one goes"
        );
        assert!(
            !settled.evicted().is_cancelled(),
            "settled ones are not pending"
        );
        assert_eq!(admission.counts(), (4, 2));
        drop(oldest);
        assert_eq!(admission.counts(), (3, 2));
    }

    #[test]
    fn totals_and_per_address_totals_are_capped() {
        let admission = admission(|config| {
            config.max_connections = 3;
            config.max_connections_per_address = 2;
        });
        let a = admission.admit(ip("10.0.0.1")).expect("admitted");
        let b = admission.admit(ip("10.0.0.1")).expect("admitted");
        a.settled();
        b.settled();
        assert_eq!(
            admission.admit(ip("10.0.0.1")).err(),
            Some(Refusal::AddressFull)
        );
        let _c = admission.admit(ip("10.0.0.2")).expect("admitted");
        assert_eq!(admission.admit(ip("10.0.0.3")).err(), Some(Refusal::Full));
        drop(a);
        assert!(admission.admit(ip("10.0.0.3")).is_ok());
    }
}
