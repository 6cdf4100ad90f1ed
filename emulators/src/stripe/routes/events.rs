//! `/v1/events` and `/v1/invoices/{id}`: reading what happened.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::Value;

use crate::stripe::app::App;
use crate::stripe::errors::{ApiError, ApiResult};
use crate::stripe::expand::expand;
use crate::stripe::list::paginate;
use crate::stripe::params::Params;

/// `GET /v1/events/{id}`
pub(crate) async fn retrieve(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    state.event(&id).cloned().map(Json).ok_or_else(|| ApiError::no_such("event", &id))
}

/// `GET /v1/events?type=&types[]=`: newest first.
pub(crate) async fn list(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    params.only(&["type", "types", "limit", "starting_after", "ending_before", "created", "delivery_success"])?;
    let single = params.str("type")?.map(str::to_string);
    let many: Option<Vec<String>> =
        params.list("types")?.map(|t| t.iter().filter_map(Value::as_str).map(str::to_string).collect());
    let state = app.lock();
    let items = state
        .events
        .iter()
        .rev()
        .filter(|e| {
            let kind = e.get("type").and_then(Value::as_str).unwrap_or_default();
            single.as_deref().is_none_or(|t| type_matches(t, kind))
                && many.as_ref().is_none_or(|ts| ts.iter().any(|t| type_matches(t, kind)))
        })
        .map(|e| (e.get("id").and_then(Value::as_str).unwrap_or_default().to_string(), e.clone()))
        .collect();
    Ok(Json(paginate(items, &params, "/v1/events", "event")?))
}

/// `customer.*` style wildcards, as Stripe's `type` filter allows.
fn type_matches(pattern: &str, kind: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => kind.starts_with(prefix),
        None => pattern == kind,
    }
}

/// `GET /v1/invoices/{id}`
pub(crate) async fn invoice(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let state = app.lock();
    let invoice = state.invoices.get(&id).ok_or_else(|| ApiError::no_such("invoice", &id))?;
    let mut json = invoice.to_json(state.livemode);
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}
