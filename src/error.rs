//! The one error shape every route answers with:
//! `{"error": {"code": "...", "message": "..."}}` and a fitting status.

use serde::Serialize;

/// An error answer: HTTP status, a stable machine-readable `code`, and a
/// human-readable `message` (which must never carry a secret or an email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// 400: the request itself is wrong; nothing was changed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// 401: missing or wrong credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }

    /// 404: no such route or object.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }

    /// 500: the deployment is misconfigured (e.g. a bad `PLANS`).
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(500, "invalid_config", message)
    }

    /// 502: an upstream (Stripe, Kratos) answered with an error; the caller
    /// should retry, which is what Stripe and Kratos do on a 5xx.
    pub fn upstream(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(502, code, message)
    }

    /// 503: a dependency (KV, an upstream) could not be reached right now.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(503, code, message)
    }

    /// The JSON body of the answer.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Body { error: Inner { code: self.code, message: &self.message } })
            .expect("an error body always serialises")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_the_documented_shape() {
        let e = ApiError::bad_request("invalid_json", "body is not \"JSON\"");
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v, serde_json::json!({"error": {"code": "invalid_json", "message": "body is not \"JSON\""}}));
        assert_eq!(e.status, 400);
    }
}
