//! Edge gate mode: a request that matches no route of the bridge goes to
//! `ORIGIN_URL`, after `GATE_ROUTES` had its say (`crate::edge`): judged
//! under every reading an origin may make of it, then refused (a redirect
//! to log in or to pricing, 401 or 402) or forwarded (`runtime::forward`)
//! with the identity headers a client sent removed under every spelling,
//! and the bridge's set for a signed-in user.

use worker::Request;

use super::answer::{forward_failed, log_forwarded};
use super::auth::require_session;
use super::context::Cx;
use super::flows::record::stored;
use super::headers::header;
use super::respond::{self, Reply};
use super::routes::gate::{decide_feature, Decided};
use crate::config::EdgeConfig;
use crate::edge::headers::{role, HeaderRole};
use crate::edge::method;
use crate::edge::path::{query_of, readings};
use crate::edge::rules::Requirement;
use crate::entitlements::feature::effective;
use crate::error::ApiError;
use crate::runtime::forward::{forward, Callbacks, Outbound};
use crate::runtime::stream::headers_with;
use crate::upstream::percent_encode;

/// What edge gate mode answers.
pub enum ForOrigin {
    /// The promise of the origin's answer, the runtime's own object: handed
    /// back untouched. It settles to the bridge's JSON error when the origin
    /// fails or is too slow, and the request is logged when it settles.
    Forwarded(worker::wasm_bindgen::JsValue),
    /// The bridge's own answer: a redirect to log in or to pricing, or 401/402.
    Refused(Reply),
}

/// Gates and forwards one request (`request_id` for its log line).
pub async fn gate_and_forward(
    cx: &Cx<'_>,
    req: Request,
    edge: &EdgeConfig,
    request_id: &str,
) -> Result<ForOrigin, ApiError> {
    let path = readings(&req.path()).map_err(|r| ApiError::bad_request(r.code(), r.message()))?;
    let method = req.method();
    let read = |e| ApiError::internal(format!("cannot read the request's headers: {e:?}"));
    let (headers, special) = headers_with(&req, |name| role(name) != HeaderRole::Other).map_err(read)?;
    let (mut spoofed, mut overrides) = (Vec::new(), Vec::new());
    for (name, value) in special {
        match role(&name) {
            HeaderRole::Identity => spoofed.push(name),
            _ => overrides.push(value),
        }
    }
    let url = req.inner().url();
    let query = query_of(&url);
    let methods = method::readings(method.as_ref(), &overrides, header(&req, "content-type").as_deref(), query);
    let methods: Vec<&str> = methods.iter().map(String::as_str).collect();
    let set = match edge.gate_routes.requirement(&methods, path.all()) {
        None => Vec::new(),
        Some(need) => match gate(cx, &req, edge, &need).await? {
            Ok(identity_headers) => identity_headers,
            Err(refusal) => return Ok(ForOrigin::Refused(refusal)),
        },
    };
    let target = format!("{}{}{query}", edge.origin_url, path.forwarded);
    let out = Outbound { url: &target, method: method.as_ref(), headers, remove: &spoofed, set: &set };
    let callbacks = Callbacks { answered: log_forwarded, failed: forward_failed };
    forward(&req, out, request_id, cx.started_ms, callbacks).map(ForOrigin::Forwarded)
}

/// What the rules ask: the identity headers to forward a signed-in user
/// with, or the answer that refuses the request (a redirect, 401 or 402).
async fn gate(
    cx: &Cx<'_>,
    req: &Request,
    edge: &EdgeConfig,
    need: &Requirement,
) -> Result<Result<Vec<(&'static str, String)>, Reply>, ApiError> {
    let accept = header(req, "accept");
    let identity = match require_session(cx, req).await {
        Ok(identity) => identity,
        Err(e) if e.status == 401 => return to_login(req, edge, accept.as_deref()).ok_or(e).map(Err),
        Err(e) => return Err(e),
    };
    let record = stored(cx, &cx.store(), &identity).await?;
    for feature in &need.features {
        if let Decided::Refused(reply) = decide_feature(cx, &record, feature, accept.as_deref())? {
            return Ok(Err(reply));
        }
    }
    let now = effective(&record, &cx.config.plans, cx.now);
    Ok(Ok(vec![
        ("x-identity-id", identity.to_string()),
        ("x-plan", now.plan),
        ("x-access", now.access.as_str().to_owned()),
    ]))
}

/// A browser without a session goes to `LOGIN_URL` with `return_to`, when
/// one is set; anyone else gets the 401.
fn to_login(req: &Request, edge: &EdgeConfig, accept: Option<&str>) -> Option<Reply> {
    let login = edge.login_url.as_ref().filter(|_| crate::web::gate::wants_html(accept))?;
    let sep = if login.contains('?') { '&' } else { '?' };
    Some(respond::see_other(&format!("{login}{sep}return_to={}", percent_encode(&req.inner().url()))))
}
