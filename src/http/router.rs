//! Dispatches a request to its handler (the table itself is the core's
//! `crate::route`), checks the caller first, and is the one place where an
//! error becomes its JSON answer and where every request is logged.

use worker::wasm_bindgen::JsValue;
use worker::{web_sys, Env, Method, Request, Result};

use super::auth::{refuse_cross_site, require_bearer, require_session};
use super::body::read_bounded;
use super::context::Cx;
use super::edge::{self, Forwarded};
use super::headers::header;
use super::respond::{self, Browsers, Reply};
use super::routes::{admin, billing, gate, healthz, identities, kratos_hooks, stripe_webhook};
use super::{log, request_id};
use crate::config::Config;
use crate::cors::{self, granted_origin};
use crate::error::ApiError;
use crate::identity::IdentityId;
use crate::route::{no_route_message, route, Caller, Matched, Route, Who};

/// The OpenAPI 3.1 document of every route (`docs/openapi.json`), served at
/// `/openapi.json`; the end-to-end tests check answers against it.
const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// The log name of requests forwarded in edge gate mode.
pub const EDGE_ROUTE: &str = "edge";

/// Answers one request; every failure becomes the spec's JSON error. The
/// answer is the runtime's response, or in edge gate mode the promise of
/// the origin's (`edge::Forwarded`).
pub async fn handle(req: Request, env: Env) -> Result<JsValue> {
    let config = super::env::config(&env);
    let id = request_id::of(&req);
    let method = req.method();
    let path = req.path();
    // With BRIDGE_PATH_PREFIX, the bridge's routes live below it only.
    let prefix = config.as_ref().as_ref().ok().and_then(|c| c.bridge_path_prefix.as_deref());
    let bridge_path = match prefix {
        None => Some(path.as_str()),
        Some(p) => path.strip_prefix(p).filter(|rest| rest.is_empty() || rest.starts_with('/')),
    };
    let Some(matched) = bridge_path.and_then(|p| route(method.as_ref(), p)) else {
        // A path no route of the bridge names may be one the rules would
        // gate: with a broken configuration nothing is forwarded or refused
        // as a missing page, it is the configuration error.
        let config = match config.as_ref() {
            Ok(c) => c,
            Err(problem) => return answer("no_route", &id, Err(problem.clone().into()), 0).map(Into::into),
        };
        if let Some(edge_config) = config.edge.as_ref() {
            let cx = Cx::new(config, &env);
            return match edge::handle(&cx, req, edge_config, &id).await {
                // Logged when it settles.
                Ok(Forwarded::Origin(answer)) => Ok(answer.into()),
                Ok(Forwarded::Refused(r)) => answer(EDGE_ROUTE, &id, Ok(r), cx.elapsed_ms()).map(Into::into),
                Err(e) => answer(EDGE_ROUTE, &id, Err(e), cx.elapsed_ms()).map(Into::into),
            };
        }
        let e = ApiError::not_found("not_found", no_route_message(method.as_ref(), &path));
        return answer("no_route", &id, Err(e), 0).map(Into::into);
    };
    if matched.route == Ok(Route::Healthz) {
        return answer(matched.name, &id, healthz::handle(&config, &env).await, 0).map(Into::into);
    }
    let app_url = config.as_ref().as_ref().ok().and_then(|c| c.app_url.get().ok()).map(String::as_str);
    let browsers = match matched.caller {
        Caller::SignedInUser => Browsers::SessionRoute(granted_origin(header(&req, "origin").as_deref(), app_url)),
        _ => Browsers::Nothing,
    };
    if let Ok(Route::Preflight(methods)) = &matched.route {
        let asked = header(&req, "access-control-request-headers");
        let decision = cors::preflight(header(&req, "origin").as_deref(), app_url, asked.as_deref(), methods);
        return answer(matched.name, &id, Ok(respond::preflight(decision)), 0).map(Into::into);
    }
    let config = match config.as_ref() {
        Ok(c) => c,
        Err(problem) => {
            let e = Err(problem.clone().into());
            return answer_browsers(matched.name, &id, e, 0, browsers).map(Into::into);
        }
    };
    let cx = Cx::new(config, &env);
    let name = matched.name;
    let result = dispatch(&cx, req, matched).await;
    answer_browsers(name, &id, result, cx.elapsed_ms(), browsers).map(Into::into)
}

