//! Kratos' JSON error answers (`errorGeneric`), built like herodot builds them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// An error answer in Kratos' `{"error": {code, status, reason?, message}}`
/// shape, so clients parse emulator errors exactly like real ones.
#[derive(Debug, Clone)]
pub struct KratosError {
    status: StatusCode,
    message: String,
    reason: Option<String>,
    /// Kratos' machine-readable error id (`security_csrf_violation`, ...).
    id: Option<&'static str>,
}

impl KratosError {
    fn new(status: StatusCode, message: &str) -> Self {
        KratosError { status, message: message.to_string(), reason: None, id: None }
    }

    /// Adds the human-readable `reason`.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Adds Kratos' error `id`, which UIs and SDKs branch on.
    pub fn with_id(mut self, id: &'static str) -> Self {
        self.id = Some(id);
        self
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Replaces the `message` (herodot's `WithError`).
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// 404 as Kratos answers for a missing row.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Unable to locate the resource").with_reason("Unable to locate the resource")
    }

    /// 400 with herodot's standard message.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "The request was malformed or contained invalid parameters")
            .with_reason(reason)
    }

    /// 401 with herodot's standard message.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "The request could not be authorized").with_reason(reason)
    }

    /// 403 with herodot's standard message.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "The requested action was forbidden").with_reason(reason)
    }

    /// 410 (an expired self-service flow).
    pub fn gone(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, "The requested resource is no longer available").with_reason(reason)
    }

    /// 409 as Kratos answers for a duplicate identifier.
    pub fn conflict() -> Self {
        Self::new(StatusCode::CONFLICT, "The resource could not be created due to a conflict")
            .with_reason("This identity conflicts with another identity that already exists.")
    }

    /// 500 with herodot's standard message.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An internal server error occurred, please contact the system administrator",
        )
    }

    /// The `{"error": {...}}` body.
    pub fn body(&self) -> Value {
        let mut e = Map::new();
        if let Some(id) = self.id {
            e.insert("id".into(), json!(id));
        }
        e.insert("code".into(), json!(self.status.as_u16()));
        e.insert("status".into(), json!(self.status.canonical_reason().unwrap_or("")));
        if let Some(reason) = &self.reason {
            e.insert("reason".into(), json!(reason));
        }
        e.insert("message".into(), json!(self.message));
        json!({ "error": Value::Object(e) })
    }
}

/// Decodes a JSON request body, answering Kratos' 400 when it is not valid.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, KratosError> {
    serde_json::from_slice(body)
        .map_err(|e| KratosError::bad_request(format!("Unable to decode the request body as JSON: {e}")))
}

impl IntoResponse for KratosError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_has_kratos_shape() {
        let b = KratosError::not_found().body();
        assert_eq!(b["error"]["code"], 404);
        assert_eq!(b["error"]["status"], "Not Found");
        assert_eq!(b["error"]["message"], "Unable to locate the resource");
    }
}
