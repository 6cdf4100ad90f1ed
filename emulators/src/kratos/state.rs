//! The in-memory state both listeners share: identities, sessions, the hook
//! call log, configured faults and the current hook options.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

use serde_json::Value;
use tokio::sync::watch;

use super::errors::KratosError;
use super::faults::Faults;
use super::identity::Identity;
use super::options::{BrowserOptions, HookOptions};
use super::session::Session;

/// Everything the emulator remembers; guarded by one mutex that is never
/// held across an `.await`.
#[derive(Debug, Default)]
pub struct Store {
    /// Keyed (and so listed) by id, like Kratos' keyset pagination.
    identities: BTreeMap<String, Identity>,
    sessions: Vec<Session>,
    /// One entry per hook attempt, in the order they finished.
    pub hook_calls: Vec<Value>,
    /// How many `/sessions/whoami` calls were answered (any status), so
    /// tests can see how often a client asks.
    pub whoami_calls: u64,
    /// Pending injected failures.
    pub faults: Faults,
    /// Current web hook configuration.
    pub hooks: HookOptions,
    /// Browser flow and session cookie settings.
    pub browser: BrowserOptions,
    /// Browser registration flows started and not yet completed, by id.
    pub registration_flows: BTreeMap<String, RegistrationFlow>,
}

/// An id as Kratos reads it from a path: a UUID parses in any case, and
/// ids are stored in lower case.
fn key(id: &str) -> String {
    id.to_ascii_lowercase()
}

impl Store {
    /// The identity with `id` (in any case).
    pub fn identity(&self, id: &str) -> Option<&Identity> {
        self.identities.get(&key(id))
    }

    /// All identities in id order.
    pub fn identities(&self) -> impl Iterator<Item = &Identity> {
        self.identities.values()
    }

    /// All sessions.
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// Stores a new identity, refusing a taken email or external id (409).
    pub fn insert(&mut self, identity: Identity) -> Result<(), KratosError> {
        self.check_unique(&identity)?;
        self.identities.insert(identity.id.clone(), identity);
        Ok(())
    }

    /// Replaces an existing identity, with the same uniqueness rules.
    pub fn update(&mut self, identity: Identity) -> Result<(), KratosError> {
        if !self.identities.contains_key(&identity.id) {
            return Err(KratosError::not_found());
        }
        self.insert(identity)
    }

    /// Removes an identity and its sessions; false when it did not exist.
    pub fn delete(&mut self, id: &str) -> bool {
        let id = key(id);
        let existed = self.identities.remove(&id).is_some();
        self.sessions.retain(|s| s.identity_id != id);
        existed
    }

    /// Removes the sessions of an identity; false when the identity is unknown.
    pub fn delete_sessions(&mut self, identity_id: &str) -> bool {
        let identity_id = key(identity_id);
        self.sessions.retain(|s| s.identity_id != identity_id);
        self.identities.contains_key(&identity_id)
    }

    /// Opens a session for an existing identity and returns its token.
    pub fn open_session(&mut self, identity_id: &str) -> Result<String, KratosError> {
        if !self.identities.contains_key(identity_id) {
            return Err(KratosError::not_found());
        }
        let session = Session::new(identity_id);
        let token = session.token.clone();
        self.sessions.push(session);
        Ok(token)
    }

    /// The session presented by `token` with its identity, when both exist.
    pub fn session_by_token(&self, token: &str) -> Option<(&Session, &Identity)> {
        let session = self.sessions.iter().find(|s| s.token == token)?;
        let identity = self.identities.get(&session.identity_id)?;
        Some((session, identity))
    }

    /// Refuses (409) a candidate whose email or external id another identity has.
    pub fn check_unique(&self, candidate: &Identity) -> Result<(), KratosError> {
        let identifier = candidate.identifier();
        let clash = self.identities.values().filter(|i| i.id != candidate.id).any(|i| {
            (identifier.is_some() && i.identifier() == identifier)
                || (candidate.external_id.is_some() && i.external_id == candidate.external_id)
        });
        if clash {
            Err(KratosError::conflict())
        } else {
            Ok(())
        }
    }
}

/// A browser registration flow between its start and its submission
/// (`browser.rs` runs it).
#[derive(Debug, Clone)]
pub struct RegistrationFlow {
    pub(super) id: String,
    pub(super) csrf_token: String,
    pub(super) return_to: Option<String>,
    pub(super) request_url: String,
    pub(super) issued_at: SystemTime,
    pub(super) expires_at: SystemTime,
    /// The email the last failed submission carried (shown again).
    pub(super) email: String,
    /// Messages of the last failed submission: (node name or none, id, text).
    pub(super) messages: Vec<(Option<&'static str>, u64, String)>,
}

/// State shared by every handler of both listeners.
#[derive(Debug)]
pub struct Shared {
    store: Mutex<Store>,
    /// `http://127.0.0.1:PORT` of the public listener, set once it is bound.
    pub public_url: OnceLock<String>,
    /// Same for the admin listener.
    pub admin_url: OnceLock<String>,
    /// The required admin bearer token, if any.
    pub admin_token: Option<String>,
    /// Client used for web hook calls.
    pub http: reqwest::Client,
    shutdown: watch::Receiver<bool>,
    /// Calls a test parks until it releases them (`/_emulator/holds`).
    pub holds: Arc<crate::holds::Holds>,
}

/// The handle handlers receive.
pub type AppState = Arc<Shared>;

impl Shared {
    /// Fresh state; `shutdown` flips to true when the emulator stops.
    pub fn new(
        admin_token: Option<String>,
        hooks: HookOptions,
        browser: BrowserOptions,
        shutdown: watch::Receiver<bool>,
    ) -> Shared {
        let store = Store { hooks, browser, ..Store::default() };
        Shared {
            store: Mutex::new(store),
            public_url: OnceLock::new(),
            admin_url: OnceLock::new(),
            admin_token,
            // Hooks go to loopback receivers: never through an environment proxy.
            http: reqwest::Client::builder().no_proxy().build().unwrap_or_default(),
            shutdown,
            holds: Arc::default(),
        }
    }

    /// Locks the store (a poisoned lock is still usable: data is plain).
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The public base URL used in `schema_url`.
    pub fn public_url(&self) -> &str {
        self.public_url.get().map(String::as_str).unwrap_or("")
    }

    /// Resolves when the emulator is shutting down, so sleeps (hangs,
    /// backoffs) and hook calls do not hold a shutdown up.
    pub async fn stopping(&self) {
        let mut rx = self.shutdown.clone();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}
