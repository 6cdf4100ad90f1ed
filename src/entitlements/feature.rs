//! Feature decisions at read time (`GET .../features/{feature}`, `/gate`)
//! and the effective record (`GET .../entitlements`).
//!
//! A stored record may be stale (a webhook late or lost), so expiry is
//! evaluated here against `now`: a canceled or cancel-at-period-end record
//! whose `current_period_end` has passed, or a trial whose `trial_end` has
//! passed, falls back to the default plan. Features come from the current
//! `PLANS`, so a catalogue change applies without a re-sync.

use serde::{Deserialize, Serialize};

use super::pending::is_pending;
use super::plans::{grants, Plans};
use super::record::{Access, Entitlement, EntitlementStatus};
use crate::stripe::subscription::SubscriptionStatus;

/// Why a feature was allowed or denied (the `reason` of the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Allowed: the features in effect include it.
    Included,
    /// Denied: the plan in effect does not include it (an upgrade would).
    NotInPlan,
    /// Denied: the subscription is past due; paying restores it.
    PastDueLimited,
    /// Denied: the subscription was canceled and its paid period is over.
    PeriodEnded,
    /// Denied: the trial (Stripe or app) is over.
    TrialEnded,
    /// Denied: no subscription, and the default plan does not include it.
    NoSubscription,
    /// Denied: a subscription exists but grants nothing (incomplete,
    /// unpaid, paused, canceled, or its price is not in `PLANS`).
    SubscriptionInactive,
}

impl Reason {
    /// The serialised string, for logs and headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Included => "included",
            Self::NotInPlan => "not_in_plan",
            Self::PastDueLimited => "past_due_limited",
            Self::PeriodEnded => "period_ended",
            Self::TrialEnded => "trial_ended",
            Self::NoSubscription => "no_subscription",
            Self::SubscriptionInactive => "subscription_inactive",
        }
    }
}

/// The answer to "may this identity use this feature now?":
/// `{"allowed", "plan", "status", "reason"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureDecision {
    /// Whether the feature may be used now.
    pub allowed: bool,
    /// The plan in effect (after read-time expiry).
    pub plan: String,
    /// The status in effect (after read-time expiry).
    pub status: EntitlementStatus,
    /// Why.
    pub reason: Reason,
}

/// Why a granting record no longer grants at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    PeriodEnded,
    TrialEnded,
}

/// The record as it stands at `now`, borrowing from the record and `PLANS`.
struct View<'a> {
    plan: &'a str,
    status: EntitlementStatus,
    access: Access,
    features: &'a [String],
    expired: Option<Expiry>,
}

fn expiry(e: &Entitlement, now: i64) -> Option<Expiry> {
    if e.access == Access::None {
        return None;
    }
    let period_over = e.current_period_end.is_some_and(|end| now >= end);
    if e.status == EntitlementStatus::Subscription(SubscriptionStatus::Canceled)
        && (period_over || e.current_period_end.is_none())
    {
        return Some(Expiry::PeriodEnded);
    }
    if e.cancel_at_period_end && period_over {
        return Some(Expiry::PeriodEnded);
    }
    if e.status == EntitlementStatus::Subscription(SubscriptionStatus::Trialing)
        && e.trial_end.is_some_and(|end| now >= end)
    {
        return Some(Expiry::TrialEnded);
    }
    None
}

fn view<'a>(e: &'a Entitlement, plans: &'a Plans, now: i64) -> View<'a> {
    let expired = expiry(e, now);
    let fallback = |status| View {
        plan: plans.default_plan(),
        status,
        access: Access::None,
        features: plans.default_features(),
        expired,
    };
    match (expired, e.access) {
        (Some(Expiry::PeriodEnded), _) => fallback(EntitlementStatus::Subscription(SubscriptionStatus::Canceled)),
        // The app trial has no subscription behind it: back to none. A
        // Stripe trial's outcome (paid or not) is for the next sync to say.
        (Some(Expiry::TrialEnded), _) if e.is_app_trial() => fallback(EntitlementStatus::None),
        (Some(Expiry::TrialEnded), _) => fallback(e.status),
        (None, Access::None) => fallback(e.status),
        (None, Access::Limited) => View {
            plan: &e.plan,
            status: e.status,
            access: Access::Limited,
            features: plans.past_due_features(),
            expired,
        },
        // A plan since removed from `PLANS` keeps the features it was granted with.
        (None, Access::Full) => View {
            plan: &e.plan,
            status: e.status,
            access: Access::Full,
            features: plans.plan(&e.plan).map_or(e.features.as_slice(), |p| p.features.as_slice()),
            expired,
        },
    }
}

