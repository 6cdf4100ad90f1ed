//! Delivering a web hook the way Kratos' `web_hook` does: JSON POST with the
//! configured auth header, up to 3 attempts (go-retryablehttp, 2 retries).

use std::time::Duration;

use serde_json::{json, Value};

use super::clock::now_rfc3339;
use super::state::Shared;

/// Kratos' retry budget: the first attempt plus 2 retries.
pub const MAX_ATTEMPTS: usize = 3;

/// Which self-service flow a hook belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookFlow {
    /// Registration `after` hook.
    Registration,
    /// Settings `after` (profile) hook.
    Settings,
}

impl HookFlow {
    /// The name used in control requests and the call log.
    pub fn as_str(self) -> &'static str {
        match self {
            HookFlow::Registration => "registration",
            HookFlow::Settings => "settings",
        }
    }

    /// Parses the control-request name.
    pub fn parse(s: &str) -> Option<HookFlow> {
        match s {
            "registration" => Some(HookFlow::Registration),
            "settings" => Some(HookFlow::Settings),
            _ => None,
        }
    }
}

/// Why an attempt got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// No answer within the per-attempt timeout.
    Timeout,
    /// Could not connect.
    Connect,
    /// The request could not even be built (bad URL or header): not retried.
    Invalid,
    /// Any other failure mid-request.
    Other,
    /// The emulator is shutting down.
    Cancelled,
}

impl TransportError {
    fn as_str(self) -> &'static str {
        match self {
            TransportError::Timeout => "timeout",
            TransportError::Connect => "connect",
            TransportError::Invalid => "invalid_request",
            TransportError::Other => "transport",
            TransportError::Cancelled => "cancelled",
        }
    }

    fn of(e: &reqwest::Error) -> TransportError {
        if e.is_timeout() {
            TransportError::Timeout
        } else if e.is_connect() {
            TransportError::Connect
        } else if e.is_builder() {
            TransportError::Invalid
        } else {
            TransportError::Other
        }
    }
}

/// What one attempt produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// The receiver answered; `body` is its JSON, or its text as a string.
    Answered {
        /// HTTP status.
        status: u16,
        /// Parsed body (JSON) or raw text.
        body: Value,
    },
    /// No answer.
    Failed(TransportError),
}

impl Attempt {
    /// go-retryablehttp's default policy: retry transport errors, 429 and
    /// 5xx except 501; never other statuses.
    fn should_retry(&self) -> bool {
        match self {
            Attempt::Failed(TransportError::Invalid | TransportError::Cancelled) => false,
            Attempt::Failed(_) => true,
            Attempt::Answered { status, .. } => *status == 429 || (*status >= 500 && *status != 501),
        }
    }

    /// `{"status", "body"}` or `{"error"}`.
    pub fn to_json(&self) -> Value {
        match self {
            Attempt::Answered { status, body } => json!({ "status": status, "body": body }),
            Attempt::Failed(e) => json!({ "error": e.as_str() }),
        }
    }
}

/// The outcome of one delivery (all its attempts).
#[derive(Debug, Clone, PartialEq)]
pub struct HookResult {
    /// Every attempt in order.
    pub attempts: Vec<Attempt>,
}

impl HookResult {
    /// Kratos counts a delivery as failed on a final transport error or a
    /// final status >= 400.
    pub fn ok(&self) -> bool {
        matches!(self.attempts.last(), Some(Attempt::Answered { status, .. }) if *status < 400)
    }

    /// Status and body of the final attempt, when it was answered.
    pub fn final_answer(&self) -> Option<(u16, &Value)> {
        match self.attempts.last()? {
            Attempt::Answered { status, body } => Some((*status, body)),
            Attempt::Failed(_) => None,
        }
    }

    /// `{"attempts": [...], "ok": bool}`.
    pub fn to_json(&self) -> Value {
        json!({
            "attempts": self.attempts.iter().map(Attempt::to_json).collect::<Vec<_>>(),
            "ok": self.ok(),
        })
    }
}

