//! The stored session record and the session JSON of `/sessions/whoami`.

use std::time::Duration;

use serde_json::{json, Value};

use super::clock::{in_rfc3339, now_rfc3339};
use super::identity::{Identity, View};
use super::ids::{new_session_token, new_uuid};

/// Kratos' default `session.lifespan`.
const LIFESPAN: Duration = Duration::from_secs(24 * 3600);

/// A signed-in session, found by its token (sent as the
/// `ory_kratos_session` cookie or `X-Session-Token`).
#[derive(Debug, Clone)]
pub struct Session {
    /// UUID v4.
    pub id: String,
    /// The secret the client presents; never logged.
    pub token: String,
    /// Whose session this is.
    pub identity_id: String,
    /// RFC 3339 times as Kratos reports them.
    pub issued_at: String,
    /// When the (single, password) factor was completed.
    pub authenticated_at: String,
    /// `issued_at` plus the default 24 h lifespan.
    pub expires_at: String,
    device_id: String,
}

impl Session {
    /// A fresh aal1 password session for `identity_id`.
    pub fn new(identity_id: &str) -> Session {
        let now = now_rfc3339();
        Session {
            id: new_uuid(),
            token: new_session_token(),
            identity_id: identity_id.to_string(),
            issued_at: now.clone(),
            authenticated_at: now,
            expires_at: in_rfc3339(LIFESPAN),
            device_id: new_uuid(),
        }
    }

    /// The `session` object with its identity (public view: no
    /// `metadata_admin`), as `/sessions/whoami` answers it.
    pub fn to_json(&self, identity: &Identity, public_url: &str) -> Value {
        json!({
            "id": self.id,
            "active": true,
            "expires_at": self.expires_at,
            "authenticated_at": self.authenticated_at,
            "authenticator_assurance_level": "aal1",
            "authentication_methods": [
                { "method": "password", "aal": "aal1", "completed_at": self.authenticated_at }
            ],
            "issued_at": self.issued_at,
            "identity": identity.to_json(View::Public, public_url),
            "devices": [
                { "id": self.device_id, "ip_address": "127.0.0.1", "user_agent": "ksb-emulators", "location": "" }
            ],
        })
    }

    /// The session as the emulator state dump lists it (token included, as
    /// tests need it to act as the user).
    pub fn to_state_json(&self) -> Value {
        json!({
            "id": self.id,
            "identity_id": self.identity_id,
            "session_token": self.token,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
        })
    }
}
