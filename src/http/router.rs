//! Dispatches a request to its handler (the table itself is the core's
//! `crate::web::route`), checks the caller first, and is the one place where an
//! error becomes its JSON answer and where every request is logged.

use worker::wasm_bindgen::JsValue;
use worker::{Env, Method, Request};

use super::answer::{answer, EDGE_ROUTE};
use super::auth::{refuse_cross_site, require_bearer, require_session};
use super::body::read_bounded;
use super::context::Cx;
use super::headers::header;
use super::origin::{gate_and_forward, ForOrigin};
use super::request_id;
use super::respond::{self, Browsers, Reply};
use super::routes::{admin, billing, gate, gateway, healthz, identities, kratos_hooks, stripe_webhook, usage};
use crate::config::{Config, ConfigProblem};
use crate::error::ApiError;
use crate::health;
use crate::identity::IdentityId;
use crate::web::cors::{self, granted_origin};
use crate::web::route::{no_route_message, route, Caller, Matched, Route, Who};

/// The OpenAPI 3.1 document of every route (`docs/openapi.json`), served at
/// `/openapi.json`; the end-to-end tests check answers against it.
const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// Answers one request; every failure becomes the spec's JSON error. The
/// answer is the runtime's response, or in edge gate mode the promise of
/// the origin's (`origin::ForOrigin`).
pub async fn respond(req: Request, env: Env) -> Result<JsValue, ApiError> {
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
        return not_the_bridges(req, &env, &config, &id).await;
    };
    if matched.route == Ok(Route::Healthz) {
        if health::wants_deep(req.url().ok().as_ref().and_then(|u| u.query())) {
            return deep_health(&req, &env, &config, &id).await;
        }
        return answer(matched.name, &id, healthz::check_health(&config, &env).await, 0, Browsers::Nothing);
    }
    let app_url = config.as_ref().as_ref().ok().and_then(|c| c.app_url.get().ok()).map(String::as_str);
    let browsers = match matched.caller {
        Caller::SignedInUser => Browsers::SessionRoute(granted_origin(header(&req, "origin").as_deref(), app_url)),
        _ => Browsers::Nothing,
    };
    if let Ok(Route::Preflight(methods)) = &matched.route {
        let asked = header(&req, "access-control-request-headers");
        let decision = cors::preflight(header(&req, "origin").as_deref(), app_url, asked.as_deref(), methods);
        return answer(matched.name, &id, Ok(respond::preflight(decision)), 0, Browsers::Nothing);
    }
    let config = match config.as_ref() {
        Ok(c) => c,
        Err(problem) => return answer(matched.name, &id, Err(problem.clone().into()), 0, browsers),
    };
    let cx = Cx::new(config, &env, &id);
    let name = matched.name;
    let result = dispatch(&cx, req, matched).await;
    answer(name, &id, result, cx.elapsed_ms(), browsers)
}

/// `GET /healthz?deep=1`: for the API token only (it calls Stripe and
/// Kratos); a broken configuration is its `invalid_config`, as on every
/// token route.
async fn deep_health(
    req: &Request,
    env: &Env,
    config: &Result<Config, ConfigProblem>,
    id: &str,
) -> Result<JsValue, ApiError> {
    const NAME: &str = "GET /healthz?deep=1";
    let config = match config {
        Ok(c) => c,
        Err(problem) => return answer(NAME, id, Err(problem.clone().into()), 0, Browsers::Nothing),
    };
    let cx = Cx::new(config, env, id);
    let result = match require_api_token(config, req) {
        Ok(()) => healthz::deep_check(&cx).await,
        Err(e) => Err(e),
    };
    answer(NAME, id, result, cx.elapsed_ms(), Browsers::Nothing)
}

/// A request no route of the bridge names: edge gate mode's (gated, then
/// forwarded), else a 404. With a broken configuration it is the
/// configuration error: the path may be one the rules would gate, and it
/// is never forwarded unchecked nor called a missing page.
async fn not_the_bridges(
    req: Request,
    env: &Env,
    config: &Result<Config, ConfigProblem>,
    id: &str,
) -> Result<JsValue, ApiError> {
    let config = match config {
        Ok(c) => c,
        Err(problem) => return answer("no_route", id, Err(problem.clone().into()), 0, Browsers::Nothing),
    };
    let Some(origin_url) = config.gate.origin_url.as_deref() else {
        let e = ApiError::not_found("not_found", no_route_message(req.method().as_ref(), &req.path()));
        return answer("no_route", id, Err(e), 0, Browsers::Nothing);
    };
    let cx = Cx::new(config, env, id);
    match gate_and_forward(&cx, req, origin_url, id).await {
        // Logged when it settles.
        Ok(ForOrigin::Forwarded(promise)) => Ok(promise),
        Ok(ForOrigin::Refused(r)) => answer(EDGE_ROUTE, id, Ok(r), cx.elapsed_ms(), Browsers::Nothing),
        Err(e) => answer(EDGE_ROUTE, id, Err(e), cx.elapsed_ms(), Browsers::Nothing),
    }
}

/// Checks the caller, then runs the route.
async fn dispatch(cx: &Cx<'_>, mut req: Request, matched: Matched) -> Result<Reply, ApiError> {
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
    let whose = |who: Who| -> Result<IdentityId, ApiError> {
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
        Route::StripeWebhook => stripe_webhook::receive_stripe_event(cx, req).await,
        Route::KratosHook(flow) => kratos_hooks::receive_kratos_hook(cx, req, flow).await,
        Route::Entitlements(who) => identities::entitlements(cx, &whose(who)?).await,
        Route::Feature(id, feature) => identities::feature(cx, &id, &feature).await,
        Route::Sync(id) => identities::sync(cx, &id).await,
        Route::Trial(id) => identities::trial(cx, &id).await,
        Route::DeleteAccount(who) => identities::delete(cx, &whose(who)?).await,
        Route::Gate(feature) => gate::gate_feature(cx, &req, &whose(Who::SignedIn)?, &feature).await,
        Route::Checkout => billing::checkout(cx, req, &whose(Who::SignedIn)?).await,
        Route::Portal => billing::portal(cx, &req, &whose(Who::SignedIn)?).await,
        Route::Backfill => admin::backfill(cx).await,
        Route::Reconciliation => admin::reconciliation(cx).await,
        Route::Preflight(_) => Err(ApiError::internal("a preflight is answered before dispatch")),
        Route::TestPanic if cx.config.test_panic_route => {
            // Past the first poll (a KV read), as a panic in a handler would be.
            cx.store().ping().await?;
            panic!("GET /__test/panic (TEST_PANIC_ROUTE)")
        }
        Route::TestPanic => Err(ApiError::not_found("not_found", no_route_message("GET", "/__test/panic"))),
        Route::AuthForward => gateway::decide_for_proxy(cx, &req).await,
        Route::Jwks => gateway::signing_keys(cx),
        Route::HydraTokenHook => gateway::hydra_token_claims(cx, req).await,
        Route::Consume(id, meter) => usage::consume(cx, req, &id, &meter).await,
        Route::Usage(who, meter) => usage::balance(cx, &whose(who)?, &meter).await,
    }
}

/// The server-to-server API's token check (`BRIDGE_API_TOKEN`).
fn require_api_token(config: &Config, req: &Request) -> Result<(), ApiError> {
    require_bearer(req, config.bridge_api_token.get()?)
}
