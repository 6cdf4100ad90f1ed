//! Runs a request's future at once, in the runtime's call, until it first
//! waits on I/O. A request answered from the isolate's caches (a feature
//! check, `/gate` with a cached session) never waits, so it is answered
//! there and then: no promise, no task and no microtask, which is what the
//! standard async export (`#[event(fetch)]`) costs on every request, about a
//! quarter of an empty workers-rs worker's time per answer. Any other
//! request goes on as a task of `wasm-bindgen-futures`, as before.
//!
//! A future first polled here is polled later by the task with another
//! waker. The `Future` contract says only the latest waker must be woken,
//! but some futures keep the first one they were given (`worker::Delay`
//! does, and every upstream deadline is one). So the first poll gets a
//! relay waker, and the task tells the relay its own waker before every
//! poll: whatever kept the relay wakes the task.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use worker::js_sys::Promise;
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::future_to_promise;

/// The waker of a request's first poll: it wakes whatever task polls the
/// future now (none yet: the task's first poll comes anyway).
#[derive(Default)]
struct Relay(Mutex<Option<Waker>>);

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(waker) = self.0.lock().ok().and_then(|w| w.clone()) {
            waker.wake();
        }
    }
}

/// The future as the task polls it: each poll first hands the task's waker
/// to the relay.
struct Relayed<F> {
    future: Pin<Box<F>>,
    relay: Arc<Relay>,
}

impl<F: Future> Future for Relayed<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if let Ok(mut slot) = self.relay.0.lock() {
            match slot.as_ref() {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        self.future.as_mut().poll(cx)
    }
}

/// What the runtime gets back: the answer itself when `future` finished
/// without waiting, else a promise of it. A failure is a rejection either
/// way (a rejected promise, as the async export gives).
pub fn run<F>(future: F) -> JsValue
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    let relay = Arc::new(Relay::default());
    let waker = Waker::from(relay.clone());
    let mut future = Box::pin(future);
    match future.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(Ok(answer)) => answer,
        Poll::Ready(Err(e)) => Promise::reject(&e).into(),
        Poll::Pending => future_to_promise(Relayed { future, relay }).into(),
    }
}
