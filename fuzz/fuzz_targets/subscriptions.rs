//! Subscription-list parsing plus plan derivation
//! (src/stripe/subscription.rs, src/entitlements/derive.rs) with the spec's
//! example `PLANS`.
//!
//! Input: a `GET /v1/subscriptions` answer. Checks that parsing and deriving
//! never panic, and on every parsed list: the record's plan is in `PLANS`
//! and its features are exactly what its access grants (the plan's, the
//! past-due list, or the default plan's); the subscription it names is one
//! of the list's and maps to its plan; any order of the same subscriptions
//! (ids unique, as Stripe's are) gives the same record; and a later `now`
//! never grants more (full over limited, then plan rank, and features never
//! increase).
#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use kratos_stripe_bridge::entitlements::derive::{derive, plan_of, subscription_access};
use kratos_stripe_bridge::entitlements::plans::{grants, Plans, EXAMPLE_PLANS};
use kratos_stripe_bridge::entitlements::record::{Access, Entitlement};
use kratos_stripe_bridge::identity::IdentityId;
use kratos_stripe_bridge::stripe::subscription::{parse_subscription_list, Subscription};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_764_000_000;
const DAY: i64 = 86_400;
/// Ascending times, derivation must never grant more along them.
const TIMES: [i64; 7] = [i64::MIN, 0, NOW - DAY, NOW, NOW + 30 * DAY, NOW + 3650 * DAY, i64::MAX];

fn plans() -> &'static Plans {
    static PLANS: OnceLock<Plans> = OnceLock::new();
    PLANS.get_or_init(|| Plans::parse(EXAMPLE_PLANS).expect("the example PLANS parse"))
}

fn identity() -> IdentityId {
    IdentityId::parse("1d000000-0000-4000-8000-000000000001").expect("a valid id")
}

/// What a record grants, ordered as the derivation chooses: `None` for
/// nothing, else full over limited, then the plan's rank.
fn strength(e: &Entitlement, plans: &Plans) -> Option<(bool, u32)> {
    match e.access {
        Access::None => None,
        a => Some((a == Access::Full, plans.rank_of(&e.plan).expect("a granted plan is in PLANS"))),
    }
}

fn check_record(e: &Entitlement, subs: &[Subscription], customer: Option<&str>, plans: &Plans, now: i64) {
    assert!(plans.plan(&e.plan).is_some(), "plan {} is not in PLANS", e.plan);
    assert_eq!(e.synced_at, now);
    assert_eq!(e.stripe_customer_id.as_deref(), customer);
    let want: &[String] = match e.access {
        Access::Full => plans.features_of(&e.plan),
        Access::Limited => plans.past_due_features(),
        Access::None => plans.default_features(),
    };
    assert_eq!(e.features, want);
    if e.access == Access::None {
        assert_eq!(e.plan, plans.default_plan());
    }
    match &e.subscription_id {
        None => assert!(subs.iter().all(|s| customer.is_some_and(|c| s.customer != c))),
        Some(id) => {
            // Ids are unique in Stripe's answers, but not in fuzzed ones.
            let mut named = subs.iter().filter(|s| &s.id == id).peekable();
            assert!(named.peek().is_some(), "the record names a listed subscription");
            if e.access != Access::None {
                assert!(
                    named
                        .any(|s| plan_of(s, plans) == Some(e.plan.as_str()) && subscription_access(s, now) == e.access),
                    "the named subscription grants the record's plan and access"
                );
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(page) = parse_subscription_list(data) else { return };
    let plans = plans();
    let id = identity();
    let subs = page.data;
    let unique = subs.iter().map(|s| s.id.as_str()).collect::<BTreeSet<_>>().len() == subs.len();
    let customers: Vec<Option<&str>> =
        std::iter::once(None).chain(subs.first().map(|s| Some(s.customer.as_str()))).collect();
    for customer in customers {
        let mut previous: Option<Entitlement> = None;
        for now in TIMES {
            let e = derive(&id, customer, &subs, plans, now);
            check_record(&e, &subs, customer, plans, now);
            if unique {
                let mut reversed = subs.clone();
                reversed.reverse();
                assert_eq!(derive(&id, customer, &reversed, plans, now), e, "order changed the record");
                let mut rotated = subs.clone();
                rotated.rotate_left(subs.len() / 2);
                assert_eq!(derive(&id, customer, &rotated, plans, now), e, "order changed the record");
            }
            if let Some(p) = &previous {
                assert!(strength(&e, plans) <= strength(p, plans), "a later now granted more: {p:?} then {e:?}");
                // The example catalogue's feature lists are nested, so
                // features never grow either.
                for f in ["basic_feature", "premium_feature", "any_other_feature"] {
                    assert!(!grants(&e.features, f) || grants(&p.features, f), "{f} granted later only");
                }
            }
            previous = Some(e);
        }
    }
});
