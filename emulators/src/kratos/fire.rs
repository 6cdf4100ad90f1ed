//! Re-firing a hook for an existing identity, as happens when Kratos retries
//! a delivery or a flow is replayed: the receiver must stay idempotent.

use serde_json::json;

use super::errors::KratosError;
use super::hooks::{deliver, hook_body, HookFlow, HookResult};
use super::identity::View;
use super::ids::{new_uuid, NIL_UUID};
use super::state::AppState;

/// Upper bound on `times`, to keep a typo from flooding the receiver.
pub const MAX_TIMES: u32 = 1000;

/// Fires `flow`'s hook for `identity_id` `times` times (all with the same
/// body and flow id), in parallel when `concurrent`; each delivery gets its
/// own up-to-3 attempts. Results come in firing order.
pub async fn fire(
    app: &AppState,
    flow: HookFlow,
    identity_id: &str,
    times: u32,
    concurrent: bool,
) -> Result<Vec<HookResult>, KratosError> {
    if times == 0 || times > MAX_TIMES {
        return Err(KratosError::bad_request(format!("times must be between 1 and {MAX_TIMES}")));
    }
    let (url, body) = {
        let store = app.lock();
        let url = match flow {
            HookFlow::Registration => store.hooks.registration_url.clone(),
            HookFlow::Settings => store.hooks.settings_url.clone(),
        }
        .ok_or_else(|| KratosError::bad_request(format!("no {} hook URL is configured", flow.as_str())))?;
        let identity = store.identity(identity_id).ok_or_else(KratosError::not_found)?;
        let mut public = identity.to_json(View::Public, app.public_url());
        if flow == HookFlow::Registration && store.hooks.parse {
            public["id"] = json!(NIL_UUID);
        }
        (url, hook_body(public, &new_uuid()))
    };
    if !concurrent {
        let mut results = Vec::new();
        for _ in 0..times {
            results.push(deliver(app, flow, &url, &body).await);
        }
        return Ok(results);
    }
    let tasks: Vec<_> = (0..times)
        .map(|_| {
            let (app, url, body) = (app.clone(), url.clone(), body.clone());
            tokio::spawn(async move { deliver(&app, flow, &url, &body).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.map_err(|_| KratosError::internal().with_reason("a hook delivery task failed"))?);
    }
    Ok(results)
}
