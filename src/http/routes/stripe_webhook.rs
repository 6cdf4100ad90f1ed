//! `POST /webhooks/stripe`: verified, deduplicated, order-proof plan state.
//!
//! Nothing is read or written for an event that fails verification. A
//! verified event is only a signal naming a customer: the core decides whom
//! it concerns and what to do (`stripe::attribution`), the customer's
//! subscriptions are re-read from Stripe and the entitlement derived from
//! what Stripe says now, so duplicates and any delivery order end in the
//! same state. The event is marked processed only after everything else
//! succeeded; any failure answers 5xx and Stripe's redelivery redoes it all.

use serde_json::json;
use worker::Request;

use crate::entitlements::derive::default_entitlement;
use crate::error::ApiError;
use crate::http::body::read_bounded;
use crate::http::context::Cx;
use crate::http::flows::sync::{sync_identity, with_trial};
use crate::http::headers::header;
use crate::http::kv::Store;
use crate::http::log::Level;
use crate::http::respond;
use crate::http::respond::Reply;
use crate::http::stripe_api::Found;
use crate::identity::IdentityId;
use crate::stripe::attribution::{decide, needs_customer, subject, Action, IdentityState, LinkWrite, Skip};
use crate::stripe::event::{parse_event, EventSignal};
use crate::stripe::request::StripeRequest;
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
    /// Nothing written: see [`Skip`].
    Skipped(Skip),
    /// The customer was deleted: default plan stored.
    CustomerDeleted,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Synced => "synced",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::Skipped(Skip::Unlinked) => "unlinked",
            Outcome::Skipped(Skip::IdentityDeleted) => "identity_deleted",
            Outcome::Skipped(Skip::OtherCustomer) => "other_customer",
            Outcome::CustomerDeleted => "customer_deleted",
        }
    }
}

/// `POST /webhooks/stripe`.
pub async fn receive_stripe_event(cx: &Cx<'_>, mut req: Request) -> Result<Reply, ApiError> {
    let secrets = cx.config.stripe_webhook_secrets.get()?;
    let signature = header(&req, "stripe-signature");
    let body = read_bounded(&mut req).await?;
    if let Err(e) = verify(signature.as_deref(), &body, secrets, cx.now, DEFAULT_TOLERANCE_SECS) {
        cx.line("stripe_webhook").field("outcome", "rejected").field("error", e.code()).level(Level::Warn).write();
        return Err(e.into());
    }
    let event = parse_event(&body)?;
    if !cx.config.environment.accepts_livemode(event.livemode) {
        let message = format!(
            "a {} event was sent to a {} deployment; test and live must not mix",
            if event.livemode { "live" } else { "test" },
            cx.config.environment.as_str()
        );
        return Err(ApiError::bad_request("livemode_mismatch", message));
    }

    let result = process(cx, &event).await;
    let (outcome, error, level) = match &result {
        Ok((o, _)) => (o.as_str(), None, Level::Info),
        Err(e) => ("failed", Some(e.code), Level::of_status(e.status)),
    };
    cx.line("stripe_webhook")
        .field("event_id", &event.id)
        .field("type", event.kind.as_str())
        .field("customer", &event.customer_id)
        .field("outcome", outcome)
        .field("error", &error)
        .field("duration_ms", &cx.elapsed_ms())
        .level(level)
        .write();
    let (outcome, identity) = result?;
    respond::json(
        200,
        &json!({"received": true, "event_id": event.id, "outcome": outcome.as_str(), "identity_id": identity}),
    )
}

async fn process(cx: &Cx<'_>, event: &EventSignal) -> Result<(Outcome, Option<IdentityId>), ApiError> {
    if !event.kind.triggers_sync() {
        return Ok((Outcome::Ignored, None));
    }
    let store = cx.store();
    if store.event_processed(&event.id).await? {
        return Ok((Outcome::Duplicate, None));
    }
    let outcome = apply(cx, &store, event).await?;
    store.mark_event_processed(&event.id, cx.now).await?;
    Ok(outcome)
}

/// Reads what the core's decision needs, then carries the decision out.
async fn apply(cx: &Cx<'_>, store: &Store, event: &EventSignal) -> Result<(Outcome, Option<IdentityId>), ApiError> {
    let Some(customer_id) = event.customer_id.as_deref() else {
        return Ok((Outcome::Skipped(Skip::Unlinked), None));
    };
    let linked = store.identity_of(customer_id).await?;
    let customer = match needs_customer(linked.as_ref()) {
        true => cx.stripe()?.send(&StripeRequest::retrieve_customer(customer_id)).await.found()?,
        false => None,
    };
    let subject = subject(event, linked.as_ref(), customer.as_ref());
    let (current, deleted) = match subject.identity() {
        Some(identity) => (store.customer_of(identity).await?, store.is_deleted(identity).await?),
        None => (None, false),
    };
    let action = decide(customer_id, subject, IdentityState { customer: current.as_deref(), deleted });
    if let Some(session) = event.object_id.as_deref().filter(|_| event.kind.ends_checkout()) {
        // Completed or expired: it no longer makes the record pending.
        store.put_checkout_ended(session, cx.now).await?;
    }
    carry_out(cx, store, customer_id, action).await
}

async fn carry_out(
    cx: &Cx<'_>,
    store: &Store,
    customer_id: &str,
    action: Action,
) -> Result<(Outcome, Option<IdentityId>), ApiError> {
    match action {
        Action::Skip { identity, reason } => Ok((Outcome::Skipped(reason), identity)),
        Action::Reset { identity, link } => {
            if link == LinkWrite::Remove {
                store.unlink(&identity, customer_id).await?;
            }
            let record = with_trial(cx, store, default_entitlement(&identity, None, &cx.config.plans, cx.now)).await?;
            // What Stripe says now (the customer is gone) orders like any read.
            store.put_synced_entitlement(record, cx.now_ms()).await?;
            Ok((Outcome::CustomerDeleted, Some(identity)))
        }
        Action::Sync { identity, link } => {
            if link == LinkWrite::Record {
                store.link(&identity, customer_id).await?;
            }
            sync_identity(cx, store, &identity, customer_id).await?;
            Ok((Outcome::Synced, Some(identity)))
        }
    }
}
