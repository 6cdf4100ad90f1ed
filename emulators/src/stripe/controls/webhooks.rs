//! Controls for webhook delivery: target, mode, flushing and retries.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::stripe::app::App;
use crate::stripe::delivery::{DeliveryAttempt, DeliveryMode, FlushOrder};
use crate::stripe::errors::{ApiError, ApiResult};
use crate::stripe::ids::splitmix;
use crate::stripe::webhooks::deliver_all;

use super::json_body;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TargetBody {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

/// `POST /_emulator/webhook {"url", "secret"}`: replaces either or both.
pub(crate) async fn set_target(State(app): State<App>, body: Bytes) -> ApiResult {
    let body: TargetBody = json_body(&body)?;
    let mut state = app.lock();
    if let Some(url) = body.url {
        state.webhook.url = Some(url);
    }
    if let Some(secret) = body.secret {
        state.webhook.secret = secret;
    }
    Ok(Json(json!({ "url": state.webhook.url })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DeliveryBody {
    mode: Option<DeliveryMode>,
    duplicate: Option<bool>,
    delay_ms: Option<u64>,
}

/// `POST /_emulator/delivery {"mode", "duplicate", "delay_ms"}`.
pub(crate) async fn set_delivery(State(app): State<App>, body: Bytes) -> ApiResult {
    let body: DeliveryBody = json_body(&body)?;
    let mut state = app.lock();
    if let Some(mode) = body.mode {
        state.delivery.mode = mode;
    }
    if let Some(duplicate) = body.duplicate {
        state.delivery.duplicate = duplicate;
    }
    if let Some(delay_ms) = body.delay_ms {
        state.delivery.delay_ms = delay_ms;
    }
    Ok(Json(json!(state.delivery)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FlushBody {
    #[serde(default)]
    order: FlushOrder,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    duplicate: bool,
}

fn no_target() -> ApiError {
    ApiError::bad_request("No webhook endpoint is configured; POST /_emulator/webhook first.".to_string())
}

/// `POST /_emulator/events/flush {"order", "seed", "duplicate"}`: sends the
/// queued events one after another; answers the delivery attempts.
pub(crate) async fn flush(State(app): State<App>, body: Bytes) -> ApiResult {
    let body: FlushBody = json_body(&body)?;
    let mut queued = {
        let mut state = app.lock();
        if state.webhook.url.is_none() {
            return Err(no_target());
        }
        std::mem::take(&mut state.queue)
    };
    match body.order {
        FlushOrder::Created => {}
        FlushOrder::Reverse => queued.reverse(),
        FlushOrder::Shuffle => shuffle(&mut queued, body.seed),
    }
    Ok(Json(attempts_json(deliver_all(&app, &queued, body.duplicate).await)))
}

/// Fisher-Yates driven by SplitMix64, so a seed always gives the same order.
fn shuffle(items: &mut [String], seed: u64) {
    let mut state = seed;
    for i in (1..items.len()).rev() {
        state = splitmix(state);
        let j = (state % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// `POST /_emulator/events/retry_failed`: redelivers every event whose last
/// attempt failed, oldest event first.
pub(crate) async fn retry_failed(State(app): State<App>) -> ApiResult {
    let failed: Vec<String> = {
        let state = app.lock();
        if state.webhook.url.is_none() {
            return Err(no_target());
        }
        state
            .events
            .iter()
            .filter_map(|e| e.get("id").and_then(Value::as_str))
            .filter(|id| state.attempts.iter().rev().find(|a| a.event_id == *id).is_some_and(|a| !a.ok))
            .map(str::to_string)
            .collect()
    };
    Ok(Json(attempts_json(deliver_all(&app, &failed, false).await)))
}

/// `GET /_emulator/deliveries`: every attempt so far, oldest first.
pub(crate) async fn deliveries(State(app): State<App>) -> Json<Value> {
    Json(attempts_json(app.lock().attempts.clone()))
}

fn attempts_json(attempts: Vec<DeliveryAttempt>) -> Value {
    serde_json::to_value(attempts).unwrap_or_else(|_| json!([]))
}
