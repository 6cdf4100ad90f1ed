//! The shell: the only code that touches the Workers runtime (`worker`
//! types). It reads configuration, routes requests to handlers, and gives
//! the pure core what it asks for: KV records, Stripe and Kratos answers, the
//! time. Compiled only for wasm32; tested end to end through `wrangler dev`.

mod auth;
mod body;
mod caches;
mod context;
mod edge;
mod env;
mod flows;
mod kratos_api;
mod kv;
mod log;
mod request_id;
mod respond;
mod router;
mod routes;
mod runtime;
mod stripe_api;
mod upstream;

use serde_json::json;
use worker::{event, web_sys, Context, Env, Request, Result, ScheduleContext, ScheduledEvent};

/// Answers with the runtime's response object, so that an origin's answer in
/// edge gate mode is handed back untouched.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    router::handle(req, env).await
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
