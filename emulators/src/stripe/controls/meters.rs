//! `GET /_emulator/meter_events`: what the meter events reported add up to.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::stripe::app::App;
use crate::stripe::ops::meters;
use crate::stripe::state;

/// `{"events": [...], "totals": [{"customer", "event_name", "value", "events"}]}`:
/// every meter event taken in, oldest first (accepted ones, and duplicates
/// with `"refused": true`), each with `counted` and, when not counted, the
/// `reason`; the totals sum the counted ones only.
pub(crate) async fn meter_events(State(app): State<App>) -> Json<Value> {
    let state = app.lock();
    Json(json!({ "events": events_json(&state), "totals": totals_json(&state) }))
}

/// Every recorded meter event, oldest first.
pub(crate) fn events_json(state: &state::State) -> Vec<Value> {
    state.meter_events.iter().map(|e| e.control_json()).collect()
}

/// The counted events by customer and event name.
pub(crate) fn totals_json(state: &state::State) -> Vec<Value> {
    meters::totals(state)
        .into_iter()
        .map(|t| json!({ "customer": t.customer, "event_name": t.event_name, "value": t.value, "events": t.events }))
        .collect()
}
