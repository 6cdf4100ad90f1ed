//! Stripe's error answers: `{"error": {"type", "code"?, "message", "param"?}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// Stripe's top-level error categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorType {
    InvalidRequest,
    Api,
    Idempotency,
    RateLimit,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Api => "api_error",
            ErrorType::Idempotency => "idempotency_error",
            ErrorType::RateLimit => "rate_limit_error",
        }
    }
}

/// Marks a response that must not be saved under its idempotency key
/// (the request failed before the endpoint started executing).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotSaved;

/// An error answer; `before_execution` errors (validation, auth, conflicts,
/// injected faults) are never saved for idempotent replay.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorType,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    pub before_execution: bool,
    /// `Stripe-Should-Retry`, when Stripe says whether a retry can help.
    pub should_retry: Option<bool>,
}

/// The result type of every API handler.
pub(crate) type ApiResult = Result<Json<Value>, ApiError>;

impl ApiError {
    fn new(status: StatusCode, kind: ErrorType, code: Option<&'static str>, message: String) -> Self {
        ApiError { status, kind, code, message, param: None, before_execution: false, should_retry: None }
    }

    /// Names the offending parameter.
    pub(crate) fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Marks the error as a validation failure (nothing is saved).
    pub(crate) fn validation(mut self) -> Self {
        self.before_execution = true;
        self
    }

    /// `Missing required param: x.`
    pub(crate) fn missing(param: &str) -> Self {
        let msg = format!("Missing required param: {param}.");
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, Some("parameter_missing"), msg)
            .param(param)
            .validation()
    }

    /// A parameter with a value of the wrong kind.
    pub(crate) fn invalid(param: &str, code: &'static str, message: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, Some(code), message).param(param).validation()
    }

    /// `Received unknown parameter: x`
    pub(crate) fn unknown_param(param: &str) -> Self {
        let msg = format!("Received unknown parameter: {param}");
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, Some("parameter_unknown"), msg)
            .param(param)
            .validation()
    }

    /// A generic invalid request that is detected before anything executes.
    pub(crate) fn bad_request(message: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, None, message).validation()
    }

    /// `No such customer: 'cus_x'` for the object named in the URL (404).
    pub(crate) fn no_such(noun: &str, id: &str) -> Self {
        let msg = format!("No such {noun}: '{id}'");
        Self::new(StatusCode::NOT_FOUND, ErrorType::InvalidRequest, Some("resource_missing"), msg).param("id")
    }

    /// `No such price: 'x'` for an object referenced by a parameter (400).
    pub(crate) fn no_such_param(noun: &str, id: &str, param: &str) -> Self {
        let msg = format!("No such {noun}: '{id}'");
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, Some("resource_missing"), msg).param(param)
    }

    /// A request that is well-formed but not allowed in the object's state.
    pub(crate) fn state(message: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, None, message)
    }

    /// 400 for a meter event whose `identifier` Stripe already holds, with
    /// `Stripe-Should-Retry: false`: the answer real Stripe gives (no `code`,
    /// no `param`), as reported by its users.
    pub(crate) fn duplicate_meter_event(identifier: &str) -> Self {
        let msg = format!("An event already exists with identifier {identifier}.");
        let mut err = Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, None, msg);
        err.should_retry = Some(false);
        err
    }

    /// 401 for a missing or wrong API key.
    pub(crate) fn unauthorized(message: String) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorType::InvalidRequest, None, message).validation()
    }

    /// 404 for an unknown URL.
    pub(crate) fn unrecognized_url(method: &str, path: &str) -> Self {
        let msg = format!(
            "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
        );
        Self::new(StatusCode::NOT_FOUND, ErrorType::InvalidRequest, None, msg).validation()
    }

    /// 500 `api_error`, as an injected fault.
    pub(crate) fn server_error() -> Self {
        let msg = "An unknown error occurred".to_string();
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorType::Api, None, msg).validation()
    }

    /// 500 `api_error` raised once the endpoint started executing: saved
    /// under the request's `Idempotency-Key` and replayed to every retry with
    /// it, as Stripe does.
    pub(crate) fn server_error_while_executing() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorType::Api, None, "An unknown error occurred".to_string())
    }

    /// 429 `rate_limit_error`, as an injected fault.
    pub(crate) fn rate_limited() -> Self {
        let msg = "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."
            .to_string();
        Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorType::RateLimit, Some("rate_limit"), msg).validation()
    }

    /// 400 `idempotency_error` for a key reused with another request.
    pub(crate) fn idempotency_mismatch(message: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::Idempotency, None, message).validation()
    }

    /// 409 `idempotency_key_in_use` while the first request still executes.
    pub(crate) fn idempotency_in_use() -> Self {
        let msg = "There is currently another in-progress request using this Stripe token (probably means you \
                   are sending the same request twice). Please try again later."
            .to_string();
        Self::new(StatusCode::CONFLICT, ErrorType::Idempotency, Some("idempotency_key_in_use"), msg).validation()
    }

    /// The wire JSON.
    pub(crate) fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("type".into(), json!(self.kind.as_str()));
        if let Some(code) = self.code {
            error.insert("code".into(), json!(code));
        }
        error.insert("message".into(), json!(self.message));
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(retry) = self.should_retry {
            let value = if retry { "true" } else { "false" };
            response.headers_mut().insert("stripe-should-retry", axum::http::HeaderValue::from_static(value));
        }
        if self.before_execution {
            response.extensions_mut().insert(NotSaved);
        }
        response
    }
}
