//! The signed-in user: which credentials a request carries, and what
//! Kratos' `GET /sessions/whoami` says about them.

use serde_json::Value;

use crate::identity::IdentityId;

/// Cookie name prefixes of a Kratos session: `ory_kratos_session` for
/// self-hosted Kratos, `ory_session_<project>` on Ory Network.
pub const SESSION_COOKIE_PREFIXES: [&str; 2] = ["ory_kratos_session", "ory_session_"];

/// How to present the user's session to `/sessions/whoami`. `Debug` never
/// shows the secret part.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The whole `Cookie` header of the request, forwarded as is.
    Cookie(String),
    /// The `X-Session-Token` header value (native and API clients).
    Token(String),
}

impl Credentials {
    /// The header to send to `/sessions/whoami`.
    pub fn header_name(&self) -> &'static str {
        match self {
            Self::Cookie(_) => "Cookie",
            Self::Token(_) => "X-Session-Token",
        }
    }

    /// The header value to send (a secret: never log it).
    pub fn header_value(&self) -> &str {
        match self {
            Self::Cookie(v) | Self::Token(v) => v,
        }
    }
}

impl Credentials {
    /// A SHA-256 of the credential, the key a whoami answer is cached under,
    /// so the cache never holds the credential itself.
    pub fn cache_key(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.header_name().as_bytes());
        h.update([0]);
        h.update(self.header_value().as_bytes());
        h.finalize().into()
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cookie(_) => f.write_str("Cookie(<redacted>)"),
            Self::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

/// The session credentials of a request, or `None` when it carries neither
/// a non-empty `X-Session-Token` nor a Kratos session cookie (then the answer
/// is 401 without asking Kratos). The token wins when both are present, as
/// in Kratos itself.
pub fn session_credentials(cookie_header: Option<&str>, session_token_header: Option<&str>) -> Option<Credentials> {
    if let Some(token) = session_token_header.map(str::trim).filter(|t| !t.is_empty()) {
        return Some(Credentials::Token(token.to_string()));
    }
    let cookies = cookie_header.map(str::trim).filter(|c| has_session_cookie(c))?;
    Some(Credentials::Cookie(cookies.to_string()))
}

fn has_session_cookie(header: &str) -> bool {
    header.split(';').any(|pair| match pair.split_once('=') {
        Some((name, value)) => {
            let name = name.trim();
            !value.trim().is_empty() && SESSION_COOKIE_PREFIXES.iter().any(|p| name.starts_with(p))
        }
        None => false,
    })
}

/// What the bridge needs from a whoami answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionIdentity {
    /// The signed-in identity's id.
    pub identity_id: IdentityId,
    /// Kratos' `active` flag; absent counts as inactive (fail closed).
    pub active: bool,
}

/// Why a whoami answer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// Not JSON, or not an object.
    InvalidJson,
    /// No `identity` object in the session.
    MissingIdentity,
    /// `identity.id` is absent or not a UUID.
    InvalidIdentityId,
}

impl SessionError {
    /// The stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidJson => "kratos_invalid_session",
            Self::MissingIdentity => "kratos_session_without_identity",
            Self::InvalidIdentityId => "kratos_invalid_identity_id",
        }
    }

    /// A human-readable explanation (Kratos answered something unexpected).
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidJson => "Kratos /sessions/whoami answered with something that is not a session",
            Self::MissingIdentity => "Kratos /sessions/whoami answered with a session without an identity",
            Self::InvalidIdentityId => "Kratos /sessions/whoami answered with an identity id that is not a UUID",
        }
    }
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for SessionError {}

