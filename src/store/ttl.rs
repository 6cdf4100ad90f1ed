//! A small in-isolate cache with a time-to-live, for answers that may be
//! reused for a few seconds (Kratos sessions, KV entitlement records). Pure:
//! the caller passes `now`, so expiry is tested without a clock.

use std::collections::HashMap;
use std::hash::Hash;

/// At most this many entries per cache: an isolate serves many users, and
/// memory must stay bounded whatever the traffic.
pub const MAX_ENTRIES: usize = 4096;

/// Values kept until `now` reaches their expiry, at most [`MAX_ENTRIES`].
#[derive(Debug)]
pub struct TtlCache<K, V> {
    entries: HashMap<K, (V, u64)>,
}

impl<K: Eq + Hash + Clone, V: Clone> Default for TtlCache<K, V> {
    fn default() -> Self {
        Self { entries: HashMap::new() }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// The value for `key`, unless it expired by `now_ms`.
    pub fn get(&self, key: &K, now_ms: u64) -> Option<V> {
        self.entries.get(key).filter(|(_, until)| now_ms < *until).map(|(v, _)| v.clone())
    }

    /// Keeps `value` for `ttl_secs` from `now_ms` (`0`: not at all). When
    /// full, expired entries go first, then everything (a rare reset beats
    /// unbounded memory).
    pub fn put(&mut self, key: K, value: V, now_ms: u64, ttl_secs: u64) {
        if ttl_secs == 0 {
            self.entries.remove(&key);
            return;
        }
        if self.entries.len() >= MAX_ENTRIES && !self.entries.contains_key(&key) {
            self.entries.retain(|_, (_, until)| now_ms < *until);
            if self.entries.len() >= MAX_ENTRIES {
                self.entries.clear();
            }
        }
        self.entries.insert(key, (value, now_ms.saturating_add(ttl_secs.saturating_mul(1000))));
    }

    /// Forgets `key` (its value changed elsewhere).
    pub fn remove(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Forgets every entry whose value is `value` (e.g. every cached
    /// session of an identity that was just deleted).
    pub fn remove_value(&mut self, value: &V)
    where
        V: PartialEq,
    {
        self.entries.retain(|_, (v, _)| v != value);
    }

    /// How many entries are held (expired ones included until evicted).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Turns to do one thing per key at a time (ask Kratos about one
/// credential), each given back by its holder or lapsing `lapse_ms` after
/// it was taken. The lapse matters: the runtime may cancel a request (its
/// client went away) and never run its code again, destructors included,
/// so a turn that waited for its holder to give it back would be held for
/// the isolate's life, and every later request with that key would wait.
#[derive(Debug)]
pub struct Turns<K> {
    /// The holder's token and when it took the turn (unix ms).
    held: HashMap<K, (u64, u64)>,
    next_token: u64,
    lapse_ms: u64,
}

impl<K: Eq + Hash + Clone> Turns<K> {
    /// Turns that lapse `lapse_ms` after they are taken.
    pub fn new(lapse_ms: u64) -> Self {
        Turns { held: HashMap::new(), next_token: 0, lapse_ms }
    }

    /// Takes the turn for `key` when nobody holds it, or its holder's turn
    /// lapsed: the token to give it back with. `None` while another holds it.
    pub fn take(&mut self, key: K, now_ms: u64) -> Option<u64> {
        if self.is_held(&key, now_ms) {
            return None;
        }
        if self.held.len() >= MAX_ENTRIES {
            let lapse = self.lapse_ms;
            self.held.retain(|_, (_, at)| now_ms < at.saturating_add(lapse));
        }
        self.next_token = self.next_token.wrapping_add(1);
        self.held.insert(key, (self.next_token, now_ms));
        Some(self.next_token)
    }

    /// Whether someone holds the turn for `key` at `now_ms`.
    pub fn is_held(&self, key: &K, now_ms: u64) -> bool {
        self.held.get(key).is_some_and(|(_, at)| now_ms < at.saturating_add(self.lapse_ms))
    }

    /// Gives the turn back, unless it lapsed and another holder took it.
    pub fn give_back(&mut self, key: &K, token: u64) {
        if self.held.get(key).is_some_and(|(t, _)| *t == token) {
            self.held.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_is_one_holders_until_given_back_or_lapsed() {
        let mut t = Turns::new(8_000);
        let first = t.take("cred", 1_000).expect("free");
        assert_eq!(t.take("cred", 1_001), None, "held");
        assert!(t.is_held(&"cred", 8_999));
        assert!(t.take("other", 1_001).is_some(), "turns are per key");
        t.give_back(&"cred", first);
        assert!(!t.is_held(&"cred", 1_002));
        assert!(t.take("cred", 1_002).is_some(), "given back: free again");
    }

    #[test]
    fn a_turn_whose_holder_never_gives_it_back_lapses() {
        // The holder's request was cancelled: its code never runs again.
        let mut t = Turns::new(8_000);
        let lost = t.take("cred", 1_000).unwrap();
        assert_eq!(t.take("cred", 8_999), None);
        assert!(!t.is_held(&"cred", 9_000), "lapsed at the deadline");
        let next = t.take("cred", 9_000).expect("taken over");
        t.give_back(&"cred", lost);
        assert!(t.is_held(&"cred", 9_001), "the lost holder cannot give back the new holder's turn");
        t.give_back(&"cred", next);
        assert!(!t.is_held(&"cred", 9_001));
    }

    #[test]
    fn values_live_for_their_ttl_only() {
        let mut c = TtlCache::default();
        c.put("a", 1, 10_000, 5);
        assert_eq!(c.get(&"a", 10_000), Some(1));
        assert_eq!(c.get(&"a", 14_999), Some(1));
        assert_eq!(c.get(&"a", 15_000), None, "expired exactly at the ttl");
        c.put("a", 2, 20_000, 0);
        assert_eq!(c.get(&"a", 20_000), None, "a ttl of 0 caches nothing");
        c.put("b", 3, 0, 5);
        c.remove(&"b");
        assert_eq!(c.get(&"b", 1), None);
        c.put("c", 7, 0, 5);
        c.put("d", 7, 0, 5);
        c.put("e", 8, 0, 5);
        c.remove_value(&7);
        assert_eq!((c.get(&"c", 1), c.get(&"d", 1), c.get(&"e", 1)), (None, None, Some(8)));
    }

    #[test]
    fn stays_bounded() {
        let mut c = TtlCache::default();
        for i in 0..MAX_ENTRIES as u64 {
            c.put(i, i, 0, 1);
        }
        assert_eq!(c.len(), MAX_ENTRIES);
        c.put(u64::MAX, 0, 500, 1);
        assert!(c.len() <= MAX_ENTRIES, "full of live entries: reset, then insert");
        assert_eq!(c.get(&u64::MAX, 500), Some(0));
        let mut c = TtlCache::default();
        for i in 0..MAX_ENTRIES as u64 {
            c.put(i, i, 0, 1);
        }
        c.put(u64::MAX, 0, 2_000, 1);
        assert_eq!(c.len(), 1, "expired entries are evicted first");
    }
}
