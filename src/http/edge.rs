//! Edge gate mode: a request that matches no route of the bridge goes to
//! `ORIGIN_URL`, after `GATE_ROUTES` had its say (`crate::edge`). The body
//! is handed on as the runtime's stream (never copied into wasm memory) and
//! the origin's answer comes back as it is: status, headers, `Set-Cookie`,
//! redirects not followed.

use worker::wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, wasm_bindgen, web_sys, Method, Request};

use super::auth::require_session;
use super::context::Cx;
use super::routes::identities::stored;
use super::upstream::with_timeout;
use crate::config::EdgeConfig;
use crate::edge::path::{normalize, query_of};
use crate::edge::rules::Need;
use crate::edge::IDENTITY_HEADERS;
use crate::entitlements::feature::{check, effective};
use crate::entitlements::record::Access;
use crate::error::ApiError;
use crate::gate::{gate_answer, wants_html, GateAnswer};
use crate::http::respond::{self, Reply};
use crate::identity::IdentityId;
use crate::upstream::percent_encode;

/// How long the origin may take to start answering (its body then streams).
const ORIGIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Who the origin is told is signed in.
struct SignedIn {
    identity: IdentityId,
    plan: String,
    access: Access,
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// What edge gate mode answers.
pub enum Forwarded {
    /// The origin's answer, the runtime's own object: returned untouched,
    /// so its body streams natively (a `worker::Response` would rebuild it
    /// around a JS-pumped stream).
    Origin(web_sys::Response),
    /// The bridge's own answer: a redirect to log in or to pricing, or a 402.
    Refused(Reply),
}

/// Gates and forwards one request.
pub async fn handle(cx: &Cx<'_>, req: Request, edge: &EdgeConfig) -> Result<Forwarded, ApiError> {
    let path = normalize(&req.path()).map_err(|r| ApiError::bad_request(r.code(), r.message()))?;
    let method = req.method();
    let signed_in = match edge.gate_routes.need(method.as_ref(), &path) {
        None => None,
        Some(need) => match gate(cx, &req, edge, need).await? {
            Ok(who) => Some(who),
            Err(refusal) => return Ok(Forwarded::Refused(refusal)),
        },
    };
    forward(req, method, &edge.origin_url, &path, signed_in.as_ref()).await.map(Forwarded::Origin)
}

/// What a rule asks: the signed-in user to forward as, or the answer that
/// refuses the request (a redirect, 401 or 402).
async fn gate(cx: &Cx<'_>, req: &Request, edge: &EdgeConfig, need: &Need) -> Result<Result<SignedIn, Reply>, ApiError> {
    let accept = header(req, "accept");
    let browser = wants_html(accept.as_deref());
    let identity = match require_session(cx, req).await {
        Ok(identity) => identity,
        Err(e) if e.status == 401 => {
            return match (&edge.login_url, browser) {
                (Some(login), true) => {
                    let back = req.inner().url();
                    let sep = if login.contains('?') { '&' } else { '?' };
                    Ok(Err(respond::see_other(&format!("{login}{sep}return_to={}", percent_encode(&back)))))
                }
                _ => Err(e),
            };
        }
        Err(e) => return Err(e),
    };
    let record = stored(cx, &cx.store(), &identity).await?;
    if let Need::Feature(feature) = need {
        match gate_answer(check(&record, feature, &cx.config.plans, cx.now), accept.as_deref()) {
            GateAnswer::Allowed(_) => {}
            GateAnswer::Denied(d) => return Ok(Err(respond::json(402, &d)?)),
            GateAnswer::ToPricing => return Ok(Err(respond::see_other(cx.config.pricing_url.get()?))),
        }
    }
    let now = effective(&record, &cx.config.plans, cx.now);
    Ok(Ok(SignedIn { identity, plan: now.plan, access: now.access }))
}

fn access_str(a: Access) -> &'static str {
    match a {
        Access::Full => "full",
        Access::Limited => "limited",
        Access::None => "none",
    }
}

/// Sends the request on to the origin at the normalised `path` (with its
/// query), without the identity headers a client sent, with ours for a
/// signed-in user. Built from the runtime's own request (its headers copied
/// in one call, its body stream handed on), so forwarding costs a handful
/// of runtime calls whatever the request carries.
async fn forward(
    req: Request,
    method: Method,
    origin: &str,
    path: &str,
    signed_in: Option<&SignedIn>,
) -> Result<web_sys::Response, ApiError> {
    let url = format!("{origin}{path}{}", query_of(&req.inner().url()));
    let js = |e: wasm_bindgen::JsValue| ApiError::internal(format!("cannot build the forwarded request: {e:?}"));
    let inner = req.inner();
    let headers = web_sys::Headers::new_with_headers(&inner.headers()).map_err(js)?;
    for name in IDENTITY_HEADERS {
        headers.delete(name).map_err(js)?;
    }
    if let Some(who) = signed_in {
        headers.set("x-identity-id", who.identity.as_str()).map_err(js)?;
        headers.set("x-plan", &who.plan).map_err(js)?;
        headers.set("x-access", access_str(who.access)).map_err(js)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(method.as_ref());
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if !matches!(method, Method::Get | Method::Head) {
        if let Some(body) = inner.body() {
            // The runtime's stream, handed on as is.
            init.set_body(&body);
        }
    }
    let request = web_sys::Request::new_with_str_and_init(&url, &init).map_err(js)?;
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let call = JsFuture::from(global.fetch_with_request(&request));
    match with_timeout(ORIGIN_TIMEOUT, call).await {
        Some(Ok(response)) => response.dyn_into::<web_sys::Response>().map_err(js),
        Some(Err(e)) => Err(ApiError::upstream("origin_unreachable", format!("the origin did not answer: {e:?}"))),
        None => Err(ApiError::new(
            504,
            "origin_timeout",
            format!("the origin did not answer within {} s", ORIGIN_TIMEOUT.as_secs()),
        )),
    }
}