/// Reads a 200 answer of `/sessions/whoami`.
pub fn parse_whoami(json: &[u8]) -> Result<SessionIdentity, SessionError> {
    let session: Value = serde_json::from_slice(json).map_err(|_| SessionError::InvalidJson)?;
    if !session.is_object() {
        return Err(SessionError::InvalidJson);
    }
    let identity = session.get("identity").filter(|v| v.is_object()).ok_or(SessionError::MissingIdentity)?;
    let id = identity
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| IdentityId::parse(id).ok())
        .ok_or(SessionError::InvalidIdentityId)?;
    Ok(SessionIdentity { identity_id: id, active: session.get("active").and_then(Value::as_bool).unwrap_or(false) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";

    #[test]
    fn reads_a_whoami_session() {
        let body = json!({
            "id": "1b2c3d4e-0000-4000-8000-000000000001",
            "active": true,
            "expires_at": "2026-01-01T00:00:00Z",
            "authenticator_assurance_level": "aal1",
            "identity": {"id": ID, "traits": {"email": "ada@example.com"}, "metadata_public": {"plan": "pro"}}
        });
        let s = parse_whoami(&serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!(s, SessionIdentity { identity_id: IdentityId::parse(ID).unwrap(), active: true });
    }

    #[test]
    fn inactive_or_unflagged_sessions_are_not_active() {
        let s = parse_whoami(format!(r#"{{"active":false,"identity":{{"id":"{ID}"}}}}"#).as_bytes()).unwrap();
        assert!(!s.active);
        let s = parse_whoami(format!(r#"{{"identity":{{"id":"{ID}"}}}}"#).as_bytes()).unwrap();
        assert!(!s.active);
    }

    #[test]
    fn refuses_malformed_sessions() {
        assert_eq!(parse_whoami(b"<html>"), Err(SessionError::InvalidJson));
        assert_eq!(parse_whoami(b"[1]"), Err(SessionError::InvalidJson));
        assert_eq!(parse_whoami(br#"{"active":true}"#), Err(SessionError::MissingIdentity));
        assert_eq!(parse_whoami(br#"{"active":true,"identity":{"id":"x"}}"#), Err(SessionError::InvalidIdentityId));
        assert_eq!(parse_whoami(br#"{"active":true,"identity":{}}"#), Err(SessionError::InvalidIdentityId));
    }

    #[test]
    fn cache_keys_hash_the_credential_and_its_kind() {
        let token = Credentials::Token("abc".into());
        assert_eq!(token.cache_key(), Credentials::Token("abc".into()).cache_key());
        assert_ne!(token.cache_key(), Credentials::Cookie("abc".into()).cache_key());
        assert_ne!(token.cache_key(), Credentials::Token("abd".into()).cache_key());
        assert!(!hex::encode(token.cache_key()).contains("616263"), "not the credential's bytes");
    }

    #[test]
    fn token_header_is_used_and_trimmed() {
        assert_eq!(session_credentials(None, Some(" ory_st_abc ")), Some(Credentials::Token("ory_st_abc".into())));
        let c = session_credentials(Some("ory_kratos_session=x"), Some("tok")).unwrap();
        assert_eq!((c.header_name(), c.header_value()), ("X-Session-Token", "tok"));
    }

    #[test]
    fn kratos_and_ory_network_cookies_forward_the_whole_header() {
        let header = "theme=dark; ory_kratos_session=MTY3; lang=en";
        assert_eq!(session_credentials(Some(header), None), Some(Credentials::Cookie(header.into())));
        let header = "ory_session_coolprojectname=abc";
        let c = session_credentials(Some(header), Some("  ")).unwrap();
        assert_eq!((c.header_name(), c.header_value()), ("Cookie", header));
    }

    #[test]
    fn no_session_means_no_round_trip() {
        assert_eq!(session_credentials(None, None), None);
        assert_eq!(session_credentials(Some("theme=dark; lang=en"), Some("")), None);
        assert_eq!(session_credentials(Some("ory_kratos_session="), None), None);
        assert_eq!(session_credentials(Some("my_ory_kratos_session=abc"), None), None);
        assert_eq!(session_credentials(Some("csrf_token_ory_kratos_session=abc"), None), None);
        assert_eq!(session_credentials(Some(""), None), None);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = Credentials::Token("ory_st_secret".into());
        assert!(!format!("{c:?}").contains("secret"));
        let c = Credentials::Cookie("ory_kratos_session=secret".into());
        assert!(!format!("{c:?}").contains("secret"));
    }
}
