//! Self-service registration and settings flows, run in the order Kratos
//! runs them around the `after` web hook (with or without `response.parse`).

use serde_json::{json, Value};

use super::errors::KratosError;
use super::hook_answer::Changes;
use super::hooks::{deliver, hook_body, HookFlow, HookResult};
use super::identity::{AddressStatus, Identity, View};
use super::ids::{new_uuid, NIL_UUID};
use super::schema::validate_traits;
use super::state::Shared;

/// How a flow ended: what was persisted, the session it opened, the hook
/// delivery, and why the flow failed if it did.
#[derive(Debug)]
pub struct FlowOutcome {
    /// The persisted identity (admin view) as stored when the flow ended (so
    /// it includes what the hook receiver wrote back through the admin API);
    /// `None` when nothing was persisted.
    pub identity: Option<Value>,
    /// The new session's token (registration only, when the flow succeeded).
    pub session_token: Option<String>,
    /// The hook delivery, `None` when no hook URL is configured.
    pub hook: Option<HookResult>,
    /// The error the user would have seen, `None` on success.
    pub error: Option<KratosError>,
}

impl FlowOutcome {
    /// `{"identity", "session_token", "hook", "error"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "identity": self.identity,
            "session_token": self.session_token,
            "hook": self.hook.as_ref().map(HookResult::to_json),
            "error": self.error.as_ref().map(KratosError::body),
        })
    }
}

/// Registers a new identity. Without parse: persist, fire, open a session
/// when the hook succeeded. With parse: fire with the nil UUID first; a
/// failure aborts with nothing persisted.
pub async fn registration(app: &Shared, traits: Value) -> Result<FlowOutcome, KratosError> {
    validate_traits(&traits).map_err(KratosError::bad_request)?;
    let hooks = app.lock().hooks.clone();
    let mut candidate = Identity::new(traits.clone(), AddressStatus::Sent);
    app.lock().check_unique(&candidate)?;
    let flow_id = new_uuid();
    let Some(url) = hooks.registration_url else {
        let (identity, token) = persist_with_session(app, candidate)?;
        return Ok(FlowOutcome { identity: Some(identity), session_token: Some(token), hook: None, error: None });
    };
    if !hooks.parse {
        let identity = persist(app, candidate.clone())?;
        let body = hook_body(candidate.to_json(View::Public, app.public_url()), &flow_id);
        let hook = deliver(app, HookFlow::Registration, &url, &body).await;
        let (session_token, error) = match hook.ok() {
            true => (app.lock().open_session(&candidate.id).ok(), None),
            false => (None, Some(failed_hook_error(&hook))),
        };
        let identity = current_json(app, &candidate.id).unwrap_or(identity);
        return Ok(FlowOutcome { identity: Some(identity), session_token, hook: Some(hook), error });
    }
    let mut pre = candidate.to_json(View::Public, app.public_url());
    pre["id"] = json!(NIL_UUID);
    let hook = deliver(app, HookFlow::Registration, &url, &hook_body(pre, &flow_id)).await;
    let mut changes = Changes::traits(traits);
    if let Err(error) = check_ok(&hook).and_then(|_| changes.absorb(&hook)) {
        return Ok(FlowOutcome { identity: None, session_token: None, hook: Some(hook), error: Some(error) });
    }
    changes.apply_to(&mut candidate);
    candidate.updated_at = candidate.created_at.clone();
    let (identity, token) = persist_with_session(app, candidate)?;
    Ok(FlowOutcome { identity: Some(identity), session_token: Some(token), hook: Some(hook), error: None })
}

/// Changes an identity's traits through the settings (profile) flow.
/// Without parse: apply, then fire. With parse: fire with the new traits
/// first; a failure leaves the identity untouched.
pub async fn settings(app: &Shared, identity_id: &str, traits: Value) -> Result<FlowOutcome, KratosError> {
    validate_traits(&traits).map_err(KratosError::bad_request)?;
    let hooks = app.lock().hooks.clone();
    let mut changes = Changes::traits(traits);
    let mut preview = app.lock().identity(identity_id).cloned().ok_or_else(KratosError::not_found)?;
    changes.apply_to(&mut preview);
    app.lock().check_unique(&preview)?;
    let flow_id = new_uuid();
    let Some(url) = hooks.settings_url else {
        let identity = update(app, identity_id, &changes)?;
        return Ok(FlowOutcome { identity: Some(identity), session_token: None, hook: None, error: None });
    };
    if !hooks.parse {
        let identity = update(app, identity_id, &changes)?;
        let body = {
            let store = app.lock();
            let current = store.identity(identity_id).ok_or_else(KratosError::not_found)?;
            hook_body(current.to_json(View::Public, app.public_url()), &flow_id)
        };
        let hook = deliver(app, HookFlow::Settings, &url, &body).await;
        let error = (!hook.ok()).then(|| failed_hook_error(&hook));
        let identity = current_json(app, identity_id).unwrap_or(identity);
        return Ok(FlowOutcome { identity: Some(identity), session_token: None, hook: Some(hook), error });
    }
    let body = hook_body(preview.to_json(View::Public, app.public_url()), &flow_id);
    let hook = deliver(app, HookFlow::Settings, &url, &body).await;
    if let Err(error) = check_ok(&hook).and_then(|_| changes.absorb(&hook)) {
        return Ok(FlowOutcome { identity: None, session_token: None, hook: Some(hook), error: Some(error) });
    }
    let identity = update(app, identity_id, &changes)?;
    Ok(FlowOutcome { identity: Some(identity), session_token: None, hook: Some(hook), error: None })
}

fn check_ok(hook: &HookResult) -> Result<(), KratosError> {
    if hook.ok() {
        Ok(())
    } else {
        Err(failed_hook_error(hook))
    }
}

/// The error Kratos shows when a non-ignored web hook finally failed.
fn failed_hook_error(hook: &HookResult) -> KratosError {
    match hook.final_answer() {
        Some((status, _)) if (400..500).contains(&status) => {
            KratosError::bad_request(format!("web hook failed with status code {status}"))
        }
        Some((status, _)) => KratosError::internal().with_reason(format!("web hook failed with status code {status}")),
        None => KratosError::internal().with_reason("web hook could not be delivered"),
    }
}

fn persist(app: &Shared, identity: Identity) -> Result<Value, KratosError> {
    let json = identity.to_json(View::Admin, app.public_url());
    app.lock().insert(identity)?;
    Ok(json)
}

fn persist_with_session(app: &Shared, identity: Identity) -> Result<(Value, String), KratosError> {
    let json = identity.to_json(View::Admin, app.public_url());
    let id = identity.id.clone();
    let mut store = app.lock();
    store.insert(identity)?;
    let token = store.open_session(&id)?;
    Ok((json, token))
}

/// The identity as stored now (admin view), if it still exists.
fn current_json(app: &Shared, id: &str) -> Option<Value> {
    app.lock().identity(id).map(|i| i.to_json(View::Admin, app.public_url()))
}

/// Applies `changes` to the identity as stored now (not to a stale copy).
fn update(app: &Shared, identity_id: &str, changes: &Changes) -> Result<Value, KratosError> {
    let mut store = app.lock();
    let mut identity = store.identity(identity_id).cloned().ok_or_else(KratosError::not_found)?;
    changes.apply_to(&mut identity);
    let json = identity.to_json(View::Admin, app.public_url());
    store.update(identity)?;
    Ok(json)
}
