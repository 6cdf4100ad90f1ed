//! Where a checkout request goes, from the identity's stored record: the
//! Billing Portal for a subscriber (nobody ends with two subscriptions),
//! back to an open Checkout for the same price, or to a new Checkout.

use serde::{Deserialize, Serialize};

use crate::entitlements::feature::effective;
use crate::entitlements::plans::Plans;
use crate::entitlements::record::{Access, Entitlement, PendingCheckout};
use crate::identity::IdentityId;
use crate::stripe::checkout::{CheckoutSession, CheckoutStatus};

/// Whether a Stripe subscription grants the identity access at `now` (the
/// app trial does not: a trialing identity may still buy). Such an identity
/// is sent to the Billing Portal instead of a second Checkout.
pub fn has_granting_subscription(stored: &Entitlement, plans: &Plans, now: i64) -> bool {
    let e = effective(stored, plans, now);
    e.subscription_id.is_some() && e.access != Access::None
}

/// The last Checkout Session this identity started, as `chk:{identity}`
/// keeps it (`store::LAST_CHECKOUT_TTL_SECS`). It, not the entitlement
/// record, decides the next step and whether the record is `pending`: it is
/// written only by checkouts (never read, changed and written back), while
/// the record is rewritten by every sync and webhook, so neither can write
/// the other's news away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastCheckout {
    /// `cs_...`.
    pub session_id: String,
    /// The Stripe price id it sells.
    pub price: String,
    /// When Stripe expires it (unix seconds; 0 when not known).
    #[serde(default)]
    pub expires_at: i64,
    /// When the checkout that sent the user to it ran (unix seconds).
    #[serde(default)]
    pub started_at: i64,
}

impl LastCheckout {
    /// Reads the stored value; one that is not ours to parse names a session
    /// of no known price, which is then replaced rather than resumed.
    pub fn decode(stored: &str) -> LastCheckout {
        serde_json::from_str(stored).unwrap_or_else(|_| LastCheckout {
            session_id: stored.to_owned(),
            price: String::new(),
            expires_at: 0,
            started_at: 0,
        })
    }

    /// The session as the record's `pending_checkout` shows it.
    pub fn as_pending(&self) -> PendingCheckout {
        PendingCheckout { session_id: self.session_id.clone(), price: self.price.clone(), expires_at: self.expires_at }
    }
}

/// Of an identity's open Checkout Sessions made by the worker, the one to
/// keep: the newest, so that concurrent clicks, each listing the sessions
/// after making its own, agree on it; the others are expired, so at most
/// one can be paid. Newest is a session no other was made after (a click
/// after another's session names it as its basis), and among several such
/// (concurrent clicks from one state) the last `created`, then the largest
/// id. `None` when there is none.
pub fn session_to_keep<'a>(open: &'a [CheckoutSession], identity: &IdentityId) -> Option<&'a CheckoutSession> {
    let ours: Vec<&CheckoutSession> = open.iter().filter(|s| is_open_for(s, identity)).collect();
    let superseded = |s: &CheckoutSession| ours.iter().any(|o| o.made_after() == Some(s.id.as_str()));
    let newest = |a: &&&CheckoutSession, b: &&&CheckoutSession| (a.created, &a.id).cmp(&(b.created, &b.id));
    ours.iter().filter(|s| !superseded(s)).max_by(newest).or_else(|| ours.iter().max_by(newest)).copied()
}

/// Whether `s` is an open session the worker made for `identity`.
pub fn is_open_for(s: &CheckoutSession, identity: &IdentityId) -> bool {
    s.status == CheckoutStatus::Open && s.client_reference_id.as_deref() == Some(identity.as_str())
}

/// The next step of a checkout for a price. `O` is what the shell knows of
/// an open session (its page and expiry), handed back to resume it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutStep<'a, O> {
    /// The last session is still open for this price: send the browser back
    /// to it rather than making a second one.
    Resume { session_id: &'a str, open: O },
    /// A new session, keyed by `basis` (see [`idempotency_basis`]). Any
    /// other open session of the identity (the last one, for another price,
    /// or a concurrent click's) is expired once it is made ([`session_to_keep`]).
    New { basis: String },
}

