//! `POST /hooks/kratos/registration` and `/hooks/kratos/settings`: the
//! identity side. Kratos signs nothing, so the shared secret it sends
//! (`Authorization: Bearer $KRATOS_WEBHOOK_SECRET`) is checked first.
//! Failures upstream answer 5xx: Kratos retries (3 attempts) and the
//! get-or-create makes each retry finish the same work.

use serde_json::json;
use worker::Request;

use crate::entitlements::derive::default_entitlement;
use crate::error::ApiError;
use crate::http::auth::require_bearer;
use crate::http::body::read_bounded;
use crate::http::context::Cx;
use crate::http::flows::link::{ensure_customer, Linked};
use crate::http::flows::sync::with_trial;
use crate::http::log::Level;
use crate::http::respond;
use crate::http::respond::Reply;
use crate::kratos::hook::parse_hook;
use crate::link::{customer_profile, HookOutcome};
use crate::stripe::customer::{update_customer_form, CustomerProfile};
use crate::stripe::request::StripeRequest;
use crate::web::route::HookFlow;

/// `POST /hooks/kratos/{registration,settings}`.
pub async fn receive_kratos_hook(cx: &Cx<'_>, mut req: Request, flow: HookFlow) -> Result<Reply, ApiError> {
    require_bearer(&req, cx.config.kratos_webhook_secret.get()?)?;
    let hook = parse_hook(&read_bounded(&mut req).await?)?;
    let profile = customer_profile(&hook);
    let result = run(cx, &profile, flow).await;
    let (outcome, level) = match &result {
        Ok((_, outcome)) => (outcome.as_str(), Level::Info),
        Err(e) => (e.code, Level::of_status(e.status)),
    };
    cx.line("kratos_hook")
        .field("flow", flow.as_str())
        .field("identity_id", &hook.id)
        .field("outcome", outcome)
        .field("duration_ms", &cx.elapsed_ms())
        .level(level)
        .write();
    let (linked, outcome) = result?;
    respond::json(
        200,
        &json!({
            "identity_id": hook.id,
            "stripe_customer_id": linked.customer.id,
            "outcome": outcome.as_str(),
            "customer_created": outcome == HookOutcome::CustomerCreated,
            "customer_updated": outcome == HookOutcome::CustomerUpdated,
        }),
    )
}

async fn run(cx: &Cx<'_>, profile: &CustomerProfile, flow: HookFlow) -> Result<(Linked, HookOutcome), ApiError> {
    let store = cx.store();
    let linked = ensure_customer(cx, &store, profile).await?;
    if store.entitlement(&profile.identity_id).await?.is_none() {
        // A first record, so the identity's entitlements name its customer
        // before any subscription exists.
        let first = default_entitlement(&profile.identity_id, Some(&linked.customer.id), &cx.config.plans, cx.now);
        store.put_entitlement(&with_trial(cx, &store, first).await?).await?;
    }
    let outcome = match (linked.created, flow) {
        (true, _) => HookOutcome::CustomerCreated,
        (false, HookFlow::Registration) => HookOutcome::Unchanged,
        (false, HookFlow::Settings) => match update_customer_form(&linked.customer, profile) {
            Some(form) => {
                cx.stripe()?.send(&StripeRequest::update_customer(&linked.customer.id, form)).await?;
                HookOutcome::CustomerUpdated
            }
            None => HookOutcome::Unchanged,
        },
    };
    Ok((linked, outcome))
}
