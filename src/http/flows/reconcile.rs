//! One step of the reconciliation walk (`crate::reconcile`): the cron and
//! `POST /v1/admin/backfill` both run it. It takes the lease, walks up to
//! `RECONCILE_PAGES_PER_RUN` pages of customers from the cursor, handles
//! each as the core decides, and stores the state with the new cursor.
//! A 429 from Stripe ends the step early with the cursor kept, so the walk
//! never busy-retries; other failures of one customer are counted and the
//! next walk sees it again.

use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::flows::link::link_existing_customer;
use crate::http::flows::sync::{list_subscriptions, sync_identity};
use crate::http::kv::Store;
use crate::http::log::Level;
use crate::http::request_id;
use crate::identity::IdentityId;
use crate::kratos::request::KratosRequest;
use crate::reconcile::customer::{by_email, claim, linked, ByEmail, Candidate, Claim, Linked, OrphanReason};
use crate::reconcile::walk::{may_take, Lease, RunFigures, Stopped, WalkState, LEASE_SECS};
use crate::stripe::cancel::{cancel_request, CancelMode};
use crate::stripe::customer::Customer;
use crate::stripe::request::{StripeErrorKind, StripeRequest};

/// Why a failure of one customer ends the step (cursor kept, the next
/// step starts with that customer), or `None` when it is that customer's
/// own problem (counted, and the next walk sees it again): Stripe's 429,
/// and anything an upstream may recover from (503/504: Stripe, Kratos or KV
/// down or slow, or the platform's subrequest limit reached).
fn stops_the_step(e: &ApiError) -> Option<Stopped> {
    if e.upstream.as_ref().is_some_and(|u| u.service == "stripe" && u.status == Some(429)) {
        return Some(Stopped::RateLimited);
    }
    (e.status == 503 || e.status == 504).then_some(Stopped::Unavailable)
}

/// Runs one step; answers the walk's state after it. 409 when another step
/// holds the walk.
pub async fn step(cx: &Cx<'_>, store: &Store) -> Result<WalkState, ApiError> {
    let busy = || ApiError::conflict("reconcile_busy", "another step of the walk is running; retry in a minute");
    if !may_take(store.reconcile_lease().await?.as_ref(), cx.now_ms()) {
        return Err(busy());
    }
    let lease = Lease { holder: request_id::random(), until_ms: cx.now_ms() + LEASE_SECS * 1000 };
    store.put_reconcile_lease(&lease).await?;
    if store.reconcile_lease().await?.as_ref() != Some(&lease) {
        return Err(busy());
    }
    let result = walk(cx, store).await;
    store.release_reconcile_lease(&lease).await?;
    result
}

async fn walk(cx: &Cx<'_>, store: &Store) -> Result<WalkState, ApiError> {
    let stripe = cx.stripe()?;
    let mut state = store.reconcile_state().await?.unwrap_or_default().begin_step(cx.now);
    let mut figures = RunFigures { started_at: cx.now, ..RunFigures::default() };
    let mut stopped = Stopped::PageBudget;
    'pages: for _ in 0..cx.config.reconcile_pages_per_run {
        let page = match stripe.send(&StripeRequest::list_customers(state.cursor.as_deref())).await {
            Ok(page) => page,
            Err(e) => {
                stopped =
                    if e.kind == StripeErrorKind::RateLimited { Stopped::RateLimited } else { Stopped::ListFailed };
                let e = ApiError::from(e);
                cx.line("reconcile_list_failed")
                    .field("error", e.code)
                    .field("upstream", &e.upstream)
                    .level(Level::Error)
                    .write();
                break;
            }
        };
        for customer in page.data.iter().filter(|c| !c.deleted) {
            if let Err(e) = reconcile_customer(cx, store, &mut state, &mut figures, customer).await {
                let stops = stops_the_step(&e);
                let what = if stops.is_some() { "reconcile_step_stopped" } else { "reconcile_customer_failed" };
                let line = cx.line(what).field("customer", &customer.id).field("error", e.code);
                line.field("upstream", &e.upstream).level(Level::Error).write();
                if let Some(why) = stops {
                    // Not past this customer: the next step starts with it.
                    stopped = why;
                    break 'pages;
                }
                figures.errors += 1;
            }
            figures.scanned += 1;
            state.cursor = Some(customer.id.clone());
        }
        if !page.has_more {
            stopped = Stopped::WalkComplete;
            break;
        }
        // The cursor so far is kept even if the invocation dies later.
        store.put_reconcile_state(&state).await?;
    }
    state.end_step(figures, stopped, cx.now);
    store.put_reconcile_state(&state).await?;
    cx.line("reconcile_step").field("figures", &state.last_run).field("complete", &state.complete).write();
    Ok(state)
}

