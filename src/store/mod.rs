//! The KV layout: which key holds what. Pure names and TTLs; the shell's
//! `http::kv` reads and writes them.
//!
//! | key | value | why |
//! | --- | --- | --- |
//! | `ent:{identity}` | the entitlement record (JSON) | the gate's one read |
//! | `idn:{identity}` | Stripe customer id | identity -> customer link |
//! | `cus:{customer}` | identity id | customer -> identity link (webhooks name customers) |
//! | `evt:{event}` | processed marker | webhook deduplication |
//! | `trial:{identity}` | start time of the app trial | "once per identity" |
//! | `gone:{identity}` | deletion time | a deleted account is never written back by a late event |

/// Key of an identity's entitlement record.
pub fn entitlement(identity_id: &str) -> String {
    format!("ent:{identity_id}")
}

/// Key of the identity -> Stripe customer link.
pub fn identity_link(identity_id: &str) -> String {
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
pub fn trial(identity_id: &str) -> String {
    format!("trial:{identity_id}")
}

/// Key of a deleted identity's tombstone.
pub fn tombstone(identity_id: &str) -> String {
    format!("gone:{identity_id}")
}

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
    fn keys_of_different_kinds_never_collide() {
        let id = "9f1c0000-0000-4000-8000-000000000001";
        let keys = [entitlement(id), identity_link(id), trial(id), tombstone(id), customer_link(id), processed_event(id)];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(entitlement(id), format!("ent:{id}"));
    }
}