/// The body our shipped jsonnet produces:
/// `{identity: ctx.identity, flow_id: ctx.flow.id, flow_type: ctx.flow.type}`.
pub fn hook_body(public_identity: Value, flow_id: &str) -> Value {
    json!({ "identity": public_identity, "flow_id": flow_id, "flow_type": "browser" })
}

/// Posts `body` to `url` with the current auth header, timeout and backoff,
/// logging every attempt in the store's hook call log.
pub async fn deliver(app: &Shared, flow: HookFlow, url: &str, body: &Value) -> HookResult {
    let options = app.lock().hooks.clone();
    let mut attempts = Vec::new();
    for n in 1..=MAX_ATTEMPTS {
        if n > 1 && cancelled_during(app, options.retry_backoff).await {
            attempts.push(Attempt::Failed(TransportError::Cancelled));
            break;
        }
        let mut request = app.http.post(url).timeout(options.timeout).json(body);
        if let Some((name, value)) = &options.auth {
            request = request.header(name.as_str(), value.as_str());
        }
        let attempt = tokio::select! {
            a = send(request) => a,
            _ = app.stopping() => Attempt::Failed(TransportError::Cancelled),
        };
        log_attempt(app, flow, url, n, body, &attempt, options.auth.as_ref().map(|(name, _)| name.as_str()));
        let retry = attempt.should_retry();
        attempts.push(attempt);
        if !retry {
            break;
        }
    }
    HookResult { attempts }
}

async fn send(request: reqwest::RequestBuilder) -> Attempt {
    match request.send().await {
        Err(e) => Attempt::Failed(TransportError::of(&e)),
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.text().await {
                Ok(text) => {
                    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
                    Attempt::Answered { status, body }
                }
                Err(e) => Attempt::Failed(TransportError::of(&e)),
            }
        }
    }
}

/// Sleeps `d`; true when the emulator began shutting down meanwhile.
async fn cancelled_during(app: &Shared, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = app.stopping() => true,
    }
}

fn log_attempt(
    app: &Shared,
    flow: HookFlow,
    url: &str,
    n: usize,
    body: &Value,
    attempt: &Attempt,
    auth_header: Option<&str>,
) {
    let (status, response_body, error) = match attempt {
        Attempt::Answered { status, body } => (json!(status), body.clone(), Value::Null),
        Attempt::Failed(e) => (Value::Null, Value::Null, json!(e.as_str())),
    };
    let entry = json!({
        "flow": flow.as_str(),
        "url": url,
        "attempt": n,
        "flow_id": body.get("flow_id").cloned().unwrap_or(Value::Null),
        "identity_id": body.pointer("/identity/id").cloned().unwrap_or(Value::Null),
        "auth_header": auth_header,
        "request_body": body,
        "status": status,
        "response_body": response_body,
        "error": error,
        "at": now_rfc3339(),
    });
    app.lock().hook_calls.push(entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16) -> Attempt {
        Attempt::Answered { status, body: Value::Null }
    }

    #[test]
    fn retry_policy_matches_go_retryablehttp() {
        assert!(answered(500).should_retry());
        assert!(answered(503).should_retry());
        assert!(answered(429).should_retry());
        assert!(!answered(501).should_retry());
        assert!(!answered(400).should_retry());
        assert!(!answered(409).should_retry());
        assert!(!answered(200).should_retry());
        assert!(Attempt::Failed(TransportError::Timeout).should_retry());
        assert!(Attempt::Failed(TransportError::Connect).should_retry());
        assert!(!Attempt::Failed(TransportError::Invalid).should_retry());
    }

    #[test]
    fn ok_depends_on_the_final_attempt() {
        assert!(HookResult { attempts: vec![answered(500), answered(204)] }.ok());
        assert!(!HookResult { attempts: vec![answered(200), answered(400)] }.ok());
        assert!(!HookResult { attempts: vec![Attempt::Failed(TransportError::Timeout)] }.ok());
        assert!(!HookResult { attempts: vec![] }.ok());
    }
}