/// The log line of a request the origin answered (its answer untouched:
/// no `X-Request-Id`; the id is here).
pub fn log_forwarded(request_id: &str, status: u16, duration_ms: u64) {
    log::Line::new("request")
        .field("request_id", request_id)
        .field("route", EDGE_ROUTE)
        .field("status", &status)
        .field("outcome", "forwarded")
        .field("duration_ms", &duration_ms)
        .write();
}

/// Checks the caller, then runs the route.
async fn dispatch(cx: &Cx<'_>, mut req: Request, matched: Matched) -> std::result::Result<Reply, ApiError> {
    let signed_in = match matched.caller {
        Caller::Anyone => None,
        Caller::ApiClient => {
            require_api_token(cx.config, &req)?;
            None
        }
        Caller::SignedInUser => {
            if req.method() != Method::Get {
                refuse_cross_site(cx, &req)?;
            }
            Some(require_session(cx, &req).await?)
        }
    };
    let whose = |who: Who| -> std::result::Result<IdentityId, ApiError> {
        match who {
            Who::Identity(id) => Ok(id),
            Who::SignedIn => signed_in.clone().ok_or_else(|| ApiError::unauthorized("sign in first")),
        }
    };
    let route = matched.route?;
    if !route.reads_its_body() && req.method() != Method::Get {
        // Nothing here takes a body, but an oversized one is still refused.
        read_bounded(&mut req).await?;
    }
    match route {
        Route::Healthz => Err(ApiError::internal("healthz is answered before dispatch")),
        Route::OpenApi => respond::json_text(OPENAPI),
        Route::StripeWebhook => stripe_webhook::handle(cx, req).await,
        Route::KratosHook(flow) => kratos_hooks::handle(cx, req, flow).await,
        Route::Entitlements(who) => identities::entitlements(cx, &whose(who)?).await,
        Route::Feature(id, feature) => identities::feature(cx, &id, &feature).await,
        Route::Sync(id) => identities::sync(cx, &id).await,
        Route::Trial(id) => identities::trial(cx, &id).await,
        Route::DeleteAccount(who) => identities::delete(cx, &whose(who)?).await,
        Route::Gate(feature) => gate::handle(cx, &req, &whose(Who::SignedIn)?, &feature).await,
        Route::Checkout => billing::checkout(cx, req, &whose(Who::SignedIn)?).await,
        Route::Portal => billing::portal(cx, &req, &whose(Who::SignedIn)?).await,
        Route::Backfill => admin::backfill(cx).await,
        Route::Reconciliation => admin::reconciliation(cx).await,
        Route::Preflight(_) => Err(ApiError::internal("a preflight is answered before dispatch")),
    }
}

/// The server-to-server API's token check (`BRIDGE_API_TOKEN`).
fn require_api_token(config: &Config, req: &Request) -> std::result::Result<(), ApiError> {
    require_bearer(req, config.bridge_api_token.get()?)
}

/// Turns a handler's result into the response, with its `X-Request-Id`,
/// logging one line for it: the request id, the route's name (never an id
/// or a query), the status, the outcome (`ok` or the error's code), the
/// duration, and for a failure its message and what an upstream said.
pub fn answer(
    route: &str,
    request_id: &str,
    result: std::result::Result<Reply, ApiError>,
    duration_ms: u64,
) -> Result<web_sys::Response> {
    answer_browsers(route, request_id, result, duration_ms, Browsers::Nothing)
}

/// [`answer`], telling browsers `browsers` (a signed-in user's route:
/// `Vary: Origin`, and CORS for `APP_URL`'s origin), denials and errors
/// included, so that the app's page can read why it was refused.
fn answer_browsers(
    route: &str,
    request_id: &str,
    result: std::result::Result<Reply, ApiError>,
    duration_ms: u64,
    browsers: Browsers,
) -> Result<web_sys::Response> {
    let line = log::Line::new("request").field("request_id", request_id).field("route", route);
    let (reply, line) = match result {
        Ok(r) => {
            let status = r.status();
            (r, line.field("status", &status).field("outcome", "ok"))
        }
        Err(e) => {
            let line = line
                .field("status", &e.status)
                .field("outcome", e.code)
                .field("error", e.code)
                .field("message", &e.message)
                .field("upstream", &e.upstream);
            (respond::error(&e), line)
        }
    };
    line.field("duration_ms", &duration_ms).write();
    let reply = match browsers {
        Browsers::Nothing => reply,
        session_route => reply.for_browsers(session_route),
    };
    Ok(reply.into_raw(request_id)?)
}
