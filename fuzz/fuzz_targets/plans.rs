//! `PLANS` parsing (src/entitlements/plans.rs).
//!
//! Input: a `PLANS` value. Checks that parsing never panics, and that a
//! catalogue it accepts keeps its promises: the default and the trial plan
//! exist, the trial lasts at least a day, ranks are unique, every listed
//! price (as lookup key or as id) maps back to its own plan, no feature,
//! price or past-due feature is blank, and the lookups agree with the plans.
#![no_main]

use std::collections::BTreeSet;

use kratos_stripe_bridge::entitlements::plans::Plans;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(plans) = Plans::parse(text) else { return };
    let default = plans.plan(plans.default_plan()).expect("the default plan exists");
    assert_eq!(plans.default_features(), default.features.as_slice());
    if let Some(trial) = plans.trial() {
        assert!(plans.plan(&trial.plan).is_some(), "the trial plan exists");
        assert!(trial.days >= 1 && trial.duration_secs() >= 86_400);
    }
    assert!(plans.past_due_features().iter().all(|f| !f.trim().is_empty()));
    let mut ranks = BTreeSet::new();
    for (name, plan) in plans.iter() {
        assert!(!name.trim().is_empty());
        assert!(ranks.insert(plan.rank), "rank {} twice", plan.rank);
        assert_eq!(plans.rank_of(name), Some(plan.rank));
        assert_eq!(plans.features_of(name), plan.features.as_slice());
        assert!(plan.features.iter().all(|f| !f.trim().is_empty()));
        for f in &plan.features {
            assert!(plan.grants(f));
        }
        for price in &plan.prices {
            assert!(!price.trim().is_empty());
            assert_eq!(plans.plan_for_price(price, None), Some(name), "price {price}");
            assert_eq!(plans.plan_for_price("price_not_listed_anywhere", Some(price)), Some(name));
        }
    }
});
