//! Controls that play the paying customer and the passage of time.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use crate::stripe::app::{App, Ctx};
use crate::stripe::errors::{ApiError, ApiResult};
use crate::stripe::ops::{checkout, lifecycle};
use crate::stripe::resources::subscription::SubscriptionStatus;

use super::json_body;

/// `POST /_emulator/checkout/sessions/{id}/complete`: answers `{"session", "subscription"}`.
pub(crate) async fn complete_checkout(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult {
    let mut state = app.lock();
    let done = checkout::complete(&mut state, &ctx, &id)?;
    Ok(Json(json!({ "session": done.session, "subscription": done.subscription })))
}

/// `POST /_emulator/checkout/sessions/{id}/expire`: expires an open session
/// as Stripe does once its `expires_at` passes (the event has no request id);
/// answers the session.
pub(crate) async fn expire_checkout(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult {
    let mut state = app.lock();
    Ok(Json(checkout::expire(&mut state, &ctx, &id)?))
}

#[derive(Deserialize, Default)]
struct StatusBody {
    status: String,
}

/// `POST /_emulator/subscriptions/{id}/status {"status"}`: answers the subscription.
pub(crate) async fn set_status(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    let body: StatusBody = json_body(&body)?;
    let status = SubscriptionStatus::parse(&body.status)
        .ok_or_else(|| ApiError::bad_request(format!("Unknown subscription status: {:?}", body.status)))?;
    let mut state = app.lock();
    Ok(Json(lifecycle::set_status(&mut state, &ctx, &id, status)?))
}

/// `POST /_emulator/subscriptions/{id}/end_period`: answers the subscription.
pub(crate) async fn end_period(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult {
    let mut state = app.lock();
    Ok(Json(lifecycle::end_period(&mut state, &ctx, &id)?))
}
