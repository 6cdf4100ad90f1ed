//! `GET /healthz?deep=1`: beyond the configuration and KV, is every
//! dependency the deployment names there and usable? The Stripe key works
//! and is in the environment's mode, every price `PLANS` sells exists, the
//! Kratos admin and public APIs answer as they should, and the `USAGE`
//! binding is there when meters need it.
//!
//! Which checks to make and how to judge each answer is decided here, from
//! plain values; the shell makes the calls and hands their results in. A
//! check's `detail` is built from the bridge's own safe descriptions
//! (service, call path, status, the upstream's code), so it never carries a
//! key, a token or a URL.

use serde::Serialize;
use serde_json::{json, Value};

use crate::billing::input::PriceRef;
use crate::config::{Config, ConfigProblem};
use crate::entitlements::plans::Plans;
use crate::error::ApiError;
use crate::stripe::checkout::{Price, PriceList};

/// One finding of the deep check, as answered: `{"name", "ok", "detail"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable, e.g. `stripe_key` or `stripe_price:pro_monthly`.
    pub name: String,
    pub ok: bool,
    /// What was found, or what is wrong and what to fix.
    pub detail: String,
}

impl Check {
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), ok: true, detail: detail.into() }
    }

    fn fail(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), ok: false, detail: detail.into() }
    }
}

/// A price `PLANS` sells, to look up in Stripe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceToCheck {
    /// The entry as `PLANS` writes it (a lookup key or a price id).
    pub entry: String,
    /// The plan it buys.
    pub plan: String,
    /// How to find it.
    pub price: PriceRef,
}

impl PriceToCheck {
    /// The check's name: `stripe_price:<entry>`.
    pub fn name(&self) -> String {
        format!("stripe_price:{}", self.entry)
    }
}

/// Every price `PLANS` sells, in plan then listing order.
pub fn prices_to_check(plans: &Plans) -> Vec<PriceToCheck> {
    let mut named: Vec<_> = plans.iter().collect();
    named.sort_by_key(|(name, _)| *name);
    named
        .into_iter()
        .flat_map(|(plan, p)| {
            p.prices.iter().map(move |entry| PriceToCheck {
                entry: entry.clone(),
                plan: plan.to_owned(),
                price: PriceRef::of(entry),
            })
        })
        .collect()
}

