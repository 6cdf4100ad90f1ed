//! Who may call: bearer secrets (constant-time) and Kratos sessions.

use std::time::Duration;

use worker::Request;

use super::caches;
use super::context::Cx;
use super::headers::header;
use super::outbound::{sleep, UPSTREAM_TIMEOUT};
use crate::config::Secret;
use crate::error::ApiError;
use crate::identity::IdentityId;
use crate::kratos::request::KratosRequest;
use crate::kratos::session::session_credentials;
use crate::web::site::{is_cross_site, origin_of, RequestSite};

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
///
/// An active session's identity is reused for `SESSION_CACHE_TTL` seconds,
/// keyed by a SHA-256 of the credential (never the credential itself), so a
/// revoked session stops working within that time; concurrent requests with
/// one credential ask Kratos once (`caches::whoami_turn`).
pub async fn require_session(cx: &Cx<'_>, req: &Request) -> Result<IdentityId, ApiError> {
    let credentials = session_credentials(header(req, "cookie").as_deref(), header(req, "x-session-token").as_deref())
        .ok_or_else(|| ApiError::unauthorized("sign in first: no Kratos session cookie or X-Session-Token"))?;
    let key = credentials.cache_key();
    if let Some(identity) = caches::session(&key, cx.now_ms()) {
        return Ok(identity);
    }
    // Held until this function returns, after the answer is cached.
    let _asking = match caches::whoami_turn(key, cx.now_ms()) {
        Some(asking) => Some(asking),
        None => {
            if let Some(identity) = answer_of_the_asking_request(cx, &key).await {
                return Ok(identity);
            }
            // It cached nothing (no session, or Kratos failed): ask ourselves.
            None
        }
    };
    let session = cx.kratos().send(&KratosRequest::whoami(credentials)).await?;
    let identity = session
        .map(|s| s.identity_id)
        .ok_or_else(|| ApiError::unauthorized("the Kratos session is missing, expired or inactive"))?;
    caches::put_session(key, identity.clone(), cx.now_ms(), cx.config.session_cache_ttl);
    Ok(identity)
}

/// How often a request waiting for another's whoami looks in the cache again.
const WAIT_STEP: Duration = Duration::from_millis(10);

/// Waits until the request asking Kratos about `key` is done (at most the
/// upstream deadline), then answers what it cached. The Workers runtime
/// cancels a request that waits on nothing of its own as hung (another
/// request's answer cannot wake it), so the wait is on a timer of its own.
async fn answer_of_the_asking_request(cx: &Cx<'_>, key: &[u8; 32]) -> Option<IdentityId> {
    let give_up = cx.now_ms() + UPSTREAM_TIMEOUT.as_millis() as u64;
    while caches::being_asked(key, cx.now_ms()) && cx.now_ms() < give_up {
        sleep(WAIT_STEP).await;
    }
    caches::session(key, cx.now_ms())
}

/// Refuses (403) a cookie-authenticated change sent by a page of another
/// site: see `crate::web::site::is_cross_site`. The worker's own origin and
/// `APP_URL`'s are trusted.
pub fn refuse_cross_site(cx: &Cx<'_>, req: &Request) -> Result<(), ApiError> {
    let own = origin_of(&req.inner().url()).unwrap_or_default();
    let app = cx.config.app_url.get().ok().and_then(|u| origin_of(u));
    let trusted: Vec<&str> = app.as_deref().into_iter().collect();
    let (sec_fetch_site, origin) = (header(req, "sec-fetch-site"), header(req, "origin"));
    let site = RequestSite { sec_fetch_site: sec_fetch_site.as_deref(), origin: origin.as_deref() };
    if is_cross_site(site, &own, &trusted) {
        return Err(ApiError::new(403, "cross_site_request", "a page of another site may not make this change"));
    }
    Ok(())
}
