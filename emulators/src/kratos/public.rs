//! The public API: `/sessions/whoami` and the identity schema.

use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::errors::KratosError;
use super::identity::IdentityState;
use super::schema::schema_document;
use super::state::AppState;

/// Kratos' self-hosted session cookie name.
const SESSION_COOKIE: &str = "ory_kratos_session";
/// Ory Network's session cookies are named `ory_session_<project slug>`.
const NETWORK_COOKIE_PREFIX: &str = "ory_session_";

/// `GET /sessions/whoami`: the session for the `X-Session-Token`,
/// `Authorization: Bearer` or session cookie presented, else 401.
pub async fn whoami(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let mut store = app.lock();
    store.whoami_calls += 1;
    let found = presented_tokens(&headers)
        .into_iter()
        .find_map(|token| store.session_by_token(&token))
        .filter(|(_, identity)| identity.state == IdentityState::Active);
    let Some((session, identity)) = found else {
        return KratosError::unauthorized("No valid session credentials found in the request.").into_response();
    };
    let body = session.to_json(identity, app.public_url());
    let mut response = Json(body).into_response();
    if let Ok(id) = HeaderValue::from_str(&identity.id) {
        response.headers_mut().insert(HeaderName::from_static("x-kratos-authenticated-identity-id"), id);
    }
    response
}

/// `GET /schemas/{id}`: the identity schema behind `schema_url`.
pub async fn get_schema(Path(id): Path<String>) -> Response {
    if id == "ZGVmYXVsdA" || id == "default" {
        Json(schema_document()).into_response()
    } else {
        KratosError::not_found().into_response()
    }
}

/// Every session token the request carries, in Kratos' order of precedence.
pub(super) fn presented_tokens(headers: &HeaderMap) -> Vec<String> {
    let mut tokens = Vec::new();
    let header = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(t) = header(HeaderName::from_static("x-session-token")) {
        tokens.push(t.trim().to_string());
    }
    if let Some(t) = header(AUTHORIZATION).and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
    {
        tokens.push(t.trim().to_string());
    }
    for cookie_header in headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        for pair in cookie_header.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                if name == SESSION_COOKIE || name.starts_with(NETWORK_COOKIE_PREFIX) {
                    tokens.push(value.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    tokens.retain(|t| !t.is_empty());
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tokens_in_headers_and_cookies() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("a=b; ory_kratos_session=tok1; c=d"));
        h.append(COOKIE, HeaderValue::from_static("ory_session_proj=tok2"));
        h.insert("x-session-token", HeaderValue::from_static("tok0"));
        assert_eq!(presented_tokens(&h), vec!["tok0", "tok1", "tok2"]);
        assert!(presented_tokens(&HeaderMap::new()).is_empty());
    }
}
