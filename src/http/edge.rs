//! Edge gate mode: a request that matches no route of the bridge goes to
//! `ORIGIN_URL`, after `GATE_ROUTES` had its say (`crate::edge`). The body
//! is handed on as the runtime's stream (never copied into wasm memory) and
//! the origin's answer comes back as it is: status, headers, `Set-Cookie`,
//! redirects not followed.
//!
//! The forwarded request is not awaited in Rust: the runtime gets a promise
//! of the origin's answer, raced against the deadline and settled by two
//! callbacks made once per isolate, which log the request and turn a
//! failure into the bridge's JSON error. Awaiting it in Rust cost a task,
//! its microtasks, two closures and a timer per request: ungated requests
//! ran at 1.06x that (ab runs of both builds in one session, 4 rounds).

use std::cell::OnceCell;

use worker::js_sys::{Array, Function, Promise, Reflect};
use worker::wasm_bindgen::{closure::Closure, prelude::wasm_bindgen, JsCast, JsValue};
use worker::{js_sys, wasm_bindgen, web_sys, Date, Method, Request};

use super::auth::require_session;
use super::context::Cx;
use super::headers::header;
use super::router::{answer, log_forwarded, EDGE_ROUTE};
use super::routes::identities::stored;
use crate::config::EdgeConfig;
use crate::edge::headers::{role, HeaderRole};
use crate::edge::method;
use crate::edge::path::{query_of, readings};
use crate::edge::rules::Requirement;
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

/// What edge gate mode answers.
pub enum Forwarded {
    /// The promise of the origin's answer, the runtime's own object: handed
    /// back untouched, so its body streams natively (a `worker::Response`
    /// would rebuild it around a JS-pumped stream). It settles to the
    /// bridge's JSON error when the origin fails or is too slow, and the
    /// request is logged when it settles.
    Origin(Promise),
    /// The bridge's own answer: a redirect to log in or to pricing, or a 402.
    Refused(Reply),
}

/// Gates and forwards one request (`request_id` for its log line). The
/// request is judged under every reading an origin may make of it (its
/// path with and without case and `;` parameters, its method, `HEAD` as
/// `GET`, the method an override names), and the identity headers a client
/// sent are removed under every spelling first.
pub async fn handle(cx: &Cx<'_>, req: Request, edge: &EdgeConfig, request_id: &str) -> Result<Forwarded, ApiError> {
    let path = readings(&req.path()).map_err(|r| ApiError::bad_request(r.code(), r.message()))?;
    let method = req.method();
    let js = |e: JsValue| ApiError::internal(format!("cannot read the request's headers: {e:?}"));
    let headers = web_sys::Headers::new_with_headers(&req.inner().headers()).map_err(js)?;
    let overrides = scrub(&headers).map_err(js)?;
    let url = req.inner().url();
    let methods =
        method::readings(method.as_ref(), &overrides, header(&req, "content-type").as_deref(), query_of(&url));
    let methods: Vec<&str> = methods.iter().map(String::as_str).collect();
    let signed_in = match edge.gate_routes.requirement(&methods, path.all()) {
        None => None,
        Some(need) => match gate(cx, &req, edge, &need).await? {
            Ok(who) => Some(who),
            Err(refusal) => return Ok(Forwarded::Refused(refusal)),
        },
    };
    forward(cx, request_id, req, method, headers, &edge.origin_url, &path.forwarded, signed_in.as_ref())
        .map(Forwarded::Origin)
}

/// Removes from `headers` every header that an origin would read as one of
/// the identity headers (`X_Plan` is `X-Plan` to Rack, WSGI and CGI), and
/// answers the values of the method-override headers, under any spelling.
fn scrub(headers: &web_sys::Headers) -> Result<Vec<String>, JsValue> {
    let mut overrides = Vec::new();
    let mut spoofed = Vec::new();
    let entries = js_sys::try_iter(&headers.entries())?.ok_or_else(|| JsValue::from_str("headers are not iterable"))?;
    for entry in entries {
        let entry: Array = entry?.unchecked_into();
        let name = entry.get(0).as_string().unwrap_or_default();
        match role(&name) {
            HeaderRole::Identity => spoofed.push(name),
            HeaderRole::MethodOverride => overrides.push(entry.get(1).as_string().unwrap_or_default()),
            HeaderRole::Other => {}
        }
    }
    for name in spoofed {
        headers.delete(&name)?;
    }
    Ok(overrides)
}

