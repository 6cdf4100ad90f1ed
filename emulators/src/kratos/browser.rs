//! Browser self-service registration on the public API, the way a Kratos UI
//! (Ory's kratos-selfservice-ui-node, or an app's own pages) drives it:
//!
//! 1. `GET /self-service/registration/browser?return_to=` sets the anti-CSRF
//!    cookie and sends the browser to `registration_ui_url?flow=<id>` (an
//!    AJAX call, `Accept: application/json`, gets the flow instead);
//! 2. the UI reads `GET /self-service/registration/flows?id=` with the
//!    browser's cookies and renders `ui.nodes` as a form posting to `ui.action`;
//! 3. `POST /self-service/registration?flow=` (form or JSON) checks the CSRF
//!    token against the cookie, validates, runs the registration (and its
//!    `after` web hook), sets the session cookie and answers 303 to
//!    `return_to`.
//!
//! What real Kratos refuses is refused here with its error ids: a missing or
//! wrong CSRF token (`security_csrf_violation`), a `return_to` outside the
//! allowed URLs (`self_service_flow_return_to_forbidden`), an expired flow
//! (`self_service_flow_expired`), a signed-in browser starting a flow
//! (`session_already_available`).

use std::time::{Duration, SystemTime};

use axum::extract::{RawQuery, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::clock::rfc3339;
use super::errors::KratosError;
use super::flows::registration;
use super::ids::{new_session_token, new_uuid};
use super::options::{BrowserOptions, SameSite};
use super::public::presented_tokens;
use super::query::{first, parse_query};
use super::state::{AppState, RegistrationFlow};

/// `selfservice.flows.registration.lifespan`'s default.
const FLOW_LIFESPAN: Duration = Duration::from_secs(3600);
/// Kratos' default `session.lifespan`, the session cookie's `Max-Age`.
const SESSION_MAX_AGE: u64 = 24 * 3600;
/// Kratos' password policy: at least this many characters.
const MIN_PASSWORD_LEN: usize = 8;

/// The anti-CSRF cookie's name: one per Kratos instance on a host, as
/// Kratos derives it from its public URL.
fn csrf_cookie_name(app: &AppState) -> String {
    let port = app.public_url().rsplit(':').next().unwrap_or("0");
    format!("csrf_token_{port}")
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"))
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|h| h.split(';')).find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then(|| v.trim().to_string())
    })
}

/// `Set-Cookie` as Kratos writes it: `Path=/`, `HttpOnly`, the configured
/// `SameSite`; `Secure` with `SameSite=None`, which browsers require.
fn set_cookie(name: &str, value: &str, max_age: u64, options: &BrowserOptions) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={}", options.cookie_same_site);
    if options.cookie_same_site == SameSite::None {
        c.push_str("; Secure");
    }
    if let Some(domain) = &options.cookie_domain {
        c.push_str(&format!("; Domain={domain}"));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(l) => (StatusCode::SEE_OTHER, [(LOCATION, l)]).into_response(),
        Err(_) => KratosError::internal().with_reason("redirect target is not a valid header").into_response(),
    }
}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL.
fn origin(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + end])
}

/// Kratos' rule: `return_to` is allowed when it has the default return
/// URL's origin, or an allowed URL's origin and starts with its path.
fn return_to_allowed(options: &BrowserOptions, return_to: &str) -> bool {
    let Some(wanted) = origin(return_to) else { return false };
    let same_origin = |u: &String| origin(u) == Some(wanted);
    options.default_return_url.as_ref().is_some_and(same_origin)
        || options.allowed_return_urls.iter().any(|u| same_origin(u) && return_to.starts_with(u.as_str()))
}

fn forbidden_return_to() -> KratosError {
    KratosError::bad_request("Requested return_to URL is not allowed.")
        .with_id("self_service_flow_return_to_forbidden")
        .with_message("The request was malformed or contained invalid parameters")
}

fn csrf_violation() -> KratosError {
    KratosError::forbidden("Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.")
        .with_id("security_csrf_violation")
        .with_message("the request was rejected to protect you from Cross-Site-Request-Forgery")
}

fn session_already_available() -> KratosError {
    KratosError::bad_request("A valid session was detected and thus registration is not possible.")
        .with_id("session_already_available")
        .with_message("A valid session was detected and thus registration is not possible.")
}

fn signed_in(app: &AppState, headers: &HeaderMap) -> bool {
    let store = app.lock();
    presented_tokens(headers).iter().any(|t| store.session_by_token(t).is_some())
}

