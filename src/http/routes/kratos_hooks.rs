//! `POST /hooks/kratos/registration` and `/hooks/kratos/settings`: the
//! identity side. Kratos signs nothing, so the shared secret it sends
//! (`Authorization: Bearer $KRATOS_WEBHOOK_SECRET`) is checked first.
//! Failures upstream answer 5xx: Kratos retries (3 attempts) and the
//! get-or-create makes each retry finish the same work.

use serde_json::json;
use worker::{Request, Response, Result};

use crate::entitlements::derive::default_entitlement;
use crate::error::ApiError;
use crate::http::auth::require_bearer;
use crate::http::body::read_bounded;
use crate::http::context::Cx;
use crate::http::flows::link::{ensure_customer, Linked};
use crate::http::flows::sync::with_trial;
use crate::http::{log, respond};
use crate::kratos::hook::{parse_hook, HookIdentity};
use crate::stripe::customer::update_customer_form;
use crate::stripe::request::StripeRequest;

/// Which Kratos flow fired the hook.
#[derive(Debug, Clone, Copy)]
pub enum Flow {
    Registration,
    Settings,
}

impl Flow {
    fn as_str(self) -> &'static str {
        match self {
            Flow::Registration => "registration",
            Flow::Settings => "settings",
        }
    }
}

pub async fn handle(cx: &Cx<'_>, mut req: Request, flow: Flow) -> Result<Response> {
    let result = run(cx, &mut req, flow).await;
    let (identity, outcome) = match &result {
        Ok((hook, linked, updated)) => {
            let outcome = match (linked.created, updated) {
                (true, _) => "customer_created",
                (false, true) => "customer_updated",
                (false, false) => "unchanged",
            };
            (json!(hook.id), json!(outcome))
        }
        Err(e) => (json!(null), json!(e.code)),
    };
    log::line(
        "kratos_hook",
        &[("flow", json!(flow.as_str())), ("identity_id", identity), ("outcome", outcome), ("duration_ms", json!(cx.elapsed_ms()))],
    );
    match result {
        Ok((hook, linked, updated)) => respond::json(
            200,
            &json!({
                "identity_id": hook.id,
                "stripe_customer_id": linked.customer.id,
                "customer_created": linked.created,
                "customer_updated": updated,
            }),
        ),
        Err(e) => respond::error(&e),
    }
}

async fn run(cx: &Cx<'_>, req: &mut Request, flow: Flow) -> std::result::Result<(HookIdentity, Linked, bool), ApiError> {
    let secret = cx.config.kratos_webhook_secret.as_ref().map_err(|p| ApiError::from(p.clone()))?;
    require_bearer(req, secret)?;
    let body = read_bounded(req).await?;
    let hook = parse_hook(&body).map_err(|e| ApiError::bad_request(e.code(), e.message()))?;
    let store = cx.store()?;
    let linked = ensure_customer(cx, &store, &hook).await?;
    if store.entitlement(&hook.id).await?.is_none() {
        // A first record, so the identity's entitlements name its customer
        // before any subscription exists.
        let first = default_entitlement(&hook.id, Some(&linked.customer.id), &cx.config.plans, cx.now);
        store.put_entitlement(&with_trial(cx, &store, first).await?).await?;
    }
    let updated = match flow {
        Flow::Registration => false,
        Flow::Settings => update_customer(cx, &hook, &linked).await?,
    };
    Ok((hook, linked, updated))
}

/// Sends the traits' email and name to the customer when they differ.
async fn update_customer(cx: &Cx<'_>, hook: &HookIdentity, linked: &Linked) -> std::result::Result<bool, ApiError> {
    let Some(form) = update_customer_form(&linked.customer, hook) else { return Ok(false) };
    cx.stripe()?.send(&StripeRequest::update_customer(&linked.customer.id, form)).await?;
    Ok(true)
}
