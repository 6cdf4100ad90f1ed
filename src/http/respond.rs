//! Building answers: JSON bodies and the spec's error shape.

use serde::Serialize;
use worker::{Headers, Response};

use crate::error::ApiError;

fn with_body(status: u16, body: String) -> Result<Response, ApiError> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(body)?.with_status(status).with_headers(headers))
}

/// A JSON document kept as text (e.g. the OpenAPI document), answered as is.
pub fn json_text(body: &str) -> Result<Response, ApiError> {
    with_body(200, body.to_owned())
}

/// A JSON answer with the given status.
pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| ApiError::internal(format!("unserialisable answer: {e}")))?;
    with_body(status, body)
}

/// A `303 See Other` to `url`: a configured URL (validated when the
/// configuration is parsed) or one Stripe answered.
pub fn see_other(url: &str) -> Result<Response, ApiError> {
    // Built by hand: the runtime's redirect responses have immutable headers.
    let headers = Headers::new();
    headers.set("location", url)?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::empty()?.with_status(303).with_headers(headers))
}

/// The spec's error answer: `{"error": {"code", "message", "upstream"?}}`.
/// The one place an [`ApiError`] becomes a response.
pub fn error(e: &ApiError) -> worker::Result<Response> {
    match with_body(e.status, e.to_json()) {
        Ok(r) => Ok(r),
        // Headers could not be built: answer the status with the body alone.
        Err(_) => Ok(Response::ok(e.to_json())?.with_status(e.status)),
    }
}
