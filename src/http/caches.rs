//! The isolate's caches (one isolate serves many requests, one at a time):
//! whoami answers for `SESSION_CACHE_TTL`, keyed by a hash of the
//! credential, and KV entitlement records for `ENTITLEMENT_CACHE_TTL`,
//! written through when this isolate writes a record.

use std::cell::RefCell;
use std::rc::Rc;

use crate::cache::TtlCache;
use crate::entitlements::record::Entitlement;
use crate::identity::IdentityId;

thread_local! {
    static SESSIONS: RefCell<TtlCache<[u8; 32], IdentityId>> = RefCell::new(TtlCache::default());
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
