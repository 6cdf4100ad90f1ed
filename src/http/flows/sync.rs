//! Re-reading a customer's subscriptions from Stripe and storing what they
//! grant now. Every webhook and `/sync` end here, so the stored state
//! depends only on what Stripe says at that moment, never on the order in
//! which events arrived.

use crate::config::PlanMirror;
use crate::entitlements::derive::{app_trial, default_entitlement, derive, unmapped, with_app_trial};
use crate::entitlements::record::Entitlement;
use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::kv::Store;
use crate::http::log::Level;
use crate::http::stripe_api::Stripe;
use crate::identity::IdentityId;
use crate::kratos::patch::mirror_plan;
use crate::kratos::request::{KratosRequest, Patched};
use crate::stripe::request::{StripeError, StripeRequest};
use crate::stripe::subscription::Subscription;

/// A customer has few subscriptions; this bounds a pathological one.
const MAX_PAGES: usize = 10;

/// All of a customer's subscriptions, every status, prices expanded.
pub async fn list_subscriptions(stripe: &Stripe<'_>, customer_id: &str) -> Result<Vec<Subscription>, StripeError> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = stripe.send(&StripeRequest::list_subscriptions(customer_id, after.as_deref())).await?;
        after = page.data.last().map(|s| s.id.clone());
        all.extend(page.data);
        if !page.has_more || after.is_none() {
            break;
        }
    }
    Ok(all)
}

/// Derives the identity's entitlement from Stripe's current subscriptions
/// (plus a running app trial) and stores it. Answers the identity's record
/// as it stands: this read's, or a later one an overlapping sync stored.
pub async fn sync_identity(
    cx: &Cx<'_>,
    store: &Store,
    identity: &IdentityId,
    customer_id: &str,
) -> Result<Entitlement, ApiError> {
    let stripe = cx.stripe()?;
    let read_ms = cx.now_ms();
    let subs = list_subscriptions(&stripe, customer_id).await?;
    let plans = &cx.config.plans;
    for sub in unmapped(&subs, plans) {
        // A price PLANS does not know grants nothing: tell the operator.
        let prices: Vec<&str> = sub.prices.iter().map(|p| p.lookup_key.as_deref().unwrap_or(&p.id)).collect();
        cx.line("unmapped_price").field("subscription", &sub.id).field("prices", &prices).level(Level::Warn).write();
    }
    let paid = derive(identity, Some(customer_id), &subs, plans, cx.now);
    let entitlement = with_trial(cx, store, paid).await?;
    // Not written when an overlapping sync read Stripe later and already wrote.
    let entitlement = store.put_synced_entitlement(entitlement, read_ms).await?;
    // A deletion that ran meanwhile (its tombstone comes first, its cleanup
    // last) may have forgotten the identity before this write landed.
    if store.is_deleted(identity).await? {
        store.drop_entitlement(identity).await?;
        return Ok(default_entitlement(identity, None, plans, cx.now));
    }
    if cx.config.plan_mirror == PlanMirror::MetadataPublic {
        write_plan_to_kratos(cx, identity, &entitlement.plan).await?;
    }
    Ok(entitlement)
}

/// Adds the app trial when it grants more than Stripe does.
pub async fn with_trial(cx: &Cx<'_>, store: &Store, paid: Entitlement) -> Result<Entitlement, ApiError> {
    let plans = &cx.config.plans;
    if plans.trial().is_none() {
        return Ok(paid);
    }
    let Some(started) = store.trial_started(&paid.identity_id).await? else { return Ok(paid) };
    let trial = app_trial(&paid.identity_id, paid.stripe_customer_id.as_deref(), plans, started, cx.now);
    Ok(with_app_trial(paid, trial, plans))
}

/// `KRATOS_SYNC_PLAN`: mirrors the plan into `metadata_public.plan` with a
/// patch that touches only that key.
async fn write_plan_to_kratos(cx: &Cx<'_>, identity: &IdentityId, plan: &str) -> Result<(), ApiError> {
    let kratos = cx.kratos();
    for _ in 0..4 {
        let Some(found) = kratos.send(&KratosRequest::identity(identity)).await? else { return Ok(()) };
        let Some(ops) = mirror_plan(found.metadata_public.as_ref(), plan) else { return Ok(()) };
        match kratos.send(&KratosRequest::patch_identity(identity, &ops)).await? {
            Patched::Done | Patched::NotFound => return Ok(()),
            Patched::Refused => continue,
        }
    }
    Err(ApiError::upstream("kratos_refused", "Kratos kept refusing the metadata_public patch"))
}