/// Handles one customer as `crate::reconcile::customer` decides.
async fn reconcile_customer(
    cx: &Cx<'_>,
    store: &Store,
    state: &mut WalkState,
    figures: &mut RunFigures,
    customer: &Customer,
) -> Result<(), ApiError> {
    let orphan = match claim(customer) {
        Claim::Identity(id) => return reconcile_claimed(cx, store, state, figures, &id, customer).await,
        Claim::Email(email) => match by_email(&candidates(cx, store, &email).await?) {
            ByEmail::Link(id) => return link_by_email(cx, store, figures, &id, customer).await,
            ByEmail::Orphan(reason) => reason,
        },
        Claim::Nothing => OrphanReason::NoIdentityMetadata,
    };
    state.report_orphan(&customer.id, orphan);
    figures.reported += 1;
    Ok(())
}

/// A customer whose metadata names `id`: nothing to do while fresh, a
/// duplicate reported, an identity gone reported (and its subscriptions
/// canceled when configured), else linked in KV if need be and synced.
async fn reconcile_claimed(
    cx: &Cx<'_>,
    store: &Store,
    state: &mut WalkState,
    figures: &mut RunFigures,
    id: &IdentityId,
    customer: &Customer,
) -> Result<(), ApiError> {
    // One KV read for a fresh customer: the record names its customer.
    let (link, synced_at) = match store.entitlement(id).await? {
        Some(e) => (e.stripe_customer_id, Some(e.synced_at)),
        None => (store.customer_of(id).await?, None),
    };
    match linked(&customer.id, link.as_deref(), synced_at, cx.now, cx.config.reconcile_stale_after) {
        Linked::Fresh => {}
        Linked::Duplicate { linked } => {
            state.report_duplicate(id, &linked, &customer.id);
            figures.reported += 1;
        }
        Linked::Check { .. } if !identity_exists(cx, id).await? => {
            state.report_orphan(&customer.id, OrphanReason::IdentityMissing);
            figures.reported += 1;
            if cx.config.reconcile_cancel_orphans {
                figures.canceled += cancel_all(cx, &customer.id).await?;
            }
        }
        Linked::Check { link } => {
            if link {
                store.link(id, &customer.id).await?;
                figures.linked += 1;
            }
            sync_identity(cx, store, id, &customer.id).await?;
            figures.refreshed += 1;
        }
    }
    Ok(())
}

async fn identity_exists(cx: &Cx<'_>, id: &IdentityId) -> Result<bool, ApiError> {
    Ok(cx.kratos().send(&KratosRequest::identity(id)).await?.is_some())
}

/// The identities that have `email` (a login identifier), with whether each
/// has a customer and has verified that address.
async fn candidates(cx: &Cx<'_>, store: &Store, email: &str) -> Result<Vec<Candidate>, ApiError> {
    let found = cx.kratos().send(&KratosRequest::identities_with_identifier(email)).await?;
    let mut candidates = Vec::with_capacity(found.len());
    for identity in &found {
        let has_customer = identity.stripe_customer_id().is_some() || store.customer_of(&identity.id).await?.is_some();
        let email_verified = identity.has_verified_email(email);
        candidates.push(Candidate { identity_id: identity.id.clone(), has_customer, email_verified });
    }
    Ok(candidates)
}

/// Links a customer found by email as the registration hook would
/// (Stripe metadata, `metadata_admin`, both KV links), then syncs it.
async fn link_by_email(
    cx: &Cx<'_>,
    store: &Store,
    figures: &mut RunFigures,
    id: &IdentityId,
    customer: &Customer,
) -> Result<(), ApiError> {
    link_existing_customer(cx, store, id, &customer.id).await?;
    figures.linked += 1;
    sync_identity(cx, store, id, &customer.id).await?;
    figures.refreshed += 1;
    Ok(())
}

/// Cancels every subscription of an orphan whose identity is gone.
async fn cancel_all(cx: &Cx<'_>, customer_id: &str) -> Result<u64, ApiError> {
    let stripe = cx.stripe()?;
    let mut canceled = 0;
    for s in list_subscriptions(&stripe, customer_id).await? {
        if let Some(request) = cancel_request(&s, CancelMode::Now) {
            stripe.send(&request).await?;
            canceled += 1;
        }
    }
    Ok(canceled)
}
