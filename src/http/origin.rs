//! Edge gate mode: a request that matches no route of the bridge goes to
//! `ORIGIN_URL`, after `GATE_ROUTES` had its say (`flows::rules`): refused
//! (a redirect to log in or to pricing, 401 or 402) or forwarded
//! (`runtime::forward`) with the identity headers a client sent removed
//! under every spelling, and the bridge's set for a signed-in user (with
//! `X-Bridge-Assertion` when a signing key is configured).

use worker::Request;

use super::answer::{forward_failed, log_forwarded};
use super::assertion::{assertion, ASSERTION_HEADER};
use super::context::Cx;
use super::flows::rules::{judge, read_headers, Verdict};
use super::headers::header;
use super::respond::{self, Reply};
use crate::edge::path::{query_of, readings};
use crate::entitlements::feature::effective;
use crate::error::ApiError;
use crate::identity::IdentityId;
use crate::runtime::forward::{forward, Callbacks, Outbound};
use crate::upstream::percent_encode;
use crate::web::gate::wants_html;
use crate::web::site::origin_of;

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
    origin_url: &str,
    request_id: &str,
) -> Result<ForOrigin, ApiError> {
    let path = readings(&req.path()).map_err(|r| ApiError::bad_request(r.code(), r.message()))?;
    let method = req.method();
    let headers = read_headers(&req)?;
    let url = req.inner().url();
    let query = query_of(&url);
    let accept = header(&req, "accept");
    let set = match judge(cx, &req, method.as_ref(), &path, query, &headers.overrides).await? {
        Verdict::Ungated => Vec::new(),
        Verdict::Allowed { identity, record } => {
            let now = effective(&record, &cx.config.plans, cx.now);
            let issuer = origin_of(&url).unwrap_or_default();
            let audience = origin_of(origin_url).unwrap_or_default();
            let token = assertion(cx, &now, &issuer, &audience).await?;
            identity_headers(&identity, &now.plan, now.access.as_str(), token)
        }
        Verdict::NoSession(e) => {
            let login = cx.config.gate.login_url.as_deref().filter(|_| wants_html(accept.as_deref()));
            return match login {
                Some(login) => Ok(ForOrigin::Refused(respond::see_other(&with_return_to(login, &url)))),
                None => Err(e),
            };
        }
        Verdict::Denied(decision) => {
            return Ok(ForOrigin::Refused(match wants_html(accept.as_deref()) {
                true => respond::see_other(cx.config.pricing_url.get()?),
                false => respond::json(402, &decision)?,
            }))
        }
        Verdict::Exhausted(balance) => {
            return Ok(ForOrigin::Refused(match wants_html(accept.as_deref()) {
                true => respond::see_other(cx.config.pricing_url.get()?),
                false => respond::json(402, &balance)?,
            }))
        }
    };
    let target = format!("{origin_url}{}{query}", path.forwarded);
    let out =
        Outbound { url: &target, method: method.as_ref(), headers: headers.copy, remove: &headers.spoofed, set: &set };
    let callbacks = Callbacks { answered: log_forwarded, failed: forward_failed };
    forward(&req, out, request_id, cx.started_ms, callbacks).map(ForOrigin::Forwarded)
}

/// The headers through which the app learns who is signed in.
pub fn identity_headers(
    identity: &IdentityId,
    plan: &str,
    access: &str,
    assertion: Option<String>,
) -> Vec<(&'static str, String)> {
    let mut set =
        vec![("x-identity-id", identity.to_string()), ("x-plan", plan.to_owned()), ("x-access", access.to_owned())];
    if let Some(token) = assertion {
        set.push((ASSERTION_HEADER, token));
    }
    set
}

/// `login` with `return_to` the URL the browser asked for.
pub fn with_return_to(login: &str, url: &str) -> String {
    let sep = if login.contains('?') { '&' } else { '?' };
    format!("{login}{sep}return_to={}", percent_encode(url))
}
