//! Account deletion (Kratos has no deletion hook): mark the identity deleted
//! (so webhooks caused by the deletion write nothing back), cancel its
//! subscriptions, optionally delete the Stripe customer, delete the Kratos
//! identity, then forget the KV records. The links are removed last, so a
//! failure midway leaves everything needed to finish on a retry; a second
//! call finds nothing left to do and succeeds.

use serde::Serialize;

use super::sync::list_subscriptions;
use crate::config::CustomerOnDeletion;
use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::stripe_api::Found;
use crate::identity::IdentityId;
use crate::kratos::request::{Deleted, KratosRequest};
use crate::stripe::cancel::cancel_request;
use crate::stripe::request::StripeRequest;

/// What a deletion did (the answer of the deletion routes).
#[derive(Debug, Serialize)]
pub struct DeletionReport {
    pub identity_id: IdentityId,
    pub stripe_customer_id: Option<String>,
    /// Subscriptions canceled (or set to cancel at period end) by this call.
    pub canceled_subscriptions: Vec<String>,
    pub customer_deleted: bool,
    /// False when Kratos already had no such identity.
    pub identity_deleted: bool,
}

pub async fn delete_account(cx: &Cx<'_>, identity_id: &IdentityId) -> Result<DeletionReport, ApiError> {
    let store = cx.store();
    let kratos = cx.kratos();
    let identity = kratos.send(&KratosRequest::identity(identity_id)).await?;
    let customer_id = match store.customer_of(identity_id).await? {
        Some(c) => Some(c),
        None => identity.as_ref().and_then(|i| i.stripe_customer_id()).map(str::to_owned),
    };

    store.put_tombstone(identity_id, cx.now).await?;

    let mut canceled = Vec::new();
    let mut customer_deleted = false;
    if let Some(customer) = &customer_id {
        let stripe = cx.stripe()?;
        let subs = list_subscriptions(&stripe, customer).await.found()?.unwrap_or_default();
        for s in &subs {
            let Some(request) = cancel_request(s, cx.config.deletion_cancel) else { continue };
            if stripe.send(&request).await.found()?.is_some() {
                canceled.push(s.id.clone());
            }
        }
        if cx.config.customer_on_deletion == CustomerOnDeletion::Delete {
            customer_deleted = stripe.send(&StripeRequest::delete_customer(customer)).await.found()?.is_some();
        }
    }

    let identity_deleted = match identity {
        Some(_) => kratos.send(&KratosRequest::delete_identity(identity_id)).await? == Deleted::Deleted,
        None => false,
    };
    store.forget_identity(identity_id, customer_id.as_deref()).await?;
    Ok(DeletionReport {
        identity_id: identity_id.clone(),
        stripe_customer_id: customer_id,
        canceled_subscriptions: canceled,
        customer_deleted,
        identity_deleted,
    })
}
