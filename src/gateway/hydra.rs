//! Ory Hydra's token hook (`oauth2.token_hook`, `POST /hooks/hydra/token`):
//! the plan, access and features as claims of the access token, and the
//! plan in the ID token, for the identity a token is issued to.
//!
//! Hydra replaces the token's claims with the answer's (it does not merge),
//! so the claims it sent (`session.extra`, `session.id_token.id_token_claims.ext`)
//! come back beside the plan's. The subject is `session.id_token.subject`
//! (the Kratos identity id), never `id_token_claims.sub`, which a pairwise
//! client sees obfuscated. A token without a user (`client_credentials`:
//! the subject is the client id) is left as it is.

use serde_json::{json, Map, Value};

use crate::entitlements::record::Entitlement;
use crate::identity::IdentityId;

/// Whom a token is issued to.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenFor {
    /// A user: the Kratos identity, with the claims Hydra already holds.
    Identity { id: IdentityId, access_token: Map<String, Value>, id_token: Map<String, Value> },
    /// No user (`client_credentials`, or a subject that is not an identity
    /// id): answered 204, the token unchanged.
    NoUser,
}

/// Why a hook body cannot be read (400: Hydra fails the token request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenHookError {
    /// Not JSON, or no `session` object.
    NotAHookBody,
}

impl TokenHookError {
    pub fn code(self) -> &'static str {
        "invalid_token_hook_body"
    }

    pub fn message(self) -> &'static str {
        "the body is not Hydra's token hook request ({\"session\": {...}, \"request\": {...}})"
    }
}

fn object(v: Option<&Value>) -> Map<String, Value> {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

/// Reads Hydra's hook request.
pub fn token_for(body: &[u8]) -> Result<TokenFor, TokenHookError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| TokenHookError::NotAHookBody)?;
    let session = doc.get("session").filter(|s| s.is_object()).ok_or(TokenHookError::NotAHookBody)?;
    let grants = doc.pointer("/request/grant_types").and_then(Value::as_array).cloned().unwrap_or_default();
    if grants.iter().any(|g| g == "client_credentials") {
        return Ok(TokenFor::NoUser);
    }
    let subject = session.pointer("/id_token/subject").and_then(Value::as_str).unwrap_or_default();
    let client = session.get("client_id").and_then(Value::as_str);
    let Some(id) = IdentityId::parse(subject).ok().filter(|_| Some(subject) != client) else {
        return Ok(TokenFor::NoUser);
    };
    Ok(TokenFor::Identity {
        id,
        access_token: object(session.get("extra")),
        id_token: object(session.pointer("/id_token/id_token_claims/ext")),
    })
}

/// The hook's answer for an identity whose record (read-time expiry applied)
/// is `now`: Hydra's own claims, with the plan's beside them.
pub fn answer(mut access_token: Map<String, Value>, mut id_token: Map<String, Value>, now: &Entitlement) -> Value {
    access_token.insert("plan".into(), json!(now.plan));
    access_token.insert("access".into(), json!(now.access.as_str()));
    access_token.insert("features".into(), json!(now.features));
    id_token.insert("plan".into(), json!(now.plan));
    json!({ "session": { "access_token": access_token, "id_token": id_token } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlements::derive::default_entitlement;
    use crate::entitlements::plans::tests::{example as plans, id1, NOW};

    fn body(subject: &str, grants: &[&str]) -> Vec<u8> {
        json!({
            "session": {
                "id_token": {
                    "id_token_claims": {"sub": "pairwise-obfuscated", "ext": {"email_verified": true}},
                    "subject": subject
                },
                "extra": {"tenant": "acme"},
                "client_id": "app-client"
            },
            "request": {"client_id": "app-client", "grant_types": grants}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn the_subject_is_the_real_one_and_hydras_claims_come_back() {
        let id = id1();
        let TokenFor::Identity { id: got, access_token, id_token } =
            token_for(&body(id.as_str(), &["authorization_code"])).unwrap()
        else {
            panic!("a user's token")
        };
        assert_eq!(got, id, "session.id_token.subject, not the pairwise sub");
        let record = default_entitlement(&id, None, &plans(), NOW);
        let a = answer(access_token, id_token, &record);
        assert_eq!(a["session"]["access_token"]["tenant"], "acme", "kept");
        assert_eq!(a["session"]["access_token"]["plan"], "free");
        assert_eq!(a["session"]["access_token"]["access"], "none");
        assert_eq!(a["session"]["access_token"]["features"], json!(["basic_feature"]));
        assert_eq!(a["session"]["id_token"], json!({"email_verified": true, "plan": "free"}));
    }

    #[test]
    fn tokens_without_a_user_are_left_alone_and_bad_bodies_refused() {
        assert_eq!(token_for(&body("app-client", &["client_credentials"])), Ok(TokenFor::NoUser));
        assert_eq!(token_for(&body("app-client", &["refresh_token"])), Ok(TokenFor::NoUser), "not an identity id");
        assert_eq!(token_for(b"not json"), Err(TokenHookError::NotAHookBody));
        assert_eq!(token_for(br#"{"request": {}}"#), Err(TokenHookError::NotAHookBody));
        let TokenFor::Identity { access_token, id_token, .. } =
            token_for(json!({"session": {"id_token": {"subject": id1().as_str()}}}).to_string().as_bytes()).unwrap()
        else {
            panic!("a user's token")
        };
        assert!(access_token.is_empty() && id_token.is_empty(), "nothing held yet: nothing to keep");
    }
}
