//! `GET /_emulator/state`: everything the account holds, for comparisons.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::stripe::app::App;

use super::meters::{events_json, totals_json};

/// Customers (deleted ones with `"deleted": true`), subscriptions, sessions,
/// invoices, meters, meter events (as `/_emulator/meter_events` shows them,
/// with their totals) and events, each oldest first.
pub(crate) async fn state(State(app): State<App>) -> Json<Value> {
    let state = app.lock();
    let live = state.livemode;
    let mut customers: Vec<_> = state.customers.values().collect();
    customers.sort_by_key(|c| c.seq);
    let customers: Vec<Value> = customers
        .into_iter()
        .map(|c| {
            let mut json = state.customer_json(c);
            if c.deleted {
                json["deleted"] = json!(true);
            }
            json
        })
        .collect();
    let mut subscriptions: Vec<_> = state.subscriptions.values().collect();
    subscriptions.sort_by_key(|s| s.seq);
    let mut sessions: Vec<_> = state.checkout_sessions.values().collect();
    sessions.sort_by_key(|s| s.seq);
    let mut invoices: Vec<_> = state.invoices.values().collect();
    invoices.sort_by_key(|i| i.seq);
    let mut meters: Vec<_> = state.meters.values().collect();
    meters.sort_by_key(|m| m.seq);
    Json(json!({
        "customers": customers,
        "subscriptions": subscriptions.into_iter().map(|s| state.subscription_json(s)).collect::<Vec<_>>(),
        "checkout_sessions": sessions.into_iter().map(|s| s.to_json(live)).collect::<Vec<_>>(),
        "portal_sessions": state.portal_sessions.values().map(|p| p.to_json(live)).collect::<Vec<_>>(),
        "invoices": invoices.into_iter().map(|i| i.to_json(live)).collect::<Vec<_>>(),
        "meters": meters.into_iter().map(|m| m.to_json(live)).collect::<Vec<_>>(),
        "meter_events": events_json(&state),
        "meter_totals": totals_json(&state),
        "events": state.events,
    }))
}
