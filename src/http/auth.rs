//! Who may call: bearer secrets (constant-time) and Kratos sessions.

use worker::Request;

use super::context::Cx;
use crate::config::Secret;
use crate::error::ApiError;
use crate::identity::IdentityId;
use crate::kratos::request::KratosRequest;
use crate::kratos::session::session_credentials;

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// Checks `Authorization: Bearer <secret>`; 401 otherwise.
pub fn require_bearer(req: &Request, secret: &Secret) -> Result<(), ApiError> {
    let header = header(req, "authorization").unwrap_or_default();
    let presented = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).unwrap_or("");
    if !presented.is_empty() && secret.matches(presented.trim()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("a valid Authorization: Bearer token is required"))
    }
}

/// The signed-in user's identity, checked with Kratos' `/sessions/whoami`;
/// 401 when there is no session (without a round trip when no credentials
/// are sent), 5xx when Kratos cannot say (never a default).
pub async fn require_session(cx: &Cx<'_>, req: &Request) -> Result<IdentityId, ApiError> {
    let credentials = session_credentials(header(req, "cookie").as_deref(), header(req, "x-session-token").as_deref())
        .ok_or_else(|| ApiError::unauthorized("sign in first: no Kratos session cookie or X-Session-Token"))?;
    let session = cx.kratos().send(&KratosRequest::whoami(credentials)).await?;
    session
        .map(|s| s.identity_id)
        .ok_or_else(|| ApiError::unauthorized("the Kratos session is missing, expired or inactive"))
}
