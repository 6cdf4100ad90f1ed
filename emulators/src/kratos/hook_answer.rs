//! What a parsing web hook (`response.parse: true`) may change, and how its
//! answer is read: `200 {"identity": {traits?, metadata_public?,
//! metadata_admin?}}` changes, `204`/other 2xx keep, `>= 400` aborts.

use serde_json::Value;

use super::clock::now_rfc3339;
use super::errors::KratosError;
use super::hooks::HookResult;
use super::identity::{AddressStatus, Identity};
use super::schema::validate_traits;

/// The changes a flow is about to write to an identity.
#[derive(Debug, Clone)]
pub struct Changes {
    /// New traits (already validated).
    pub traits: Value,
    /// New `metadata_public`, when set by a parsing hook.
    pub metadata_public: Option<Value>,
    /// New `metadata_admin`, when set by a parsing hook.
    pub metadata_admin: Option<Value>,
}

impl Changes {
    /// Only new traits.
    pub fn traits(traits: Value) -> Changes {
        Changes { traits, metadata_public: None, metadata_admin: None }
    }

    /// Writes the changes into `identity`, re-deriving its addresses and
    /// bumping `updated_at`.
    pub fn apply_to(&self, identity: &mut Identity) {
        identity.traits = self.traits.clone();
        if let Some(m) = &self.metadata_public {
            identity.metadata_public = m.clone();
        }
        if let Some(m) = &self.metadata_admin {
            identity.metadata_admin = m.clone();
        }
        identity.sync_email(AddressStatus::Sent);
        identity.updated_at = now_rfc3339();
    }

    /// Folds a parsing hook's final answer in; `Err` means the flow aborts.
    pub fn absorb(&mut self, result: &HookResult) -> Result<(), KratosError> {
        let Some((status, body)) = result.final_answer() else {
            return Err(KratosError::internal().with_reason("the web hook could not be reached"));
        };
        if status >= 400 {
            return Err(KratosError::bad_request(format!("the web hook refused the flow with status {status}")));
        }
        if status != 200 {
            return Ok(());
        }
        let Some(answer) = body.as_object() else {
            return Err(
                KratosError::internal().with_reason("webhook response could not be unmarshalled properly from JSON")
            );
        };
        let Some(identity) = answer.get("identity").and_then(Value::as_object) else {
            return Ok(());
        };
        if let Some(traits) = identity.get("traits") {
            validate_traits(traits).map_err(KratosError::bad_request)?;
            self.traits = traits.clone();
        }
        if let Some(m) = identity.get("metadata_public") {
            self.metadata_public = Some(m.clone());
        }
        if let Some(m) = identity.get("metadata_admin") {
            self.metadata_admin = Some(m.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kratos::hooks::Attempt;
    use serde_json::json;

    fn answer(status: u16, body: Value) -> HookResult {
        HookResult { attempts: vec![Attempt::Answered { status, body }] }
    }

    #[test]
    fn a_200_identity_answer_changes_traits_and_metadata() {
        let mut c = Changes::traits(json!({"email": "a@b.c"}));
        let body = json!({"identity": {"traits": {"email": "z@b.c"}, "metadata_admin": {"k": 1}}});
        c.absorb(&answer(200, body)).unwrap();
        assert_eq!(c.traits["email"], "z@b.c");
        assert_eq!(c.metadata_admin, Some(json!({"k": 1})));
        assert_eq!(c.metadata_public, None);
    }

    #[test]
    fn no_content_keeps_and_errors_abort() {
        let mut c = Changes::traits(json!({"email": "a@b.c"}));
        assert!(c.absorb(&answer(204, Value::Null)).is_ok());
        assert_eq!(c.traits["email"], "a@b.c");
        assert!(c.absorb(&answer(400, json!({"messages": []}))).is_err());
        assert!(c.absorb(&answer(200, json!("not json"))).is_err());
        assert!(c.absorb(&answer(200, json!({"identity": {"traits": {"email": "bad"}}}))).is_err());
    }
}
