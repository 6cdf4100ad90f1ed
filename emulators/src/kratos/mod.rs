//! A stateful, in-memory fake of Ory Kratos for end-to-end tests and the
//! local dev run.
//!
//! Like real Kratos it has two listeners over one state: the admin API
//! (`/admin/identities*`, plus the `/_emulator/*` controls) and the public
//! API (`/sessions/whoami`). It fires the registration and settings `after`
//! web hooks the way Kratos' `web_hook` does (body from our shipped jsonnet,
//! api_key auth header, go-retryablehttp retries, optional `response.parse`).
//! Objects follow Kratos' OpenAPI field for field.

mod access;
mod admin;
mod admin_patch;
mod browser;
mod clock;
mod controls;
mod errors;
mod faults;
mod fire;
mod flows;
mod hook_answer;
mod hooks;
mod identity;
mod ids;
mod json_patch;
mod options;
mod public;
mod query;
mod schema;
mod session;
mod state;

use std::io;
use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::watch;

pub use options::{BrowserOptions, HookOptions, KratosOptions, SameSite};

use crate::server::{serve, Running};
use errors::KratosError;
use state::{AppState, Shared};

/// A running emulator (both listeners); dropping it stops them.
pub struct KratosEmulator {
    admin: Running,
    public: Running,
    stop: watch::Sender<bool>,
}

/// Binds the public and admin listeners on loopback and starts serving.
pub async fn start(options: KratosOptions) -> io::Result<KratosEmulator> {
    if let Some((name, value)) = &options.hooks.auth {
        if HeaderName::from_bytes(name.as_bytes()).is_err() || HeaderValue::from_str(value).is_err() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "hooks.auth is not a valid HTTP header"));
        }
    }
    let (stop, stopping) = watch::channel(false);
    let state: AppState = Arc::new(Shared::new(options.admin_token, options.hooks, options.browser, stopping));
    let public = serve(public_router(state.clone()), options.public_port).await?;
    let _ = state.public_url.set(public.url());
    let admin = serve(admin_router(state.clone()), options.admin_port).await?;
    let _ = state.admin_url.set(admin.url());
    Ok(KratosEmulator { admin, public, stop })
}

impl KratosEmulator {
    /// Base URL of the admin API (`http://127.0.0.1:PORT`), also serving `/_emulator/*`.
    pub fn admin_url(&self) -> String {
        self.admin.url()
    }

    /// Base URL of the public API (`/sessions/whoami`).
    pub fn public_url(&self) -> String {
        self.public.url()
    }

    /// Stops both listeners, cutting short hangs, backoffs and hook calls.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.admin.shutdown().await;
        self.public.shutdown().await;
    }
}

fn admin_router(state: AppState) -> Router {
    let api = Router::new()
        .route("/admin/identities", get(admin::list_identities).post(admin::create_identity))
        .route(
            "/admin/identities/{id}",
            get(admin::get_identity).patch(admin_patch::patch_identity).delete(admin::delete_identity),
        )
        .route("/admin/identities/{id}/sessions", delete(admin::delete_identity_sessions))
        .route("/admin/identities/by/external/{external_id}", get(admin::get_by_external_id))
        .route_layer(from_fn_with_state(state.clone(), access::require_admin_token))
        .route_layer(from_fn_with_state(state.clone(), faults::inject_faults));
    let holds = crate::holds::routes(state.holds.clone());
    api.merge(controls::routes()).merge(holds).merge(health()).fallback(not_found).with_state(state)
}

fn public_router(state: AppState) -> Router {
    let api = Router::new()
        .route("/sessions/whoami", get(public::whoami))
        .route("/self-service/registration/browser", get(browser::start_registration))
        .route("/self-service/registration/flows", get(browser::get_registration_flow))
        .route("/self-service/registration", post(browser::submit_registration))
        .route_layer(from_fn_with_state(state.clone(), faults::inject_faults));
    api.route("/schemas/{id}", get(public::get_schema)).merge(health()).fallback(not_found).with_state(state)
}

/// `/health/alive` and `/health/ready`, as on both Kratos ports.
fn health() -> Router<AppState> {
    let ok = || async { Json(json!({ "status": "ok" })) };
    Router::new().route("/health/alive", get(ok)).route("/health/ready", get(ok))
}

async fn not_found() -> impl IntoResponse {
    KratosError::not_found()
}
