//! The shared handle every route receives, and the per-request context.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::options::StripeOptions;
use super::state::State;

/// The emulator's state behind one lock, plus the HTTP client that delivers
/// webhooks. Cloning is cheap; the lock is never held across an `.await`.
#[derive(Clone)]
pub(crate) struct App {
    state: Arc<Mutex<State>>,
    pub client: reqwest::Client,
    /// Calls a test parks until it releases them (`/_emulator/holds`).
    pub holds: Arc<crate::holds::Holds>,
}

impl App {
    /// A fresh account configured by `options`.
    pub(crate) fn new(options: &StripeOptions) -> App {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        App { state: Arc::new(Mutex::new(State::new(options))), client, holds: Arc::default() }
    }

    /// Locks the state (a panic in another handler does not poison it for good).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What a request carries into its handler: the ids that events record, and
/// the outbox of events it caused (delivered only after it has answered).
#[derive(Clone, Default)]
pub(crate) struct Ctx {
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
    outbox: Arc<Mutex<Vec<String>>>,
}

impl Ctx {
    /// Notes an event to deliver once the response is out.
    pub(crate) fn push_event(&self, event_id: String) {
        self.outbox.lock().unwrap_or_else(|p| p.into_inner()).push(event_id);
    }

    /// Takes the events noted so far.
    pub(crate) fn take_events(&self) -> Vec<String> {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
