//! The entitlement record (spec: "Entitlement record"): what an identity may
//! use, as stored in KV and answered by the entitlements routes. Field names
//! are the spec's; they are the public contract.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::identity::IdentityId;
use crate::stripe::subscription::SubscriptionStatus;

/// How much of its plan an identity gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// The plan is fully granted: active, trialing (Stripe or app trial),
    /// or canceled / cancel-at-period-end with the paid period not over.
    Full,
    /// Past due: only `past_due_features` while Stripe retries the payment.
    Limited,
    /// No subscription grants anything: the default plan's features apply.
    None,
}

impl Access {
    /// The value as the record (and edge gate mode's `X-Access`) spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Full => "full",
            Access::Limited => "limited",
            Access::None => "none",
        }
    }
}

/// The record's `status`: the status of the subscription the record comes
/// from, or `none` when the identity has no subscription at all. Serialises
/// as Stripe's status string or `"none"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntitlementStatus {
    /// No subscription.
    None,
    /// A Stripe subscription in this status (`trialing` also for the app trial).
    Subscription(SubscriptionStatus),
}

impl EntitlementStatus {
    /// The string the record serialises to (Stripe's status, or `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Subscription(s) => s.as_str(),
        }
    }

    /// Parses what [`as_str`](Self::as_str) writes.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            other => SubscriptionStatus::parse(other).map(Self::Subscription),
        }
    }
}

impl From<SubscriptionStatus> for EntitlementStatus {
    fn from(s: SubscriptionStatus) -> Self {
        Self::Subscription(s)
    }
}

impl Serialize for EntitlementStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EntitlementStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).ok_or_else(|| de::Error::custom(format!("unknown status \"{s}\"")))
    }
}

/// One identity's entitlements. Serialises to exactly the spec's field names
/// (`subscription_id` is an addition); `Option`s serialise as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    /// The Kratos identity.
    pub identity_id: IdentityId,
    /// The linked Stripe customer, when there is one.
    pub stripe_customer_id: Option<String>,
    /// The plan in effect (the default plan when nothing grants more).
    pub plan: String,
    /// The status of the subscription the record comes from, or `none`.
    pub status: EntitlementStatus,
    /// How much of `plan` is granted.
    pub access: Access,
    /// The features granted now (may contain `"*"`).
    pub features: Vec<String>,
    /// End of the paid period of the subscription the record comes from.
    pub current_period_end: Option<i64>,
    /// The subscription ends when the current period ends.
    pub cancel_at_period_end: bool,
    /// End of the trial (Stripe or app trial) while trialing.
    pub trial_end: Option<i64>,
    /// True right after Checkout, before the webhook confirmed the purchase.
    pub pending: bool,
    /// When the record was computed (unix seconds).
    pub synced_at: i64,
    /// The subscription the record comes from; `None` for the default plan
    /// and for the app trial.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// The Checkout Session that made the record `pending`, while it may
    /// still complete (see `entitlements::pending`).
    #[serde(default)]
    pub pending_checkout: Option<PendingCheckout>,
}

/// A Checkout Session started by `POST /billing/checkout` and not resolved
/// yet: by a webhook or sync showing a granting subscription, by
/// `checkout.session.expired`, or by its expiry time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCheckout {
    /// `cs_...`.
    pub session_id: String,
    /// The Stripe price id being bought.
    pub price: String,
    /// When Stripe expires the session (unix seconds).
    pub expires_at: i64,
}

impl Entitlement {
    /// Whether this record comes from the app trial (no Stripe subscription).
    pub fn is_app_trial(&self) -> bool {
        self.status == EntitlementStatus::Subscription(SubscriptionStatus::Trialing) && self.subscription_id.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_status_round_trips_as_its_stripe_string() {
        for st in SubscriptionStatus::ALL {
            let status = EntitlementStatus::from(st);
            let text = serde_json::to_string(&status).unwrap();
            assert_eq!(text, format!("\"{}\"", st.as_str()));
            assert_eq!(serde_json::from_str::<EntitlementStatus>(&text).unwrap(), status);
        }
        assert_eq!(serde_json::to_string(&EntitlementStatus::None).unwrap(), "\"none\"");
        assert_eq!(serde_json::from_str::<EntitlementStatus>("\"none\"").unwrap(), EntitlementStatus::None);
        assert!(serde_json::from_str::<EntitlementStatus>("\"gone\"").is_err());
    }

    fn sample() -> Entitlement {
        Entitlement {
            identity_id: IdentityId::parse("9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab").unwrap(),
            stripe_customer_id: Some("cus_1".into()),
            plan: "pro".into(),
            status: EntitlementStatus::Subscription(SubscriptionStatus::Active),
            access: Access::Full,
            features: vec!["basic_feature".into(), "premium_feature".into()],
            current_period_end: Some(1_767_225_600),
            cancel_at_period_end: false,
            trial_end: None,
            pending: false,
            synced_at: 1_764_000_000,
            subscription_id: Some("sub_1".into()),
            pending_checkout: None,
        }
    }

    #[test]
    fn serialises_to_the_spec_record() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            v,
            json!({
                "identity_id": "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab", "stripe_customer_id": "cus_1",
                "plan": "pro", "status": "active", "access": "full",
                "features": ["basic_feature", "premium_feature"],
                "current_period_end": 1767225600, "cancel_at_period_end": false,
                "trial_end": null, "pending": false, "synced_at": 1764000000,
                "subscription_id": "sub_1", "pending_checkout": null
            })
        );
    }

    #[test]
    fn statuses_and_access_use_the_spec_strings() {
        for st in SubscriptionStatus::ALL {
            let e = EntitlementStatus::from(st);
            assert_eq!(e.as_str(), st.as_str());
            assert_eq!(serde_json::to_value(e).unwrap(), st.as_str());
        }
        assert_eq!(serde_json::to_value(EntitlementStatus::None).unwrap(), "none");
        let access: Vec<_> =
            [Access::Full, Access::Limited, Access::None].iter().map(|a| serde_json::to_value(a).unwrap()).collect();
        assert_eq!(access, [json!("full"), json!("limited"), json!("none")]);
    }

    #[test]
    fn round_trips_and_reads_records_without_the_added_field() {
        let e = sample();
        let back: Entitlement = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        let mut v = serde_json::to_value(&e).unwrap();
        v.as_object_mut().unwrap().remove("subscription_id");
        v.as_object_mut().unwrap().remove("pending_checkout");
        let back: Entitlement = serde_json::from_value(v).unwrap();
        assert_eq!((back.subscription_id.as_deref(), back.pending_checkout.as_ref()), (None, None));
        assert!(!back.is_app_trial());
    }
}
