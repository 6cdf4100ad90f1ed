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

#[cfg(test)]
mod tests {
    use super::*;

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
