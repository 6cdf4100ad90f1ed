//! The one error shape every route answers with:
//! `{"error": {"code": "...", "message": "...", "upstream"?: {...}}}` and a
//! fitting status. The core's domain errors turn into it with `From`, so
//! handlers pass them on with `?`; the shell turns it into a response in one
//! place (the router).

use std::borrow::Cow;

use serde::Serialize;

/// An error answer: HTTP status, a stable machine-readable `code`, and a
/// human-readable `message` (which must never carry a secret or an email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: Cow<'static, str>,
    /// What Stripe or Kratos answered, when an upstream failure caused this.
    pub upstream: Option<Box<UpstreamDetail>>,
}

/// The parts of an upstream error answer worth showing the operator, in the
/// answer and the log: which service refused what, and its own words (with
/// anything that looks like an email address redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamDetail {
    /// `stripe` or `kratos`.
    pub service: &'static str,
    /// The upstream's HTTP status; `None` when no answer arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Stripe's `error.type` (e.g. `invalid_request_error`).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Stripe's `error.code`, or Kratos' `error.id` / `error.status`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Stripe's `error.param`: the parameter it refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// The upstream's message (Kratos: `reason` when given), emails redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream: Option<&'a UpstreamDetail>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self { status, code, message: message.into(), upstream: None }
    }

    /// The same error, naming what the upstream answered.
    pub fn with_upstream(mut self, detail: UpstreamDetail) -> Self {
        self.upstream = Some(Box::new(detail));
        self
    }

    /// 400: the request itself is wrong; nothing was changed.
    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, code, message)
    }

    /// 401: missing or wrong credentials.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(401, "unauthorized", message)
    }

    /// 404: no such route or object.
    pub fn not_found(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(404, code, message)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(409, code, message)
    }

    /// 500: the deployment is misconfigured (e.g. a bad `PLANS`).
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(500, "invalid_config", message)
    }

    /// 500: a bug or a runtime failure inside the worker.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(500, "internal", message)
    }

    /// 502: an upstream (Stripe, Kratos) answered with an error; the caller
    /// should retry, which is what Stripe and Kratos do on a 5xx.
    pub fn upstream(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(502, code, message)
    }

    /// 503: a dependency (KV, an upstream) could not be reached right now.
    pub fn unavailable(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(503, code, message)
    }

    /// The JSON body of the answer.
    pub fn to_json(&self) -> String {
        let inner = Inner { code: self.code, message: &self.message, upstream: self.upstream.as_deref() };
        serde_json::to_string(&Body { error: inner }).expect("an error body always serialises")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Replaces every word that looks like an email address (`x@y`) with
/// `<redacted>`, so an upstream's message can be shown and logged: Stripe
/// echoes request values, an email among them, in its messages.
pub fn redact_emails(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let core = word.trim_matches(|c: char| !c.is_alphanumeric());
        if core.contains('@') {
            let start = word.find(core).unwrap_or(0);
            out.push_str(&word[..start]);
            out.push_str("<redacted>");
            out.push_str(&word[start + core.len()..]);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() || c == '\'' || c == '"' || c == ',' || c == '(' || c == ')' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

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

    #[test]
    fn an_upstream_failure_names_what_the_upstream_said() {
        let detail = UpstreamDetail {
            service: "stripe",
            status: Some(400),
            error_type: Some("invalid_request_error".into()),
            code: Some("parameter_unknown".into()),
            param: Some("expand[0]".into()),
            message: Some("This property cannot be expanded".into()),
        };
        let e = ApiError::upstream("stripe_error", "Stripe refused GET /v1/subscriptions").with_upstream(detail);
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(
            v["error"]["upstream"],
            serde_json::json!({"service": "stripe", "status": 400, "type": "invalid_request_error",
                "code": "parameter_unknown", "param": "expand[0]", "message": "This property cannot be expanded"})
        );
    }

    #[test]
    fn emails_are_redacted_and_other_words_kept() {
        assert_eq!(redact_emails("No such customer: 'ada@example.com'"), "No such customer: '<redacted>'");
        assert_eq!(redact_emails("Invalid email address: a.b+c@x.io."), "Invalid email address: <redacted>.");
        assert_eq!(redact_emails("(ada@example.com), bob@x.y"), "(<redacted>), <redacted>");
        assert_eq!(redact_emails("No such price: 'price_1'"), "No such price: 'price_1'");
        assert_eq!(redact_emails(""), "");
    }
}
