//! The `/v1` request pipeline: auth, parameter parsing, idempotency keys and
//! injected faults, in the order Stripe applies them, around every handler.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::app::{App, Ctx};
use super::auth::authorize;
use super::errors::{ApiError, NotSaved};
use super::expand;
use super::faults::FaultKind;
use super::form;
use super::idempotency::{Begin, Fingerprint, SavedResponse};
use super::ids;
use super::params::Params;
use super::resources::event::API_VERSION;
use crate::holds;

const MAX_BODY: usize = 1 << 20;

/// The catch-all route for `/v1` URLs the emulator does not serve.
pub(crate) const UNMATCHED: &str = "/v1/{*rest}";

/// Middleware for every `/v1` route.
///
/// Every call is counted (`/_emulator/requests`) on arrival, before
/// anything can refuse it: failed auth, unreadable or invalid parameters,
/// idempotency conflicts and replays, injected faults (a `hang` even if the
/// caller gives up), handler errors and unknown `/v1` URLs all count, as
/// each would be a round trip to Stripe (and count against its rate limit).
pub(crate) async fn api_layer(State(app): State<App>, request: Request, next: Next) -> Response {
    count(&app, &request);
    let request_id = ids::new_id("req_", 14);
    let held = app.holds.take(request.method(), request.uri().path());
    let mut response = match held {
        Some(held) => holds::serve(held, run(&app, &request_id, request, next)).await,
        None => run(&app, &request_id, request, next).await,
    };
    let headers = response.headers_mut();
    if !headers.contains_key("request-id") {
        insert(headers, "request-id", &request_id);
    }
    insert(headers, "stripe-version", API_VERSION);
    response
}

/// Counts `request` under its method and matched route pattern (ids
/// collapse into `{id}`); a path only the `/v1/{*rest}` catch-all matched
/// counts under its raw path.
fn count(app: &App, request: &Request) {
    let path = request.uri().path();
    let route = match request.extensions().get::<MatchedPath>() {
        Some(matched) if matched.as_str() != UNMATCHED => matched.as_str(),
        _ => path,
    };
    app.lock().requests.record(request.method().as_str(), route);
}

