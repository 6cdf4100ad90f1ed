//! Controls that read and reset the counts of served `/v1` calls.

use axum::extract::State;
use axum::Json;
use serde_json::Value;

use crate::stripe::app::App;

/// `GET /_emulator/requests`: `{"total": N, "by_route": {"GET /v1/customers": 3, ...}}`.
pub(crate) async fn counts(State(app): State<App>) -> Json<Value> {
    Json(app.lock().requests.to_json())
}

/// `DELETE /_emulator/requests`: zeroes the counts and answers them (`{"total": 0, "by_route": {}}`).
pub(crate) async fn reset(State(app): State<App>) -> Json<Value> {
    let mut state = app.lock();
    state.requests.reset();
    Json(state.requests.to_json())
}
