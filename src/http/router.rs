//! Which handler answers which method and path (spec: "Routes").

use worker::{Env, Method, Request, Response, Result};

use super::context::Cx;
use super::respond;
use super::routes::{healthz, identities, kratos_hooks, me, stripe_webhook};
use crate::error::ApiError;

/// Answers one request; every failure becomes the spec's JSON error.
pub async fn handle(req: Request, env: Env) -> Result<Response> {
    let config = super::env::config(&env);
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();

    if let (Method::Get, ["healthz"]) = (&method, segments.as_slice()) {
        return healthz::handle(&config);
    }
    let config = match config.as_ref() {
        Ok(c) => c,
        Err(problem) => return respond::error(&ApiError::from(problem.clone())),
    };
    let cx = Cx::new(config, &env);
    use Method::*;
    match (method.clone(), segments.as_slice()) {
        (Post, ["webhooks", "stripe"]) => stripe_webhook::handle(&cx, req).await,
        (Post, ["hooks", "kratos", "registration"]) => kratos_hooks::handle(&cx, req, kratos_hooks::Flow::Registration).await,
        (Post, ["hooks", "kratos", "settings"]) => kratos_hooks::handle(&cx, req, kratos_hooks::Flow::Settings).await,
        (Get, ["v1", "identities", id, "entitlements"]) => identities::guarded(&cx, &req, identities::entitlements(&cx, id)).await,
        (Get, ["v1", "identities", id, "features", feature]) => {
            identities::guarded(&cx, &req, identities::feature(&cx, id, feature)).await
        }
        (Post, ["v1", "identities", id, "sync"]) => identities::guarded(&cx, &req, identities::sync(&cx, id)).await,
        (Post, ["v1", "identities", id, "trial"]) => identities::guarded(&cx, &req, identities::trial(&cx, id)).await,
        (Delete, ["v1", "identities", id]) => identities::guarded(&cx, &req, identities::delete(&cx, id)).await,
        (Get, ["me", "entitlements"]) => me::entitlements(&cx, &req).await,
        (Delete, ["me"]) => me::delete(&cx, &req).await,
        _ => respond::error(&ApiError::not_found(format!("no route for {} {}", method.as_ref(), path))),
    }
}
