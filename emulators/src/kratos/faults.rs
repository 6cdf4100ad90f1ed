//! Injected failures: the next N matching API calls answer 500 or hang, so
//! tests can check how the worker copes with a sick Kratos.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::errors::KratosError;
use super::state::AppState;

/// How a matched call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer Kratos' 500 error JSON.
    ServerError,
    /// Answer nothing for `hang` (then serve the call normally).
    Hang,
}

/// One configured fault: applies to the next `remaining` matching calls.
#[derive(Debug, Clone)]
pub struct FaultRule {
    remaining: u32,
    kind: FaultKind,
    path_prefix: Option<String>,
    method: Option<Method>,
    hang: Duration,
}

/// `POST /_emulator/faults` body.
#[derive(Debug, Deserialize)]
pub struct FaultRequest {
    count: Option<u32>,
    kind: String,
    path_prefix: Option<String>,
    method: Option<String>,
    hang_ms: Option<u64>,
}

impl FaultRule {
    /// Validates a control request; the error is a human-readable reason.
    pub fn from_request(req: FaultRequest) -> Result<FaultRule, String> {
        let kind = match req.kind.as_str() {
            "500" => FaultKind::ServerError,
            "hang" => FaultKind::Hang,
            other => return Err(format!("unknown fault kind {other:?}: use \"500\" or \"hang\"")),
        };
        let method = match req.method {
            Some(m) => {
                Some(Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| format!("bad method {m:?}"))?)
            }
            None => None,
        };
        Ok(FaultRule {
            remaining: req.count.unwrap_or(1),
            kind,
            path_prefix: req.path_prefix,
            method,
            hang: Duration::from_millis(req.hang_ms.unwrap_or(60_000)),
        })
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        self.remaining > 0
            && self.method.as_ref().is_none_or(|m| m == method)
            && self.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
    }
}

/// The pending fault rules, consumed first to last.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<FaultRule>,
}

impl Faults {
    /// Queues a rule after the existing ones.
    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    /// Drops every pending rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Consumes one use of the first rule matching this call.
    fn take(&mut self, method: &Method, path: &str) -> Option<(FaultKind, Duration)> {
        let rule = self.rules.iter_mut().find(|r| r.matches(method, path))?;
        rule.remaining -= 1;
        let hit = (rule.kind, rule.hang);
        self.rules.retain(|r| r.remaining > 0);
        Some(hit)
    }
}

/// Middleware on the admin and public APIs (never on `/_emulator/`).
pub async fn inject_faults(State(app): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(held) = app.holds.take(req.method(), req.uri().path()) {
        return crate::holds::serve(held, faulted(app, req, next)).await;
    }
    faulted(app, req, next).await
}

async fn faulted(app: AppState, req: Request, next: Next) -> Response {
    let hit = app.lock().faults.take(req.method(), req.uri().path());
    match hit {
        Some((FaultKind::ServerError, _)) => KratosError::internal().into_response(),
        Some((FaultKind::Hang, hang)) => {
            tokio::select! {
                _ = tokio::time::sleep(hang) => next.run(req).await,
                _ = app.stopping() => KratosError::internal().into_response(),
            }
        }
        None => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(count: u32, prefix: Option<&str>, method: Option<&str>) -> FaultRule {
        FaultRule::from_request(FaultRequest {
            count: Some(count),
            kind: "500".into(),
            path_prefix: prefix.map(str::to_string),
            method: method.map(str::to_string),
            hang_ms: None,
        })
        .unwrap()
    }

    #[test]
    fn rules_match_by_method_and_prefix_and_run_out() {
        let mut f = Faults::default();
        f.add(rule(2, Some("/admin/identities"), Some("patch")));
        assert!(f.take(&Method::GET, "/admin/identities/x").is_none());
        assert!(f.take(&Method::PATCH, "/sessions/whoami").is_none());
        assert!(f.take(&Method::PATCH, "/admin/identities/x").is_some());
        assert!(f.take(&Method::PATCH, "/admin/identities/y").is_some());
        assert!(f.take(&Method::PATCH, "/admin/identities/z").is_none());
    }

    #[test]
    fn unknown_kind_is_refused() {
        let req = FaultRequest { count: None, kind: "503".into(), path_prefix: None, method: None, hang_ms: None };
        assert!(FaultRule::from_request(req).is_err());
    }
}