/// What the rules ask: the signed-in user to forward as, or the answer that
/// refuses the request (a redirect, 401 or 402).
async fn gate(
    cx: &Cx<'_>,
    req: &Request,
    edge: &EdgeConfig,
    need: &Requirement,
) -> Result<Result<SignedIn, Reply>, ApiError> {
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
    for feature in &need.features {
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
/// query) with `headers` (the client's, scrubbed of identity headers), and
/// ours for a signed-in user. Built from the runtime's own request (its
/// body stream handed on), so forwarding costs a handful of runtime calls
/// whatever the request carries.
#[allow(clippy::too_many_arguments)]
fn forward(
    cx: &Cx<'_>,
    request_id: &str,
    req: Request,
    method: Method,
    headers: web_sys::Headers,
    origin: &str,
    path: &str,
    signed_in: Option<&SignedIn>,
) -> Result<Promise, ApiError> {
    let url = format!("{origin}{path}{}", query_of(&req.inner().url()));
    let js = |e: wasm_bindgen::JsValue| ApiError::internal(format!("cannot build the forwarded request: {e:?}"));
    let inner = req.inner();
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
    SETTLE.with(|settle| {
        let settle = settle.get_or_init(Settle::new);
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let fetched = global.fetch_with_request(&request);
        let deadline =
            settle.wait.call1(&settle.scheduler, &JsValue::from(ORIGIN_TIMEOUT.as_millis() as f64)).map_err(js)?;
        let first = Promise::race(&Array::of2(&fetched, &deadline));
        let (id, started) = (JsValue::from_str(request_id), JsValue::from(cx.started_ms as f64));
        let answered = settle.answered.bind2(&JsValue::NULL, &id, &started);
        let failed = settle.failed.bind2(&JsValue::NULL, &id, &started);
        Ok(first.unchecked_ref::<Thenable>().then_with(&answered, &failed))
    })
}

/// The callbacks that settle a forwarded request, and workerd's
/// `scheduler.wait` for its deadline: looked up and made once per isolate.
struct Settle {
    scheduler: JsValue,
    wait: Function,
    /// `(request id, started ms, the race's winner)`: the origin's answer,
    /// or nothing when the deadline came first.
    answered: Function,
    /// `(request id, started ms, why the fetch failed)`.
    failed: Function,
}

thread_local! {
    static SETTLE: OnceCell<Settle> = const { OnceCell::new() };
}

#[wasm_bindgen]
extern "C" {
    /// A promise seen as anything with `then`.
    type Thenable;
    /// `promise.then(ok, err)` with two JS functions (js-sys's `then2`
    /// takes Rust closures, a new pair per call).
    #[wasm_bindgen(method, js_name = then)]
    fn then_with(this: &Thenable, ok: &JsValue, err: &JsValue) -> Promise;
}

type Callback = dyn FnMut(JsValue, f64, JsValue) -> Result<JsValue, JsValue>;

impl Settle {
    fn new() -> Settle {
        let scheduler = Reflect::get(&js_sys::global(), &JsValue::from_str("scheduler")).unwrap_or(JsValue::UNDEFINED);
        let wait = Reflect::get(&scheduler, &JsValue::from_str("wait")).unwrap_or(JsValue::UNDEFINED);
        let callback = |f: Box<Callback>| Closure::wrap(f).into_js_value().unchecked_into::<Function>();
        Settle {
            scheduler,
            wait: wait.unchecked_into(),
            answered: callback(Box::new(|id, started, winner| {
                let failure = match winner.dyn_into::<web_sys::Response>() {
                    Ok(response) => {
                        log_forwarded(&id.as_string().unwrap_or_default(), response.status(), since(started));
                        return Ok(response.into());
                    }
                    Err(_) => ApiError::new(
                        504,
                        "origin_timeout",
                        format!("the origin did not answer within {} s", ORIGIN_TIMEOUT.as_secs()),
                    ),
                };
                refuse(&id, started, failure)
            })),
            failed: callback(Box::new(|id, started, why| {
                refuse(
                    &id,
                    started,
                    ApiError::upstream("origin_unreachable", format!("the origin did not answer: {why:?}")),
                )
            })),
        }
    }
}

/// Milliseconds since `started` (unix ms).
fn since(started: f64) -> u64 {
    (Date::now().as_millis() as f64 - started).max(0.0) as u64
}

/// The bridge's answer to a forward that failed, logged.
fn refuse(id: &JsValue, started: f64, e: ApiError) -> Result<JsValue, JsValue> {
    let id = id.as_string().unwrap_or_default();
    answer(EDGE_ROUTE, &id, Err(e), since(started)).map(Into::into).map_err(|e| JsValue::from_str(&e.to_string()))
}
