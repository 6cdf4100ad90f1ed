//! The identity as the Kratos admin API returns it (`GET /admin/identities/{id}`,
//! `GET /admin/identities?credentials_identifier=`). Unlike a hook body it
//! carries `metadata_admin`, where the Stripe customer link lives.

use serde::Deserialize;
use serde_json::Value;

use super::traits;
use super::uuid::is_uuid;

/// The key under `metadata_admin` that names the identity's Stripe customer.
pub const STRIPE_CUSTOMER_ID_KEY: &str = "stripe_customer_id";

/// Kratos' identity state. Kratos documents it as having no effect today,
/// but an inactive identity should not be billed or linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityState {
    Active,
    Inactive,
    /// A state this bridge does not know (a newer Kratos).
    #[serde(other)]
    Unknown,
}

/// An identity from the admin API, reduced to what the bridge reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Identity {
    /// The identity id (checked to be a UUID).
    pub id: String,
    /// The traits object as stored (`null` when absent).
    #[serde(default)]
    pub traits: Value,
    /// `metadata_public` (`None` when absent or `null`); holds `plan`.
    #[serde(default)]
    pub metadata_public: Option<Value>,
    /// `metadata_admin` (`None` when absent or `null`); holds `stripe_customer_id`.
    #[serde(default)]
    pub metadata_admin: Option<Value>,
    /// The identity's state, when Kratos sent one.
    #[serde(default)]
    pub state: Option<IdentityState>,
}

/// Why an admin API answer could not be read as identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityError {
    /// Not JSON, or not the shape of an identity (list).
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
    /// `metadata_admin.stripe_customer_id`, when it is a non-empty string.
    pub fn stripe_customer_id(&self) -> Option<&str> {
        self.metadata_admin
            .as_ref()
            .and_then(|m| m.get(STRIPE_CUSTOMER_ID_KEY))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    /// `traits.email` under the same rules as hook bodies; `None` when it is
    /// missing or not an address.
    pub fn email(&self) -> Option<String> {
        traits::email(&self.traits).ok()
    }

    /// The display name under the same rules as hook bodies.
    pub fn name(&self) -> Option<String> {
        traits::name(&self.traits)
    }

    fn nulls_to_none(mut self) -> Self {
        self.metadata_public = self.metadata_public.filter(|v| !v.is_null());
        self.metadata_admin = self.metadata_admin.filter(|v| !v.is_null());
        self
    }
}

/// Reads one identity (`GET /admin/identities/{id}`).
pub fn parse_identity(json: &[u8]) -> Result<Identity, IdentityError> {
    let identity: Identity = serde_json::from_slice(json).map_err(|_| IdentityError::InvalidJson)?;
    checked(identity)
}

/// Reads an identity list (`GET /admin/identities?credentials_identifier=`),
/// a JSON array; an empty array means no identity matched.
pub fn parse_identity_list(json: &[u8]) -> Result<Vec<Identity>, IdentityError> {
    let list: Vec<Identity> = serde_json::from_slice(json).map_err(|_| IdentityError::InvalidJson)?;
    list.into_iter().map(checked).collect()
}

fn checked(identity: Identity) -> Result<Identity, IdentityError> {
    if !is_uuid(&identity.id) {
        return Err(IdentityError::InvalidId);
    }
    Ok(identity.nulls_to_none())
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
        assert_eq!(i.state, Some(IdentityState::Active));
        assert_eq!(i.stripe_customer_id(), Some("cus_123"));
        assert_eq!(i.email().as_deref(), Some("ada@example.com"));
        assert_eq!(i.name().as_deref(), Some("Ada Lovelace"));
        assert_eq!(i.metadata_public, None);
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
        assert_eq!((i.stripe_customer_id(), i.email(), i.state), (None, None, None));
        assert_eq!(i.metadata_admin, None);
    }

    #[test]
    fn unknown_states_do_not_fail_parsing() {
        let i = parse_identity(format!(r#"{{"id":"{ID}","state":"suspended"}}"#).as_bytes()).unwrap();
        assert_eq!(i.state, Some(IdentityState::Unknown));
        let i = parse_identity(format!(r#"{{"id":"{ID}","state":"inactive"}}"#).as_bytes()).unwrap();
        assert_eq!(i.state, Some(IdentityState::Inactive));
    }

    #[test]
    fn refuses_non_identities() {
        assert_eq!(parse_identity(b"not json"), Err(IdentityError::InvalidJson));
        assert_eq!(parse_identity(br#"{"traits":{}}"#), Err(IdentityError::InvalidJson));
        assert_eq!(parse_identity(br#"{"id":"../x"}"#), Err(IdentityError::InvalidId));
    }

    #[test]
    fn reads_lists() {
        let list = json!([admin_identity(Value::Null), admin_identity(json!({"stripe_customer_id": "cus_9"}))]);
        let ids = parse_identity_list(&serde_json::to_vec(&list).unwrap()).unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1].stripe_customer_id(), Some("cus_9"));
        assert_eq!(parse_identity_list(b"[]").unwrap(), vec![]);
        assert_eq!(parse_identity_list(br#"{"id":"x"}"#), Err(IdentityError::InvalidJson));
    }
}
