//! `GET /healthz`: is the configuration usable, and does KV answer? Names
//! what is wrong, never shows a value.

use serde_json::json;
use worker::Env;

use crate::config::{Config, ConfigProblem};
use crate::error::ApiError;
use crate::http::kv::Store;
use crate::http::respond::{self, Reply};
use crate::runtime::forward::{self, NO_SCHEDULER_WAIT};

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
