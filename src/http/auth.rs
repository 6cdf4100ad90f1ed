//! Who may call: bearer secrets (constant-time) and Kratos sessions.

use worker::Request;

use super::context::Cx;
use super::kratos_api;
use crate::config::Secret;
use crate::error::ApiError;
use crate::kratos::session::{session_credentials, SessionIdentity};

/// Checks `Authorization: Bearer <secret>`; 401 otherwise.
pub fn require_bearer(req: &Request, secret: &Secret) -> Result<(), ApiError> {
    let header = req.headers().get("authorization").ok().flatten().unwrap_or_default();
    let presented = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).unwrap_or("");
    if !presented.is_empty() && secret.matches(presented.trim()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("a valid Authorization: Bearer token is required"))
    }
}

/// The server-to-server API's token check (`BRIDGE_API_TOKEN`).
pub fn require_api_token(cx: &Cx<'_>, req: &Request) -> Result<(), ApiError> {
    let secret = cx.config.bridge_api_token.as_ref().map_err(|p| ApiError::from(p.clone()))?;
    require_bearer(req, secret)
}

/// The signed-in user, checked with Kratos' `/sessions/whoami`; 401 when
/// there is no session (without a round trip when no credentials are sent).
pub async fn require_session(cx: &Cx<'_>, req: &Request) -> Result<SessionIdentity, ApiError> {
    let h = req.headers();
    let cookie = h.get("cookie").ok().flatten();
    let token = h.get("x-session-token").ok().flatten();
    let credentials = session_credentials(cookie.as_deref(), token.as_deref())
        .ok_or_else(|| ApiError::unauthorized("sign in first: no Kratos session cookie or X-Session-Token"))?;
    kratos_api::whoami(cx.config, &credentials)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the Kratos session is missing, expired or inactive"))
}
