//! `X-Bridge-Assertion` for a signed-in user (`crate::gateway::assertion`):
//! made with the runtime's Web Crypto, and reused for the same identity,
//! record and audience while at least half its lifetime is left, so a
//! cached session's requests do not pay a signature each.

use std::cell::RefCell;

use crate::config::AssertionConfig;
use crate::entitlements::record::Entitlement;
use crate::error::ApiError;
use crate::gateway::assertion::{compact, reusable, signing_input, Claims};
use crate::http::context::Cx;
use crate::runtime::crypto::sign;
use crate::store::ttl::TtlCache;

/// The header edge gate mode and `/auth/forward` carry it in.
pub const ASSERTION_HEADER: &str = "x-bridge-assertion";

thread_local! {
    /// Tokens made, by what they say (everything but the times): the
    /// token, and when it was made and expires.
    static MADE: RefCell<TtlCache<String, (String, i64, i64)>> = RefCell::new(TtlCache::default());
}

/// The assertion for the signed-in user whose record at `cx.now` is `now`,
/// for `audience`, issued by `issuer`; `None` without a signing key.
pub async fn assertion(
    cx: &Cx<'_>,
    now: &Entitlement,
    issuer: &str,
    audience: &str,
) -> Result<Option<String>, ApiError> {
    let settings: &AssertionConfig = &cx.config.assertion;
    let Some(key) = settings.key.as_ref() else { return Ok(None) };
    let issuer = settings.issuer.as_deref().unwrap_or(issuer);
    let audience = settings.audience.as_deref().unwrap_or(audience);
    let what = format!(
        "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
        key.kid,
        issuer,
        audience,
        now.identity_id,
        now.plan,
        now.access.as_str(),
        now.features.join(",")
    );
    let found = MADE.with(|m| m.borrow().get(&what, cx.now_ms()));
    if let Some((token, _, _)) = found.filter(|(_, iat, exp)| reusable(*iat, *exp, cx.now)) {
        return Ok(Some(token));
    }
    let ttl = settings.ttl as i64;
    let claims = Claims {
        iss: issuer.to_owned(),
        aud: audience.to_owned(),
        sub: now.identity_id.to_string(),
        plan: now.plan.clone(),
        access: now.access.as_str().to_owned(),
        features: now.features.clone(),
        iat: cx.now,
        nbf: cx.now,
        exp: cx.now + ttl,
    };
    let input = signing_input(key, &claims);
    let signature = sign(key, &input).await.map_err(ApiError::internal)?;
    let token = compact(&input, &signature);
    MADE.with(|m| m.borrow_mut().put(what, (token.clone(), claims.iat, claims.exp), cx.now_ms(), settings.ttl));
    Ok(Some(token))
}
