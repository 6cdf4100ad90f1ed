//! From a customer's current subscriptions (as the Stripe API lists them
//! now) to one entitlement record. Pure: `now` is a parameter, and the same
//! inputs always give the same record, so duplicated or reordered webhooks
//! cannot change the outcome.
//!
//! Rules (spec and recipes): a subscription's prices map to a plan through
//! `PLANS` (a subscription with no known price grants no paid plan);
//! `active` and `trialing` grant the plan fully, `past_due` grants it limited,
//! `canceled` or `cancel_at_period_end` grant only while `now <
//! current_period_end`, and `incomplete`, `incomplete_expired`, `unpaid`,
//! `paused` grant nothing. With several subscriptions a fully granting one
//! beats a limited one (a paid-up plan is never hidden behind another
//! plan's past-due limit), then the higher-ranked plan wins, then the later
//! period end.

use std::cmp::Ordering;

use super::plans::Plans;
use super::record::{Access, Entitlement, EntitlementStatus};
use crate::identity::IdentityId;
use crate::stripe::subscription::{Subscription, SubscriptionStatus};

/// What one subscription grants at `now`, ignoring which plan it buys.
pub fn subscription_access(sub: &Subscription, now: i64) -> Access {
    let period_running = sub.current_period_end.is_some_and(|end| now < end);
    if sub.cancel_at_period_end && sub.current_period_end.is_some_and(|end| now >= end) {
        // Scheduled to end and the period is over, whatever the status says.
        return Access::None;
    }
    match sub.status {
        SubscriptionStatus::Active | SubscriptionStatus::Trialing => Access::Full,
        SubscriptionStatus::PastDue => Access::Limited,
        SubscriptionStatus::Canceled if period_running => Access::Full,
        SubscriptionStatus::Canceled
        | SubscriptionStatus::Incomplete
        | SubscriptionStatus::IncompleteExpired
        | SubscriptionStatus::Unpaid
        | SubscriptionStatus::Paused => Access::None,
    }
}

/// The plan a subscription buys: the highest-ranked plan among its prices
/// (lookup key first, then id); `None` when no price is in `PLANS`.
pub fn plan_of<'p>(sub: &Subscription, plans: &'p Plans) -> Option<&'p str> {
    sub.prices
        .iter()
        .filter_map(|p| plans.plan_for_price(&p.id, p.lookup_key.as_deref()))
        .max_by_key(|name| plans.rank_of(name))
}

/// The subscriptions whose prices map to no plan, so the shell can say so
/// in its logs (an operator forgot a price in `PLANS`).
pub fn unmapped<'s>(subs: &'s [Subscription], plans: &'s Plans) -> impl Iterator<Item = &'s Subscription> {
    subs.iter().filter(move |s| plan_of(s, plans).is_none())
}

/// A subscription that grants something, with what decides between several.
struct Candidate<'a> {
    sub: &'a Subscription,
    plan: &'a str,
    rank: u32,
    access: Access,
}

impl Candidate<'_> {
    fn order(&self, other: &Self) -> Ordering {
        let strength = |a: Access| u8::from(a == Access::Full);
        strength(self.access)
            .cmp(&strength(other.access))
            .then(self.rank.cmp(&other.rank))
            .then(self.sub.current_period_end.cmp(&other.sub.current_period_end))
            .then(self.sub.created.cmp(&other.sub.created))
            .then(self.sub.id.cmp(&other.sub.id))
    }
}

