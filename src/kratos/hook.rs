//! The body a Kratos `web_hook` sends to `/hooks/kratos/*`.
//!
//! The shipped jsonnet is
//! `function(ctx) { identity: ctx.identity, flow_id: ctx.flow.id, flow_type: ctx.flow.type }`;
//! only `identity` is required and extra fields are ignored, so operators may
//! extend the template. `ctx.identity` never carries `metadata_admin`.

use serde_json::Value;

use super::traits::{self, EmailError};
use crate::error::ApiError;

use crate::identity::{IdentityId, IdentityIdError};

/// What the bridge needs from the identity in a hook body to get-or-create
/// and update the identity's Stripe customer.
#[derive(Debug, Clone, PartialEq)]
pub struct HookIdentity {
    /// The Kratos identity id.
    pub id: IdentityId,
    /// `traits.email`, trimmed.
    pub email: String,
    /// The display name from the traits (see [`traits::name`]).
    pub name: Option<String>,
}

/// Why a hook body was refused. Each variant has a stable [`code`](Self::code)
/// for the error answer and a [`message`](Self::message) that tells the
/// operator what to fix (and never contains the email address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookError {
    /// The body is not JSON.
    InvalidJson,
    /// No `identity` object in the body.
    MissingIdentity,
    /// `identity.id` is absent or not a string.
    MissingId,
    /// `identity.id` is not a UUID.
    InvalidId,
    /// `identity.id` is the nil UUID: the hook ran before the identity was stored.
    NilIdentity,
    /// `identity.traits.email` is absent or blank.
    MissingEmail,
    /// `identity.traits.email` is not an email address.
    InvalidEmail,
}

impl HookError {
    /// The stable machine-readable code for the error answer.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::MissingIdentity => "missing_identity",
            Self::MissingId => "missing_identity_id",
            Self::InvalidId => "invalid_identity_id",
            Self::NilIdentity => "nil_identity",
            Self::MissingEmail => "missing_email",
            Self::InvalidEmail => "invalid_email",
        }
    }

    /// A human-readable explanation, with the fix where there is one.
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidJson => "the hook body is not valid JSON",
            Self::MissingIdentity => {
                "the hook body has no `identity` object; use a body template that sends it, e.g. \
                 `function(ctx) { identity: ctx.identity, flow_id: ctx.flow.id, flow_type: ctx.flow.type }`"
            }
            Self::MissingId => "the hook body's `identity.id` is missing or not a string",
            Self::InvalidId => "the hook body's `identity.id` is not a UUID",
            Self::NilIdentity => {
                "the hook body's `identity.id` is the nil UUID: Kratos ran this hook before storing the \
                 identity, which it does when the web_hook is configured with `response.parse: true`. \
                 Configure the registration web_hook without `response.parse` (e.g. \
                 `response: { ignore: false }`) so that it runs after the identity is persisted"
            }
            Self::MissingEmail => "the identity has no `traits.email`; the identity schema must have an email trait",
            Self::InvalidEmail => "the identity's `traits.email` is not a valid email address",
        }
    }
}

impl std::fmt::Display for HookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for HookError {}

/// Every hook error is the caller's (Kratos configuration's) fault: 400, and
/// nothing was changed.
impl From<HookError> for ApiError {
    fn from(e: HookError) -> Self {
        ApiError::bad_request(e.code(), e.message())
    }
}

