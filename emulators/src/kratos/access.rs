//! Admin API authentication: Ory Network style `Authorization: Bearer
//! <token>`, enforced only when the emulator was started with a token
//! (self-hosted admin ports rely on the network instead).

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::KratosError;
use super::state::AppState;

/// Middleware on the admin API routes (not on `/_emulator/`).
pub async fn require_admin_token(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let Some(expected) = app.admin_token.as_deref() else {
        return next.run(req).await;
    };
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    match presented {
        Some(token) if constant_time_eq(token.trim().as_bytes(), expected.as_bytes()) => next.run(req).await,
        Some(_) => KratosError::unauthorized("The provided access token is invalid.").into_response(),
        None => KratosError::unauthorized("Access credentials are missing.").into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
