//! The `/v1` API routes, wrapped in the request pipeline.

mod checkout;
mod customers;
mod events;
mod items;
mod meters;
mod portal;
mod prices;
mod subscriptions;

use axum::http::{Method, Uri};
use axum::middleware::from_fn_with_state;
use axum::routing::{any, get, post};
use axum::Router;

use super::app::App;
use super::errors::ApiError;
use super::pipeline::{api_layer, UNMATCHED};

/// Every Stripe endpoint the emulator serves.
pub(crate) fn api_router(app: App) -> Router<App> {
    Router::new()
        .route("/v1/customers", get(customers::list).post(customers::create).fallback(unrecognized))
        .route("/v1/customers/search", get(customers::search).fallback(unrecognized))
        .route(
            "/v1/customers/{id}",
            get(customers::retrieve).post(customers::update).delete(customers::delete).fallback(unrecognized),
        )
        .route("/v1/prices", get(prices::list).fallback(unrecognized))
        .route("/v1/prices/{id}", get(prices::retrieve).fallback(unrecognized))
        .route("/v1/products/{id}", get(prices::product).fallback(unrecognized))
        .route("/v1/subscriptions", get(subscriptions::list).post(subscriptions::create).fallback(unrecognized))
        .route("/v1/subscriptions/search", get(subscriptions::search).fallback(unrecognized))
        .route(
            "/v1/subscriptions/{id}",
            get(subscriptions::retrieve)
                .post(subscriptions::update)
                .delete(subscriptions::cancel)
                .fallback(unrecognized),
        )
        .route("/v1/checkout/sessions", get(checkout::list).post(checkout::create).fallback(unrecognized))
        .route("/v1/checkout/sessions/{id}", get(checkout::retrieve).fallback(unrecognized))
        .route("/v1/checkout/sessions/{id}/expire", post(checkout::expire).fallback(unrecognized))
        .route("/v1/billing_portal/sessions", post(portal::create).fallback(unrecognized))
        .route("/v1/billing/meters", get(meters::list).post(meters::create).fallback(unrecognized))
        .route("/v1/billing/meters/{id}", get(meters::retrieve).post(meters::update).fallback(unrecognized))
        .route("/v1/billing/meters/{id}/deactivate", post(meters::deactivate).fallback(unrecognized))
        .route("/v1/billing/meters/{id}/reactivate", post(meters::reactivate).fallback(unrecognized))
        .route("/v1/billing/meters/{id}/event_summaries", get(meters::event_summaries).fallback(unrecognized))
        .route("/v1/billing/meter_events", post(meters::create_event).fallback(unrecognized))
        .route("/v1/events", get(events::list).fallback(unrecognized))
        .route("/v1/events/{id}", get(events::retrieve).fallback(unrecognized))
        .route("/v1/invoices/{id}", get(events::invoice).fallback(unrecognized))
        .route(UNMATCHED, any(unrecognized))
        .layer(from_fn_with_state(app, api_layer))
}

async fn unrecognized(method: Method, uri: Uri) -> ApiError {
    ApiError::unrecognized_url(method.as_str(), uri.path())
}
