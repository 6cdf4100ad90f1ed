//! Runs a request's future at once, in the runtime's call, until it first
//! waits on I/O. A request answered from the isolate's caches (a feature
//! check, `/gate` with a cached session) never waits, so it is answered
//! there and then: no promise, no task and no microtask, which is what the
//! standard async export (`#[event(fetch)]`) costs on every request, about a
//! quarter of an empty workers-rs worker's time per answer. Any other
//! request goes on as a task of `wasm-bindgen-futures`, its waker relayed
//! (`crate::first_poll`).

use std::future::Future;

use worker::js_sys::Promise;
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::future_to_promise;

use crate::first_poll::{first_poll, FirstPoll};

/// What the runtime gets back: the answer itself when `future` finished
/// without waiting, else a promise of it. A failure is a rejection either
/// way (a rejected promise, as the async export gives).
pub fn run<F>(future: F) -> JsValue
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    match first_poll(future) {
        FirstPoll::Ready(Ok(answer)) => answer,
        FirstPoll::Ready(Err(e)) => Promise::reject(&e).into(),
        FirstPoll::Pending(rest) => future_to_promise(rest).into(),
    }
}
