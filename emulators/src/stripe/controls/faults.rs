//! Controls that make the next API calls fail.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::stripe::app::App;
use crate::stripe::errors::{ApiError, ApiResult};
use crate::stripe::faults::{FaultKind, FaultRule};

use super::json_body;

/// Default for `hang_ms`.
const DEFAULT_HANG_MS: u64 = 30_000;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    count: Option<u32>,
    kind: Option<Value>,
    path_prefix: Option<String>,
    hang_ms: Option<u64>,
}

const KIND_ERROR: &str = "`kind` must be \"500\", \"429\", \"hang\" or \"slow\".";

/// `POST /_emulator/faults {"count", "kind": "500"|"429"|"hang"|"slow", "path_prefix", "hang_ms"}`.
pub(crate) async fn arm(State(app): State<App>, body: Bytes) -> ApiResult {
    let body: FaultBody = json_body(&body)?;
    let kind_name = match &body.kind {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(ApiError::bad_request(KIND_ERROR.to_string())),
    };
    let kind = match kind_name.as_str() {
        "500" => FaultKind::ServerError,
        "429" => FaultKind::RateLimit,
        "hang" => FaultKind::Hang(Duration::from_millis(body.hang_ms.unwrap_or(DEFAULT_HANG_MS))),
        "slow" => FaultKind::Slow(Duration::from_millis(body.hang_ms.unwrap_or(DEFAULT_HANG_MS))),
        _ => return Err(ApiError::bad_request(KIND_ERROR.to_string())),
    };
    let mut state = app.lock();
    state.faults.add(FaultRule { remaining: body.count.unwrap_or(1), kind, path_prefix: body.path_prefix });
    Ok(Json(json!({ "pending": state.faults.pending() })))
}

/// `DELETE /_emulator/faults`: disarms everything.
pub(crate) async fn clear(State(app): State<App>) -> Json<Value> {
    let mut state = app.lock();
    state.faults.clear();
    Json(json!({ "pending": 0 }))
}
