//! The worker's entry points, `fetch` and `scheduled`, written by hand in
//! place of `#[event(fetch)]` and `#[event(scheduled)]`, and entered the
//! same way (`enter`).
//!
//! A request's future runs at once, in the runtime's call, until it first
//! waits on I/O: a request answered from the isolate's caches (a feature
//! check, `/gate` with a cached session) is answered there and then, with
//! no promise, task or microtask. Any other goes on as a task of
//! `wasm-bindgen-futures`, its first poll's waker relayed (`first_poll`).
//!
//! What `#[event]` does on entry, these do too: worker's own start function
//! installs its panic hook and the build's shim re-instantiates the module
//! after a trap, for every export alike. Beyond it, a panic answers every
//! request the instance was serving with the bridge's JSON 500 (`PANICKED`),
//! where `#[event]` left them to hang until the runtime gave up.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::sync::Once;

use worker::js_sys::{Function, Promise};
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsValue};
use worker::wasm_bindgen_futures::future_to_promise;
use worker::{web_sys, Env};

use super::first_poll::{first_poll, FirstPoll};
use super::response;
use crate::error::ApiError;

/// The fetch handler. Answers with the runtime's response object (in edge
/// gate mode, the promise of the origin's, handed back untouched).
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, _ctx: JsValue) -> JsValue {
    enter(crate::http::router::respond(req.into(), env))
}

/// The cron (`[triggers] crons` in wrangler.toml): one step of the
/// reconciliation walk.
#[wasm_bindgen]
pub fn scheduled(_event: JsValue, env: Env, _ctx: JsValue) -> JsValue {
    enter(async move {
        crate::http::cron::run(env).await;
        Ok(JsValue::UNDEFINED)
    })
}

thread_local! {
    /// The settle functions of the requests this instance is serving, in
    /// order of arrival, so that a panic can answer them (see `PANICKED`).
    static IN_FLIGHT: RefCell<Vec<(u64, Function)>> = const { RefCell::new(Vec::new()) };
    static NEXT: Cell<u64> = const { Cell::new(0) };
}

static HOOK: Once = Once::new();

/// The answer every request in flight gets when the instance panics: the
/// spec's error shape, so that a client (and Stripe or Kratos, which retry
/// a 5xx) reads what happened. The module is re-instantiated at the next
/// call, and the isolate goes on serving.
const PANICKED: &str =
    r#"{"error":{"code":"internal","message":"the worker failed on this request and was restarted; retry"}}"#;

/// Chains a hook after worker's own (which logs the panic): it answers the
/// requests in flight with `PANICKED` before the instance traps.
fn install_panic_answer() {
    HOOK.call_once(|| {
        let before = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            before(info);
            let waiting = IN_FLIGHT.with(|f| f.try_borrow_mut().map(|mut f| std::mem::take(&mut *f)));
            let answer = response::json_error(500, PANICKED).map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
            for (_, settle) in waiting.unwrap_or_default() {
                let _ = settle.call1(&JsValue::NULL, &answer);
            }
        }));
    });
}

/// Runs `future` for the runtime: its answer when it finished without
/// waiting, else a promise of it. An error becomes the JSON 500.
fn enter<F>(future: F) -> JsValue
where
    F: Future<Output = Result<JsValue, ApiError>> + 'static,
{
    install_panic_answer();
    let future = async move { future.await.or_else(|e| failed(&e)) };
    match first_poll(future) {
        FirstPoll::Ready(Ok(answer)) => answer,
        FirstPoll::Ready(Err(e)) => Promise::reject(&e).into(),
        FirstPoll::Pending(rest) => {
            // The promise the runtime waits on settles with the request's
            // answer, or with `PANICKED` if the instance panics first.
            let n = NEXT.with(|n| {
                n.set(n.get() + 1);
                n.get()
            });
            let task = future_to_promise(async move {
                let answer = rest.await;
                IN_FLIGHT.with(|f| f.borrow_mut().retain(|(k, _)| *k != n));
                answer
            });
            let mut register = |resolve: Function, _reject: Function| {
                IN_FLIGHT.with(|f| f.borrow_mut().push((n, resolve)));
            };
            let settled = Promise::new(&mut register);
            Promise::race(&worker::js_sys::Array::of2(&task, &settled)).into()
        }
    }
}

/// The JSON 500 for an error that escaped the router (a runtime failure
/// building the answer): as `#[event(fetch)]` answers, without details.
fn failed(e: &ApiError) -> Result<JsValue, JsValue> {
    web_sys::console::error_1(&JsValue::from_str(&format!("{} {}", e.status, e.code)));
    response::json_error(500, &ApiError::internal("the worker could not build its answer").to_json()).map(Into::into)
}
