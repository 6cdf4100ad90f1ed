//! The one home of identities and of the names that link them: the Kratos
//! identity id, validated once where it enters (a hook body, an admin or
//! whoami answer, a route path, Stripe metadata, a KV link), and the
//! metadata keys both sides of the identity <-> customer link use.
//!
//! Everything past the entry point holds an [`IdentityId`], so no other code
//! checks the shape of an id again, and no malformed id can reach a Stripe
//! query, a KV key or an admin API path.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ApiError;

/// The Stripe metadata key (on customers, subscriptions and Checkout
/// Sessions) that names the Kratos identity: the Stripe half of the link.
pub const STRIPE_IDENTITY_KEY: &str = "olympus_identity_id";

/// The Kratos `metadata_admin` key that names the Stripe customer: the
/// Kratos half of the link (spec).
pub const KRATOS_CUSTOMER_KEY: &str = "stripe_customer_id";

/// The Kratos `metadata_public` key the plan is mirrored to when
/// `KRATOS_SYNC_PLAN=true` (readable by apps from the session).
pub const KRATOS_PLAN_KEY: &str = "plan";

/// The id Kratos puts on an identity that has not been stored yet (a hook
/// configured with `response.parse: true` runs before persistence).
pub const NIL_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// A Kratos identity id: a UUID in its canonical `8-4-4-4-12` form, in lower
/// case (Kratos reads ids in any case and writes them in lower case, so the
/// bridge keys KV, Stripe metadata and logs by that one spelling), never the
/// nil UUID. Serialises as the plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct IdentityId(String);

/// Why a string is not an identity id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityIdError {
    /// Not a UUID.
    Malformed,
    /// The nil UUID: an identity Kratos has not stored yet.
    Nil,
}

impl IdentityId {
    /// Validates `s` (surrounding whitespace is not accepted) and lower-cases
    /// it: every entry point (routes, hook bodies, Stripe metadata, KV links)
    /// reads an id through here, so `9F1C...` and `9f1c...` are one identity.
    pub fn parse(s: &str) -> Result<IdentityId, IdentityIdError> {
        if !is_uuid(s) {
            return Err(IdentityIdError::Malformed);
        }
        if s == NIL_UUID {
            return Err(IdentityIdError::Nil);
        }
        Ok(IdentityId(s.to_ascii_lowercase()))
    }

    /// The id as text (for keys, paths and metadata values).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdentityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for IdentityId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for IdentityId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for IdentityId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'de> Deserialize<'de> for IdentityId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IdentityId::parse(&s).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

impl IdentityIdError {
    /// The stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "invalid_identity_id",
            Self::Nil => "nil_identity",
        }
    }

    /// A human-readable explanation.
    pub fn message(self) -> &'static str {
        match self {
            Self::Malformed => "the identity id must be a UUID",
            Self::Nil => "the identity id is the nil UUID: the identity has not been stored yet",
        }
    }
}

impl fmt::Display for IdentityIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for IdentityIdError {}

/// An id from the caller's input: 400, nothing changed.
impl From<IdentityIdError> for ApiError {
    fn from(e: IdentityIdError) -> Self {
        ApiError::bad_request(e.code(), e.message())
    }
}

/// True for the canonical textual form `8-4-4-4-12` of hex digits (either case).
fn is_uuid(s: &str) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut parts = s.split('-');
    for len in GROUPS {
        match parts.next() {
            Some(p) if p.len() == len && p.bytes().all(|b| b.is_ascii_hexdigit()) => {}
            _ => return false,
        }
    }
    parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_uuids_in_any_case_as_their_lower_case_form() {
        let lower = "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";
        for any in [lower, "9F1C2D3E-4B5A-4C6D-8E7F-0123456789AB", "9f1C2d3E-4b5A-4c6D-8e7F-0123456789Ab"] {
            let id = IdentityId::parse(any).unwrap();
            assert_eq!(id.as_str(), lower, "{any}");
            assert_eq!(id, IdentityId::parse(lower).unwrap());
        }
        let from_json: IdentityId = serde_json::from_str("\"9F1C2D3E-4B5A-4C6D-8E7F-0123456789AB\"").unwrap();
        assert_eq!(from_json.as_str(), lower, "hook bodies and KV values too");
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "",
            "9f1c2d3e4b5a4c6d8e7f0123456789ab",
            "9f1c2d3e-4b5a-4c6d-8e7f-0123456789a",
            "9f1c2d3e-4b5a-4c6d-8e7f-0123456789abc",
            "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ag",
            "9f1c2d3e-4b5a-4c6d-8e7f-01234567-89a",
            "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab-",
            " 9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab",
            "{9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab}",
            "../admin/identities",
        ] {
            assert_eq!(IdentityId::parse(bad), Err(IdentityIdError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn only_all_zeros_is_nil() {
        assert_eq!(IdentityId::parse(NIL_UUID), Err(IdentityIdError::Nil));
        assert!(IdentityId::parse("00000000-0000-0000-0000-000000000001").is_ok());
    }

    #[test]
    fn serde_is_the_plain_string_and_validates() {
        let id = IdentityId::parse("9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab\"");
        assert_eq!(serde_json::from_str::<IdentityId>("\"9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab\"").unwrap(), id);
        assert!(serde_json::from_str::<IdentityId>("\"../x\"").is_err());
    }

    #[test]
    fn errors_are_400s_with_their_codes() {
        let e: ApiError = IdentityIdError::Malformed.into();
        assert_eq!((e.status, e.code), (400, "invalid_identity_id"));
        let e: ApiError = IdentityIdError::Nil.into();
        assert_eq!((e.status, e.code), (400, "nil_identity"));
    }
}
