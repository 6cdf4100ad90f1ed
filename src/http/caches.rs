//! The isolate's caches (one isolate serves many requests, one at a time):
//! whoami answers for `SESSION_CACHE_TTL`, keyed by a hash of the
//! credential, and KV entitlement records for `ENTITLEMENT_CACHE_TTL`,
//! written through when this isolate writes a record. Concurrent requests
//! with one credential the cache does not know ask Kratos once: the others
//! wait for that answer ([`whoami_turn`]).

use std::cell::RefCell;
use std::rc::Rc;

use super::outbound::UPSTREAM_TIMEOUT;
use crate::entitlements::record::Entitlement;
use crate::identity::IdentityId;
use crate::store::ttl::{TtlCache, Turns};

thread_local! {
    static SESSIONS: RefCell<TtlCache<[u8; 32], IdentityId>> = RefCell::new(TtlCache::default());
    /// Credentials whose whoami a request is asking now; a turn lapses at
    /// the upstream deadline, even if its request never gives it back.
    static ASKING: RefCell<Turns<[u8; 32]>> = RefCell::new(Turns::new(UPSTREAM_TIMEOUT.as_millis() as u64));
    static ENTITLEMENTS: RefCell<TtlCache<IdentityId, Rc<Entitlement>>> = RefCell::new(TtlCache::default());
}

/// The identity a credential signed in as, if seen within its TTL.
pub fn session(key: &[u8; 32], now_ms: u64) -> Option<IdentityId> {
    SESSIONS.with(|c| c.borrow().get(key, now_ms))
}

/// Remembers an active session's identity.
pub fn put_session(key: [u8; 32], identity: IdentityId, now_ms: u64, ttl_secs: u64) {
    SESSIONS.with(|c| c.borrow_mut().put(key, identity, now_ms, ttl_secs));
}

/// Takes the turn to ask Kratos about a credential the cache does not know;
/// `None` while another request has it (see `auth::require_session`, which
/// then waits for that answer), so that requests arriving while a
/// session's cache entry expired ask Kratos once, not each.
pub fn whoami_turn(key: [u8; 32], now_ms: u64) -> Option<Asking> {
    let token = ASKING.with(|asking| asking.borrow_mut().take(key, now_ms))?;
    Some(Asking { key, token })
}

/// Whether a request is asking Kratos about `key` now.
pub fn being_asked(key: &[u8; 32], now_ms: u64) -> bool {
    ASKING.with(|asking| asking.borrow().is_held(key, now_ms))
}

/// The turn to ask Kratos about one credential, given back when dropped:
/// after the answer was cached, or when asking failed. A request the
/// runtime cancels is never dropped: its turn lapses instead.
pub struct Asking {
    key: [u8; 32],
    token: u64,
}

impl Drop for Asking {
    fn drop(&mut self) {
        ASKING.with(|asking| asking.borrow_mut().give_back(&self.key, self.token));
    }
}

/// Forgets every cached session of an identity (it was just deleted here,
/// and its sessions with it).
pub fn forget_sessions_of(identity: &IdentityId) {
    SESSIONS.with(|c| c.borrow_mut().remove_value(identity));
}

/// The identity's record as last read or written here, within its TTL
/// (shared, not copied: a check only reads it).
pub fn entitlement(identity: &IdentityId, now_ms: u64) -> Option<Rc<Entitlement>> {
    ENTITLEMENTS.with(|c| c.borrow().get(identity, now_ms))
}

/// Remembers a record read from or written to KV.
pub fn put_entitlement(e: Rc<Entitlement>, now_ms: u64, ttl_secs: u64) {
    ENTITLEMENTS.with(|c| c.borrow_mut().put(e.identity_id.clone(), e, now_ms, ttl_secs));
}

/// Forgets a record (deleted, or a write whose outcome is not known here).
pub fn forget_entitlement(identity: &IdentityId) {
    ENTITLEMENTS.with(|c| c.borrow_mut().remove(identity));
}
