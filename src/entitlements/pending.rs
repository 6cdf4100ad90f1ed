//! `pending`: from `POST /billing/checkout` until Stripe says how the
//! purchase went (spec: "right after Checkout and before the webhook,
//! `pending` is true").
//!
//! The record keeps the session that made it pending. A sync keeps that
//! session while it may still complete: it ends when a Stripe subscription
//! grants access, when `checkout.session.completed` or `.expired` names it,
//! when the customer is gone, and at its `expires_at`, which is also
//! applied at read time, so a lost `expired` event never leaves a record
//! pending for good.

use super::record::{Access, Entitlement, PendingCheckout};

/// Whether `e` is pending at `now`: its Checkout Session may still complete.
pub fn is_pending(e: &Entitlement, now: i64) -> bool {
    e.pending_checkout.as_ref().is_some_and(|c| now < c.expires_at)
}

/// Whether a freshly derived record settles any pending Checkout: a Stripe
/// subscription grants access (the app trial does not count).
fn settles_checkout(derived: &Entitlement) -> bool {
    derived.subscription_id.is_some() && derived.access != Access::None
}

/// The pending Checkout a sync carries over from the stored record into the
/// freshly `derived` one. `ended` is the session a `checkout.session.*`
/// event said is over (completed or expired).
pub fn carried(
    stored: Option<&PendingCheckout>,
    derived: &Entitlement,
    ended: Option<&str>,
    now: i64,
) -> Option<PendingCheckout> {
    let c = stored?;
    let open = now < c.expires_at && ended != Some(c.session_id.as_str());
    (open && derived.stripe_customer_id.is_some() && !settles_checkout(derived)).then(|| c.clone())
}

/// `e` with `checkout` as its pending Checkout (`None` clears it).
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

    fn with_subscription(status: SubscriptionStatus) -> Entitlement {
        record_of(status, "pro_monthly", NOW + 30 * DAY, false)
    }

    fn no_subscription() -> Entitlement {
        default_entitlement(&id1(), Some("cus_1"), &plans(), NOW)
    }

    #[test]
    fn a_pending_checkout_stops_being_pending_at_its_expiry() {
        let e = with_checkout(no_subscription(), Some(session(NOW + 60)), NOW);
        assert!(e.pending && is_pending(&e, NOW) && is_pending(&e, NOW + 59));
        assert!(!is_pending(&e, NOW + 60), "the session's expiry ends it at read time");
        assert!(!with_checkout(no_subscription(), Some(session(NOW)), NOW).pending);
        let cleared = with_checkout(e, None, NOW);
        assert_eq!((cleared.pending, cleared.pending_checkout), (false, None));
    }

    #[test]
    fn a_sync_keeps_the_session_until_something_settles_it() {
        let open = session(NOW + DAY);
        let kept = |derived: &Entitlement, ended, now| carried(Some(&open), derived, ended, now);
        assert_eq!(kept(&no_subscription(), None, NOW), Some(open.clone()), "nothing bought yet: still pending");
        let incomplete = with_subscription(SubscriptionStatus::Incomplete);
        assert_eq!(kept(&incomplete, None, NOW), Some(open.clone()), "a payment still being confirmed");
        assert_eq!(kept(&with_subscription(SubscriptionStatus::Active), None, NOW), None, "bought");
        assert_eq!(kept(&with_subscription(SubscriptionStatus::Trialing), None, NOW), None, "a Stripe trial started");
        assert_eq!(kept(&no_subscription(), Some("cs_test_1"), NOW), None, "completed or expired event");
        assert_eq!(kept(&no_subscription(), Some("cs_test_other"), NOW), Some(open.clone()), "another session");
        assert_eq!(kept(&no_subscription(), None, NOW + DAY), None, "expired by time");
        let gone = default_entitlement(&id1(), None, &plans(), NOW);
        assert_eq!(kept(&gone, None, NOW), None, "the customer was deleted");
        assert_eq!(carried(None, &no_subscription(), None, NOW), None);
    }
}
