//! Which handler answers which method and path (spec: "Routes").

use worker::{Env, Method, Request, Response, Result};

use super::respond;
use super::routes;
use crate::error::ApiError;

/// Answers one request; every failure becomes the spec's JSON error.
pub async fn handle(req: Request, env: Env) -> Result<Response> {
    let config = super::env::config(&env);
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();

    if let (Method::Get, ["healthz"]) = (&method, segments.as_slice()) {
        return routes::healthz::handle(&config);
    }
    let config = match config.as_ref() {
        Ok(c) => c,
        Err(problem) => return respond::error(&ApiError::from(problem.clone())),
    };
    let _ = config;
    respond::error(&ApiError::not_found(format!("no route for {} {}", method.as_ref(), path)))
}
