//! `Idempotency-Key`: the first executed answer is saved and replayed; a key
//! reused for another request is refused; a key still executing gets 409.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;

use super::errors::ApiError;

/// How long a key is remembered (Stripe prunes after 24 hours).
const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// What identifies "the same request": endpoint and canonical parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    pub method: String,
    pub path: String,
    pub params: String,
}

/// A saved answer, replayed byte for byte.
#[derive(Debug, Clone)]
pub(crate) struct SavedResponse {
    pub status: u16,
    pub body: Bytes,
    pub request_id: String,
}

enum Outcome {
    InFlight,
    Done(SavedResponse),
}

struct Entry {
    fingerprint: Fingerprint,
    created: Instant,
    outcome: Outcome,
}

/// What to do with an incoming request that carries a key.
pub(crate) enum Begin {
    /// First use: the key is now marked as executing.
    Proceed,
    /// Answer with the saved response.
    Replay(SavedResponse),
    /// Refuse (mismatch 400 or in-use 409); nothing is saved.
    Refuse(ApiError),
}

/// All keys seen by the account.
#[derive(Default)]
pub(crate) struct IdempotencyStore {
    entries: HashMap<String, Entry>,
}

impl IdempotencyStore {
    /// Looks the key up and, when new, marks it as executing.
    pub(crate) fn begin(&mut self, key: &str, fingerprint: Fingerprint) -> Begin {
        self.entries.retain(|_, e| e.created.elapsed() < RETENTION);
        let Some(entry) = self.entries.get(key) else {
            let entry = Entry { fingerprint, created: Instant::now(), outcome: Outcome::InFlight };
            self.entries.insert(key.to_string(), entry);
            return Begin::Proceed;
        };
        let first = &entry.fingerprint;
        if first.method != fingerprint.method || first.path != fingerprint.path {
            return Begin::Refuse(ApiError::idempotency_mismatch(format!(
                "Keys for idempotent requests can only be used for the same endpoint they were first used for \
                 ('{} {}' vs '{} {}'). Try using a key other than '{key}' if you meant to execute a different request.",
                first.method, first.path, fingerprint.method, fingerprint.path
            )));
        }
        if first.params != fingerprint.params {
            return Begin::Refuse(ApiError::idempotency_mismatch(format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. \
                 Try using a key other than '{key}' if you meant to execute a different request."
            )));
        }
        match &entry.outcome {
            Outcome::InFlight => Begin::Refuse(ApiError::idempotency_in_use()),
            Outcome::Done(saved) => Begin::Replay(saved.clone()),
        }
    }

    /// Saves the answer of an executed request.
    pub(crate) fn save(&mut self, key: &str, saved: SavedResponse) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.outcome = Outcome::Done(saved);
        }
    }

    /// Forgets a key whose request did not execute (so a retry runs it).
    pub(crate) fn release(&mut self, key: &str) {
        if matches!(self.entries.get(key), Some(Entry { outcome: Outcome::InFlight, .. })) {
            self.entries.remove(key);
        }
    }
}
