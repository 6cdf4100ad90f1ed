//! `GATE_ROUTES` applied to one request, the same way for edge gate mode
//! and `/auth/forward`: under every reading an origin may make of it (its
//! path with and without case and `;` parameters, its method, `HEAD` as
//! `GET`, the method an override names), a session when a rule asks, and
//! every feature any reading's rule asks.

use std::rc::Rc;

use worker::Request;

use crate::edge::headers::{role, HeaderRole};
use crate::edge::method;
use crate::edge::path::PathReadings;
use crate::entitlements::feature::{check, FeatureDecision};
use crate::entitlements::record::Entitlement;
use crate::error::ApiError;
use crate::http::auth::require_session;
use crate::http::context::Cx;
use crate::http::flows::record::stored;
use crate::http::flows::usage::ask_counter;
use crate::http::headers::header;
use crate::identity::IdentityId;
use crate::runtime::stream::{headers_matching, headers_with, RawHeaders};
use crate::usage::ledger::Balance;

/// A request's headers as the rules read them: a copy to forward, the
/// identity headers a client sent under any spelling (to remove), and the
/// methods its override headers name.
pub struct ReadHeaders {
    pub copy: RawHeaders,
    pub spoofed: Vec<String>,
    pub overrides: Vec<String>,
}

/// Reads `req`'s headers once (see [`ReadHeaders`]).
pub fn read_headers(req: &Request) -> Result<ReadHeaders, ApiError> {
    let read = |e| ApiError::internal(format!("cannot read the request's headers: {e:?}"));
    let (copy, special) = headers_with(req, |name| role(name) != HeaderRole::Other).map_err(read)?;
    let (mut spoofed, mut overrides) = (Vec::new(), Vec::new());
    for (name, value) in special {
        match role(&name) {
            HeaderRole::Identity => spoofed.push(name),
            _ => overrides.push(value),
        }
    }
    Ok(ReadHeaders { copy, spoofed, overrides })
}

/// What the rules read of `req`'s headers when nothing is forwarded
/// (`/auth/forward`): the identity headers a client sent under any
/// spelling, and the methods its override headers name.
pub struct Marks {
    pub spoofed: Vec<String>,
    pub overrides: Vec<String>,
}

/// Reads `req`'s headers once, without a copy (see [`Marks`]).
pub fn read_marks(req: &Request) -> Result<Marks, ApiError> {
    let read = |e| ApiError::internal(format!("cannot read the request's headers: {e:?}"));
    let found = headers_matching(req, |name| role(name) != HeaderRole::Other).map_err(read)?;
    let (mut spoofed, mut overrides) = (Vec::new(), Vec::new());
    for (name, value) in found {
        match role(&name) {
            HeaderRole::Identity => spoofed.push(name),
            _ => overrides.push(value),
        }
    }
    Ok(Marks { spoofed, overrides })
}

/// What the rules decide.
pub enum Verdict {
    /// No rule covers any reading: it passes as is, for nobody in particular.
    Ungated,
    /// A signed-in user every rule allows, and their record.
    Allowed { identity: IdentityId, record: Rc<Entitlement> },
    /// A rule asks for a session and there is none (401).
    NoSession(ApiError),
    /// A feature some reading's rule asks is not in the plan.
    Denied(FeatureDecision),
    /// A meter some reading's rule consumes had no unit left.
    Exhausted(Balance),
}

/// Judges `req` (whose session is checked) as a request for `method` on
/// `path` with `query`, its override headers `overrides`.
pub async fn judge(
    cx: &Cx<'_>,
    req: &Request,
    method: &str,
    path: &PathReadings,
    query: &str,
    overrides: &[String],
) -> Result<Verdict, ApiError> {
    let methods = method::readings(method, overrides, header(req, "content-type").as_deref(), query);
    let methods: Vec<&str> = methods.iter().map(String::as_str).collect();
    let Some(need) = cx.config.gate.gate_routes.requirement(&methods, path.all()) else { return Ok(Verdict::Ungated) };
    let identity = match require_session(cx, req).await {
        Ok(identity) => identity,
        Err(e) if e.status == 401 => return Ok(Verdict::NoSession(e)),
        Err(e) => return Err(e),
    };
    let record = stored(cx, &cx.store(), &identity).await?;
    for feature in &need.features {
        let decision = check(&record, feature, &cx.config.plans, cx.now);
        if !decision.allowed {
            return Ok(Verdict::Denied(decision));
        }
    }
    // Only an otherwise allowed request consumes.
    for meter in &need.consume {
        let counted = ask_counter(cx, &identity, meter, 1, None).await?;
        match counted.balance() {
            Some(b) if b.allowed => {}
            Some(b) => return Ok(Verdict::Exhausted(b)),
            None => return Err(ApiError::internal("the usage counter's answer is not a balance")),
        }
    }
    Ok(Verdict::Allowed { identity, record })
}
