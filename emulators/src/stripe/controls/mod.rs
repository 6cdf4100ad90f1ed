//! `/_emulator/...`: JSON controls for tests and humans (no auth, no faults).

mod billing;
mod clock;
mod dump;
mod faults;
mod meters;
mod requests;
mod webhooks;

use axum::body::Bytes;
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;

use super::app::App;
use super::errors::ApiError;

/// The control routes.
pub(crate) fn control_router() -> Router<App> {
    Router::new()
        .route("/_emulator/webhook", post(webhooks::set_target))
        .route("/_emulator/delivery", post(webhooks::set_delivery))
        .route("/_emulator/events/flush", post(webhooks::flush))
        .route("/_emulator/events/retry_failed", post(webhooks::retry_failed))
        .route("/_emulator/deliveries", get(webhooks::deliveries))
        .route("/_emulator/faults", post(faults::arm).get(faults::show).delete(faults::clear))
        .route("/_emulator/checkout/sessions/{id}/complete", post(billing::complete_checkout))
        .route("/_emulator/checkout/sessions/{id}/expire", post(billing::expire_checkout))
        .route("/_emulator/subscriptions/{id}/status", post(billing::set_status))
        .route("/_emulator/subscriptions/{id}/end_period", post(billing::end_period))
        .route("/_emulator/state", get(dump::state))
        .route("/_emulator/meter_events", get(meters::meter_events))
        .route("/_emulator/clock", get(clock::show).post(clock::advance))
        .route("/_emulator/requests", get(requests::counts).delete(requests::reset))
}

/// Reads an optional JSON body: empty means all defaults.
fn json_body<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
}
