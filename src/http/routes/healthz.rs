//! `GET /healthz`: is the configuration usable, and does KV answer? Names
//! what is wrong, never shows a value. With `?deep=1` (API token), also
//! asks Stripe and Kratos; what to ask and how to judge the answers is
//! `crate::health`'s.

use serde_json::json;
use worker::Env;

use crate::billing::input::PriceRef;
use crate::config::{Config, ConfigProblem};
use crate::error::ApiError;
use crate::health::{self, PriceToCheck};
use crate::http::context::Cx;
use crate::http::kv::Store;
use crate::http::respond::{self, Reply};
use crate::http::stripe_api::{Found, Stripe};
use crate::kratos::request::KratosRequest;
use crate::runtime::forward::{self, NO_SCHEDULER_WAIT};
use crate::stripe::request::StripeRequest;

/// `GET /healthz`.
pub async fn check_health(config: &Result<Config, ConfigProblem>, env: &Env) -> Result<Reply, ApiError> {
    match config {
        Err(problem) => respond::json(
            500,
            &json!({
                "ok": false,
                "problems": [{"setting": problem.name, "message": problem.message}],
                "error": {"code": "invalid_config", "message": problem.to_string()},
            }),
        ),
        Ok(c) => {
            let mut plans: Vec<&str> = c.plans.iter().map(|(name, _)| name).collect();
            plans.sort_unstable();
            let mut problems: Vec<_> =
                c.problems().iter().map(|p| json!({"setting": p.name, "message": p.message})).collect();
            if c.gate.origin_url.is_some() && !forward::available() {
                // Edge gate mode could not forward a single request.
                problems.push(json!({"setting": "ORIGIN_URL", "message": NO_SCHEDULER_WAIT}));
            }
            // One read: the namespace is bound and answers.
            let kv = Store::open(env, 0, 0).ping().await;
            if let Err(e) = &kv {
                problems.push(json!({"setting": "BILLING_KV", "message": e.message}));
            }
            let status = match (&kv, problems.is_empty()) {
                (_, true) => 200,
                // Configuration is fine but KV did not answer: retry later.
                (Err(e), false) if problems.len() == 1 && e.status == 503 => 503,
                _ => 500,
            };
            respond::json(
                status,
                &json!({
                    "ok": problems.is_empty(),
                    "version": env!("CARGO_PKG_VERSION"),
                    "environment": c.environment.as_str(),
                    "plans": plans,
                    "kv": if kv.is_ok() { "ok" } else { "unavailable" },
                    "problems": problems,
                }),
            )
        }
    }
}

/// `GET /healthz?deep=1`: the plain checks, then one call to each
/// dependency the configuration names; 200 when all passed, else 503 with
/// what is wrong. The calls' failures are judged, never passed on.
pub async fn deep_check(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let config = cx.config;
    let mut problems = config.problems();
    if config.gate.origin_url.is_some() && !forward::available() {
        problems.push(ConfigProblem { name: "ORIGIN_URL", message: NO_SCHEDULER_WAIT.into() });
    }
    let mut checks = vec![health::config_check(&problems), health::kv_check(cx.store().ping().await)];
    let prices = health::prices_to_check(&config.plans);
    match cx.stripe() {
        Err(e) => {
            checks.push(health::stripe_key_check(Err(e), None));
            checks.extend(prices.iter().map(health::price_not_checked));
        }
        Ok(stripe) => {
            let listed = stripe.send(&StripeRequest::any_price()).await.map_err(ApiError::from);
            let usable = listed.is_ok();
            checks.push(health::stripe_key_check(Ok(()), Some(listed)));
            for price in &prices {
                checks.push(match usable {
                    true => price_check(&stripe, price).await,
                    false => health::price_not_checked(price),
                });
            }
        }
    }
    checks.push(health::kratos_admin_check(cx.kratos().send(&KratosRequest::any_identity()).await));
    checks.push(health::kratos_public_check(cx.kratos().send(&KratosRequest::whoami_without_session()).await));
    checks.push(health::usage_binding_check(&config.plans, cx.env.durable_object("USAGE").is_ok()));
    let (status, body) = health::report(config, checks);
    respond::json(status, &body)
}

async fn price_check(stripe: &Stripe<'_>, price: &PriceToCheck) -> health::Check {
    match &price.price {
        PriceRef::LookupKey(key) => {
            let answer = stripe.send(&StripeRequest::active_price_by_lookup_key(key)).await;
            health::lookup_key_check(price, answer.map_err(ApiError::from))
        }
        PriceRef::Id(id) => {
            let answer = stripe.send(&StripeRequest::retrieve_price(id)).await.found();
            health::price_id_check(price, answer.map_err(ApiError::from))
        }
    }
}
