//! The stored identity record and the JSON Kratos shows of it.

use serde_json::{json, Map, Value};

use super::clock::now_rfc3339;
use super::ids::new_uuid;
use super::schema::{schema_url, DEFAULT_SCHEMA_ID};

/// `identity.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityState {
    /// Can sign in; the default.
    Active,
    /// Disabled: its sessions no longer authenticate.
    Inactive,
}

impl IdentityState {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityState::Active => "active",
            IdentityState::Inactive => "inactive",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(IdentityState::Active),
            "inactive" => Some(IdentityState::Inactive),
            _ => None,
        }
    }
}

/// `verifiable_addresses[].status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressStatus {
    /// Created, no verification message sent yet (admin-created identities).
    Pending,
    /// A verification message went out (self-service registration).
    Sent,
    /// The user completed the verification flow: `verified` is true.
    Completed,
}

impl AddressStatus {
    fn as_str(self) -> &'static str {
        match self {
            AddressStatus::Pending => "pending",
            AddressStatus::Sent => "sent",
            AddressStatus::Completed => "completed",
        }
    }
}

/// Who is looking: decides whether `metadata_admin` and `credentials` show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Admin API and emulator state: everything, `metadata_admin` included.
    Admin,
    /// `/sessions/whoami` and the hook body (`ctx.identity`): no
    /// `metadata_admin`, no `credentials`.
    Public,
}

/// The email address kept in sync with `traits.email`, used for verification
/// and recovery addresses and as the password credential identifier.
#[derive(Debug, Clone)]
pub struct EmailAddress {
    verifiable_id: String,
    recovery_id: String,
    value: String,
    status: AddressStatus,
    /// When the verification flow completed (RFC 3339); `None` while unverified.
    verified_at: Option<String>,
    created_at: String,
    updated_at: String,
}

/// An identity as the emulator stores it.
#[derive(Debug, Clone)]
pub struct Identity {
    /// UUID v4.
    pub id: String,
    /// Always `default`.
    pub schema_id: String,
    /// Active or inactive.
    pub state: IdentityState,
    /// When `state` last changed (RFC 3339).
    pub state_changed_at: String,
    /// Free JSON object, validated by [`super::schema::validate_traits`].
    pub traits: Value,
    /// Visible to the user; `null` unless set.
    pub metadata_public: Value,
    /// Visible to admins only; `null` unless set.
    pub metadata_admin: Value,
    /// Optional unique external id.
    pub external_id: Option<String>,
    /// Always `None` here (no organizations).
    pub organization_id: Option<String>,
    /// Derived from `traits.email`.
    pub email: Option<EmailAddress>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; bumped by every update.
    pub updated_at: String,
}

impl Identity {
    /// A new active identity with the given traits (already validated).
    pub fn new(traits: Value, status: AddressStatus) -> Identity {
        let now = now_rfc3339();
        let mut identity = Identity {
            id: new_uuid(),
            schema_id: DEFAULT_SCHEMA_ID.to_string(),
            state: IdentityState::Active,
            state_changed_at: now.clone(),
            traits,
            metadata_public: Value::Null,
            metadata_admin: Value::Null,
            external_id: None,
            organization_id: None,
            email: None,
            created_at: now.clone(),
            updated_at: now,
        };
        identity.sync_email(status);
        identity
    }

    /// The lowercased login identifier, from `traits.email`.
    pub fn identifier(&self) -> Option<String> {
        self.traits.get("email").and_then(Value::as_str).map(str::to_lowercase)
    }

    /// Keeps the email address record in step with `traits.email`, as Kratos
    /// does on every write; an unchanged address keeps its id and status.
    pub fn sync_email(&mut self, status_if_new: AddressStatus) {
        let Some(value) = self.identifier() else {
            self.email = None;
            return;
        };
        if self.email.as_ref().is_some_and(|e| e.value == value) {
            return;
        }
        let now = now_rfc3339();
        self.email = Some(EmailAddress {
            verifiable_id: new_uuid(),
            recovery_id: new_uuid(),
            value,
            status: status_if_new,
            verified_at: None,
            created_at: now.clone(),
            updated_at: now,
        });
    }