/// Decides whether the identity behind `e` may use `feature` at `now`.
pub fn check(e: &Entitlement, feature: &str, plans: &Plans, now: i64) -> FeatureDecision {
    let v = view(e, plans, now);
    let allowed = grants(v.features, feature);
    let reason = if allowed {
        Reason::Included
    } else {
        match (v.expired, v.access) {
            (Some(Expiry::PeriodEnded), _) => Reason::PeriodEnded,
            (Some(Expiry::TrialEnded), _) => Reason::TrialEnded,
            (None, Access::Limited) if grants(plans.features_of(v.plan), feature) => Reason::PastDueLimited,
            (None, Access::Limited | Access::Full) => Reason::NotInPlan,
            (None, Access::None) if v.status == EntitlementStatus::None => Reason::NoSubscription,
            (None, Access::None) => Reason::SubscriptionInactive,
        }
    };
    FeatureDecision { allowed, plan: v.plan.to_owned(), status: v.status, reason }
}

/// The record as it stands at `now` (read-time expiry applied, features from
/// the current `PLANS`, `pending` ended by its session's expiry), for
/// `GET .../entitlements`. Period and trial dates are kept so the caller can
/// still show when access ended.
pub fn effective(e: &Entitlement, plans: &Plans, now: i64) -> Entitlement {
    let v = view(e, plans, now);
    Entitlement {
        plan: v.plan.to_owned(),
        status: v.status,
        access: v.access,
        features: v.features.to_vec(),
        pending: is_pending(e, now),
        ..e.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlements::derive::{app_trial, default_entitlement};
    use crate::entitlements::plans::tests::{example as plans, id1, record_of, DAY, NOW};

    fn record(status: SubscriptionStatus, key: &str, period_end: i64, cancel_at_period_end: bool) -> Entitlement {
        record_of(status, key, period_end, cancel_at_period_end)
    }

    const EVERY_REASON: [Reason; 7] = [
        Reason::Included,
        Reason::NotInPlan,
        Reason::PastDueLimited,
        Reason::PeriodEnded,
        Reason::TrialEnded,
        Reason::NoSubscription,
        Reason::SubscriptionInactive,
    ];

    fn decide(e: &Entitlement, feature: &str, now: i64) -> (bool, String, EntitlementStatus, Reason) {
        let d = check(e, feature, &plans(), now);
        (d.allowed, d.plan, d.status, d.reason)
    }

    #[test]
    fn a_plan_allows_its_features_and_denies_others() {
        let e = record(SubscriptionStatus::Active, "pro_monthly", NOW + DAY, false);
        assert_eq!(
            decide(&e, "premium_feature", NOW),
            (true, "pro".into(), EntitlementStatus::Subscription(SubscriptionStatus::Active), Reason::Included)
        );
        assert_eq!(decide(&e, "sso", NOW).3, Reason::NotInPlan);
        // An active, renewing record is not expired by a passed period end
        // (the renewal webhook may be late).
        assert!(check(&e, "premium_feature", &plans(), NOW + 2 * DAY).allowed);
    }

    #[test]
    fn star_grants_every_feature() {
        let e = record(SubscriptionStatus::Active, "enterprise_monthly", NOW + DAY, false);
        for f in ["basic_feature", "premium_feature", "anything-at-all"] {
            assert_eq!(decide(&e, f, NOW).3, Reason::Included, "{f}");
        }
    }

    #[test]
    fn past_due_allows_only_past_due_features() {
        let e = record(SubscriptionStatus::PastDue, "pro_monthly", NOW + DAY, false);
        assert_eq!(
            decide(&e, "basic_feature", NOW),
            (true, "pro".into(), EntitlementStatus::Subscription(SubscriptionStatus::PastDue), Reason::Included)
        );
        assert_eq!(decide(&e, "premium_feature", NOW).3, Reason::PastDueLimited);
        assert_eq!(decide(&e, "sso", NOW).3, Reason::NotInPlan);
    }

    #[test]
    fn a_stale_canceled_record_expires_at_period_end() {
        let e = record(SubscriptionStatus::Canceled, "pro_monthly", NOW + DAY, false);
        assert!(check(&e, "premium_feature", &plans(), NOW + DAY - 1).allowed);
        assert_eq!(
            decide(&e, "premium_feature", NOW + DAY),
            (false, "free".into(), EntitlementStatus::Subscription(SubscriptionStatus::Canceled), Reason::PeriodEnded)
        );
        // The default plan's features still apply.
        assert_eq!(decide(&e, "basic_feature", NOW + DAY).3, Reason::Included);
    }

    #[test]
    fn a_stale_cancel_at_period_end_record_expires_at_period_end() {
        let e = record(SubscriptionStatus::Active, "pro_monthly", NOW + DAY, true);
        assert!(check(&e, "premium_feature", &plans(), NOW).allowed);
        let late = effective(&e, &plans(), NOW + DAY);
        assert_eq!(
            (late.plan.as_str(), late.status, late.access),
            ("free", EntitlementStatus::Subscription(SubscriptionStatus::Canceled), Access::None)
        );
        assert_eq!(late.features, ["basic_feature"]);
        assert_eq!(late.current_period_end, Some(NOW + DAY));
        assert_eq!(decide(&e, "premium_feature", NOW + DAY).3, Reason::PeriodEnded);
    }

    #[test]
    fn trials_expire_at_trial_end() {
        let p = plans();
        let t = app_trial(&id1(), None, &p, NOW, NOW).unwrap();
        let end = NOW + 14 * DAY;
        assert_eq!(decide(&t, "premium_feature", end - 1).3, Reason::Included);
        assert_eq!(
            decide(&t, "premium_feature", end),
            (false, "free".into(), EntitlementStatus::None, Reason::TrialEnded)
        );
        let stripe_trial = record(SubscriptionStatus::Trialing, "pro_monthly", NOW + DAY, false);
        assert_eq!(stripe_trial.trial_end, Some(NOW + DAY));
        assert!(check(&stripe_trial, "premium_feature", &p, NOW).allowed);
        assert_eq!(
            decide(&stripe_trial, "premium_feature", NOW + DAY),
            (false, "free".into(), EntitlementStatus::Subscription(SubscriptionStatus::Trialing), Reason::TrialEnded)
        );
    }

    #[test]
    fn without_a_granting_subscription_the_default_plan_applies() {
        let none = default_entitlement(&id1(), None, &plans(), NOW);
        assert_eq!(
            decide(&none, "basic_feature", NOW),
            (true, "free".into(), EntitlementStatus::None, Reason::Included)
        );
        assert_eq!(decide(&none, "premium_feature", NOW).3, Reason::NoSubscription);
        for st in [SubscriptionStatus::Unpaid, SubscriptionStatus::Incomplete, SubscriptionStatus::Paused] {
            let e = record(st, "enterprise_monthly", NOW + DAY, false);
            assert_eq!(
                decide(&e, "premium_feature", NOW),
                (false, "free".into(), st.into(), Reason::SubscriptionInactive)
            );
            assert!(check(&e, "basic_feature", &plans(), NOW).allowed);
        }
    }

    #[test]
    fn features_follow_the_current_catalogue() {
        let e = record(SubscriptionStatus::Active, "pro_monthly", NOW + DAY, false);
        let wider = Plans::parse(
            r#"{"default_plan":"free","plans":{"free":{"rank":0},"pro":{"rank":1,"features":["premium_feature","new_feature"]}}}"#,
        )
        .unwrap();
        assert!(check(&e, "new_feature", &wider, NOW).allowed);
        assert_eq!(effective(&e, &wider, NOW).features, ["premium_feature", "new_feature"]);
        // A plan removed from PLANS keeps the features stored with the record.
        let renamed = Plans::parse(r#"{"default_plan":"free","plans":{"free":{"rank":0},"gold":{"rank":1}}}"#).unwrap();
        assert!(check(&e, "premium_feature", &renamed, NOW).allowed);
    }

    #[test]
    fn effective_leaves_a_current_record_unchanged() {
        let e = record(SubscriptionStatus::Active, "pro_monthly", NOW + DAY, true);
        assert_eq!(effective(&e, &plans(), NOW), e);
        let none = default_entitlement(&id1(), Some("cus_1"), &plans(), NOW);
        assert_eq!(effective(&none, &plans(), NOW + 1000 * DAY), none);
    }

    #[test]
    fn decisions_serialise_to_the_spec_answer() {
        let e = record(SubscriptionStatus::PastDue, "pro_monthly", NOW + DAY, false);
        let v = serde_json::to_value(check(&e, "premium_feature", &plans(), NOW)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"allowed": false, "plan": "pro", "status": "past_due", "reason": "past_due_limited"})
        );
        for r in EVERY_REASON {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }

    #[test]
    fn decisions_read_back_from_the_answer_they_serialise_to() {
        let p = plans();
        let past_due = record(SubscriptionStatus::PastDue, "pro_monthly", NOW + DAY, false);
        let ended = record(SubscriptionStatus::Canceled, "pro_monthly", NOW + DAY, false);
        let trial = app_trial(&id1(), None, &p, NOW, NOW).unwrap();
        let none = default_entitlement(&id1(), None, &p, NOW);
        let decisions = [
            check(&past_due, "basic_feature", &p, NOW),
            check(&past_due, "premium_feature", &p, NOW),
            check(&past_due, "sso", &p, NOW),
            check(&ended, "premium_feature", &p, NOW + DAY),
            check(&trial, "premium_feature", &p, NOW + 14 * DAY),
            check(&none, "premium_feature", &p, NOW),
        ];
        for d in decisions {
            let text = serde_json::to_string(&d).unwrap();
            let back: FeatureDecision = serde_json::from_str(&text).unwrap();
            assert_eq!(back, d, "{text}");
        }
        let answer = r#"{"allowed": false, "plan": "pro", "status": "past_due", "reason": "past_due_limited"}"#;
        assert_eq!(
            serde_json::from_str::<FeatureDecision>(answer).unwrap(),
            check(&past_due, "premium_feature", &p, NOW)
        );
        for r in EVERY_REASON {
            let v = serde_json::Value::from(r.as_str());
            assert_eq!(serde_json::from_value::<Reason>(v).unwrap(), r);
        }
        assert!(serde_json::from_str::<Reason>(r#""maybe""#).is_err());
    }
}
