//! Re-reading a customer's subscriptions from Stripe and storing what they
//! grant now. Every webhook, `/sync` and the cron end here, so the stored
//! state depends only on what Stripe says at that moment, never on the order
//! in which events arrived.

use serde_json::json;

use crate::entitlements::derive::{app_trial, derive, unmapped, with_app_trial};
use crate::entitlements::record::Entitlement;
use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::kratos_api::{Kratos, Patched};
use crate::http::kv::Store;
use crate::http::log;
use crate::http::stripe_api::{Stripe, StripeFailure};
use crate::kratos::patch::{needs_update, set_metadata_public_key};
use crate::stripe::request::StripeRequest;
use crate::stripe::subscription::{parse_subscription_list, Subscription};

/// A customer has few subscriptions; this bounds a pathological one.
const MAX_PAGES: usize = 10;

/// All of a customer's subscriptions, every status, prices expanded.
pub async fn list_subscriptions(stripe: &Stripe<'_>, customer_id: &str) -> Result<Vec<Subscription>, StripeFailure> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let body = stripe.send(&StripeRequest::list_subscriptions(customer_id, after.as_deref())).await?;
        // The error names ids and statuses only, never customer data.
        let page = parse_subscription_list(&body).map_err(|e| {
            StripeFailure::Transport(ApiError::upstream("stripe_bad_answer", format!("unreadable subscription list: {e}")))
        })?;
        after = page.data.last().map(|s| s.id.clone());
        all.extend(page.data);
        if !page.has_more || after.is_none() {
            break;
        }
    }
    Ok(all)
}

/// Derives the identity's entitlement from Stripe's current subscriptions
/// (plus a running app trial) and stores it.
pub async fn sync_identity(cx: &Cx<'_>, store: &Store, identity_id: &str, customer_id: &str) -> Result<Entitlement, ApiError> {
    let stripe = cx.stripe()?;
    let read_ms = cx.now_ms();
    let subs = list_subscriptions(&stripe, customer_id).await?;
    let plans = &cx.config.plans;
    for sub in unmapped(&subs, plans) {
        // A price PLANS does not know grants nothing: tell the operator.
        let prices: Vec<&str> = sub.prices.iter().map(|p| p.lookup_key.as_deref().unwrap_or(&p.id)).collect();
        log::line("unmapped_price", &[("subscription", json!(sub.id)), ("prices", json!(prices))]);
    }
    let paid = derive(identity_id, Some(customer_id), &subs, plans, cx.now);
    let entitlement = with_trial(cx, store, paid).await?;
    // False when an overlapping sync read Stripe later and already wrote.
    store.put_synced_entitlement(&entitlement, read_ms).await?;
    if cx.config.kratos_sync_plan {
        write_plan_to_kratos(cx, identity_id, &entitlement.plan).await?;
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
async fn write_plan_to_kratos(cx: &Cx<'_>, identity_id: &str, plan: &str) -> Result<(), ApiError> {
    let kratos: Kratos<'_> = cx.kratos()?;
    for _ in 0..4 {
        let Some(identity) = kratos.identity(identity_id).await? else { return Ok(()) };
        let current = identity.metadata_public.as_ref();
        if !needs_update(current, "plan", &json!(plan)) {
            return Ok(());
        }
        match kratos.patch(identity_id, &set_metadata_public_key(current, "plan", json!(plan))).await? {
            Patched::Done | Patched::NotFound => return Ok(()),
            Patched::Refused => continue,
        }
    }
    Err(ApiError::upstream("kratos_refused", "Kratos kept refusing the metadata_public patch"))
}