/// The entitlement of `identity_id` given the customer's subscriptions.
/// Subscriptions of another customer than `customer_id` (when given) are
/// ignored. `pending` is false: the shell sets it after Checkout.
pub fn derive(
    identity_id: &IdentityId,
    customer_id: Option<&str>,
    subs: &[Subscription],
    plans: &Plans,
    now: i64,
) -> Entitlement {
    let ours = || subs.iter().filter(|s| customer_id.is_none_or(|c| s.customer == c));
    let winner = ours()
        .filter_map(|sub| {
            let access = subscription_access(sub, now);
            let plan = plan_of(sub, plans)?;
            let rank = plans.rank_of(plan)?;
            (access != Access::None).then_some(Candidate { sub, plan, rank, access })
        })
        .max_by(|a, b| a.order(b));

    if let Some(c) = winner {
        let features = match c.access {
            Access::Limited => plans.past_due_features().to_vec(),
            _ => plans.features_of(c.plan).to_vec(),
        };
        let status = EntitlementStatus::from(c.sub.status);
        return Entitlement {
            identity_id: identity_id.clone(),
            stripe_customer_id: customer_id.map(str::to_owned),
            plan: c.plan.to_owned(),
            status,
            access: c.access,
            features,
            current_period_end: c.sub.current_period_end,
            cancel_at_period_end: c.sub.cancel_at_period_end,
            trial_end: c
                .sub
                .trial_end
                .filter(|_| status == EntitlementStatus::Subscription(SubscriptionStatus::Trialing)),
            pending: false,
            synced_at: now,
            subscription_id: Some(c.sub.id.clone()),
            pending_checkout: None,
        };
    }

    let mut record = default_entitlement(identity_id, customer_id, plans, now);
    // Nothing grants: report the most recent subscription's state.
    if let Some(latest) = ours().max_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id))) {
        record.status = latest.status.into();
        record.current_period_end = latest.current_period_end;
        record.cancel_at_period_end = latest.cancel_at_period_end;
        record.subscription_id = Some(latest.id.clone());
    }
    record
}

/// The record of an identity with no subscription: the default plan, status
/// `none`, access `none`.
pub fn default_entitlement(
    identity_id: &IdentityId,
    customer_id: Option<&str>,
    plans: &Plans,
    now: i64,
) -> Entitlement {
    Entitlement {
        identity_id: identity_id.clone(),
        stripe_customer_id: customer_id.map(str::to_owned),
        plan: plans.default_plan().to_owned(),
        status: EntitlementStatus::None,
        access: Access::None,
        features: plans.default_features().to_vec(),
        current_period_end: None,
        cancel_at_period_end: false,
        trial_end: None,
        pending: false,
        synced_at: now,
        subscription_id: None,
        pending_checkout: None,
    }
}

/// The app trial (`PLANS.trial`) started at `started_at`: the trial plan,
/// status `trialing`, access `full`, `trial_end = started_at + days`.
/// `None` when no trial is configured or it is over at `now`.
pub fn app_trial(
    identity_id: &IdentityId,
    customer_id: Option<&str>,
    plans: &Plans,
    started_at: i64,
    now: i64,
) -> Option<Entitlement> {
    let trial = plans.trial()?;
    let trial_end = started_at.saturating_add(trial.duration_secs());
    if now >= trial_end {
        return None;
    }
    Some(Entitlement {
        identity_id: identity_id.clone(),
        stripe_customer_id: customer_id.map(str::to_owned),
        plan: trial.plan.clone(),
        status: EntitlementStatus::Subscription(SubscriptionStatus::Trialing),
        access: Access::Full,
        features: plans.features_of(&trial.plan).to_vec(),
        current_period_end: None,
        cancel_at_period_end: false,
        trial_end: Some(trial_end),
        pending: false,
        synced_at: now,
        subscription_id: None,
        pending_checkout: None,
    })
}

