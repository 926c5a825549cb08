//! Provides the failed-login throttle: how many password logins may fail per user name and per
//! peer address, and token logins per peer address, as leaky buckets of failures.
//!
//! Each key (a user name, an address) has a level of recent failures that drains by one every
//! `refill`. An attempt is checked only while the level leaves room for one more failure
//! (`burst` in all); otherwise it is refused without looking at the proof. A password login
//! then answers exactly as a wrong password does, so a guesser cannot tell a throttled guess
//! from a wrong one; a token login, which has nothing to guess, says it was refused.
//! Refused attempts do not raise the level: the rate of guesses that are really checked is one
//! per `refill` per key, whatever the guesser sends.
//!
//! The tables are bounded: each keeps two generations of at most [`GENERATION`] keys; when the
//! current one is full it becomes the previous one, and the keys not seen since fall out. The
//! token logins being checked, counted by address beside them, are bounded by the checks in
//! flight (at most 16 per connection, and `Config::max_token_checks_per_address` per address)
//! and leave as each answers.

use crate::address::AddressKey;
use crate::config::RateLimit;
use crate::lock::Lock;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use tokio::time::Instant;

/// Keys per generation of a table.
pub(crate) const GENERATION: usize = 65_536;

/// The failure level of one key, as of `at`.
#[derive(Debug, Clone, Copy)]
struct Level {
    failures: f64,
    at: Instant,
}

impl Level {
    /// The level at `now`, drained by the time elapsed.
    fn at(self, now: Instant, limit: RateLimit) -> f64 {
        let refill = limit.refill.as_secs_f64();
        if refill <= 0.0 {
            return 0.0;
        }
        let drained = now.saturating_duration_since(self.at).as_secs_f64() / refill;
        (self.failures - drained).max(0.0)
    }
}

/// Failure levels by key, in two generations.
#[derive(Debug)]
struct Buckets<K> {
    current: HashMap<K, Level>,
    previous: HashMap<K, Level>,
    /// Logins counted before they are checked (see [`Throttle::reserve_from`]), by key: they
    /// do not drain, and leave when their check answers (at most one per login being checked).
    pending: HashMap<K, u32>,
}

impl<K: Hash + Eq + Copy> Buckets<K> {
    fn new() -> Self {
        Buckets {
            current: HashMap::new(),
            previous: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    fn level(&self, key: K, now: Instant, limit: RateLimit) -> f64 {
        self.current
            .get(&key)
            .or_else(|| self.previous.get(&key))
            .map_or(0.0, |level| level.at(now, limit))
    }

    /// Whether `key` has room for one more failure.
    fn allows(&self, key: K, now: Instant, limit: RateLimit) -> bool {
        self.level(key, now, limit) + 1.0 <= f64::from(limit.burst) + 1e-9
    }

    /// Counts a login of `key` about to be checked, if its failures leave room for one more
    /// and fewer than `at_once` of its logins are being checked: whether they did.
    fn reserve(&mut self, key: K, now: Instant, limit: RateLimit, at_once: u32) -> bool {
        let pending = self.pending.get(&key).copied().unwrap_or(0);
        let room = pending < at_once && self.allows(key, now, limit);
        if room {
            self.pending.insert(key, pending.saturating_add(1));
        }
        room
    }

    /// The check of a login [`reserve`](Self::reserve) counted answered: it leaves the logins
    /// being checked, and counts as a failure if it `failed`.
    fn settle(&mut self, key: K, now: Instant, limit: RateLimit, failed: bool) {
        match self.pending.get_mut(&key) {
            Some(pending) if *pending > 1 => *pending -= 1,
            _ => {
                self.pending.remove(&key);
            }
        }
        if failed {
            self.record(key, now, limit);
        }
    }

    fn record(&mut self, key: K, now: Instant, limit: RateLimit) {
        let failures = self.level(key, now, limit) + 1.0;
        if self.current.len() >= GENERATION && !self.current.contains_key(&key) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, Level { failures, at: now });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

/// The limits one attempt is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) per_user: RateLimit,
    pub(crate) per_address: RateLimit,
}

/// Who an attempt is from and for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt {
    user: u64,
    address: Option<AddressKey>,
}

/// Failed password logins, per user name and per peer address; failed and pending token
/// logins, per peer address.
#[derive(Debug)]
pub(crate) struct Throttle {
    /// User names are kept as keyed hashes: fixed size, whatever a peer sends.
    names: RandomState,
    users: Lock<Buckets<u64>>,
    addresses: Lock<Buckets<AddressKey>>,
}

impl Throttle {
    pub(crate) fn new() -> Self {
        Throttle {
            names: RandomState::new(),
            users: Lock::new(Buckets::new()),
            addresses: Lock::new(Buckets::new()),
        }
    }

    /// The keys of an attempt for `username` from `address`.
    pub(crate) fn attempt(&self, username: &str, address: Option<AddressKey>) -> Attempt {
        Attempt {
            user: self.names.hash_one(username),
            address,
        }
    }

    /// Whether `attempt` may be checked now; if not, it fails unchecked.
    pub(crate) fn allows(&self, attempt: Attempt, limits: Limits, now: Instant) -> bool {
        let user = self.users.lock().allows(attempt.user, now, limits.per_user);
        let address = attempt.address.is_none_or(|address| {
            self.addresses
                .lock()
                .allows(address, now, limits.per_address)
        });
        user && address
    }

    /// Counts one checked attempt that failed.
    pub(crate) fn failed(&self, attempt: Attempt, limits: Limits, now: Instant) {
        self.users.lock().record(attempt.user, now, limits.per_user);
        if let Some(address) = attempt.address {
            self.addresses
                .lock()
                .record(address, now, limits.per_address);
        }
    }

