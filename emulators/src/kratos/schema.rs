//! The single identity schema the emulator knows (`default`), and the trait
//! validation Kratos would run against it.

use serde_json::{json, Value};

/// The only schema id; Kratos' quickstart calls it `default`.
pub const DEFAULT_SCHEMA_ID: &str = "default";

/// `schema_url` as Kratos builds it: the public URL plus the base64url schema id.
pub fn schema_url(public_url: &str) -> String {
    // base64url("default") without padding.
    format!("{public_url}/schemas/ZGVmYXVsdA")
}

/// The identity schema: `email` (required, the login identifier, verified and
/// used for recovery), an optional `name {first, last}`, and any other trait.
pub fn schema_document() -> Value {
    json!({
        "$id": "https://schemas.ory.sh/presets/kratos/quickstart/email-password/identity.schema.json",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Person",
        "type": "object",
        "properties": {
            "traits": {
                "type": "object",
                "properties": {
                    "email": {
                        "type": "string", "format": "email", "title": "E-Mail", "minLength": 3,
                        "ory.sh/kratos": {
                            "credentials": { "password": { "identifier": true } },
                            "verification": { "via": "email" },
                            "recovery": { "via": "email" }
                        }
                    },
                    "name": {
                        "type": "object",
                        "properties": { "first": { "type": "string" }, "last": { "type": "string" } }
                    }
                },
                "required": ["email"],
                "additionalProperties": true
            }
        }
    })
}

/// Checks `traits` against the schema; the error is a Kratos-style reason.
pub fn validate_traits(traits: &Value) -> Result<(), String> {
    let Some(obj) = traits.as_object() else {
        return Err(r#"I[#/traits] S[#/properties/traits/type] expected object"#.to_string());
    };
    let Some(email) = obj.get("email") else {
        return Err(r#"I[#/traits] S[#/properties/traits/required] missing properties: "email""#.to_string());
    };
    let valid_email = email.as_str().is_some_and(|e| {
        let mut parts = e.split('@');
        matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None) if !l.is_empty() && !d.is_empty())
    });
    if !valid_email {
        return Err(
            r#"I[#/traits/email] S[#/properties/traits/properties/email/format] is not valid "email""#.to_string()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_test_traits_and_refuses_bad_ones() {
        assert!(validate_traits(&json!({"email": "a@b.c", "name": {"first": "A", "last": "B"}})).is_ok());
        assert!(validate_traits(&json!({"email": "a@b.c"})).is_ok());
        assert!(validate_traits(&json!({"email": "nope"})).is_err());
        assert!(validate_traits(&json!({"name": {"first": "A"}})).is_err());
        assert!(validate_traits(&json!({"email": 7})).is_err());
        assert!(validate_traits(&json!({"email": "a@b.c", "plan": "pro"})).is_ok());
        assert!(validate_traits(&json!(["a@b.c"])).is_err());
    }
}