/// Combines the record derived from Stripe with a running app trial: the
/// trial is used only when it grants a higher-ranked plan (or the same plan
/// fully where the paid one is limited); otherwise the paid record stands.
pub fn with_app_trial(paid: Entitlement, trial: Option<Entitlement>, plans: &Plans) -> Entitlement {
    let Some(mut trial) = trial else { return paid };
    let strength = |e: &Entitlement| match e.access {
        Access::None => None,
        a => Some((plans.rank_of(&e.plan).unwrap_or(0), a == Access::Full)),
    };
    if strength(&trial) > strength(&paid) {
        trial.pending = paid.pending;
        trial.pending_checkout = paid.pending_checkout;
        trial.stripe_customer_id = paid.stripe_customer_id;
        trial
    } else {
        paid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlements::plans::tests::{example as plans, id1, DAY, NOW};
    use crate::stripe::subscription::PriceRef;
    use SubscriptionStatus::*;

    fn sub(id: &str, status: SubscriptionStatus, lookup_key: &str) -> Subscription {
        Subscription {
            id: id.into(),
            customer: "cus_1".into(),
            status,
            cancel_at_period_end: false,
            current_period_end: Some(NOW + 30 * DAY),
            trial_end: None,
            prices: vec![PriceRef { id: format!("price_{id}"), lookup_key: Some(lookup_key.into()) }],
            metadata: Default::default(),
            created: NOW - 60 * DAY,
        }
    }

    fn run(subs: &[Subscription]) -> Entitlement {
        derive(&id1(), Some("cus_1"), subs, &plans(), NOW)
    }

    fn summary(e: &Entitlement) -> (&str, EntitlementStatus, Access) {
        (e.plan.as_str(), e.status, e.access)
    }

    #[test]
    fn no_subscription_gives_the_default_plan() {
        let e = run(&[]);
        assert_eq!(summary(&e), ("free", EntitlementStatus::None, Access::None));
        assert_eq!(e.features, ["basic_feature"]);
        assert_eq!((e.stripe_customer_id.as_deref(), e.synced_at, e.pending), (Some("cus_1"), NOW, false));
        assert_eq!(e, default_entitlement(&id1(), Some("cus_1"), &plans(), NOW));
    }

    #[test]
    fn active_subscription_grants_its_plan_fully() {
        let e = run(&[sub("a", Active, "pro_monthly")]);
        assert_eq!(summary(&e), ("pro", EntitlementStatus::Subscription(SubscriptionStatus::Active), Access::Full));
        assert_eq!(e.features, ["basic_feature", "premium_feature"]);
        assert_eq!(e.current_period_end, Some(NOW + 30 * DAY));
        assert_eq!(e.subscription_id.as_deref(), Some("a"));
        assert_eq!(e.trial_end, None);
    }

    #[test]
    fn a_price_id_in_plans_maps_like_a_lookup_key() {
        let p = Plans::parse(
            r#"{"default_plan":"free","plans":{"free":{"rank":0},"pro":{"rank":1,"features":["x"],"prices":["price_a"]}}}"#,
        )
        .unwrap();
        let mut s = sub("a", Active, "unlisted");
        s.prices[0].lookup_key = None;
        assert_eq!(derive(&id1(), None, &[s], &p, NOW).plan, "pro");
    }

    #[test]
    fn trialing_grants_fully_and_carries_trial_end() {
        let mut s = sub("t", Trialing, "pro_yearly");
        s.trial_end = Some(NOW + 5 * DAY);
        let e = run(&[s]);
        assert_eq!(summary(&e), ("pro", EntitlementStatus::Subscription(SubscriptionStatus::Trialing), Access::Full));
        assert_eq!(e.trial_end, Some(NOW + 5 * DAY));
        // trial_end of a non-trialing subscription is history, not reported.
        let mut s = sub("a", Active, "pro_yearly");
        s.trial_end = Some(NOW - 5 * DAY);
        assert_eq!(run(&[s]).trial_end, None);
    }

    #[test]
    fn past_due_is_limited_to_past_due_features() {
        let e = run(&[sub("p", PastDue, "enterprise_monthly")]);
        assert_eq!(
            summary(&e),
            ("enterprise", EntitlementStatus::Subscription(SubscriptionStatus::PastDue), Access::Limited)
        );
        assert_eq!(e.features, ["basic_feature"]);
    }

    #[test]
    fn canceled_keeps_access_only_until_period_end() {
        let mut s = sub("c", Canceled, "pro_monthly");
        s.current_period_end = Some(NOW + 1);
        assert_eq!(
            summary(&run(&[s.clone()])),
            ("pro", EntitlementStatus::Subscription(SubscriptionStatus::Canceled), Access::Full)
        );
        s.current_period_end = Some(NOW);
        let e = run(&[s.clone()]);
        assert_eq!(summary(&e), ("free", EntitlementStatus::Subscription(SubscriptionStatus::Canceled), Access::None));
        assert_eq!(e.features, ["basic_feature"]);
        s.current_period_end = None;
        assert_eq!(run(&[s]).access, Access::None);
    }

    #[test]
    fn cancel_at_period_end_grants_until_the_period_ends() {
        let mut s = sub("a", Active, "pro_monthly");
        s.cancel_at_period_end = true;
        s.current_period_end = Some(NOW + DAY);
        let e = run(&[s.clone()]);
        assert_eq!(summary(&e), ("pro", EntitlementStatus::Subscription(SubscriptionStatus::Active), Access::Full));
        assert!(e.cancel_at_period_end);
        s.current_period_end = Some(NOW - 1);
        assert_eq!(
            summary(&run(&[s])),
            ("free", EntitlementStatus::Subscription(SubscriptionStatus::Active), Access::None)
        );
    }

    #[test]
    fn incomplete_unpaid_and_paused_grant_nothing() {
        for st in [Incomplete, IncompleteExpired, Unpaid, Paused] {
            let e = run(&[sub("x", st, "enterprise_monthly")]);
            assert_eq!(summary(&e), ("free", st.into(), Access::None), "{st:?}");
            assert_eq!(e.features, ["basic_feature"]);
            assert_eq!(e.subscription_id.as_deref(), Some("x"));
        }
    }

    #[test]
    fn an_unknown_price_grants_no_paid_plan() {
        let subs = [sub("u", Active, "legacy_gold")];
        let e = run(&subs);
        assert_eq!(summary(&e), ("free", EntitlementStatus::Subscription(SubscriptionStatus::Active), Access::None));
        let p = plans();
        let ids: Vec<_> = unmapped(&subs, &p).map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["u"]);
        // An unmapped add-on next to a mapped price does not hide the plan.
        let mut s = sub("m", Active, "pro_monthly");
        s.prices.push(PriceRef { id: "price_addon".into(), lookup_key: None });
        assert_eq!(run(&[s.clone()]).plan, "pro");
        assert_eq!(unmapped(&[s], &p).count(), 0);
    }

    #[test]
    fn the_highest_ranked_granting_plan_wins() {
        let subs = [
            sub("pro", Active, "pro_monthly"),
            sub("ent", PastDue, "enterprise_monthly"),
            sub("dead", Unpaid, "enterprise_monthly"),
            sub("ent2", Active, "enterprise_monthly"),
        ];
        let e = run(&subs);
        assert_eq!(
            summary(&e),
            ("enterprise", EntitlementStatus::Subscription(SubscriptionStatus::Active), Access::Full)
        );
        assert_eq!(e.subscription_id.as_deref(), Some("ent2"));
        // Order of the list does not matter.
        let mut reversed = subs.to_vec();
        reversed.reverse();
        assert_eq!(run(&reversed), e);
        // Several items on one subscription: the best-ranked price counts.
        let mut multi = sub("multi", Active, "pro_monthly");
        multi.prices.push(PriceRef { id: "price_e".into(), lookup_key: Some("enterprise_monthly".into()) });
        assert_eq!(run(&[multi]).plan, "enterprise");
    }

    #[test]
    fn a_paid_up_plan_is_never_hidden_behind_a_higher_plans_past_due_limit() {
        // Found by the property test "a later now never grants more": the
        // higher rank won first, so premium_feature, paid for in full, was
        // denied while the enterprise renewal failed, and came back when it ended.
        let subs = [sub("pro", Active, "pro_monthly"), sub("ent", PastDue, "enterprise_monthly")];
        let e = run(&subs);
        assert_eq!(summary(&e), ("pro", EntitlementStatus::Subscription(SubscriptionStatus::Active), Access::Full));
        assert!(e.features.iter().any(|f| f == "premium_feature"), "{e:?}");
        let only_limited = run(&[sub("ent", PastDue, "enterprise_monthly"), sub("dead", Unpaid, "pro_monthly")]);
        assert_eq!(
            summary(&only_limited),
            ("enterprise", EntitlementStatus::Subscription(SubscriptionStatus::PastDue), Access::Limited)
        );
    }

    #[test]
    fn on_equal_rank_full_beats_limited_then_the_later_period_end() {
        let limited = sub("limited", PastDue, "pro_monthly");
        let mut full = sub("full", Active, "pro_yearly");
        full.current_period_end = Some(NOW + DAY);
        assert_eq!(run(&[limited.clone(), full.clone()]).subscription_id.as_deref(), Some("full"));
        assert_eq!(run(&[full.clone(), limited]).subscription_id.as_deref(), Some("full"));
        let mut later = sub("later", Active, "pro_monthly");
        later.current_period_end = Some(NOW + 300 * DAY);
        let e = run(&[full.clone(), later.clone()]);
        assert_eq!(e.subscription_id.as_deref(), Some("later"));
        assert_eq!(e.current_period_end, Some(NOW + 300 * DAY));
        assert_eq!(run(&[later, full]).subscription_id.as_deref(), Some("later"));
    }

    #[test]
    fn nothing_granting_reports_the_most_recent_subscription() {
        let mut old = sub("old", Canceled, "pro_monthly");
        old.current_period_end = Some(NOW - 100 * DAY);
        old.created = NOW - 400 * DAY;
        let mut new = sub("new", Incomplete, "pro_monthly");
        new.created = NOW - 60;
        let e = run(&[new, old]);
        assert_eq!(
            summary(&e),
            ("free", EntitlementStatus::Subscription(SubscriptionStatus::Incomplete), Access::None)
        );
        assert_eq!(e.subscription_id.as_deref(), Some("new"));
    }

    #[test]
    fn subscriptions_of_another_customer_are_ignored() {
        let mut other = sub("x", Active, "enterprise_monthly");
        other.customer = "cus_other".into();
        assert_eq!(run(&[other.clone()]).access, Access::None);
        assert_eq!(derive(&id1(), None, &[other], &plans(), NOW).plan, "enterprise");
    }

    #[test]
    fn the_app_trial_runs_for_its_days_then_ends() {
        let p = plans();
        let start = NOW - 13 * DAY;
        let t = app_trial(&id1(), None, &p, start, NOW).unwrap();
        assert_eq!(summary(&t), ("pro", EntitlementStatus::Subscription(SubscriptionStatus::Trialing), Access::Full));
        assert_eq!(t.trial_end, Some(start + 14 * DAY));
        assert_eq!(t.features, ["basic_feature", "premium_feature"]);
        assert!(t.is_app_trial());
        assert!(app_trial(&id1(), None, &p, start, start + 14 * DAY - 1).is_some());
        assert!(app_trial(&id1(), None, &p, start, start + 14 * DAY).is_none());
        let no_trial = Plans::parse(r#"{"default_plan":"free","plans":{"free":{"rank":0}}}"#).unwrap();
        assert!(app_trial(&id1(), None, &no_trial, NOW, NOW).is_none());
    }

    #[test]
    fn the_app_trial_applies_only_when_it_grants_more() {
        let p = plans();
        let trial = app_trial(&id1(), Some("cus_1"), &p, NOW, NOW);
        let mut free = run(&[]);
        free.pending = true;
        let combined = with_app_trial(free, trial.clone(), &p);
        assert_eq!(
            summary(&combined),
            ("pro", EntitlementStatus::Subscription(SubscriptionStatus::Trialing), Access::Full)
        );
        assert!(combined.pending);
        let enterprise = run(&[sub("e", Active, "enterprise_monthly")]);
        assert_eq!(with_app_trial(enterprise.clone(), trial.clone(), &p), enterprise);
        let paid_pro = run(&[sub("p", Active, "pro_monthly")]);
        assert_eq!(with_app_trial(paid_pro.clone(), trial.clone(), &p), paid_pro);
        let limited_pro = run(&[sub("p", PastDue, "pro_monthly")]);
        assert!(with_app_trial(limited_pro, trial, &p).is_app_trial());
        assert_eq!(with_app_trial(paid_pro.clone(), None, &p), paid_pro);
    }

    /// Property tests (proptest) of the derivation's invariants over random
    /// lists of subscriptions of the example catalogue.
    mod properties {
        use super::*;
        use crate::entitlements::plans::grants;
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// Lookup keys of every plan of the example catalogue, and one it lacks.
        const KEYS: [&str; 4] = ["pro_monthly", "pro_yearly", "enterprise_monthly", "legacy_gold"];

        fn config() -> ProptestConfig {
            // No regression files written into src/; a failure prints its input.
            ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() }
        }

        fn time() -> impl Strategy<Value = i64> {
            prop_oneof![(NOW - 90 * DAY)..(NOW + 90 * DAY), Just(NOW), Just(NOW + 30 * DAY)]
        }

        fn subscription() -> impl Strategy<Value = Subscription> {
            (
                proptest::sample::select(SubscriptionStatus::ALL.to_vec()),
                vec(proptest::sample::select(KEYS.to_vec()), 0..3),
                any::<bool>(),
                proptest::option::weighted(0.9, time()),
                proptest::option::of(time()),
                proptest::sample::select(vec!["cus_1", "cus_2"]),
                (NOW - 400 * DAY)..NOW,
            )
                .prop_map(|(status, keys, cancel, period_end, trial_end, customer, created)| {
                    Subscription {
                        id: String::new(),
                        customer: customer.into(),
                        status,
                        cancel_at_period_end: cancel,
                        current_period_end: period_end,
                        trial_end,
                        prices: keys
                            .iter()
                            .map(|k| PriceRef { id: format!("price_{k}"), lookup_key: Some((*k).into()) })
                            .collect(),
                        metadata: Default::default(),
                        created,
                    }
                })
        }

        /// Up to 6 subscriptions with distinct ids, as Stripe lists them.
        fn subscriptions() -> impl Strategy<Value = Vec<Subscription>> {
            vec(subscription(), 0..6).prop_map(|mut subs| {
                for (i, s) in subs.iter_mut().enumerate() {
                    s.id = format!("sub_{i}");
                }
                subs
            })
        }

        /// How much a subscription's access is worth: none < limited < full.
        fn level(a: Access) -> u8 {
            match a {
                Access::None => 0,
                Access::Limited => 1,
                Access::Full => 2,
            }
        }

        /// What a record grants, ordered as the derivation chooses: `None`
        /// for nothing, else full over limited, then the plan's rank.
        fn strength(e: &Entitlement, p: &Plans) -> Option<(bool, u32)> {
            (e.access != Access::None).then(|| (e.access == Access::Full, p.rank_of(&e.plan).unwrap()))
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn any_order_of_the_same_subscriptions_gives_the_same_record(
                (subs, shuffled) in subscriptions().prop_flat_map(|s| (Just(s.clone()), Just(s).prop_shuffle())),
                now in time(),
            ) {
                let p = plans();
                for customer in [Some("cus_1"), None] {
                    prop_assert_eq!(
                        derive(&id1(), customer, &shuffled, &p, now),
                        derive(&id1(), customer, &subs, &p, now)
                    );
                }
            }

            #[test]
            fn a_later_now_never_grants_more(subs in subscriptions(), t1 in time(), dt in 0..(200 * DAY)) {
                let p = plans();
                let t2 = t1 + dt;
                for s in &subs {
                    prop_assert!(level(subscription_access(s, t2)) <= level(subscription_access(s, t1)), "{:?}", s);
                }
                let (early, late) = (derive(&id1(), Some("cus_1"), &subs, &p, t1), derive(&id1(), Some("cus_1"), &subs, &p, t2));
                prop_assert!(strength(&late, &p) <= strength(&early, &p), "{:?} then {:?}", early, late);
                // Features: the example catalogue's lists are nested by rank
                // (past-due features are the default plan's), so they never
                // grow either.
                for f in ["basic_feature", "premium_feature", "any_other_feature"] {
                    prop_assert!(
                        !grants(&late.features, f) || grants(&early.features, f),
                        "{} granted later only: {:?} then {:?}", f, early, late
                    );
                }
            }
        }
    }
}
