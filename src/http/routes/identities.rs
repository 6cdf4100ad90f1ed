//! One identity's billing state: its entitlements, feature checks, a sync
//! from Stripe, the app trial, and account deletion. Served to API clients
//! for the identity in the path (`/v1/identities/{id}/...`) and to signed-in
//! users for their own identity (`/me/...`); the router checks the caller.

use crate::entitlements::derive::{app_trial, default_entitlement, with_app_trial};
use crate::entitlements::feature::{check, effective};
use crate::entitlements::record::Entitlement;
use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::flows::deletion::delete_account;
use crate::http::flows::link::linked_customer;
use crate::http::flows::record::stored;
use crate::http::flows::sync::{sync_identity, with_trial};
use crate::http::kv::Store;
use crate::http::respond::{self, Reply};
use crate::identity::IdentityId;

/// The answer for an identity deleted through the bridge.
pub fn deleted() -> ApiError {
    ApiError::not_found("identity_deleted", "this identity was deleted")
}

/// `GET .../entitlements`: the record as it applies now (expired periods
/// and trials fall back to the default plan), with its pending Checkout.
pub async fn entitlements(cx: &Cx<'_>, id: &IdentityId) -> Result<Reply, ApiError> {
    let store = cx.store();
    let e = stored(cx, &store, id).await?;
    answer(cx, &store, 200, effective(&e, &cx.config.plans, cx.now)).await
}

/// A record as the entitlements routes answer it: with the Checkout it is
/// pending on (decided at read time, `entitlements::pending`).
async fn answer(cx: &Cx<'_>, store: &Store, status: u16, e: Entitlement) -> Result<Reply, ApiError> {
    respond::json(status, &store.with_pending(e, cx.now).await?)
}

/// `GET .../features/{feature}`: decided on the stored record, so an
/// expiry since it was written answers `period_ended` or `trial_ended`.
pub async fn feature(cx: &Cx<'_>, id: &IdentityId, feature: &str) -> Result<Reply, ApiError> {
    let e = stored(cx, &cx.store(), id).await?;
    respond::json(200, &check(&e, feature, &cx.config.plans, cx.now))
}

/// `POST .../sync`: re-reads Stripe now (e.g. on the Checkout success page,
/// before the webhook arrives).
pub async fn sync(cx: &Cx<'_>, id: &IdentityId) -> Result<Reply, ApiError> {
    let store = cx.store();
    if store.is_deleted(id).await? {
        return Err(deleted());
    }
    let customer = linked_customer(cx, &store, id).await?;
    let e = match customer {
        Some(customer) => sync_identity(cx, &store, id, &customer).await?,
        None => {
            let e = with_trial(cx, &store, default_entitlement(id, None, &cx.config.plans, cx.now)).await?;
            store.change_entitlement(id, |_| e).await?
        }
    };
    answer(cx, &store, 200, effective(&e, &cx.config.plans, cx.now)).await
}

/// `POST .../trial`: starts the app trial (`PLANS.trial`), once per identity.
pub async fn trial(cx: &Cx<'_>, id: &IdentityId) -> Result<Reply, ApiError> {
    if cx.config.plans.trial().is_none() {
        return Err(ApiError::conflict("no_trial", "PLANS has no trial"));
    }
    let store = cx.store();
    if store.is_deleted(id).await? {
        return Err(deleted());
    }
    if store.trial_started(id).await?.is_some() {
        return Err(ApiError::conflict("trial_already_used", "this identity has already had its trial"));
    }
    store.put_trial_started(id, cx.now).await?;
    let plans = &cx.config.plans;
    let customer = store.customer_of(id).await?;
    let trial = app_trial(id, customer.as_deref(), plans, cx.now, cx.now);
    // The trial is added to the record as stored when it is written, under
    // its Stripe-read mark: a sync that read Stripe before that record was
    // stored still never replaces it.
    let e = store
        .change_entitlement(id, |stored| {
            let base = match stored {
                Some(r) => effective(&r, plans, cx.now),
                None => default_entitlement(id, customer.as_deref(), plans, cx.now),
            };
            with_app_trial(base, trial, plans)
        })
        .await?;
    answer(cx, &store, 201, e).await
}

/// `DELETE /v1/identities/{id}` and `DELETE /me`.
pub async fn delete(cx: &Cx<'_>, id: &IdentityId) -> Result<Reply, ApiError> {
    respond::json(200, &delete_account(cx, id).await?)
}
