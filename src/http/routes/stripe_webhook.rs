//! `POST /webhooks/stripe`: verified, deduplicated, order-proof plan state.
//!
//! Nothing is read or written for an event that fails verification. A
//! verified event is only a signal naming a customer: the customer's
//! subscriptions are re-read from Stripe and the entitlement derived from
//! what Stripe says now, so duplicates and any delivery order end in the
//! same state. The event is marked processed only after everything else
//! succeeded; any failure answers 5xx and Stripe's redelivery redoes it all.

use serde_json::{json, Value};
use worker::{Request, Response, Result};

use crate::entitlements::derive::default_entitlement;
use crate::error::ApiError;
use crate::http::body::read_bounded;
use crate::http::context::Cx;
use crate::http::flows::sync::{sync_identity, with_trial};
use crate::http::kv::Store;
use crate::http::{log, respond};
use crate::stripe::attribution::{needs_customer, subject, Subject};
use crate::stripe::event::{parse_event, EventSignal};
use crate::stripe::signature::{verify, DEFAULT_TOLERANCE_SECS};

/// What became of an event (answered and logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The identity's entitlement was re-derived and stored.
    Synced,
    /// Already processed: acknowledged, nothing done again.
    Duplicate,
    /// A type the bridge does not act on.
    Ignored,
    /// No customer, or a customer linked to no identity: nothing to update.
    Unlinked,
    /// The customer was deleted: links removed, default plan stored.
    CustomerDeleted,
    /// The identity was deleted through the bridge: nothing written back.
    IdentityDeleted,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Synced => "synced",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::Unlinked => "unlinked",
            Outcome::CustomerDeleted => "customer_deleted",
            Outcome::IdentityDeleted => "identity_deleted",
        }
    }
}

pub async fn handle(cx: &Cx<'_>, mut req: Request) -> Result<Response> {
    match receive(cx, &mut req).await {
        Ok(answer) => respond::json(200, &answer),
        Err(e) => respond::error(&e),
    }
}

async fn receive(cx: &Cx<'_>, req: &mut Request) -> std::result::Result<Value, ApiError> {
    let secrets = cx.config.stripe_webhook_secrets.as_ref().map_err(|p| ApiError::from(p.clone()))?;
    let header = req.headers().get("stripe-signature").ok().flatten();
    let body = read_bounded(req).await?;
    verify(header.as_deref(), &body, secrets, cx.now, DEFAULT_TOLERANCE_SECS).map_err(|e| {
        log::line("stripe_webhook", &[("outcome", json!("rejected")), ("error", json!(e.code()))]);
        ApiError::bad_request(e.code(), e.to_string())
    })?;
    let event = parse_event(&body).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    if !cx.config.environment.accepts_livemode(event.livemode) {
        let message = format!(
            "a {} event was sent to a {} deployment; test and live must not mix",
            if event.livemode { "live" } else { "test" },
            cx.config.environment.as_str()
        );
        return Err(ApiError::bad_request("livemode_mismatch", message));
    }

    let result = process(cx, &event).await;
    let (outcome, error) = match &result {
        Ok((o, _)) => (json!(o.as_str()), Value::Null),
        Err(e) => (json!("failed"), json!(e.code)),
    };
    log::line(
        "stripe_webhook",
        &[
            ("event_id", json!(event.id)),
            ("type", json!(event.kind.as_str())),
            ("customer", json!(event.customer_id)),
            ("outcome", outcome),
            ("error", error),
            ("duration_ms", json!(cx.elapsed_ms())),
        ],
    );
    let (outcome, identity) = result?;
    Ok(json!({"received": true, "event_id": event.id, "outcome": outcome.as_str(), "identity_id": identity}))
}

async fn process(cx: &Cx<'_>, event: &EventSignal) -> std::result::Result<(Outcome, Option<String>), ApiError> {
    if !event.kind.triggers_sync() {
        return Ok((Outcome::Ignored, None));
    }
    let store = cx.store()?;
    if store.event_processed(&event.id).await? {
        return Ok((Outcome::Duplicate, None));
    }
    let outcome = apply(cx, &store, event).await?;
    store.mark_event_processed(&event.id, cx.now).await?;
    Ok(outcome)
}

async fn apply(cx: &Cx<'_>, store: &Store, event: &EventSignal) -> std::result::Result<(Outcome, Option<String>), ApiError> {
    let Some(customer_id) = event.customer_id.as_deref() else { return Ok((Outcome::Unlinked, None)) };
    let linked = store.identity_of(customer_id).await?;
    let customer =
        if needs_customer(linked.as_deref()) { cx.stripe()?.customer(customer_id).await? } else { None };
    let (identity, gone, new_link) = match subject(event, linked.as_deref(), customer.as_ref()) {
        Subject::Unknown => return Ok((Outcome::Unlinked, None)),
        Subject::Gone { identity } => (identity, true, false),
        Subject::Sync { identity, new_link } => (identity, false, new_link),
    };
    if store.is_deleted(&identity).await? {
        return Ok((Outcome::IdentityDeleted, Some(identity)));
    }
    if gone {
        match store.customer_of(&identity).await? {
            // The identity has moved on to another customer: keep its state.
            Some(current) if current != customer_id => return Ok((Outcome::Unlinked, Some(identity))),
            Some(_) => store.unlink(&identity, customer_id).await?,
            None => {}
        }
        let record = with_trial(cx, store, default_entitlement(&identity, None, &cx.config.plans, cx.now)).await?;
        // What Stripe says now (the customer is gone) orders like any read.
        store.put_synced_entitlement(&record, cx.now_ms()).await?;
        return Ok((Outcome::CustomerDeleted, Some(identity)));
    }
    if new_link {
        store.link(&identity, customer_id).await?;
    }
    sync_identity(cx, store, &identity, customer_id).await?;
    Ok((Outcome::Synced, Some(identity)))
}
