//! Edge gate mode's forward: the request goes to the origin as the
//! runtime's own `Request` (its body stream handed on, never copied into
//! wasm), and the runtime gets back the promise of the origin's answer,
//! untouched (status, headers, `Set-Cookie`, redirects not followed).
//!
//! The promise is not awaited in Rust: it is raced against workerd's
//! `scheduler.wait` for the deadline and settled by two callbacks made once
//! per isolate, so no Rust task, closure or timer is spent per request.
//! They log the request with the origin's status, or answer the bridge's
//! JSON error (502, or 504 at the deadline).

use std::cell::OnceCell;
use std::time::Duration;

use worker::js_sys::{self, Array, Function, Promise, Reflect};
use worker::wasm_bindgen::{self, closure::Closure, prelude::wasm_bindgen, JsCast, JsValue};
use worker::{web_sys, Date, Request};

use crate::error::ApiError;

/// How long the origin may take to start answering (its body then streams).
pub const ORIGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the origin is sent besides the client's request.
pub struct Outbound<'a> {
    /// The origin's URL for this request (origin, path, query).
    pub url: &'a str,
    pub method: &'a str,
    /// The headers to send (`stream::headers_with`'s copy of the client's).
    pub headers: super::stream::RawHeaders,
    /// Header names removed from them first (exactly as the client spelt them).
    pub remove: &'a [String],
    /// Headers then set.
    pub set: &'a [(&'static str, String)],
}

/// What the bridge does when a forward settles.
#[derive(Clone, Copy)]
pub struct Callbacks {
    /// `(request id, origin's status, duration ms)`: the origin answered.
    pub answered: fn(&str, u16, u64),
    /// `(request id, why, duration ms)`: the bridge's answer instead.
    pub failed: fn(&str, ApiError, u64) -> Result<JsValue, ApiError>,
}

/// What is wrong with a runtime that cannot forward.
pub const NO_SCHEDULER_WAIT: &str =
    "edge gate mode needs the runtime's scheduler.wait (workerd), which this runtime lacks: nothing can be forwarded";

/// Whether this runtime can forward: it has workerd's `scheduler.wait`.
/// Without it every forward would fail; `/healthz` reports it.
pub fn available() -> bool {
    SETTLE.with(|s| s.get().map(|s| s.wait.is_some())).unwrap_or_else(|| lookup_wait().1.is_some())
}

/// Sends `req` on to the origin: the promise of its answer, or of the
/// bridge's error answer (see the module's doc).
pub fn forward(
    req: &Request,
    out: Outbound<'_>,
    request_id: &str,
    started_ms: u64,
    callbacks: Callbacks,
) -> Result<JsValue, ApiError> {
    let js = |e: JsValue| ApiError::internal(format!("cannot build the forwarded request: {e:?}"));
    for name in out.remove {
        out.headers.delete(name).map_err(js)?;
    }
    for (name, value) in out.set {
        out.headers.set(name, value).map_err(js)?;
    }
    let inner = req.inner();
    let init = web_sys::RequestInit::new();
    init.set_method(out.method);
    init.set_headers(&out.headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if !matches!(out.method, "GET" | "HEAD") {
        if let Some(body) = inner.body() {
            // The runtime's stream, handed on as is.
            init.set_body(&body);
        }
    }
    let request = web_sys::Request::new_with_str_and_init(out.url, &init).map_err(js)?;
    SETTLE.with(|settle| {
        let settle = settle.get_or_init(|| Settle::new(callbacks));
        let (scheduler, Some(wait)) = (&settle.scheduler, &settle.wait) else {
            return Err(ApiError::config(NO_SCHEDULER_WAIT));
        };
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let fetched = global.fetch_with_request(&request);
        let deadline = wait.call1(scheduler, &JsValue::from(ORIGIN_TIMEOUT.as_millis() as f64)).map_err(js)?;
        let first = Promise::race(&Array::of2(&fetched, &deadline));
        let (id, started) = (JsValue::from_str(request_id), JsValue::from(started_ms as f64));
        let answered = settle.answered.bind2(&JsValue::NULL, &id, &started);
        let failed = settle.failed.bind2(&JsValue::NULL, &id, &started);
        Ok(first.unchecked_ref::<Thenable>().then_with(&answered, &failed).into())
    })
}

/// The callbacks that settle a forwarded request, and workerd's
/// `scheduler.wait` for its deadline: looked up and made once per isolate.
struct Settle {
    scheduler: JsValue,
    wait: Option<Function>,
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

fn lookup_wait() -> (JsValue, Option<Function>) {
    let scheduler = Reflect::get(&js_sys::global(), &JsValue::from_str("scheduler")).unwrap_or(JsValue::UNDEFINED);
    let wait = Reflect::get(&scheduler, &JsValue::from_str("wait")).ok().and_then(|w| w.dyn_into::<Function>().ok());
    (scheduler, wait)
}

impl Settle {
    fn new(on: Callbacks) -> Settle {
        let (scheduler, wait) = lookup_wait();
        let callback = |f: Box<Callback>| Closure::wrap(f).into_js_value().unchecked_into::<Function>();
        let fail = move |id: &JsValue, started: f64, e: ApiError| {
            (on.failed)(&id.as_string().unwrap_or_default(), e, since(started))
                .map_err(|e| JsValue::from_str(&e.message))
        };
        Settle {
            scheduler,
            wait,
            answered: callback(Box::new(move |id, started, winner| match winner.dyn_into::<web_sys::Response>() {
                Ok(response) => {
                    (on.answered)(&id.as_string().unwrap_or_default(), response.status(), since(started));
                    Ok(response.into())
                }
                Err(_) => fail(
                    &id,
                    started,
                    ApiError::new(
                        504,
                        "origin_timeout",
                        format!("the origin did not answer within {} s", ORIGIN_TIMEOUT.as_secs()),
                    ),
                ),
            })),
            failed: callback(Box::new(move |id, started, why| {
                fail(
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