/// Reads a hook body. Checks run in order (JSON, identity, id, email), so the
/// first problem an operator has to fix is the one reported.
pub fn parse_hook(body: &[u8]) -> Result<HookIdentity, HookError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| HookError::InvalidJson)?;
    let identity = doc.get("identity").filter(|v| v.is_object()).ok_or(HookError::MissingIdentity)?;
    let id = identity.get("id").and_then(Value::as_str).ok_or(HookError::MissingId)?;
    let id = IdentityId::parse(id).map_err(|e| match e {
        IdentityIdError::Malformed => HookError::InvalidId,
        IdentityIdError::Nil => HookError::NilIdentity,
    })?;
    let traits = identity.get("traits").unwrap_or(&Value::Null);
    let email = traits::email(traits).map_err(|e| match e {
        EmailError::Missing => HookError::MissingEmail,
        EmailError::Invalid => HookError::InvalidEmail,
    })?;
    Ok(HookIdentity { id, email, name: traits::name(traits) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";

    fn body(identity: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({"identity": identity, "flow_id": "f1", "flow_type": "browser"})).unwrap()
    }

    #[test]
    fn parses_the_shipped_jsonnet_body() {
        let b = body(json!({
            "id": ID,
            "schema_id": "default",
            "state": "active",
            "traits": {"email": " ada@example.com ", "name": {"first": "Ada", "last": "Lovelace"}},
            "metadata_public": {"plan": "pro"},
            "verifiable_addresses": []
        }));
        let h = parse_hook(&b).unwrap();
        assert_eq!(
            h,
            HookIdentity {
                id: IdentityId::parse(ID).unwrap(),
                email: "ada@example.com".into(),
                name: Some("Ada Lovelace".into()),
            }
        );
    }

    #[test]
    fn a_body_with_only_identity_is_enough() {
        let b =
            serde_json::to_vec(&json!({"identity": {"id": ID, "traits": {"email": "a@b.c"}, "metadata_public": null}}))
                .unwrap();
        let h = parse_hook(&b).unwrap();
        assert_eq!(h.name, None);
    }

    #[test]
    fn refuses_what_is_not_json() {
        assert_eq!(parse_hook(b"identity=1"), Err(HookError::InvalidJson));
        assert_eq!(parse_hook(b""), Err(HookError::InvalidJson));
    }

    #[test]
    fn refuses_a_body_without_identity() {
        assert_eq!(parse_hook(br#"{"flow_id":"f"}"#), Err(HookError::MissingIdentity));
        assert_eq!(parse_hook(br#"{"identity":null}"#), Err(HookError::MissingIdentity));
        assert_eq!(parse_hook(br#"{"identity":"x"}"#), Err(HookError::MissingIdentity));
        assert_eq!(parse_hook(b"[]"), Err(HookError::MissingIdentity));
    }

    #[test]
    fn refuses_missing_or_malformed_ids() {
        assert_eq!(parse_hook(&body(json!({"traits": {"email": "a@b.c"}}))), Err(HookError::MissingId));
        assert_eq!(parse_hook(&body(json!({"id": 5, "traits": {"email": "a@b.c"}}))), Err(HookError::MissingId));
        assert_eq!(parse_hook(&body(json!({"id": "abc", "traits": {"email": "a@b.c"}}))), Err(HookError::InvalidId));
    }

    #[test]
    fn nil_identity_is_refused_with_the_fix() {
        let e = parse_hook(&body(json!({"id": "00000000-0000-0000-0000-000000000000", "traits": {"email": "a@b.c"}})))
            .unwrap_err();
        assert_eq!(e, HookError::NilIdentity);
        assert_eq!(e.code(), "nil_identity");
        assert!(e.message().contains("response.parse"));
        assert!(e.message().contains("after the identity is persisted"));
    }

    #[test]
    fn email_problems_never_echo_the_address() {
        let e = parse_hook(&body(json!({"id": ID, "traits": {"email": "secret@@example.com"}}))).unwrap_err();
        assert_eq!(e, HookError::InvalidEmail);
        assert!(!e.to_string().contains("secret"));
        assert_eq!(parse_hook(&body(json!({"id": ID, "traits": {}}))), Err(HookError::MissingEmail));
        assert_eq!(parse_hook(&body(json!({"id": ID}))), Err(HookError::MissingEmail));
    }

    #[test]
    fn errors_become_400_answers_with_stable_codes() {
        let api: ApiError = HookError::MissingIdentity.into();
        assert_eq!((api.status, api.code), (400, "missing_identity"));
        let codes: Vec<&str> = [
            HookError::InvalidJson,
            HookError::MissingIdentity,
            HookError::MissingId,
            HookError::InvalidId,
            HookError::NilIdentity,
            HookError::MissingEmail,
            HookError::InvalidEmail,
        ]
        .iter()
        .map(|e| e.code())
        .collect();
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
    }
}