    /// Completes the verification flow of the email address (as the user
    /// following the link or entering the code would); false when the
    /// identity has none.
    pub fn verify_email(&mut self) -> bool {
        let Some(e) = self.email.as_mut() else { return false };
        let now = now_rfc3339();
        e.status = AddressStatus::Completed;
        e.verified_at = Some(now.clone());
        e.updated_at = now;
        true
    }

    /// The identity JSON Kratos would answer for `view`.
    pub fn to_json(&self, view: View, public_url: &str) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), json!(self.id));
        o.insert("schema_id".into(), json!(self.schema_id));
        o.insert("schema_url".into(), json!(schema_url(public_url)));
        o.insert("state".into(), json!(self.state.as_str()));
        o.insert("state_changed_at".into(), json!(self.state_changed_at));
        o.insert("traits".into(), self.traits.clone());
        if let Some(e) = &self.email {
            o.insert("verifiable_addresses".into(), json!([verifiable_json(e)]));
            o.insert("recovery_addresses".into(), json!([recovery_json(e)]));
        }
        o.insert("metadata_public".into(), self.metadata_public.clone());
        if view == View::Admin {
            o.insert("metadata_admin".into(), self.metadata_admin.clone());
            if let Some(e) = &self.email {
                o.insert("credentials".into(), self.credentials_json(e));
            }
        }
        if let Some(external_id) = &self.external_id {
            o.insert("external_id".into(), json!(external_id));
        }
        o.insert("created_at".into(), json!(self.created_at));
        o.insert("updated_at".into(), json!(self.updated_at));
        o.insert("organization_id".into(), json!(self.organization_id));
        Value::Object(o)
    }

    /// Credential metadata as the admin API shows it (no `config`).
    fn credentials_json(&self, e: &EmailAddress) -> Value {
        json!({
            "password": {
                "type": "password",
                "identifiers": [e.value],
                "version": 0,
                "created_at": self.created_at,
                "updated_at": e.updated_at,
            }
        })
    }
}

fn verifiable_json(e: &EmailAddress) -> Value {
    let mut v = json!({
        "id": e.verifiable_id,
        "value": e.value,
        "verified": e.verified_at.is_some(),
        "via": "email",
        "status": e.status.as_str(),
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    });
    if let Some(at) = &e.verified_at {
        v["verified_at"] = json!(at);
    }
    v
}

fn recovery_json(e: &EmailAddress) -> Value {
    json!({
        "id": e.recovery_id,
        "value": e.value,
        "via": "email",
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_view_hides_admin_metadata_and_credentials() {
        let mut i = Identity::new(json!({"email": "Ann@Example.com"}), AddressStatus::Sent);
        i.metadata_admin = json!({"stripe_customer_id": "cus_1"});
        let admin = i.to_json(View::Admin, "http://k");
        let public = i.to_json(View::Public, "http://k");
        assert_eq!(admin["metadata_admin"]["stripe_customer_id"], "cus_1");
        assert_eq!(admin["credentials"]["password"]["identifiers"][0], "ann@example.com");
        assert!(public.get("metadata_admin").is_none());
        assert!(public.get("credentials").is_none());
        assert_eq!(public["verifiable_addresses"][0]["value"], "ann@example.com");
        assert_eq!(public["schema_url"], "http://k/schemas/ZGVmYXVsdA");
    }

    #[test]
    fn email_change_replaces_addresses_and_same_email_keeps_them() {
        let mut i = Identity::new(json!({"email": "a@x.io"}), AddressStatus::Sent);
        let first = i.to_json(View::Admin, "")["verifiable_addresses"][0]["id"].clone();
        i.sync_email(AddressStatus::Sent);
        assert_eq!(i.to_json(View::Admin, "")["verifiable_addresses"][0]["id"], first);
        i.traits = json!({"email": "b@x.io"});
        i.sync_email(AddressStatus::Sent);
        let now = i.to_json(View::Admin, "");
        assert_ne!(now["verifiable_addresses"][0]["id"], first);
        assert_eq!(now["recovery_addresses"][0]["value"], "b@x.io");
    }
}
