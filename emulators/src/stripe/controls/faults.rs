//! Controls that make API calls fail: the next N calls, or a seeded share
//! of every call, and the figures of what was injected.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::stripe::app::App;
use crate::stripe::errors::{ApiError, ApiResult};
use crate::stripe::faults::{FaultKind, FaultRule, Faults, RandomFaults};

use super::json_body;

/// Default for `hang_ms`.
const DEFAULT_HANG_MS: u64 = 30_000;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    count: Option<u32>,
    kind: Option<Value>,
    rate: Option<f64>,
    kinds: Option<Vec<Value>>,
    seed: Option<u64>,
    path_prefix: Option<String>,
    hang_ms: Option<u64>,
    /// With `"kind": "500"`: the 500 comes once the endpoint started
    /// executing, so it is saved under the Idempotency-Key and replayed.
    saved: Option<bool>,
    /// With `saved`: the endpoint ran (a customer was made, say) before the 500.
    executed: Option<bool>,
}

const KIND_ERROR: &str = "`kind` must be \"500\", \"429\", \"hang\" or \"slow\".";
const KINDS_ERROR: &str = "`kinds` must be a non-empty list of \"500\", \"429\", \"hang\" or \"slow\".";

fn kind_of(value: &Value, hang: Duration) -> Option<FaultKind> {
    let name = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    match name.as_str() {
        "500" => Some(FaultKind::ServerError),
        "429" => Some(FaultKind::RateLimit),
        "hang" => Some(FaultKind::Hang(hang)),
        "slow" => Some(FaultKind::Slow(hang)),
        _ => None,
    }
}

/// `POST /_emulator/faults`, either `{"count", "kind": "500"|"429"|"hang"|"slow",
/// "path_prefix", "hang_ms"}` (the next `count` matching calls fail; a
/// `"500"` with `"saved": true` is raised while executing and saved under
/// the Idempotency-Key, after running the endpoint with `"executed": true`) or
/// `{"rate", "kinds", "seed", "path_prefix", "hang_ms"}` (each matching call
/// fails with probability `rate`, as one of `kinds`, default `["500", "429",
/// "hang"]`, drawn from a generator seeded with `seed`; replaces the share
/// armed before; `rate: 0` disarms it). Counted rules go first.
pub(crate) async fn arm(State(app): State<App>, body: Bytes) -> ApiResult {
    let body: FaultBody = json_body(&body)?;
    let hang = Duration::from_millis(body.hang_ms.unwrap_or(DEFAULT_HANG_MS));
    let bad = |m: &str| Err(ApiError::bad_request(m.to_string()));
    let Some(rate) = body.rate else {
        if body.kinds.is_some() || body.seed.is_some() {
            return bad("`kinds` and `seed` go with `rate`.");
        }
        let kind = body.kind.as_ref().and_then(|k| kind_of(k, hang));
        let Some(mut kind) = kind else { return bad(KIND_ERROR) };
        match (kind, body.saved.unwrap_or(false)) {
            (FaultKind::ServerError, true) => {
                kind = FaultKind::SavedServerError { executed: body.executed.unwrap_or(false) }
            }
            (_, true) => return bad("`saved` goes with \"kind\": \"500\" only."),
            (_, false) if body.executed.is_some() => return bad("`executed` goes with `saved`."),
            _ => {}
        }
        let mut state = app.lock();
        state.faults.add(FaultRule { remaining: body.count.unwrap_or(1), kind, path_prefix: body.path_prefix });
        return Ok(Json(figures(&state.faults)));
    };
    if body.count.is_some() || body.kind.is_some() || body.saved.is_some() || body.executed.is_some() {
        return bad("`rate` cannot go with `count`, `kind`, `saved` or `executed`: arm them in two calls.");
    }
    if !(0.0..=1.0).contains(&rate) {
        return bad("`rate` must be a number from 0 to 1.");
    }
    let names = body.kinds.unwrap_or_else(|| vec![json!("500"), json!("429"), json!("hang")]);
    let kinds: Option<Vec<FaultKind>> = names.iter().map(|k| kind_of(k, hang)).collect();
    let kinds = match kinds {
        Some(kinds) if !kinds.is_empty() => kinds,
        _ => return bad(KINDS_ERROR),
    };
    let mut state = app.lock();
    state.faults.set_random(RandomFaults { rate, kinds, path_prefix: body.path_prefix, state: body.seed.unwrap_or(0) });
    Ok(Json(figures(&state.faults)))
}

/// `GET /_emulator/faults`: what is armed and what was injected so far.
pub(crate) async fn show(State(app): State<App>) -> Json<Value> {
    Json(figures(&app.lock().faults))
}

/// `DELETE /_emulator/faults`: disarms everything (the counts stay).
pub(crate) async fn clear(State(app): State<App>) -> Json<Value> {
    let mut state = app.lock();
    state.faults.clear();
    Json(figures(&state.faults))
}

/// `{"pending", "rate", "injected": {"500": n, ...}, "injected_total"}`.
fn figures(faults: &Faults) -> Value {
    json!({
        "pending": faults.pending(),
        "rate": faults.random().map(|r| r.rate),
        "injected": faults.injected(),
        "injected_total": faults.injected().values().sum::<u64>(),
    })
}
