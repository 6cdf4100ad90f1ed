//! The server-to-server API (`Authorization: Bearer $BRIDGE_API_TOKEN`):
//! `/v1/identities/{id}/...` entitlements, feature checks, sync, the app
//! trial, and account deletion.

use worker::{Request, Response, Result};

use crate::entitlements::derive::default_entitlement;
use crate::entitlements::feature::{check, effective};
use crate::entitlements::record::Entitlement;
use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::flows::deletion::delete_account;
use crate::http::flows::sync::{sync_identity, with_trial};
use crate::http::kv::Store;
use crate::http::respond;
use crate::kratos::uuid::is_uuid;

/// 400 unless `id` is a Kratos identity id (a UUID).
pub fn identity_id(id: &str) -> std::result::Result<&str, ApiError> {
    if is_uuid(id) {
        Ok(id)
    } else {
        Err(ApiError::bad_request("invalid_identity_id", "the identity id must be a UUID"))
    }
}

/// The identity's record as it applies now (expired periods and trials
/// fall back to the default plan); the default plan when none is stored.
pub async fn current(cx: &Cx<'_>, store: &Store, id: &str) -> std::result::Result<Entitlement, ApiError> {
    let plans = &cx.config.plans;
    let record = match store.entitlement(id).await? {
        Some(r) => r,
        None => with_trial(cx, store, default_entitlement(id, None, plans, cx.now)).await?,
    };
    Ok(effective(&record, plans, cx.now))
}

pub async fn entitlements(cx: &Cx<'_>, id: &str) -> std::result::Result<Response, ApiError> {
    let id = identity_id(id)?;
    let e = current(cx, &cx.store()?, id).await?;
    respond::json(200, &e).map_err(internal)
}

pub async fn feature(cx: &Cx<'_>, id: &str, feature: &str) -> std::result::Result<Response, ApiError> {
    let id = identity_id(id)?;
    let e = current(cx, &cx.store()?, id).await?;
    respond::json(200, &check(&e, feature, &cx.config.plans, cx.now)).map_err(internal)
}

/// Re-reads Stripe now (e.g. on the Checkout success page, before the
/// webhook arrives).
pub async fn sync(cx: &Cx<'_>, id: &str) -> std::result::Result<Response, ApiError> {
    let id = identity_id(id)?;
    let store = cx.store()?;
    if store.is_deleted(id).await? {
        return Err(ApiError::not_found("this identity was deleted"));
    }
    let customer = match store.customer_of(id).await? {
        Some(c) => Some(c),
        None => {
            // Not linked in KV (a failed hook, a wiped namespace): Kratos has the link.
            let found = cx.kratos()?.identity(id).await?.and_then(|i| i.stripe_customer_id().map(str::to_owned));
            if let Some(c) = &found {
                store.link(id, c).await?;
            }
            found
        }
    };
    let e = match customer {
        Some(customer) => sync_identity(cx, &store, id, &customer).await?,
        None => {
            let e = with_trial(cx, &store, default_entitlement(id, None, &cx.config.plans, cx.now)).await?;
            store.put_entitlement(&e).await?;
            e
        }
    };
    respond::json(200, &effective(&e, &cx.config.plans, cx.now)).map_err(internal)
}

/// Starts the app trial (`PLANS.trial`), once per identity.
pub async fn trial(cx: &Cx<'_>, id: &str) -> std::result::Result<Response, ApiError> {
    let id = identity_id(id)?;
    if cx.config.plans.trial().is_none() {
        return Err(ApiError::new(409, "no_trial", "PLANS has no trial"));
    }
    let store = cx.store()?;
    if store.is_deleted(id).await? {
        return Err(ApiError::not_found("this identity was deleted"));
    }
    if store.trial_started(id).await?.is_some() {
        return Err(ApiError::new(409, "trial_already_used", "this identity has already had its trial"));
    }
    store.put_trial_started(id, cx.now).await?;
    let stored = store.entitlement(id).await?;
    let base = match stored {
        Some(r) => effective(&r, &cx.config.plans, cx.now),
        None => default_entitlement(id, store.customer_of(id).await?.as_deref(), &cx.config.plans, cx.now),
    };
    let e = with_trial(cx, &store, base).await?;
    store.put_entitlement(&e).await?;
    respond::json(201, &e).map_err(internal)
}

pub async fn delete(cx: &Cx<'_>, id: &str) -> std::result::Result<Response, ApiError> {
    let id = identity_id(id)?;
    let report = delete_account(cx, id).await?;
    respond::json(200, &report).map_err(internal)
}

pub fn internal(e: worker::Error) -> ApiError {
    ApiError::new(500, "internal", e.to_string())
}

/// Runs an API route after the token check, answering errors as JSON.
pub async fn guarded<F>(cx: &Cx<'_>, req: &Request, route: F) -> Result<Response>
where
    F: std::future::Future<Output = std::result::Result<Response, ApiError>>,
{
    if let Err(e) = crate::http::auth::require_api_token(cx, req) {
        return respond::error(&e);
    }
    match route.await {
        Ok(r) => Ok(r),
        Err(e) => respond::error(&e),
    }
}