async fn run(app: &App, request_id: &str, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let api_key = app.lock().api_key.clone();
    if let Err(err) = authorize(&parts.headers, &api_key) {
        return err.into_response();
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return ApiError::bad_request("The request body could not be read.".to_string()).into_response();
    };
    let params = match read_params(parts.uri.query(), &bytes) {
        Ok(params) => params,
        Err(err) => return err.into_response(),
    };
    // `expand[]` is checked against what the route answers before anything
    // executes (an unknown URL has nothing to check and answers 404).
    let shape = parts.extensions.get::<MatchedPath>().and_then(|m| expand::answer_shape(&parts.method, m.as_str()));
    if let Some(shape) = shape {
        if let Err(err) = expand::validate(shape, &params) {
            return err.into_response();
        }
    }
    let key = match idempotency_key(&parts.headers, &parts.method) {
        Ok(key) => key,
        Err(err) => return err.into_response(),
    };
    let path = parts.uri.path().to_string();
    let mut ctx = parts.extensions.get::<Ctx>().cloned().unwrap_or_default();
    ctx.request_id = Some(request_id.to_string());
    ctx.idempotency_key = key.clone();
    parts.extensions.insert(ctx);

    let guard = match key {
        None => None,
        Some(key) => {
            let fingerprint =
                Fingerprint { method: parts.method.to_string(), path: path.clone(), params: canonical(&params.0) };
            let begin = app.lock().idempotency.begin(&key, fingerprint);
            match begin {
                Begin::Proceed => Some(KeyGuard { app: app.clone(), key: Some(key) }),
                Begin::Replay(saved) => return replay(saved, &key),
                Begin::Refuse(err) => return with_key(err.into_response(), &key),
            }
        }
    };
    let fault = app.lock().faults.take(&path);
    let delay = match fault {
        Some(FaultKind::Slow(delay)) => Some(delay),
        Some(FaultKind::SavedServerError { executed }) => {
            if executed {
                parts.extensions.insert(params);
                let _ = next.run(Request::from_parts(parts, Body::empty())).await;
            }
            let response = ApiError::server_error_while_executing().into_response();
            return match guard {
                None => response,
                Some(guard) => guard.finish(response, request_id).await,
            };
        }
        Some(kind) => return fault_response(kind).await,
        None => None,
    };
    parts.extensions.insert(params);
    let response = next.run(Request::from_parts(parts, Body::empty())).await;
    let response = match guard {
        None => response,
        Some(guard) => guard.finish(response, request_id).await,
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

/// Query string and form body merged (the body wins on a clash).
fn read_params(query: Option<&str>, body: &Bytes) -> Result<Params, ApiError> {
    let bad = |e: form::FormError| ApiError::bad_request(e.to_string());
    let mut merged = match form::parse(query.unwrap_or(""))? {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let body = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("The body is not UTF-8.".to_string()))?;
    if let Value::Object(map) = form::parse(body).map_err(bad)? {
        merged.extend(map);
    }
    Ok(Params(merged))
}

impl From<form::FormError> for ApiError {
    fn from(e: form::FormError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

fn idempotency_key(headers: &HeaderMap, method: &Method) -> Result<Option<String>, ApiError> {
    if method != Method::POST && method != Method::DELETE {
        return Ok(None);
    }
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| ApiError::bad_request("Invalid Idempotency-Key header.".to_string()))?;
    if key.len() > 255 {
        return Err(ApiError::bad_request(
            "Idempotency-Key is too long: keys must be at most 255 characters.".to_string(),
        ));
    }
    Ok(if key.is_empty() { None } else { Some(key.to_string()) })
}

/// Parameters serialised with every object's keys sorted, so order does not matter.
fn canonical(params: &Map<String, Value>) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Array(
                    entries.into_iter().map(|(k, v)| Value::Array(vec![Value::String(k.clone()), sorted(v)])).collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(&Value::Object(params.clone())).to_string()
}

/// Holds a key as "executing" until the handler's answer is saved; dropping
/// it unsaved (fault, cancelled request) releases the key.
struct KeyGuard {
    app: App,
    key: Option<String>,
}

impl KeyGuard {
    async fn finish(mut self, response: Response, request_id: &str) -> Response {
        let Some(key) = self.key.take() else {
            return response;
        };
        if response.extensions().get::<NotSaved>().is_some() {
            self.app.lock().idempotency.release(&key);
            return with_key(response, &key);
        }
        let (parts, body) = response.into_parts();
        let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
        let saved =
            SavedResponse { status: parts.status.as_u16(), body: bytes.clone(), request_id: request_id.to_string() };
        self.app.lock().idempotency.save(&key, saved);
        with_key(Response::from_parts(parts, Body::from(bytes)), &key)
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.app.lock().idempotency.release(&key);
        }
    }
}

fn replay(saved: SavedResponse, key: &str) -> Response {
    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, saved.body).into_response();
    let headers = response.headers_mut();
    insert(headers, "content-type", "application/json");
    insert(headers, "idempotent-replayed", "true");
    insert(headers, "original-request", &saved.request_id);
    insert(headers, "request-id", &saved.request_id);
    with_key(response, key)
}

fn with_key(mut response: Response, key: &str) -> Response {
    insert(response.headers_mut(), "idempotency-key", key);
    response
}

async fn fault_response(kind: FaultKind) -> Response {
    let err = match kind {
        FaultKind::ServerError => ApiError::server_error(),
        FaultKind::RateLimit => ApiError::rate_limited(),
        FaultKind::Hang(duration) => {
            tokio::time::sleep(duration).await;
            ApiError::server_error()
        }
        // Served normally by the caller; never answered from here.
        FaultKind::Slow(_) | FaultKind::SavedServerError { .. } => ApiError::server_error(),
    };
    let mut response = err.into_response();
    insert(response.headers_mut(), "stripe-should-retry", "true");
    response
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}
