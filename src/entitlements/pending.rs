//! `pending`: from `POST /billing/checkout` until Stripe says how the
//! purchase went (spec: "right after Checkout and before the webhook,
//! `pending` is true").
//!
//! Decided when the record is read, from the record and the last Checkout
//! Session the identity started (kept apart from the record, written only
//! by checkouts), so no write carries the pending state along and none can
//! write it away. The session stops making the record pending at its
//! `expires_at`, when an event said it is over (completed or expired), when
//! the customer is gone, or once a sync made after it started found a
//! Stripe subscription that grants access.

use super::record::{Access, Entitlement, PendingCheckout};

/// Whether `e` is pending at `now`: its Checkout Session may still complete.
pub fn is_pending(e: &Entitlement, now: i64) -> bool {
    e.pending_checkout.as_ref().is_some_and(|c| now < c.expires_at)
}

/// Whether a record settles any pending Checkout: a Stripe subscription
/// grants access (the app trial does not count).
fn settles_checkout(e: &Entitlement) -> bool {
    e.subscription_id.is_some() && e.access != Access::None
}

/// The Checkout Session `e` is pending on at `now`: `last`, started at
/// `started_at`, unless it is over (`ended`: an event said so), expired,
/// the customer is gone, or a sync since it started settled it.
pub fn pending_checkout(
    e: &Entitlement,
    last: Option<PendingCheckout>,
    started_at: i64,
    ended: bool,
    now: i64,
) -> Option<PendingCheckout> {
    let c = last?;
    let settled = settles_checkout(e) && e.synced_at >= started_at;
    (!ended && now < c.expires_at && e.stripe_customer_id.is_some() && !settled).then_some(c)
}

/// `e` with `checkout` as its pending Checkout (`None`: none).
pub fn with_checkout(e: Entitlement, checkout: Option<PendingCheckout>, now: i64) -> Entitlement {
    let pending = checkout.as_ref().is_some_and(|c| now < c.expires_at);
    Entitlement { pending, pending_checkout: checkout, ..e }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlements::derive::default_entitlement;
    use crate::entitlements::plans::tests::{example as plans, id1, record_of, DAY, NOW};
    use crate::stripe::subscription::SubscriptionStatus;

    fn session(expires_at: i64) -> PendingCheckout {
        PendingCheckout { session_id: "cs_test_1".into(), price: "price_pro".into(), expires_at }
    }

    fn synced_at(mut e: Entitlement, at: i64) -> Entitlement {
        e.synced_at = at;
        e
    }

    fn with_subscription(status: SubscriptionStatus, at: i64) -> Entitlement {
        synced_at(record_of(status, "pro_monthly", NOW + 30 * DAY, false), at)
    }

    fn no_subscription(at: i64) -> Entitlement {
        default_entitlement(&id1(), Some("cus_1"), &plans(), at)
    }

    #[test]
    fn a_pending_checkout_stops_being_pending_at_its_expiry() {
        let e = with_checkout(no_subscription(NOW), Some(session(NOW + 60)), NOW);
        assert!(e.pending && is_pending(&e, NOW) && is_pending(&e, NOW + 59));
        assert!(!is_pending(&e, NOW + 60), "the session's expiry ends it at read time");
        assert!(!with_checkout(no_subscription(NOW), Some(session(NOW)), NOW).pending);
        let cleared = with_checkout(e, None, NOW);
        assert_eq!((cleared.pending, cleared.pending_checkout), (false, None));
    }

    #[test]
    fn the_last_session_is_pending_until_something_settles_it() {
        let open = Some(session(NOW + DAY));
        let pending = |e: &Entitlement, ended, now| pending_checkout(e, open.clone(), NOW, ended, now);
        assert_eq!(pending(&no_subscription(NOW + 5), false, NOW + 5), open, "nothing bought yet: still pending");
        let incomplete = with_subscription(SubscriptionStatus::Incomplete, NOW + 5);
        assert_eq!(pending(&incomplete, false, NOW + 5), open, "a payment still being confirmed");
        assert_eq!(pending(&with_subscription(SubscriptionStatus::Active, NOW + 5), false, NOW + 5), None, "bought");
        assert_eq!(pending(&with_subscription(SubscriptionStatus::Trialing, NOW), false, NOW), None, "a Stripe trial");
        assert_eq!(
            pending(&with_subscription(SubscriptionStatus::Active, NOW - 1), false, NOW),
            open,
            "a record synced before the checkout started settles nothing of it"
        );
        assert_eq!(pending(&no_subscription(NOW), true, NOW), None, "completed or expired event");
        assert_eq!(pending(&no_subscription(NOW), false, NOW + DAY), None, "expired by time");
        let gone = default_entitlement(&id1(), None, &plans(), NOW);
        assert_eq!(pending(&gone, false, NOW), None, "the customer was deleted");
        assert_eq!(pending_checkout(&no_subscription(NOW), None, NOW, false, NOW), None, "no checkout");
    }
}
