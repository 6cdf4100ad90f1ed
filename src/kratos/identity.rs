//! The identity as the Kratos admin API returns it (`GET /admin/identities/{id}`).
//! Unlike a hook body it
//! carries `metadata_admin`, where the Stripe customer link lives.

use serde::Deserialize;
use serde_json::Value;

use crate::identity::{IdentityId, KRATOS_CUSTOMER_KEY};

/// An identity from the admin API, reduced to what the bridge reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub id: IdentityId,
    /// `traits` (`Null` when absent): the email and name a customer bills under.
    pub traits: Value,
    /// `metadata_public` (`None` when absent or `null`); holds `plan`.
    pub metadata_public: Option<Value>,
    /// `metadata_admin` (`None` when absent or `null`); holds `stripe_customer_id`.
    pub metadata_admin: Option<Value>,
    /// The email addresses of `verifiable_addresses` whose verification
    /// completed (`verified: true`), lower-cased: the only ones a customer
    /// may be linked by (anyone can register with another's address).
    pub verified_emails: Vec<String>,
}

/// The admin API's shape, before the id is checked.
#[derive(Deserialize)]
struct RawIdentity {
    id: String,
    #[serde(default)]
    traits: Value,
    #[serde(default)]
    metadata_public: Option<Value>,
    #[serde(default)]
    metadata_admin: Option<Value>,
    #[serde(default)]
    verifiable_addresses: Option<Vec<RawAddress>>,
}

/// One of `verifiable_addresses`.
#[derive(Deserialize)]
struct RawAddress {
    #[serde(default)]
    value: String,
    #[serde(default)]
    verified: bool,
    #[serde(default)]
    via: String,
}

/// Why an admin API answer could not be read as identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityError {
    /// Not JSON, or not the shape of an identity.
    InvalidJson,
    /// An identity whose `id` is not a UUID.
    InvalidId,
}

impl IdentityError {
    /// The stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidJson => "kratos_invalid_identity",
            Self::InvalidId => "kratos_invalid_identity_id",
        }
    }

    /// A human-readable explanation (Kratos answered something unexpected).
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidJson => "the Kratos admin API answered with something that is not an identity",
            Self::InvalidId => "the Kratos admin API answered with an identity whose id is not a UUID",
        }
    }
}

impl std::fmt::Display for IdentityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for IdentityError {}

impl Identity {
    /// Whether `email` (any case, surrounding spaces ignored) is one of the
    /// identity's verified addresses.
    pub fn has_verified_email(&self, email: &str) -> bool {
        let email = email.trim().to_lowercase();
        self.verified_emails.contains(&email)
    }

    /// `metadata_admin.stripe_customer_id`, when it is a non-empty string.
    pub fn stripe_customer_id(&self) -> Option<&str> {
        self.metadata_admin
            .as_ref()
            .and_then(|m| m.get(KRATOS_CUSTOMER_KEY))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    }
}

/// Reads one identity (`GET /admin/identities/{id}`).
pub fn parse_identity(json: &[u8]) -> Result<Identity, IdentityError> {
    let raw: RawIdentity = serde_json::from_slice(json).map_err(|_| IdentityError::InvalidJson)?;
    Ok(Identity {
        id: IdentityId::parse(&raw.id).map_err(|_| IdentityError::InvalidId)?,
        traits: raw.traits,
        metadata_public: raw.metadata_public.filter(|v| !v.is_null()),
        metadata_admin: raw.metadata_admin.filter(|v| !v.is_null()),
        verified_emails: raw
            .verifiable_addresses
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a.verified && a.via == "email")
            .map(|a| a.value.trim().to_lowercase())
            .collect(),
    })
}

/// Reads a list of identities (`GET /admin/identities?...`).
pub fn parse_identity_list(json: &[u8]) -> Result<Vec<Identity>, IdentityError> {
    let raw: Vec<serde_json::Value> = serde_json::from_slice(json).map_err(|_| IdentityError::InvalidJson)?;
    raw.iter().map(|v| parse_identity(v.to_string().as_bytes())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";

    fn admin_identity(metadata_admin: Value) -> Value {
        json!({
            "id": ID,
            "schema_id": "default",
            "schema_url": "http://kratos:4433/schemas/ZGVmYXVsdA",
            "state": "active",
            "state_changed_at": "2025-01-01T00:00:00Z",
            "traits": {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
            "verifiable_addresses": [],
            "recovery_addresses": [],
            "metadata_public": null,
            "metadata_admin": metadata_admin,
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
            "organization_id": null
        })
    }

    #[test]
    fn reads_the_admin_shape_and_the_customer_link() {
        let doc = admin_identity(json!({"stripe_customer_id": "cus_123", "other": 1}));
        let i = parse_identity(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(i.id, ID);
        assert_eq!(i.stripe_customer_id(), Some("cus_123"));
        assert_eq!(i.metadata_public, None);
        assert_eq!(i.traits["email"], "ada@example.com");
    }

    #[test]
    fn no_link_when_metadata_admin_is_null_absent_or_odd() {
        for m in [
            Value::Null,
            json!({}),
            json!({"stripe_customer_id": ""}),
            json!({"stripe_customer_id": 5}),
            json!("cus_1"),
        ] {
            let i = parse_identity(&serde_json::to_vec(&admin_identity(m.clone())).unwrap()).unwrap();
            assert_eq!(i.stripe_customer_id(), None, "{m}");
        }
        let i = parse_identity(format!(r#"{{"id":"{ID}"}}"#).as_bytes()).unwrap();
        assert_eq!(i.stripe_customer_id(), None);
        assert_eq!(i.metadata_admin, None);
    }

    #[test]
    fn only_verified_email_addresses_count() {
        let mut doc = admin_identity(Value::Null);
        doc["verifiable_addresses"] = json!([
            {"id": "a1", "value": "Ada@Example.com", "verified": true, "via": "email", "status": "completed"},
            {"id": "a2", "value": "other@example.com", "verified": false, "via": "email", "status": "sent"},
            {"id": "a3", "value": "+15550100", "verified": true, "via": "sms", "status": "completed"}
        ]);
        let i = parse_identity(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(i.verified_emails, ["ada@example.com"]);
        assert!(i.has_verified_email(" ADA@example.com "));
        assert!(!i.has_verified_email("other@example.com"), "sent, never completed");
        assert!(!i.has_verified_email("+15550100"), "not an email address");
        let none = parse_identity(&serde_json::to_vec(&admin_identity(Value::Null)).unwrap()).unwrap();
        assert!(!none.has_verified_email("ada@example.com"));
    }

    #[test]
    fn reads_a_list_of_identities() {
        let doc = serde_json::to_vec(&json!([admin_identity(Value::Null), admin_identity(json!({}))])).unwrap();
        assert_eq!(parse_identity_list(&doc).unwrap().len(), 2);
        assert_eq!(parse_identity_list(b"[]").unwrap(), vec![]);
        assert_eq!(parse_identity_list(br#"[{"id":"x"}]"#), Err(IdentityError::InvalidId));
        assert_eq!(parse_identity_list(br#"{"id":"x"}"#), Err(IdentityError::InvalidJson));
    }

    #[test]
    fn refuses_non_identities() {
        assert_eq!(parse_identity(b"not json"), Err(IdentityError::InvalidJson));
        assert_eq!(parse_identity(br#"{"traits":{}}"#), Err(IdentityError::InvalidJson));
        assert_eq!(parse_identity(br#"{"id":"../x"}"#), Err(IdentityError::InvalidId));
    }
}
