//! The cron (`[triggers] crons` in wrangler.toml): one step of the
//! reconciliation walk. A failed step is logged; the next run resumes.

use worker::Env;

use super::context::Cx;
use super::flows::reconcile::step;
use super::log::{Level, Line};
use super::request_id;

/// Runs one step and logs its outcome (`scheduled`).
pub async fn run(env: Env) {
    let id = request_id::random();
    let config = super::env::config(&env);
    let line = match config.as_ref() {
        Ok(config) => {
            let cx = Cx::new(config, &env, &id);
            match step(&cx, &cx.store()).await {
                Ok(state) => cx.line("scheduled").field("complete", &state.complete).field("cursor", &state.cursor),
                Err(e) => cx
                    .line("scheduled")
                    .field("error", e.code)
                    .field("message", &e.message)
                    .field("upstream", &e.upstream)
                    .level(Level::of_status(e.status)),
            }
        }
        Err(problem) => Line::new("scheduled", &id)
            .field("error", "invalid_config")
            .field("message", &problem.to_string())
            .level(Level::Error),
    };
    line.write();
}
