//! `PATCH /admin/identities/{id}`: a JSON Patch applied to the identity as
//! the admin API shows it, under Kratos' rules.
//!
//! Kratos (ory/x `jsonx.ApplyJSONPatch`) accepts only `add`, `remove` and
//! `replace` and refuses `/id`, `/stateChangedAt` and `/credentials`; the
//! emulator does the same (also refusing `/state_changed_at` and every
//! `/credentials/...` path), and applies the operations strictly and
//! atomically (see `json_patch.rs`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::clock::now_rfc3339;
use super::errors::{parse_json, KratosError};
use super::identity::{AddressStatus, Identity, IdentityState, View};
use super::json_patch::{apply_patch, parse_patch, OpKind, PatchError, PatchOp};
use super::schema::{validate_traits, DEFAULT_SCHEMA_ID};
use super::state::AppState;

/// Operations Kratos lets through (it refuses `move`, `copy` and `test`).
const ALLOWED_OPS: [OpKind; 3] = [OpKind::Add, OpKind::Remove, OpKind::Replace];

/// Paths (and, for `/credentials`, sub-paths) a patch may not touch.
const DENIED_PATHS: [&str; 4] = ["/id", "/stateChangedAt", "/state_changed_at", "/credentials"];

/// `PATCH /admin/identities/{id}` -> 200 with the patched identity.
pub async fn patch_identity(State(app): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    match patch(&app, &id, &body) {
        Ok(json) => Json(json).into_response(),
        Err(e) => e.into_response(),
    }
}

fn patch(app: &AppState, id: &str, body: &[u8]) -> Result<Value, KratosError> {
    let mut store = app.lock();
    let current = store.identity(id).cloned().ok_or_else(KratosError::not_found)?;
    let document: Value = parse_json(body)?;
    let ops = parse_patch(&document).map_err(patch_failed)?;
    check_policy(&ops).map_err(patch_failed)?;
    let before = current.to_json(View::Admin, app.public_url());
    let after = apply_patch(&before, &ops).map_err(patch_failed)?;
    let updated = from_patched(current, &after)?;
    let json = updated.to_json(View::Admin, app.public_url());
    store.update(updated)?;
    Ok(json)
}

/// Kratos' answer to a refused or inapplicable patch.
fn patch_failed(e: PatchError) -> KratosError {
    KratosError::bad_request("An error occured when applying the JSON patch").with_message(e.0)
}

fn check_policy(ops: &[PatchOp]) -> Result<(), PatchError> {
    for op in ops {
        if !ALLOWED_OPS.contains(&op.kind) {
            return Err(PatchError(format!("unsupported operation: {}", op.kind.as_str())));
        }
        let path = op.path.as_str();
        let denied = DENIED_PATHS.contains(&path) || path.starts_with("/credentials/");
        if denied {
            return Err(PatchError(format!("patch includes denied path: {path}")));
        }
    }
    Ok(())
}

/// Reads the patched document back into an identity; derived fields
/// (addresses, credentials, timestamps, `schema_url`) are recomputed.
fn from_patched(mut identity: Identity, doc: &Value) -> Result<Identity, KratosError> {
    let field = |name: &str| doc.get(name).cloned().unwrap_or(Value::Null);
    let schema_id = field("schema_id");
    if schema_id.as_str() != Some(DEFAULT_SCHEMA_ID) {
        return Err(KratosError::bad_request(format!("unable to find JSON Schema ID: {schema_id}")));
    }
    let state = field("state");
    let state = state.as_str().and_then(IdentityState::parse).ok_or_else(|| {
        KratosError::bad_request(format!(
            "The supplied state ('{}') was not valid. Valid states are ('active', 'inactive').",
            state.as_str().unwrap_or_default()
        ))
    })?;
    let traits = field("traits");
    validate_traits(&traits).map_err(KratosError::bad_request)?;
    let external_id = match field("external_id") {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s),
        _ => return Err(KratosError::bad_request("external_id must be a string")),
    };
    if state != identity.state {
        identity.state = state;
        identity.state_changed_at = now_rfc3339();
    }
    identity.traits = traits;
    identity.metadata_public = field("metadata_public");
    identity.metadata_admin = field("metadata_admin");
    identity.external_id = external_id;
    identity.sync_email(AddressStatus::Pending);
    identity.updated_at = now_rfc3339();
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(patch: Value) -> Result<(), PatchError> {
        check_policy(&parse_patch(&patch)?)
    }

    #[test]
    fn refuses_what_kratos_refuses() {
        assert!(policy(json!([{"op": "replace", "path": "/id", "value": "x"}])).is_err());
        assert!(policy(json!([{"op": "add", "path": "/credentials/password", "value": {}}])).is_err());
        assert!(policy(json!([{"op": "remove", "path": "/state_changed_at"}])).is_err());
        assert!(policy(json!([{"op": "test", "path": "/traits", "value": {}}])).is_err());
        assert!(policy(json!([{"op": "copy", "from": "/traits", "path": "/metadata_public"}])).is_err());
        assert!(policy(json!([{"op": "add", "path": "/metadata_admin", "value": {}}])).is_ok());
        assert!(policy(json!([{"op": "add", "path": "/identity", "value": 1}])).is_ok());
    }
}
