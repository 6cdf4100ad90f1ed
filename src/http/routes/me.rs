//! The signed-in user's own routes (Kratos session cookie or
//! `X-Session-Token`, checked with `/sessions/whoami`).

use worker::{Request, Response, Result};

use super::identities::{current, internal};
use crate::error::ApiError;
use crate::http::auth::require_session;
use crate::http::context::Cx;
use crate::http::flows::deletion::delete_account;
use crate::http::respond;

async fn run<F, Fut>(cx: &Cx<'_>, req: &Request, route: F) -> Result<Response>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<Response, ApiError>>,
{
    let answer = match require_session(cx, req).await {
        Ok(session) => route(session.identity_id).await,
        Err(e) => Err(e),
    };
    match answer {
        Ok(r) => Ok(r),
        Err(e) => respond::error(&e),
    }
}

/// `GET /me/entitlements`.
pub async fn entitlements(cx: &Cx<'_>, req: &Request) -> Result<Response> {
    run(cx, req, |id| async move {
        let e = current(cx, &cx.store()?, &id).await?;
        respond::json(200, &e).map_err(internal)
    })
    .await
}

/// `DELETE /me`: self-service account deletion.
pub async fn delete(cx: &Cx<'_>, req: &Request) -> Result<Response> {
    run(cx, req, |id| async move {
        let report = delete_account(cx, &id).await?;
        respond::json(200, &report).map_err(internal)
    })
    .await
}