/// Decides the step for `price_id` from the last session started and what
/// Stripe says of it (`open`: `Some` while it is open). Concurrent clicks
/// agree whatever they read: before the first session is remembered they
/// share the key that made it, after it they find it open and resume it.
pub fn checkout_step<'a, O>(last: Option<&'a LastCheckout>, open: Option<O>, price_id: &str) -> CheckoutStep<'a, O> {
    match (last, open) {
        (Some(l), Some(open)) if l.price == price_id => CheckoutStep::Resume { session_id: &l.session_id, open },
        (Some(l), _) => CheckoutStep::New { basis: idempotency_basis(Some(&l.session_id)) },
        (None, _) => CheckoutStep::New { basis: idempotency_basis(None) },
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

    fn last(session: &str, price: &str) -> LastCheckout {
        LastCheckout { session_id: session.into(), price: price.into(), expires_at: NOW + DAY, started_at: NOW }
    }

    #[test]
    fn the_last_session_is_resumed_while_open_for_its_price_and_replaced_for_another() {
        assert_eq!(checkout_step::<()>(None, None, "price_pro"), CheckoutStep::New { basis: "none".into() });
        let last = last("cs_1", "price_pro");
        assert_eq!(
            checkout_step(Some(&last), Some(()), "price_pro"),
            CheckoutStep::Resume { session_id: "cs_1", open: () }
        );
        assert_eq!(checkout_step(Some(&last), Some(()), "price_ent"), CheckoutStep::New { basis: "after-cs_1".into() });
        assert_eq!(
            checkout_step::<()>(Some(&last), None, "price_pro"),
            CheckoutStep::New { basis: "after-cs_1".into() },
            "paid or expired: a new state, a new key"
        );
    }

    #[test]
    fn concurrent_clicks_keep_the_same_one_open_session() {
        let session = |id: &str, created: i64, status: CheckoutStatus, who: &str| CheckoutSession {
            id: id.into(),
            url: Some(format!("https://checkout/{id}")),
            status,
            expires_at: NOW + DAY,
            created,
            client_reference_id: Some(who.into()),
            metadata: Default::default(),
        };
        let me = id1();
        let other = "9f1c2d3e-4b5a-4c6d-8e7f-0000000000ff";
        let open = [
            session("cs_a", NOW, CheckoutStatus::Open, me.as_str()),
            session("cs_c", NOW + 5, CheckoutStatus::Open, other),
            session("cs_b", NOW, CheckoutStatus::Open, me.as_str()),
            session("cs_d", NOW + 9, CheckoutStatus::Expired, me.as_str()),
        ];
        assert_eq!(session_to_keep(&open, &me).map(|s| s.id.as_str()), Some("cs_b"), "same second: the larger id");
        let mut reversed = open.clone();
        reversed.reverse();
        assert_eq!(session_to_keep(&reversed, &me).map(|s| s.id.as_str()), Some("cs_b"), "whatever the order");
        assert_eq!(session_to_keep(&open[..1], &me).map(|s| s.id.as_str()), Some("cs_a"));
        assert_eq!(session_to_keep(&open[2..], &me).map(|s| s.id.as_str()), Some("cs_b"));
        assert_eq!(session_to_keep(&open[3..], &me), None, "only open ones, only the identity's");
        // A click after another's session names it: newer, whatever its id.
        let mut later = session("cs_0", NOW, CheckoutStatus::Open, me.as_str());
        later.metadata.insert("olympus_checkout_basis".into(), "after-cs_b".into());
        let both = [open[2].clone(), later];
        assert_eq!(session_to_keep(&both, &me).map(|s| s.id.as_str()), Some("cs_0"));
    }

    #[test]
    fn each_new_state_keys_a_new_session() {
        assert_eq!(idempotency_basis(None), "none");
        assert_eq!(idempotency_basis(Some("cs_1")), "after-cs_1");
        assert_ne!(idempotency_basis(Some("cs_1")), idempotency_basis(Some("cs_2")));
    }

    #[test]
    fn the_stored_last_session_round_trips_and_a_foreign_value_is_never_resumed() {
        let last = last("cs_1", "price_pro");
        assert_eq!(LastCheckout::decode(&serde_json::to_string(&last).unwrap()), last);
        let before = LastCheckout::decode(r#"{"session_id":"cs_2","price":"price_pro"}"#);
        assert_eq!((before.expires_at, before.started_at), (0, 0), "a value stored before these fields");
        let foreign = LastCheckout::decode("cs_9");
        assert_eq!(foreign.session_id, "cs_9");
        assert_eq!(
            checkout_step(Some(&foreign), Some(()), "price_pro"),
            CheckoutStep::New { basis: "after-cs_9".into() }
        );
    }
}
