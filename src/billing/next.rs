//! Where a checkout request goes, from the identity's stored record: the
//! Billing Portal for a subscriber (nobody ends with two subscriptions),
//! back to an open Checkout for the same price, or to a new Checkout.

use crate::entitlements::feature::effective;
use crate::entitlements::pending::is_pending;
use crate::entitlements::plans::Plans;
use crate::entitlements::record::{Access, Entitlement};

/// Whether a Stripe subscription grants the identity access at `now` (the
/// app trial does not: a trialing identity may still buy). Such an identity
/// is sent to the Billing Portal instead of a second Checkout.
pub fn has_granting_subscription(stored: &Entitlement, plans: &Plans, now: i64) -> bool {
    let e = effective(stored, plans, now);
    e.subscription_id.is_some() && e.access != Access::None
}

/// The next step of a checkout for `price_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutStep<'a> {
    /// The record is pending on an open session for this price: send the
    /// browser back to it (if Stripe still has it open) rather than making
    /// a second one.
    Resume { session_id: &'a str },
    /// A new session. `replaces` is an open session for another price, which
    /// is expired as soon as the new one is recorded, so that only one can be
    /// paid. (Expired only after: its `checkout.session.expired` webhook must
    /// find the record already pending on the new session, or a sync that
    /// read the record before would write the pending state away.)
    New { replaces: Option<&'a str> },
}

/// Decides the step for `price_id` from the stored record at `now`.
pub fn checkout_step<'a>(stored: &'a Entitlement, price_id: &str, now: i64) -> CheckoutStep<'a> {
    let open = stored.pending_checkout.as_ref().filter(|_| is_pending(stored, now));
    match open {
        Some(c) if c.price == price_id => CheckoutStep::Resume { session_id: &c.session_id },
        other => CheckoutStep::New { replaces: other.map(|c| c.session_id.as_str()) },
    }
}

/// What a Checkout's `Idempotency-Key` is derived from besides identity,
/// customer and price: the last session this identity started (`none`
/// before the first, `store::LAST_CHECKOUT_TTL_SECS`). It holds no time, so
/// concurrent clicks from the same state share a key and get one session
/// whenever they arrive, and the key of a new state was never used: Stripe
/// replays a key's first answer as it was, even for a session since expired.
pub fn idempotency_basis(last_session: Option<&str>) -> String {
    match last_session {
        Some(id) => format!("after-{id}"),
        None => "none".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlements::derive::{app_trial, default_entitlement};
    use crate::entitlements::pending::with_checkout;
    use crate::entitlements::plans::tests::{example as plans, id1, record_of, DAY, NOW};
    use crate::entitlements::record::PendingCheckout;
    use crate::stripe::subscription::SubscriptionStatus;

    fn subscribed(status: SubscriptionStatus, period_end: i64, cancel_at_period_end: bool) -> Entitlement {
        record_of(status, "pro_monthly", period_end, cancel_at_period_end)
    }

    #[test]
    fn subscribers_go_to_the_portal_and_everyone_else_to_checkout() {
        let p = plans();
        assert!(has_granting_subscription(&subscribed(SubscriptionStatus::Active, NOW + DAY, false), &p, NOW));
        assert!(has_granting_subscription(&subscribed(SubscriptionStatus::PastDue, NOW + DAY, false), &p, NOW));
        let ending = subscribed(SubscriptionStatus::Active, NOW + DAY, true);
        assert!(has_granting_subscription(&ending, &p, NOW), "still paid for: the portal can renew it");
        assert!(!has_granting_subscription(&ending, &p, NOW + 2 * DAY), "its period is over");
        assert!(!has_granting_subscription(&subscribed(SubscriptionStatus::Unpaid, NOW + DAY, false), &p, NOW));
        assert!(!has_granting_subscription(&default_entitlement(&id1(), Some("cus_1"), &p, NOW), &p, NOW));
        let trial = app_trial(&id1(), Some("cus_1"), &p, NOW, NOW).unwrap();
        assert!(!has_granting_subscription(&trial, &p, NOW), "the app trial is not a subscription");
    }

    #[test]
    fn an_open_session_is_resumed_for_its_price_and_expired_for_another() {
        let free = default_entitlement(&id1(), Some("cus_1"), &plans(), NOW);
        assert_eq!(checkout_step(&free, "price_pro", NOW), CheckoutStep::New { replaces: None });
        let c = PendingCheckout { session_id: "cs_1".into(), price: "price_pro".into(), expires_at: NOW + DAY };
        let pending = with_checkout(free.clone(), Some(c), NOW);
        assert_eq!(checkout_step(&pending, "price_pro", NOW), CheckoutStep::Resume { session_id: "cs_1" });
        assert_eq!(checkout_step(&pending, "price_ent", NOW), CheckoutStep::New { replaces: Some("cs_1") });
        assert_eq!(checkout_step(&pending, "price_pro", NOW + DAY), CheckoutStep::New { replaces: None }, "over");
    }

    #[test]
    fn each_new_state_keys_a_new_session() {
        assert_eq!(idempotency_basis(None), "none");
        assert_eq!(idempotency_basis(Some("cs_1")), "after-cs_1");
        assert_ne!(idempotency_basis(Some("cs_1")), idempotency_basis(Some("cs_2")));
    }
}
