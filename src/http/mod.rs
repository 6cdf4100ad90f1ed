//! The shell: the only code that touches the Workers runtime (`worker`
//! types). It reads configuration, routes requests to handlers, and gives
//! the pure core what it asks for: KV records, Stripe and Kratos answers, the
//! time. Compiled only for wasm32; tested end to end through `wrangler dev`.

mod auth;
mod body;
mod caches;
mod context;
mod eager;
mod edge;
mod env;
mod flows;
mod headers;
mod kratos_api;
mod kv;
mod log;
mod request_id;
mod respond;
mod router;
mod routes;
mod runtime;
mod stripe_api;
mod timer;
mod upstream;

use serde_json::json;
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsValue};
use worker::{console_error, event, web_sys, Env, ScheduleContext, ScheduledEvent};

/// The fetch handler, in place of `#[event(fetch)]`, whose async export
/// makes a promise and a task for every request: a request answered from the
/// isolate's caches is answered in this call (`eager`). Answers with the
/// runtime's response object, so that an origin's answer in edge gate mode
/// is handed back untouched.
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, _ctx: JsValue) -> JsValue {
    eager::run(async move {
        let response = match router::handle(req.into(), env).await {
            Ok(response) => response,
            // As `#[event(fetch)]` answers: the error is not the client's business.
            Err(e) => {
                console_error!("{e}");
                let raw: web_sys::Response = worker::Response::error("INTERNAL SERVER ERROR", 500)
                    .map_err(|e| JsValue::from_str(&e.to_string()))?
                    .into();
                raw.into()
            }
        };
        Ok(response)
    })
}

/// The cron (`[triggers] crons` in wrangler.toml): one step of the
/// reconciliation walk. A failed step is logged; the next run resumes.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let config = env::config(&env);
    let outcome = match config.as_ref() {
        Ok(config) => {
            let cx = context::Cx::new(config, &env);
            match flows::reconcile::step(&cx, &cx.store()).await {
                Ok(state) => json!({"complete": state.complete, "cursor": state.cursor}),
                Err(e) => json!({"error": e.code, "message": e.message, "upstream": e.upstream}),
            }
        }
        Err(problem) => json!({"error": "invalid_config", "message": problem.to_string()}),
    };
    log::line("scheduled", &[("request_id", json!(request_id::random())), ("outcome", outcome)]);
}