/// `GET /self-service/registration/browser`.
pub async fn start_registration(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let pairs = parse_query(query.as_deref().unwrap_or(""));
    let options = app.lock().browser.clone();
    let return_to = first(&pairs, "return_to").filter(|r| !r.is_empty()).map(str::to_string);
    if let Some(r) = &return_to {
        if !return_to_allowed(&options, r) {
            return forbidden_return_to().into_response();
        }
    }
    if signed_in(&app, &headers) {
        if wants_json(&headers) {
            return session_already_available().into_response();
        }
        let to = return_to.or(options.default_return_url.clone()).unwrap_or_else(|| "/".into());
        return see_other(&to);
    }
    let csrf_name = csrf_cookie_name(&app);
    // One token per browser, kept while its cookie lives (as Kratos does).
    let csrf_token = cookie(&headers, &csrf_name).filter(|t| !t.is_empty()).unwrap_or_else(new_session_token);
    let now = SystemTime::now();
    let flow = RegistrationFlow {
        id: new_uuid(),
        csrf_token: csrf_token.clone(),
        return_to,
        request_url: format!(
            "{}/self-service/registration/browser{}",
            app.public_url(),
            query.map(|q| format!("?{q}")).unwrap_or_default()
        ),
        issued_at: now,
        expires_at: now + FLOW_LIFESPAN,
        email: String::new(),
        messages: Vec::new(),
    };
    let body = flow_json(&app, &flow);
    let id = flow.id.clone();
    app.lock().registration_flows.insert(id.clone(), flow);
    let cookie = set_cookie(&csrf_name, &csrf_token, 365 * 24 * 3600, &options);
    let mut response = if wants_json(&headers) {
        Json(body).into_response()
    } else {
        let Some(ui) = options.registration_ui_url else {
            return KratosError::internal()
                .with_reason("selfservice.flows.registration.ui_url is not configured")
                .into_response();
        };
        let sep = if ui.contains('?') { '&' } else { '?' };
        see_other(&format!("{ui}{sep}flow={id}"))
    };
    response.headers_mut().append(SET_COOKIE, cookie);
    response
}

/// The flow `id` when it exists, is not expired and the request carries its
/// anti-CSRF cookie.
fn flow_for(app: &AppState, headers: &HeaderMap, id: Option<&str>) -> Result<RegistrationFlow, KratosError> {
    let Some(id) = id.filter(|i| !i.is_empty()) else {
        return Err(KratosError::bad_request("The flow query parameter is missing or malformed."));
    };
    let flow = app.lock().registration_flows.get(id).cloned().ok_or_else(KratosError::not_found)?;
    if SystemTime::now() > flow.expires_at {
        return Err(KratosError::gone("The self-service flow expired, please retry.")
            .with_id("self_service_flow_expired")
            .with_message("The self-service flow expired"));
    }
    if cookie(headers, &csrf_cookie_name(app)).as_deref() != Some(flow.csrf_token.as_str()) {
        return Err(csrf_violation());
    }
    Ok(flow)
}

/// `GET /self-service/registration/flows?id=`.
pub async fn get_registration_flow(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let pairs = parse_query(query.as_deref().unwrap_or(""));
    match flow_for(&app, &headers, first(&pairs, "id")) {
        Ok(flow) => Json(flow_json(&app, &flow)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// What a submission carries, from a form (`traits.name.first=...`) or JSON.
struct Submission {
    csrf_token: String,
    method: String,
    password: String,
    traits: Value,
}

fn read_submission(headers: &HeaderMap, body: &[u8]) -> Result<Submission, KratosError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("application/json") {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| KratosError::bad_request(format!("Unable to decode the request body as JSON: {e}")))?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        return Ok(Submission {
            csrf_token: text("csrf_token"),
            method: text("method"),
            password: text("password"),
            traits: v.get("traits").cloned().unwrap_or_else(|| json!({})),
        });
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(KratosError::bad_request(
            "Content-Type must be application/x-www-form-urlencoded or application/json",
        ));
    }
    let pairs = parse_query(std::str::from_utf8(body).unwrap_or(""));
    let mut traits = Map::new();
    for (key, value) in &pairs {
        let Some(path) = key.strip_prefix("traits.") else { continue };
        let mut at = &mut traits;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                at.insert(part.to_string(), json!(value));
            } else {
                let next = at.entry(part.to_string()).or_insert_with(|| json!({}));
                if !next.is_object() {
                    *next = json!({});
                }
                at = next.as_object_mut().expect("just made an object");
            }
        }
    }
    let text = |k: &str| first(&pairs, k).unwrap_or("").to_string();
    Ok(Submission {
        csrf_token: text("csrf_token"),
        method: text("method"),
        password: text("password"),
        traits: Value::Object(traits),
    })
}

