//! `/_emulator/*`: JSON controls for tests and the dev run (set up
//! identities and sessions, run flows, fire hooks, inject faults, inspect
//! state). Never behind the admin token or faults.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::{parse_json, KratosError};
use super::faults::{FaultRequest, FaultRule};
use super::fire::fire;
use super::flows::{registration, settings};
use super::hooks::{HookFlow, HookResult};
use super::identity::{AddressStatus, Identity, View};
use super::options::{BrowserOptions, HookOptions, SameSite};
use super::schema::validate_traits;
use super::state::AppState;

/// The control routes, to merge into the admin listener's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_emulator/hooks", post(set_hooks))
        .route("/_emulator/hooks/fire", post(fire_hooks))
        .route("/_emulator/browser", post(set_browser))
        .route("/_emulator/identities", post(create_identity))
        .route("/_emulator/identities/{id}/verify", post(verify_email))
        .route("/_emulator/sessions", post(create_session))
        .route("/_emulator/flows/registration", post(registration_flow))
        .route("/_emulator/flows/settings", post(settings_flow))
        .route("/_emulator/faults", post(add_fault).delete(clear_faults))
        .route("/_emulator/state", get(state))
}

fn answer(result: Result<Value, KratosError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct AuthHeader {
    name: String,
    value: String,
}

#[derive(Deserialize)]
struct HooksRequest {
    registration_url: Option<String>,
    settings_url: Option<String>,
    auth: Option<AuthHeader>,
    #[serde(default)]
    parse: bool,
    timeout_ms: Option<u64>,
    retry_backoff_ms: Option<u64>,
}

/// Replaces URLs, auth and parse (absent = unset); timing is kept unless given.
async fn set_hooks(State(app): State<AppState>, body: Bytes) -> Response {
    answer((|| {
        let req: HooksRequest = parse_json(&body)?;
        if let Some(a) = &req.auth {
            let valid = HeaderName::from_bytes(a.name.as_bytes()).is_ok() && HeaderValue::from_str(&a.value).is_ok();
            if !valid {
                return Err(KratosError::bad_request("auth.name/auth.value is not a valid HTTP header"));
            }
        }
        let mut store = app.lock();
        let old = &store.hooks;
        let hooks = HookOptions {
            registration_url: req.registration_url,
            settings_url: req.settings_url,
            auth: req.auth.map(|a| (a.name, a.value)),
            parse: req.parse,
            timeout: req.timeout_ms.map(Duration::from_millis).unwrap_or(old.timeout),
            retry_backoff: req.retry_backoff_ms.map(Duration::from_millis).unwrap_or(old.retry_backoff),
        };
        let summary = json!({
            "registration_url": hooks.registration_url,
            "settings_url": hooks.settings_url,
            "auth_header": hooks.auth.as_ref().map(|(name, _)| name),
            "parse": hooks.parse,
            "timeout_ms": hooks.timeout.as_millis() as u64,
            "retry_backoff_ms": hooks.retry_backoff.as_millis() as u64,
        });
        store.hooks = hooks;
        Ok(summary)
    })())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BrowserRequest {
    registration_ui_url: Option<String>,
    default_return_url: Option<String>,
    #[serde(default)]
    allowed_return_urls: Vec<String>,
    cookie_same_site: Option<String>,
    cookie_domain: Option<String>,
}

/// `POST /_emulator/browser`: replaces the browser settings (what
/// `kratos.yml` says about the registration UI, return URLs and the session
/// cookie); absent fields are unset, the cookie's `SameSite` is then `Lax`.
async fn set_browser(State(app): State<AppState>, body: Bytes) -> Response {
    answer((|| {
        let req: BrowserRequest = parse_json(&body)?;
        let cookie_same_site = match req.cookie_same_site {
            Some(s) => s.parse().map_err(KratosError::bad_request)?,
            None => SameSite::default(),
        };
        let browser = BrowserOptions {
            registration_ui_url: req.registration_ui_url,
            default_return_url: req.default_return_url,
            allowed_return_urls: req.allowed_return_urls,
            cookie_same_site,
            cookie_domain: req.cookie_domain,
        };
        let summary = json!({
            "registration_ui_url": browser.registration_ui_url,
            "default_return_url": browser.default_return_url,
            "allowed_return_urls": browser.allowed_return_urls,
            "cookie_same_site": browser.cookie_same_site.to_string(),
            "cookie_domain": browser.cookie_domain,
        });
        app.lock().browser = browser;
        Ok(summary)
    })())
}

#[derive(Deserialize)]
struct IdentityRequest {
    traits: Value,
    metadata_public: Option<Value>,
    metadata_admin: Option<Value>,
    /// The email address is verified already (its verification flow done).
    #[serde(default)]
    verified: bool,
}

/// Creates a signed-up identity plus a session; fires no hook.
async fn create_identity(State(app): State<AppState>, body: Bytes) -> Response {
    answer((|| {
        let req: IdentityRequest = parse_json(&body)?;
        validate_traits(&req.traits).map_err(KratosError::bad_request)?;
        let mut identity = Identity::new(req.traits, AddressStatus::Sent);
        identity.metadata_public = req.metadata_public.unwrap_or(Value::Null);
        identity.metadata_admin = req.metadata_admin.unwrap_or(Value::Null);
        if req.verified {
            identity.verify_email();
        }
        let json = identity.to_json(View::Admin, app.public_url());
        let id = identity.id.clone();
        let mut store = app.lock();
        store.insert(identity)?;
        let token = store.open_session(&id)?;
        Ok(json!({ "identity": json, "session_token": token }))
    })())
}

/// The identity's user completes the verification flow of its email
/// address: `verifiable_addresses[0]` becomes `verified` (`completed`).
async fn verify_email(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    let mut store = app.lock();
    let Some(mut identity) = store.identity(&id).cloned() else { return KratosError::not_found().into_response() };
    if !identity.verify_email() {
        return KratosError::bad_request("the identity has no email address to verify").into_response();
    }
    let json = identity.to_json(View::Admin, app.public_url());
    match store.update(identity) {
        Ok(()) => Json(json).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct SessionRequest {
    identity_id: String,
}

/// Opens one more session for an existing identity.
async fn create_session(State(app): State<AppState>, body: Bytes) -> Response {
    answer((|| {
        let req: SessionRequest = parse_json(&body)?;
        let token = app.lock().open_session(&req.identity_id)?;
        Ok(json!({ "session_token": token }))
    })())
}

#[derive(Deserialize)]
struct RegistrationRequest {
    traits: Value,
}

async fn registration_flow(State(app): State<AppState>, body: Bytes) -> Response {
    let req: RegistrationRequest = match parse_json(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    answer(registration(&app, req.traits).await.map(|o| o.to_json()))
}

#[derive(Deserialize)]
struct SettingsRequest {
    identity_id: String,
    traits: Value,
}

async fn settings_flow(State(app): State<AppState>, body: Bytes) -> Response {
    let req: SettingsRequest = match parse_json(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    answer(settings(&app, &req.identity_id, req.traits).await.map(|o| o.to_json()))
}

#[derive(Deserialize)]
struct FireRequest {
    flow: String,
    identity_id: String,
    times: Option<u32>,
    #[serde(default)]
    concurrent: bool,
}

async fn fire_hooks(State(app): State<AppState>, body: Bytes) -> Response {
    let req: FireRequest = match parse_json(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let Some(flow) = HookFlow::parse(&req.flow) else {
        return KratosError::bad_request("flow must be \"registration\" or \"settings\"").into_response();
    };
    let results = fire(&app, flow, &req.identity_id, req.times.unwrap_or(1), req.concurrent).await;
    answer(results.map(|r| Value::Array(r.iter().map(HookResult::to_json).collect())))
}

async fn add_fault(State(app): State<AppState>, body: Bytes) -> Response {
    answer((|| {
        let req: FaultRequest = parse_json(&body)?;
        let rule = FaultRule::from_request(req).map_err(KratosError::bad_request)?;
        app.lock().faults.add(rule);
        Ok(json!({ "ok": true }))
    })())
}

async fn clear_faults(State(app): State<AppState>) -> StatusCode {
    app.lock().faults.clear();
    StatusCode::NO_CONTENT
}

/// Everything stored: identities (admin view), sessions, every hook attempt,
/// and how many `/sessions/whoami` calls were answered.
async fn state(State(app): State<AppState>) -> Json<Value> {
    let store = app.lock();
    let identities: Vec<Value> = store.identities().map(|i| i.to_json(View::Admin, app.public_url())).collect();
    let sessions: Vec<Value> = store.sessions().iter().map(|s| s.to_state_json()).collect();
    Json(json!({
        "identities": identities,
        "sessions": sessions,
        "hook_calls": store.hook_calls,
        "whoami_calls": store.whoami_calls,
    }))
}
