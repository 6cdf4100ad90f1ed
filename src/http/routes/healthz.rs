//! `GET /healthz`: is the configuration usable? Names what is wrong, never
//! shows a value.

use serde_json::json;
use worker::Response;

use crate::config::{Config, ConfigProblem};
use crate::error::ApiError;
use crate::http::respond;

pub fn handle(config: &Result<Config, ConfigProblem>) -> Result<Response, ApiError> {
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
            let problems: Vec<_> =
                c.problems().iter().map(|p| json!({"setting": p.name, "message": p.message})).collect();
            let ok = problems.is_empty();
            respond::json(
                if ok { 200 } else { 500 },
                &json!({
                    "ok": ok,
                    "version": env!("CARGO_PKG_VERSION"),
                    "environment": c.environment.as_str(),
                    "plans": plans,
                    "problems": problems,
                }),
            )
        }
    }
}