/// The validation messages Kratos would attach, empty when the submission is valid.
fn validate(s: &Submission) -> Vec<(Option<&'static str>, u64, String)> {
    let mut messages = Vec::new();
    let email = s.traits.get("email").and_then(Value::as_str).unwrap_or("");
    if email.is_empty() {
        messages.push((Some("traits.email"), 4000002, "Property email is missing.".to_string()));
    }
    if s.password.chars().count() < MIN_PASSWORD_LEN {
        let got = s.password.chars().count();
        messages.push((
            Some("password"),
            4000032,
            format!("The password must be at least {MIN_PASSWORD_LEN} characters long, but got {got}."),
        ));
    } else if !email.is_empty() && s.password.eq_ignore_ascii_case(email) {
        messages.push((
            Some("password"),
            4000031,
            "The password can not be used because it is too similar to the identifier.".to_string(),
        ));
    }
    messages
}

/// Answers a failed submission: the flow with its messages, as JSON (400)
/// or a 303 back to the registration UI.
fn failed(
    app: &AppState,
    headers: &HeaderMap,
    mut flow: RegistrationFlow,
    email: &str,
    messages: Vec<(Option<&'static str>, u64, String)>,
) -> Response {
    flow.email = email.to_string();
    flow.messages = messages;
    let body = flow_json(app, &flow);
    let id = flow.id.clone();
    let ui = app.lock().browser.registration_ui_url.clone();
    app.lock().registration_flows.insert(id.clone(), flow);
    match ui {
        Some(ui) if !wants_json(headers) => {
            let sep = if ui.contains('?') { '&' } else { '?' };
            see_other(&format!("{ui}{sep}flow={id}"))
        }
        _ => (StatusCode::BAD_REQUEST, Json(body)).into_response(),
    }
}

/// `POST /self-service/registration?flow=`.
pub async fn submit_registration(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let pairs = parse_query(query.as_deref().unwrap_or(""));
    let flow = match flow_for(&app, &headers, first(&pairs, "flow")) {
        Ok(flow) => flow,
        Err(e) => return e.into_response(),
    };
    let submission = match read_submission(&headers, &body) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    if submission.csrf_token != flow.csrf_token {
        return csrf_violation().into_response();
    }
    if submission.method != "password" {
        return KratosError::bad_request(
            "Could not find a strategy to sign you up with. Did you fill out the form correctly?",
        )
        .into_response();
    }
    let email = submission.traits.get("email").and_then(Value::as_str).unwrap_or("").to_string();
    let messages = validate(&submission);
    if !messages.is_empty() {
        return failed(&app, &headers, flow, &email, messages);
    }
    let outcome = match registration(app.as_ref(), submission.traits).await {
        Ok(outcome) => outcome,
        Err(e) if e.status() == StatusCode::CONFLICT => {
            let text = "An account with the same identifier (email, phone, username, ...) exists already.";
            return failed(&app, &headers, flow, &email, vec![(None, 4000007, text.to_string())]);
        }
        Err(e) => return e.into_response(),
    };
    if let Some(error) = outcome.error {
        return error.into_response();
    }
    let (Some(token), Some(identity)) = (outcome.session_token, outcome.identity) else {
        return KratosError::internal().with_reason("the registration opened no session").into_response();
    };
    let options = {
        let mut store = app.lock();
        store.registration_flows.remove(&flow.id);
        store.browser.clone()
    };
    let cookie = set_cookie("ory_kratos_session", &token, SESSION_MAX_AGE, &options);
    let mut response = if wants_json(&headers) {
        let mut identity = identity;
        if let Some(o) = identity.as_object_mut() {
            o.remove("metadata_admin");
        }
        let session = {
            let store = app.lock();
            store.session_by_token(&token).map(|(s, i)| s.to_json(i, app.public_url()))
        };
        Json(json!({ "identity": identity, "session": session })).into_response()
    } else {
        let to = flow.return_to.or(options.default_return_url).unwrap_or_else(|| "/".into());
        see_other(&to)
    };
    response.headers_mut().append(SET_COOKIE, cookie);
    response
}

fn text(id: u64, text: &str, kind: &str) -> Value {
    json!({ "id": id, "text": text, "type": kind })
}

fn input(
    name: &str,
    kind: &str,
    value: Option<&str>,
    group: &str,
    label: Option<Value>,
    messages: Vec<Value>,
) -> Value {
    let mut attributes = json!({ "name": name, "type": kind, "disabled": false, "node_type": "input" });
    if let Some(v) = value {
        attributes["value"] = json!(v);
    }
    if matches!(name, "traits.email" | "password") {
        attributes["required"] = json!(true);
        attributes["autocomplete"] = json!(if name == "password" { "new-password" } else { "email" });
    }
    let meta = label.map_or_else(|| json!({}), |l| json!({ "label": l }));
    json!({ "type": "input", "group": group, "attributes": attributes, "messages": messages, "meta": meta })
}

/// The flow as `registrationFlow` in Kratos' OpenAPI document.
fn flow_json(app: &AppState, flow: &RegistrationFlow) -> Value {
    let messages_for = |node: &str| -> Vec<Value> {
        flow.messages.iter().filter(|(n, _, _)| *n == Some(node)).map(|(_, id, t)| text(*id, t, "error")).collect()
    };
    let flow_messages: Vec<Value> =
        flow.messages.iter().filter(|(n, _, _)| n.is_none()).map(|(_, id, t)| text(*id, t, "error")).collect();
    let email = (!flow.email.is_empty()).then_some(flow.email.as_str());
    let nodes = vec![
        input("csrf_token", "hidden", Some(&flow.csrf_token), "default", None, vec![]),
        input(
            "traits.email",
            "email",
            email,
            "password",
            Some(text(1070002, "E-Mail", "info")),
            messages_for("traits.email"),
        ),
        input("traits.name.first", "text", None, "password", Some(text(1070002, "First name", "info")), vec![]),
        input("traits.name.last", "text", None, "password", Some(text(1070002, "Last name", "info")), vec![]),
        input(
            "password",
            "password",
            None,
            "password",
            Some(text(1070001, "Password", "info")),
            messages_for("password"),
        ),
        input("method", "submit", Some("password"), "password", Some(text(1040001, "Sign up", "info")), vec![]),
    ];
    let mut ui = json!({
        "action": format!("{}/self-service/registration?flow={}", app.public_url(), flow.id),
        "method": "POST",
        "nodes": nodes,
    });
    if !flow_messages.is_empty() {
        ui["messages"] = json!(flow_messages);
    }
    let mut body = json!({
        "id": flow.id,
        "type": "browser",
        "expires_at": rfc3339(flow.expires_at),
        "issued_at": rfc3339(flow.issued_at),
        "request_url": flow.request_url,
        "ui": ui,
        "state": "choose_method",
    });
    if let Some(r) = &flow.return_to {
        body["return_to"] = json!(r);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(default: Option<&str>, allowed: &[&str]) -> BrowserOptions {
        BrowserOptions {
            default_return_url: default.map(str::to_string),
            allowed_return_urls: allowed.iter().map(|s| s.to_string()).collect(),
            ..BrowserOptions::default()
        }
    }

    #[test]
    fn return_to_must_share_an_allowed_origin_and_path() {
        let o = options(Some("http://127.0.0.1:3000/"), &["http://127.0.0.1:8787/app/"]);
        assert!(return_to_allowed(&o, "http://127.0.0.1:3000/anything?x=1"));
        assert!(return_to_allowed(&o, "http://127.0.0.1:8787/app/reports"));
        assert!(!return_to_allowed(&o, "http://127.0.0.1:8787/admin"));
        assert!(!return_to_allowed(&o, "http://127.0.0.1:30001/"));
        assert!(!return_to_allowed(&o, "http://evil.example/"));
        assert!(!return_to_allowed(&o, "javascript:alert(1)"));
        assert!(!return_to_allowed(&options(None, &[]), "http://127.0.0.1:3000/"));
    }

    #[test]
    fn cookies_are_written_as_kratos_writes_them() {
        let lax = set_cookie("ory_kratos_session", "t", 60, &BrowserOptions::default());
        assert_eq!(lax.to_str().unwrap(), "ory_kratos_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
        let none = BrowserOptions { cookie_same_site: SameSite::None, ..BrowserOptions::default() };
        assert!(set_cookie("a", "b", 1, &none).to_str().unwrap().ends_with("SameSite=None; Secure"));
    }

    #[test]
    fn forms_become_nested_traits() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        let body = b"csrf_token=c&traits.email=a%40b.example&traits.name.first=Ada&method=password&password=x+y";
        let s = read_submission(&h, body).unwrap();
        assert_eq!(s.traits, json!({"email": "a@b.example", "name": {"first": "Ada"}}));
        assert_eq!((s.csrf_token.as_str(), s.method.as_str(), s.password.as_str()), ("c", "password", "x y"));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(read_submission(&h, body).is_err());
    }

    #[test]
    fn short_passwords_and_missing_emails_are_refused() {
        let s = |email: &str, password: &str| Submission {
            csrf_token: String::new(),
            method: "password".into(),
            password: password.into(),
            traits: json!({ "email": email }),
        };
        assert!(validate(&s("a@b.example", "correct horse")).is_empty());
        assert_eq!(validate(&s("a@b.example", "short"))[0].1, 4000032);
        assert_eq!(validate(&s("", "correct horse"))[0].1, 4000002);
        assert_eq!(validate(&s("a@b.example", "A@B.example"))[0].1, 4000031);
    }
}
