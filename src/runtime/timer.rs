//! Deadlines on the runtime's `setTimeout`, for the upstream and origin
//! calls (`http::outbound::with_timeout`).
//!
//! `worker::Delay` makes a new JS closure for every timer, clears it with
//! `clearTimeout` when dropped, and keeps the first waker it is polled
//! with. Here one callback, made once per isolate, serves every timer:
//! each timer passes it the number of its entry in a table of the
//! isolate's pending timers, and the entry holds the waker of the latest
//! poll. A timer no longer needed is not cleared, only its entry removed:
//! the runtime drops a request's timers when the request ends, and one that
//! fires before finds no entry and does nothing.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use worker::js_sys::{self, Function};
use worker::wasm_bindgen::{closure::Closure, JsCast, JsValue};
use worker::web_sys::WorkerGlobalScope;

/// A pending timer's entry: whether it fired, and whom to wake when it does.
#[derive(Default)]
struct Entry {
    fired: bool,
    waker: Option<Waker>,
}

thread_local! {
    static ENTRIES: RefCell<HashMap<u64, Entry>> = RefCell::new(HashMap::new());
    static NEXT: Cell<u64> = const { Cell::new(0) };
    /// The one callback of every timer: `fire(entry number)`.
    static FIRE: Function = Closure::<dyn FnMut(f64)>::new(|n: f64| fire(n as u64)).into_js_value().unchecked_into();
}

fn fire(n: u64) {
    let waker = ENTRIES.with(|entries| {
        entries.borrow_mut().get_mut(&n).and_then(|e| {
            e.fired = true;
            e.waker.take()
        })
    });
    if let Some(waker) = waker {
        waker.wake();
    }
}

fn global() -> WorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Ready once `after` has passed since its first poll; dropping it
/// forgets its entry (see the module's doc).
pub struct Deadline {
    after: Duration,
    /// Its entry number, once armed.
    armed: Option<u64>,
}

impl Deadline {
    pub fn after(after: Duration) -> Deadline {
        Deadline { after, armed: None }
    }

    fn arm(&mut self) -> Result<u64, JsValue> {
        let n = NEXT.with(|next| {
            let n = next.get();
            next.set(n + 1);
            n
        });
        let ms = i32::try_from(self.after.as_millis()).unwrap_or(i32::MAX);
        // Entry numbers stay below 2^53, so they survive the trip as a JS number.
        FIRE.with(|f| global().set_timeout_with_callback_and_timeout_and_arguments_1(f, ms, &JsValue::from(n as f64)))?;
        ENTRIES.with(|entries| entries.borrow_mut().insert(n, Entry::default()));
        self.armed = Some(n);
        Ok(n)
    }
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let n = match self.armed {
            Some(n) => n,
            None => match self.arm() {
                Ok(n) => n,
                // The runtime refused a timer: the deadline has passed, so
                // the call it guards fails rather than waits unguarded.
                Err(_) => return Poll::Ready(()),
            },
        };
        ENTRIES.with(|entries| match entries.borrow_mut().get_mut(&n) {
            Some(e) if e.fired => Poll::Ready(()),
            Some(e) => {
                match &e.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => e.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            None => Poll::Ready(()),
        })
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(n) = self.armed {
            ENTRIES.with(|entries| entries.borrow_mut().remove(&n));
        }
    }
}
