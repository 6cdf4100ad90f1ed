//! What the worker keeps: the KV layout (which key holds what; pure names
//! and TTLs, which the shell's `http::kv` reads and writes), and the
//! isolate's short-lived caches and turns (`ttl`).
//!
//! | key | value | why |
//! | --- | --- | --- |
//! | `ent:{identity}` | the entitlement record (JSON) | the gate's one read |
//! | `idn:{identity}` | Stripe customer id | identity -> customer link |
//! | `cus:{customer}` | identity id | customer -> identity link (webhooks name customers) |
//! | `evt:{event}` | processed marker | webhook deduplication |
//! | `trial:{identity}` | start time of the app trial | "once per identity" |
//! | `gone:{identity}` | deletion time | a deleted account is never written back by a late event |
//! | `chk:{identity}` | the last Checkout Session started, its price and expiry (JSON) | resume it, key the next one, `pending` |
//! | `cse:{session}` | when an event said the Checkout Session is over | it no longer makes the record `pending` |
//! | `rec:state` | the reconciliation walk's state (JSON) | the cursor, the last step's figures, reports |
//! | `rec:lease` | the step holding the walk (JSON) | overlapping steps never both advance the cursor |
//!
//! An entitlement derived from Stripe carries KV metadata [`SyncMark`]: when
//! Stripe was read. Two syncs of one customer can overlap (Stripe delivers
//! events concurrently); the one that read Stripe later must win even when
//! it finishes first, so a write never replaces a record read later.

pub mod ttl;

use serde::{Deserialize, Serialize};

use crate::identity::IdentityId;

/// KV metadata of a Stripe-derived entitlement record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMark {
    /// Unix milliseconds just before the subscriptions were listed.
    pub read_ms: u64,
}

/// Whether a record from a Stripe read at `candidate_ms` may replace the
/// stored one (read at `stored_ms`; `None` for a record not derived from a
/// read, such as the first record written at registration).
pub fn supersedes(candidate_ms: u64, stored_ms: Option<u64>) -> bool {
    stored_ms.is_none_or(|stored| candidate_ms >= stored)
}

/// Key of an identity's entitlement record.
pub fn entitlement(identity_id: &IdentityId) -> String {
    format!("ent:{identity_id}")
}

/// Key of the identity -> Stripe customer link.
pub fn identity_link(identity_id: &IdentityId) -> String {
    format!("idn:{identity_id}")
}

/// Key of the Stripe customer -> identity link.
pub fn customer_link(customer_id: &str) -> String {
    format!("cus:{customer_id}")
}

/// Key of a processed Stripe event.
pub fn processed_event(event_id: &str) -> String {
    format!("evt:{event_id}")
}

/// Key of an identity's app trial.
pub fn trial(identity_id: &IdentityId) -> String {
    format!("trial:{identity_id}")
}

/// Key of a deleted identity's tombstone.
pub fn tombstone(identity_id: &IdentityId) -> String {
    format!("gone:{identity_id}")
}

/// Key of the last Checkout Session an identity started.
pub fn last_checkout(identity_id: &IdentityId) -> String {
    format!("chk:{identity_id}")
}

/// Key of a Checkout Session an event said is over (completed or expired).
pub fn checkout_ended(session_id: &str) -> String {
    format!("cse:{session_id}")
}

/// Key of the reconciliation walk's state.
pub const RECONCILE_STATE: &str = "rec:state";

/// Key of the reconciliation walk's lease.
pub const RECONCILE_LEASE: &str = "rec:lease";

/// How long the last Checkout Session is remembered: longer than the 24 h
/// Stripe replays an idempotency key for, so a forgotten one ("none") can
/// no longer replay an old session.
pub const LAST_CHECKOUT_TTL_SECS: u64 = 2 * 24 * 3600;

/// How long a processed event is remembered: longer than Stripe's 3 days
/// of live-mode retries.
pub const PROCESSED_EVENT_TTL_SECS: u64 = 7 * 24 * 3600;

/// How long a deletion is remembered: longer than any billing period a
/// late event could still describe.
pub const TOMBSTONE_TTL_SECS: u64 = 400 * 24 * 3600;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_read_wins_whatever_the_order_of_writes() {
        assert!(supersedes(1_000, None));
        assert!(supersedes(1_000, Some(999)));
        assert!(supersedes(1_000, Some(1_000)), "the same read may be written again (a redelivery)");
        assert!(!supersedes(999, Some(1_000)), "an older read never replaces a newer one");
    }

    #[test]
    fn keys_of_different_kinds_never_collide() {
        let raw = "9f1c0000-0000-4000-8000-000000000001";
        let id = &IdentityId::parse(raw).unwrap();
        let keys = [
            entitlement(id),
            identity_link(id),
            trial(id),
            tombstone(id),
            last_checkout(id),
            checkout_ended(raw),
            customer_link(raw),
            processed_event(raw),
            RECONCILE_STATE.to_owned(),
            RECONCILE_LEASE.to_owned(),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(entitlement(id), format!("ent:{raw}"));
    }
}
