//! The account's clock: read it, or move it forward.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::stripe::app::App;
use crate::stripe::clock::Clock;
use crate::stripe::errors::ApiResult;

use super::json_body;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    #[serde(default)]
    advance_seconds: u32,
}

/// `GET /_emulator/clock`: `{"now", "offset_seconds"}`.
pub(crate) async fn show(State(app): State<App>) -> Json<Value> {
    Json(figures(&app.lock().clock))
}

/// `POST /_emulator/clock {"advance_seconds": N}`: moves the account's time
/// forward (it never goes back); answers as `GET` does.
pub(crate) async fn advance(State(app): State<App>, body: Bytes) -> ApiResult {
    let body: AdvanceBody = json_body(&body)?;
    let mut state = app.lock();
    state.clock.advance(body.advance_seconds);
    Ok(Json(figures(&state.clock)))
}

fn figures(clock: &Clock) -> Value {
    json!({ "now": clock.now(), "offset_seconds": clock.offset() })
}
