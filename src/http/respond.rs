//! Building answers: JSON bodies, the spec's error shape, redirects.

use serde::Serialize;
use worker::{Headers, Response, Result};

use crate::error::ApiError;

fn with_body(status: u16, content_type: &str, body: String) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", content_type)?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(body)?.with_status(status).with_headers(headers))
}

/// A JSON answer with the given status.
pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response> {
    match serde_json::to_string(value) {
        Ok(body) => with_body(status, "application/json", body),
        Err(_) => error(&ApiError::new(500, "internal", "could not serialise the answer")),
    }
}

/// The spec's error answer: `{"error": {"code", "message"}}`.
pub fn error(e: &ApiError) -> Result<Response> {
    with_body(e.status, "application/json", e.to_json())
}