/// The configuration's own problems (the ones plain `/healthz` names).
pub fn config_check(problems: &[ConfigProblem]) -> Check {
    match problems {
        [] => Check::pass("config", "every setting is usable"),
        _ => Check::fail("config", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
    }
}

/// One read of `BILLING_KV`.
pub fn kv_check(read: Result<(), ApiError>) -> Check {
    match read {
        Ok(()) => Check::pass("kv", "BILLING_KV answered a read"),
        Err(e) => Check::fail("kv", e.message),
    }
}

/// The Stripe key: `key` is whether the configuration accepts it (its
/// prefix matches `ENVIRONMENT`'s mode), `listed` what Stripe answered an
/// authorised call with it (`None` when no call was made).
pub fn stripe_key_check(key: Result<(), ApiError>, listed: Option<Result<PriceList, ApiError>>) -> Check {
    let name = "stripe_key";
    match (key, listed) {
        (Err(e), _) => Check::fail(name, e.message),
        (Ok(()), Some(Ok(_))) => Check::pass(name, "Stripe accepted the key, in the environment's mode"),
        (Ok(()), Some(Err(e))) => Check::fail(name, e.message),
        (Ok(()), None) => Check::fail(name, "not checked"),
    }
}

/// A price `PLANS` sells, found by its lookup key: Stripe must have an
/// active price with it (`GET /v1/prices?lookup_keys[]=...&active=true`).
pub fn lookup_key_check(price: &PriceToCheck, answer: Result<PriceList, ApiError>) -> Check {
    match answer {
        Ok(list) => match list.data.into_iter().next() {
            Some(p) => judge_price(price, &p),
            None => Check::fail(
                price.name(),
                format!("Stripe has no active price with lookup key \"{}\" (plan \"{}\")", price.entry, price.plan),
            ),
        },
        Err(e) => Check::fail(price.name(), e.message),
    }
}

/// A price `PLANS` sells by its id: Stripe must have it, active.
pub fn price_id_check(price: &PriceToCheck, answer: Result<Option<Price>, ApiError>) -> Check {
    match answer {
        Ok(Some(p)) => judge_price(price, &p),
        Ok(None) => {
            Check::fail(price.name(), format!("Stripe has no price \"{}\" (plan \"{}\")", price.entry, price.plan))
        }
        Err(e) => Check::fail(price.name(), e.message),
    }
}

/// A price that was not looked up, and why (the key is unusable).
pub fn price_not_checked(price: &PriceToCheck) -> Check {
    Check::fail(price.name(), "not checked: the Stripe key is unusable (see stripe_key)")
}

fn judge_price(wanted: &PriceToCheck, found: &Price) -> Check {
    let plan = &wanted.plan;
    if !found.active {
        return Check::fail(
            wanted.name(),
            format!("{} is archived (inactive); plan \"{plan}\" cannot be bought", found.id),
        );
    }
    match found.kind.as_deref() {
        Some("one_time") => Check::fail(
            wanted.name(),
            format!("{} is a one-time price; plan \"{plan}\" needs a recurring one", found.id),
        ),
        _ => Check::pass(wanted.name(), format!("{} is active (plan \"{plan}\")", found.id)),
    }
}

/// The Kratos admin API: an authorised list of one identity must answer.
pub fn kratos_admin_check<T>(answer: Result<T, ApiError>) -> Check {
    match answer {
        Ok(_) => Check::pass("kratos_admin", "the admin API answered an authorised call"),
        Err(e) => Check::fail("kratos_admin", e.message),
    }
}

/// The Kratos public API: `/sessions/whoami` without a session must answer
/// that there is none (401), as Kratos does.
pub fn kratos_public_check(answer: Result<bool, ApiError>) -> Check {
    match answer {
        Ok(true) => Check::pass("kratos_public", "the public API answered /sessions/whoami: no session, as expected"),
        Ok(false) => Check::fail("kratos_public", "the public API saw a session in a request that sent none"),
        Err(e) => Check::fail("kratos_public", e.message),
    }
}

/// The `USAGE` Durable Object binding: needed when `PLANS` has meters.
pub fn usage_binding_check(plans: &Plans, bound: bool) -> Check {
    let metered = plans.meters().next().is_some();
    match (metered, bound) {
        (true, true) => Check::pass("usage_binding", "USAGE is bound for the meters of PLANS"),
        (true, false) => Check::fail(
            "usage_binding",
            "PLANS has meters but the USAGE Durable Object binding is missing (see wrangler.toml)",
        ),
        (false, _) => Check::pass("usage_binding", "PLANS has no meters; USAGE is not needed"),
    }
}

/// The answer: 200 when every check passed, else 503, with every check.
pub fn report(config: &Config, checks: Vec<Check>) -> (u16, Value) {
    let ok = checks.iter().all(|c| c.ok);
    let body = json!({
        "ok": ok,
        "version": env!("CARGO_PKG_VERSION"),
        "environment": config.environment.as_str(),
        "checks": checks,
    });
    (if ok { 200 } else { 503 }, body)
}

/// Whether a `/healthz` query asks for the deep check (`deep=1` or `deep=true`).
pub fn wants_deep(query: Option<&str>) -> bool {
    query.unwrap_or("").split('&').any(|pair| matches!(pair, "deep=1" | "deep=true"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlements::plans::EXAMPLE_PLANS;

    fn config(vars: &[(&str, &str)]) -> Config {
        let base = [
            ("PLANS", EXAMPLE_PLANS),
            ("STRIPE_SECRET_KEY", "sk_test_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
            ("KRATOS_WEBHOOK_SECRET", "k"),
            ("BRIDGE_API_TOKEN", "t"),
            ("KRATOS_ADMIN_URL", "http://kratos:4434"),
            ("KRATOS_PUBLIC_URL", "http://kratos:4433"),
            ("PRICING_URL", "http://app/pricing"),
            ("APP_URL", "http://app"),
        ];
        let get = |name: &str| vars.iter().chain(base.iter()).find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
        Config::from_lookup(get).unwrap()
    }

    fn price(id: &str, active: bool, kind: &str) -> Price {
        Price { id: id.into(), lookup_key: None, active, kind: Some(kind.into()) }
    }

    fn stripe_404() -> ApiError {
        ApiError::upstream("stripe_not_found", "Stripe answered GET /v1/prices/price_x with 404 (resource_missing)")
    }

    #[test]
    fn every_price_of_plans_is_checked_by_lookup_key_or_id() {
        let plans = Plans::parse(
            r#"{"default_plan":"free","plans":{"free":{"rank":0},"pro":{"rank":1,"prices":["pro_monthly","price_123"]}}}"#,
        )
        .unwrap();
        let names: Vec<_> = prices_to_check(&plans).iter().map(|p| (p.name(), p.price.clone())).collect();
        assert_eq!(
            names,
            vec![
                ("stripe_price:pro_monthly".to_owned(), PriceRef::LookupKey("pro_monthly".into())),
                ("stripe_price:price_123".to_owned(), PriceRef::Id("price_123".into())),
            ]
        );
        let example = Plans::parse(EXAMPLE_PLANS).unwrap();
        assert_eq!(prices_to_check(&example).len(), 3, "pro_monthly, pro_yearly, enterprise_monthly");
    }

    #[test]
    fn a_price_must_exist_be_active_and_recurring() {
        let wanted = PriceToCheck {
            entry: "pro_monthly".into(),
            plan: "pro".into(),
            price: PriceRef::LookupKey("pro_monthly".into()),
        };
        let found = |p: Price| lookup_key_check(&wanted, Ok(PriceList { data: vec![p] }));
        assert!(found(price("price_1", true, "recurring")).ok);
        let archived = found(price("price_1", false, "recurring"));
        assert!(!archived.ok && archived.detail.contains("inactive"), "{archived:?}");
        let one_time = found(price("price_1", true, "one_time"));
        assert!(!one_time.ok && one_time.detail.contains("one-time"), "{one_time:?}");
        let missing = lookup_key_check(&wanted, Ok(PriceList { data: vec![] }));
        assert_eq!(missing.name, "stripe_price:pro_monthly");
        assert!(!missing.ok && missing.detail.contains("no active price with lookup key \"pro_monthly\""));

        let by_id = PriceToCheck { entry: "price_x".into(), plan: "pro".into(), price: PriceRef::Id("price_x".into()) };
        assert!(price_id_check(&by_id, Ok(Some(price("price_x", true, "recurring")))).ok);
        assert!(!price_id_check(&by_id, Ok(None)).ok);
        let failed = price_id_check(&by_id, Err(stripe_404()));
        assert!(!failed.ok && failed.detail.contains("404"));
        assert!(!price_not_checked(&by_id).ok);
    }

    #[test]
    fn the_stripe_key_must_be_accepted_and_in_the_environments_mode() {
        let refused =
            ApiError::upstream("stripe_auth", "Stripe answered GET /v1/prices with 401; check STRIPE_SECRET_KEY");
        assert!(stripe_key_check(Ok(()), Some(Ok(PriceList { data: vec![] }))).ok);
        let c = stripe_key_check(Ok(()), Some(Err(refused)));
        assert!(!c.ok && c.detail.contains("401"), "{c:?}");
        // A live key outside production is refused by the configuration
        // before any call is made.
        let live = config(&[("STRIPE_SECRET_KEY", "sk_live_secretvalue")]);
        let problem = live.stripe_secret_key.get().map(|_| ()).map_err(ApiError::from);
        let c = stripe_key_check(problem, None);
        assert!(!c.ok && c.detail.contains("live-mode key"), "{c:?}");
        assert!(!c.detail.contains("secretvalue"), "never the key: {c:?}");
        let test_in_prod = config(&[("STRIPE_SECRET_KEY", "rk_test_abc"), ("ENVIRONMENT", "production")]);
        assert!(test_in_prod.stripe_secret_key.get().is_err());
        assert!(!stripe_key_check(Ok(()), None).ok);
    }

    #[test]
    fn kratos_must_answer_authorised_and_public_calls() {
        assert!(kratos_admin_check(Ok(Vec::<u8>::new())).ok);
        let refused = ApiError::upstream(
            "kratos_auth",
            "Kratos answered GET /admin/identities with 401; check KRATOS_ADMIN_TOKEN",
        );
        let c = kratos_admin_check::<()>(Err(refused));
        assert!(!c.ok && c.detail.contains("KRATOS_ADMIN_TOKEN"));
        assert!(kratos_public_check(Ok(true)).ok);
        assert!(!kratos_public_check(Ok(false)).ok);
        assert!(
            !kratos_public_check(Err(ApiError::upstream("upstream_unreachable", "Kratos could not be reached"))).ok
        );
    }

    #[test]
    fn the_usage_binding_is_needed_only_with_meters() {
        let metered = Plans::parse(
            r#"{"default_plan":"free","meters":{"exports":{"reset":"month"}},"plans":{"free":{"rank":0,"limits":{"exports":3}}}}"#,
        )
        .unwrap();
        let plain = Plans::parse(EXAMPLE_PLANS).unwrap();
        assert!(usage_binding_check(&metered, true).ok);
        assert!(!usage_binding_check(&metered, false).ok);
        assert!(usage_binding_check(&plain, false).ok);
    }

    #[test]
    fn the_answer_is_200_only_when_every_check_passed() {
        let c = config(&[]);
        let (status, body) = report(&c, vec![Check::pass("a", "fine"), Check::pass("b", "fine")]);
        assert_eq!((status, body["ok"].clone()), (200, json!(true)));
        let (status, body) = report(&c, vec![Check::pass("a", "fine"), Check::fail("b", "broken")]);
        assert_eq!((status, body["ok"].clone()), (503, json!(false)));
        assert_eq!(body["checks"][1], json!({"name": "b", "ok": false, "detail": "broken"}));
        assert!(!config_check(&c.problems()).detail.is_empty());
        assert!(config_check(&c.problems()).ok);
    }

    #[test]
    fn deep_is_asked_by_the_query() {
        assert!(wants_deep(Some("deep=1")));
        assert!(wants_deep(Some("x=2&deep=true")));
        assert!(!wants_deep(Some("deep=0")));
        assert!(!wants_deep(Some("deeper=1")));
        assert!(!wants_deep(None));
    }
}
