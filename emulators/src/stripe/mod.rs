//! A stateful, in-memory fake of the Stripe API on the real wire format
//! (form-encoded requests, Stripe's JSON objects and errors, signed webhook
//! events), plus `/_emulator/...` controls that tests use to play the paying
//! customer, the passage of time, failing networks and webhook disorder.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use ksb_emulators::stripe::{start, StripeOptions};
//! let stripe = start(StripeOptions::default()).await?;
//! // point STRIPE_API_BASE at stripe.url(), use key "sk_test_emulator"
//! stripe.shutdown().await;
//! # Ok(()) }
//! ```

mod app;
mod auth;
mod clock;
mod controls;
mod delivery;
mod errors;
mod expand;
mod faults;
pub mod form;
mod idempotency;
mod ids;
mod list;
mod ops;
mod options;
mod outbox;
mod pages;
mod params;
mod pipeline;
mod resources;
mod routes;
mod search;
mod state;
mod webhooks;

use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::Router;

pub use options::{PriceSeed, StripeOptions};
pub use webhooks::{sign, signature_header};

use crate::server::{serve, Running};
use app::App;

/// A running emulator; stops when dropped or on [`StripeEmulator::shutdown`].
pub struct StripeEmulator {
    running: Running,
    app: App,
}

/// Binds the emulator on `127.0.0.1:options.port` and starts serving.
pub async fn start(options: StripeOptions) -> std::io::Result<StripeEmulator> {
    let app = App::new(&options);
    let running = serve(build(app.clone()), options.port).await?;
    app.lock().base_url = Some(running.url());
    Ok(StripeEmulator { running, app })
}

/// The emulator's router without binding a port (hosted-page URLs then use
/// `http://127.0.0.1` as their base).
pub fn router(options: StripeOptions) -> Router {
    build(App::new(&options))
}

fn build(app: App) -> Router {
    Router::new()
        .merge(routes::api_router(app.clone()))
        .merge(controls::control_router())
        .merge(pages::page_router())
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "not found").into_response() })
        .layer(from_fn_with_state(app.clone(), outbox::outbox_layer))
        .with_state(app)
}

impl StripeEmulator {
    /// `http://127.0.0.1:PORT`, with no trailing slash: the `STRIPE_API_BASE`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The bound loopback address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.addr()
    }

    /// Points webhook deliveries at `url` (same as `POST /_emulator/webhook`).
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.app.lock().webhook.url = url;
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}
