//! Where a checkout request goes, from the identity's stored record: the
//! Billing Portal for a subscriber (nobody ends with two subscriptions),
//! back to an open Checkout for the same price, or to a new Checkout.

use serde::{Deserialize, Serialize};

use crate::entitlements::feature::effective;
use crate::entitlements::plans::Plans;
use crate::entitlements::record::{Access, Entitlement};

/// Whether a Stripe subscription grants the identity access at `now` (the
/// app trial does not: a trialing identity may still buy). Such an identity
/// is sent to the Billing Portal instead of a second Checkout.
pub fn has_granting_subscription(stored: &Entitlement, plans: &Plans, now: i64) -> bool {
    let e = effective(stored, plans, now);
    e.subscription_id.is_some() && e.access != Access::None
}

/// The last Checkout Session this identity started, as `chk:{identity}`
/// keeps it (`store::LAST_CHECKOUT_TTL_SECS`). It, not the entitlement
/// record, decides the next step: it is written once per session made, while
/// the record is rewritten by every sync and webhook, and a click that read
/// the record a moment before another click's pending write would otherwise
/// miss the open session and make a second one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastCheckout {
    /// `cs_...`.
    pub session_id: String,
    /// The Stripe price id it sells.
    pub price: String,
}

impl LastCheckout {
    /// Reads the stored value; one that is not ours to parse names a session
    /// of no known price, which is then replaced rather than resumed.
    pub fn decode(stored: &str) -> LastCheckout {
        serde_json::from_str(stored)
            .unwrap_or_else(|_| LastCheckout { session_id: stored.to_owned(), price: String::new() })
    }
}

/// The next step of a checkout for a price. `O` is what the shell knows of
/// an open session (its page and expiry), handed back to resume it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutStep<'a, O> {
    /// The last session is still open for this price: send the browser back
    /// to it rather than making a second one.
    Resume { session_id: &'a str, open: O },
    /// A new session, keyed by `basis` (see [`idempotency_basis`]).
    /// `replaces` is the last session when it is still open for another
    /// price; it is expired as soon as the new one is recorded, so that only
    /// one can be paid. (Expired only after: its `checkout.session.expired`
    /// webhook must find the record already pending on the new session, or a
    /// sync that read the record before would write the pending state away.)
    New { basis: String, replaces: Option<&'a str> },
}

/// Decides the step for `price_id` from the last session started and what
/// Stripe says of it (`open`: `Some` while it is open). Concurrent clicks
/// agree whatever they read: before the first session is remembered they
/// share the key that made it, after it they find it open and resume it.
pub fn checkout_step<'a, O>(last: Option<&'a LastCheckout>, open: Option<O>, price_id: &str) -> CheckoutStep<'a, O> {
    match (last, open) {
        (Some(l), Some(open)) if l.price == price_id => CheckoutStep::Resume { session_id: &l.session_id, open },
        (Some(l), open) => CheckoutStep::New {
            basis: idempotency_basis(Some(&l.session_id)),
            replaces: open.map(|_| l.session_id.as_str()),
        },
        (None, _) => CheckoutStep::New { basis: idempotency_basis(None), replaces: None },
    }
}

/// What a Checkout's `Idempotency-Key` is derived from besides identity,
/// customer and price: the last session this identity started (`none`
/// before the first). It holds no time, so concurrent clicks from the same
/// state share a key and get one session whenever they arrive, and the key
/// of a new state was never used: Stripe replays a key's first answer as it
/// was, even for a session since expired.
fn idempotency_basis(last_session: Option<&str>) -> String {
    match last_session {
        Some(id) => format!("after-{id}"),
        None => "none".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlements::derive::{app_trial, default_entitlement};
    use crate::entitlements::plans::tests::{example as plans, id1, record_of, DAY, NOW};
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
    fn the_last_session_is_resumed_while_open_for_its_price_and_replaced_for_another() {
        assert_eq!(
            checkout_step::<()>(None, None, "price_pro"),
            CheckoutStep::New { basis: "none".into(), replaces: None }
        );
        let last = LastCheckout { session_id: "cs_1".into(), price: "price_pro".into() };
        assert_eq!(
            checkout_step(Some(&last), Some(()), "price_pro"),
            CheckoutStep::Resume { session_id: "cs_1", open: () }
        );
        assert_eq!(
            checkout_step(Some(&last), Some(()), "price_ent"),
            CheckoutStep::New { basis: "after-cs_1".into(), replaces: Some("cs_1") }
        );
        assert_eq!(
            checkout_step::<()>(Some(&last), None, "price_pro"),
            CheckoutStep::New { basis: "after-cs_1".into(), replaces: None },
            "paid or expired: a new state, a new key"
        );
    }

    #[test]
    fn each_new_state_keys_a_new_session() {
        assert_eq!(idempotency_basis(None), "none");
        assert_eq!(idempotency_basis(Some("cs_1")), "after-cs_1");
        assert_ne!(idempotency_basis(Some("cs_1")), idempotency_basis(Some("cs_2")));
    }

    #[test]
    fn the_stored_last_session_round_trips_and_a_foreign_value_is_never_resumed() {
        let last = LastCheckout { session_id: "cs_1".into(), price: "price_pro".into() };
        assert_eq!(LastCheckout::decode(&serde_json::to_string(&last).unwrap()), last);
        let foreign = LastCheckout::decode("cs_9");
        assert_eq!(foreign.session_id, "cs_9");
        assert_eq!(
            checkout_step(Some(&foreign), Some(()), "price_pro"),
            CheckoutStep::New { basis: "after-cs_9".into(), replaces: Some("cs_9") }
        );
    }
}