    /// Counts a login from `address` before it is checked, if the address's failures leave
    /// room for one more and fewer than `at_once` of its logins are being checked: whether they
    /// did (if not, the login is refused unchecked). Token logins count this way, by their
    /// address alone: a token cannot be guessed (a budget per user would only let anyone lock
    /// a user's token logins out), but its check costs its issuer a question. Logins checked
    /// at once pass the failures' budget by at most `at_once`, while honest ones behind one
    /// address (a NAT) do not spend it. Each is settled with
    /// [`settle_from`](Self::settle_from) once its check answers.
    pub(crate) fn reserve_from(
        &self,
        address: Option<AddressKey>,
        limit: RateLimit,
        at_once: u32,
        now: Instant,
    ) -> bool {
        address.is_none_or(|address| self.addresses.lock().reserve(address, now, limit, at_once))
    }

    /// Settles a login [`reserve_from`](Self::reserve_from) counted: it counts as a failure of
    /// its address if it `failed`.
    pub(crate) fn settle_from(
        &self,
        address: Option<AddressKey>,
        limit: RateLimit,
        now: Instant,
        failed: bool,
    ) {
        if let Some(address) = address {
            self.addresses.lock().settle(address, now, limit, failed);
        }
    }

    /// Keys tracked, users and addresses.
    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        (self.users.lock().len(), self.addresses.lock().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const LIMITS: Limits = Limits {
        per_user: RateLimit {
            burst: 3,
            refill: Duration::from_secs(10),
        },
        per_address: RateLimit {
            burst: 5,
            refill: Duration::from_secs(1),
        },
    };

    fn address(last: u8) -> Option<AddressKey> {
        Some(AddressKey::of(std::net::IpAddr::from([10, 0, 0, last])))
    }

    /// Sends `count` guesses at `throttle`, failing each checked one; returns how many were
    /// checked.
    fn guess(throttle: &Throttle, attempt: Attempt, now: Instant, count: usize) -> usize {
        let mut checked = 0;
        for _ in 0..count {
            if throttle.allows(attempt, LIMITS, now) {
                throttle.failed(attempt, LIMITS, now);
                checked += 1;
            }
        }
        checked
    }

    #[test]
    fn a_user_gets_its_burst_then_one_guess_per_refill() {
        let throttle = Throttle::new();
        let start = Instant::now();
        let alice = throttle.attempt("alice", address(1));
        assert_eq!(guess(&throttle, alice, start, 100), 3);
        assert_eq!(
            guess(&throttle, alice, start + Duration::from_secs(9), 100),
            0
        );
        assert_eq!(
            guess(&throttle, alice, start + Duration::from_secs(10), 100),
            1
        );
        assert_eq!(
            guess(&throttle, alice, start + Duration::from_secs(40), 100),
            3
        );
        // Another address does not help: the user's own budget is spent.
        let elsewhere = throttle.attempt("alice", address(2));
        assert_eq!(
            guess(&throttle, elsewhere, start + Duration::from_secs(40), 100),
            0
        );
    }

    #[test]
    fn an_address_gets_its_burst_whatever_users_it_names() {
        let throttle = Throttle::new();
        let now = Instant::now();
        let checked: usize = (0..20)
            .map(|i| {
                guess(
                    &throttle,
                    throttle.attempt(&format!("user{i}"), address(1)),
                    now,
                    1,
                )
            })
            .sum();
        assert_eq!(checked, 5);
        assert_eq!(
            guess(&throttle, throttle.attempt("bob", address(9)), now, 1),
            1
        );
    }

    #[test]
    fn token_logins_count_against_their_address_alone_when_they_fail() {
        let throttle = Throttle::new();
        let now = Instant::now();
        let limit = LIMITS.per_address;
        let reserve = |at: Instant| {
            (0..20)
                .filter(|_| throttle.reserve_from(address(1), limit, 8, at))
                .count()
        };
        // Twenty logins checked at once: eight get a place, more than the five failures the
        // address may have.
        assert_eq!(reserve(now), 8);
        // Two succeed, six fail: the address has no failure left.
        for failed in [false, false, true, true, true, true, true, true] {
            throttle.settle_from(address(1), limit, now, failed);
        }
        assert_eq!(reserve(now), 0);
        assert!(
            throttle.reserve_from(address(2), limit, 8, now),
            "another address"
        );
        throttle.settle_from(address(2), limit, now, false);
        assert!(
            throttle.allows(throttle.attempt("alice", address(3)), LIMITS, now),
            "no user's budget is spent"
        );
        assert!(
            !throttle.allows(throttle.attempt("alice", address(1)), LIMITS, now),
            "failed token logins spend the address's budget for password logins too"
        );
        // Failures drain, one a second: two seconds on, the address has room for a failure
        // again, and eight logins are checked at once.
        let later = now + Duration::from_secs(2);
        assert_eq!(reserve(later), 8);
        // If they were all made up, the address is past its budget by at most their number.
        for _ in 0..8 {
            throttle.settle_from(address(1), limit, later, true);
        }
        assert_eq!(reserve(later + Duration::from_secs(7)), 0);
        assert!(throttle.addresses.lock().pending.is_empty(), "all settled");
    }

    #[test]
    fn the_tables_stay_bounded() {
        let throttle = Throttle::new();
        let now = Instant::now();
        for i in 0..(3 * GENERATION) {
            let attempt = throttle.attempt(&i.to_string(), None);
            throttle.failed(attempt, LIMITS, now);
        }
        let (users, _) = throttle.tracked();
        assert!(users <= 2 * GENERATION, "{users}");
    }
}
