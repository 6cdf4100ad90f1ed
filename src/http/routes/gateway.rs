//! The worker's decisions where the app already checks identity:
//! `/auth/forward` (a proxy in front of the app asks), the keys assertions
//! are signed with (`/.well-known/jwks.json`), and Ory Hydra's token hook.

use serde_json::json;
use worker::Request;

use crate::edge::path::readings;
use crate::entitlements::feature::effective;
use crate::error::ApiError;
use crate::gateway::assertion::jwks;
use crate::gateway::forward::{asked, ProxyHeaders};
use crate::gateway::hydra::{answer, token_for, TokenFor};
use crate::http::assertion::assertion;
use crate::http::auth::require_bearer;
use crate::http::body::read_bounded;
use crate::http::context::Cx;
use crate::http::flows::record::stored;
use crate::http::flows::rules::{judge, read_marks, Verdict};
use crate::http::headers::header;
use crate::http::origin::{identity_headers, with_return_to};
use crate::http::respond::{self, Reply};
use crate::web::gate::wants_html;
use crate::web::site::origin_of;

/// `/auth/forward`: may the request the proxy names pass? 200 (with the
/// identity headers and assertion for a signed-in user), 401 without a
/// session (a browser: 302 to `LOGIN_URL`), 403 for a feature the plan
/// lacks (a browser: 302 to `PRICING_URL`); nginx passes only 2xx, 401 and
/// 403. Decided with `GATE_ROUTES` exactly as edge gate mode decides.
pub async fn decide_for_proxy(cx: &Cx<'_>, req: &Request) -> Result<Reply, ApiError> {
    let h = |name: &str| header(req, name);
    let (fm, om, fu, ou, fp, fh) = (
        h("x-forwarded-method"),
        h("x-original-method"),
        h("x-forwarded-uri"),
        h("x-original-uri"),
        h("x-forwarded-proto"),
        h("x-forwarded-host"),
    );
    let proxy = ProxyHeaders {
        forwarded_method: fm.as_deref(),
        original_method: om.as_deref(),
        forwarded_uri: fu.as_deref(),
        original_uri: ou.as_deref(),
        forwarded_proto: fp.as_deref(),
        forwarded_host: fh.as_deref(),
    };
    let asked = asked(req.method().as_ref(), proxy).map_err(|e| ApiError::bad_request(e.code(), e.message()))?;
    let path = readings(&asked.path).map_err(|r| ApiError::bad_request(r.code(), r.message()))?;
    let marks = read_marks(req)?;
    if !marks.spoofed.is_empty() {
        // The proxy replaces the headers it is told to copy, under their own
        // spelling only; the client's others (`X_Plan`) would reach the app.
        return Err(ApiError::new(
            403,
            "identity_headers_sent",
            "the request carries headers only the bridge sets (X-Identity-Id, X-Plan, X-Access, X-Bridge-Assertion, in any spelling)",
        ));
    }
    let browser = wants_html(h("accept").as_deref());
    match judge(cx, req, &asked.method, &path, &asked.query, &marks.overrides).await? {
        Verdict::Ungated => respond::json(200, &json!({"allowed": true})),
        Verdict::Allowed { identity, record } => {
            let now = effective(&record, &cx.config.plans, cx.now);
            let token = match cx.config.assertion.key {
                None => None,
                Some(_) => {
                    let issuer = origin_of(&req.inner().url()).unwrap_or_default();
                    let audience = (cx.config.gate.origin_url.as_deref().or(Some(&asked.url)))
                        .and_then(origin_of)
                        .unwrap_or_else(|| issuer.clone());
                    assertion(cx, &now, &issuer, &audience).await?
                }
            };
            let body = json!({"allowed": true, "identity_id": identity, "plan": now.plan, "access": now.access});
            Ok(respond::json(200, &body)?.with_headers(identity_headers(
                &identity,
                &now.plan,
                now.access.as_str(),
                token,
            )))
        }
        Verdict::NoSession(e) => match cx.config.gate.login_url.as_deref().filter(|_| browser) {
            Some(login) => Ok(respond::found(&with_return_to(login, &asked.url))),
            None => Err(e),
        },
        Verdict::Denied(decision) => match browser {
            true => Ok(respond::found(cx.config.pricing_url.get()?)),
            false => respond::json(403, &decision),
        },
        Verdict::Exhausted(balance) => match browser {
            true => Ok(respond::found(cx.config.pricing_url.get()?)),
            false => respond::json(403, &balance),
        },
    }
}

/// `GET /.well-known/jwks.json`: the signing key's public half, and the
/// previous keys still served during a rotation.
pub fn signing_keys(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    respond::json(200, &jwks(cx.config.assertion.key.as_ref(), &cx.config.assertion.previous))
}

/// `POST /hooks/hydra/token`: the plan as claims of the token Hydra is
/// about to issue; 204 for a token without a user; 503 when the record
/// cannot be read (the token is refused, never issued with a made-up
/// plan). Neither Stripe nor Kratos is called. 404 without
/// `HYDRA_HOOK_SECRET`.
pub async fn hydra_token_claims(cx: &Cx<'_>, mut req: Request) -> Result<Reply, ApiError> {
    let Some(secret) = cx.config.hydra_hook_secret.as_ref() else {
        return Err(ApiError::not_found("not_found", "the Hydra token hook is off: set HYDRA_HOOK_SECRET"));
    };
    require_bearer(&req, secret)?;
    let body = read_bounded(&mut req).await?;
    match token_for(&body).map_err(|e| ApiError::bad_request(e.code(), e.message()))? {
        TokenFor::NoUser => Ok(respond::no_content()),
        TokenFor::Identity { id, access_token, id_token } => {
            let record = stored(cx, &cx.store(), &id).await?;
            respond::json(200, &answer(access_token, id_token, &effective(&record, &cx.config.plans, cx.now)))
        }
    }
}
