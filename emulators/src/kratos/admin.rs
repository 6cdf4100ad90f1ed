//! The admin identities API (`/admin/identities*`) minus PATCH, which lives
//! in `admin_patch.rs`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{LINK, LOCATION};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::clock::now_rfc3339;
use super::errors::{parse_json, KratosError};
use super::identity::{AddressStatus, Identity, IdentityState, View};
use super::query::{all, first, parse_query};
use super::schema::{validate_traits, DEFAULT_SCHEMA_ID};
use super::state::AppState;

/// Kratos' default and maximum `page_size`.
const DEFAULT_PAGE_SIZE: usize = 250;
const MAX_PAGE_SIZE: usize = 500;

/// `GET /admin/identities/{id}`.
pub async fn get_identity(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    match app.lock().identity(&id) {
        Some(i) => Json(i.to_json(View::Admin, app.public_url())).into_response(),
        None => KratosError::not_found().into_response(),
    }
}

/// `GET /admin/identities/by/external/{external_id}`.
pub async fn get_by_external_id(State(app): State<AppState>, Path(external_id): Path<String>) -> Response {
    let store = app.lock();
    let found = store
        .identities()
        .find(|i| i.external_id.as_deref() == Some(external_id.as_str()))
        .map(|i| i.to_json(View::Admin, app.public_url()));
    match found {
        Some(json) => Json(json).into_response(),
        None => KratosError::not_found().into_response(),
    }
}

/// `GET /admin/identities`: `credentials_identifier` (exact, case-insensitive),
/// `ids`, or the whole list paged with `page_size`/`page_token`.
pub async fn list_identities(State(app): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let pairs = parse_query(query.as_deref().unwrap_or(""));
    let store = app.lock();
    let public_url = app.public_url();
    if let Some(identifier) = first(&pairs, "credentials_identifier") {
        let wanted = identifier.to_lowercase();
        let found: Vec<Value> = store
            .identities()
            .filter(|i| i.identifier().as_deref() == Some(wanted.as_str()))
            .map(|i| i.to_json(View::Admin, public_url))
            .collect();
        return Json(found).into_response();
    }
    let ids = all(&pairs, "ids");
    if !ids.is_empty() {
        let found: Vec<Value> = store
            .identities()
            .filter(|i| ids.contains(&i.id.as_str()))
            .map(|i| i.to_json(View::Admin, public_url))
            .collect();
        return Json(found).into_response();
    }
    let page_size = match first(&pairs, "page_size").map(str::parse::<usize>) {
        None => DEFAULT_PAGE_SIZE,
        Some(Ok(n)) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        Some(_) => return KratosError::bad_request("page_size must be between 1 and 500").into_response(),
    };
    let after = match first(&pairs, "page_token").filter(|t| !t.is_empty()) {
        None => None,
        Some(token) => match hex::decode(token).ok().and_then(|b| String::from_utf8(b).ok()) {
            Some(id) => Some(id),
            None => return KratosError::bad_request("The page token is invalid.").into_response(),
        },
    };
    let mut rest = store.identities().filter(|i| after.as_ref().is_none_or(|a| i.id > *a));
    let page: Vec<&Identity> = rest.by_ref().take(page_size).collect();
    let has_more = rest.next().is_some();
    let base =
        format!("{}/admin/identities?page_size={page_size}", app.admin_url.get().map(String::as_str).unwrap_or(""));
    let mut link = format!("<{base}>; rel=\"first\"");
    if let (true, Some(last)) = (has_more, page.last()) {
        link.push_str(&format!(",<{base}&page_token={}>; rel=\"next\"", hex::encode(&last.id)));
    }
    let body: Vec<Value> = page.iter().map(|i| i.to_json(View::Admin, public_url)).collect();
    ([(LINK, link)], Json(body)).into_response()
}

/// `createIdentityBody` (credentials and imported addresses are ignored).
#[derive(Debug, Deserialize)]
struct CreateIdentityBody {
    schema_id: Option<String>,
    traits: Option<Value>,
    metadata_public: Option<Value>,
    metadata_admin: Option<Value>,
    state: Option<String>,
    external_id: Option<String>,
}

/// `POST /admin/identities` -> 201 with the identity and a `Location`.
pub async fn create_identity(State(app): State<AppState>, body: Bytes) -> Response {
    match create(&app, &body) {
        Ok((id, json)) => {
            (StatusCode::CREATED, [(LOCATION, format!("/admin/identities/{id}"))], Json(json)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn create(app: &AppState, body: &[u8]) -> Result<(String, Value), KratosError> {
    let req: CreateIdentityBody = parse_json(body)?;
    let schema_id = req.schema_id.filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_SCHEMA_ID.to_string());
    if schema_id != DEFAULT_SCHEMA_ID {
        return Err(KratosError::bad_request(format!("unable to find JSON Schema ID: {schema_id}")));
    }
    let traits = req.traits.unwrap_or(Value::Null);
    validate_traits(&traits).map_err(KratosError::bad_request)?;
    let mut identity = Identity::new(traits, AddressStatus::Pending);
    if let Some(state) = req.state.filter(|s| !s.is_empty()) {
        identity.state = IdentityState::parse(&state).ok_or_else(|| {
            KratosError::bad_request(format!(
                "The supplied state ('{state}') was not valid. Valid states are ('active', 'inactive')."
            ))
        })?;
        identity.state_changed_at = now_rfc3339();
    }
    identity.metadata_public = req.metadata_public.unwrap_or(Value::Null);
    identity.metadata_admin = req.metadata_admin.unwrap_or(Value::Null);
    identity.external_id = req.external_id.filter(|s| !s.is_empty());
    let json = identity.to_json(View::Admin, app.public_url());
    let id = identity.id.clone();
    app.lock().insert(identity)?;
    Ok((id, json))
}

/// `DELETE /admin/identities/{id}` -> 204, or 404; its sessions go too.
pub async fn delete_identity(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    if app.lock().delete(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        KratosError::not_found().into_response()
    }
}

/// `DELETE /admin/identities/{id}/sessions` -> 204, or 404.
pub async fn delete_identity_sessions(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    if app.lock().delete_sessions(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        KratosError::not_found().into_response()
    }
}
