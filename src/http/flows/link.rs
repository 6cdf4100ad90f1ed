//! Get-or-create: exactly one Stripe customer per identity, linked both
//! ways, however often and however concurrently the hooks run.
//!
//! The customer is looked for in (1) our KV link, (2) the identity's
//! `metadata_admin.stripe_customer_id` (the durable record, read through the
//! admin API), and only then created, with an `Idempotency-Key` derived from
//! the identity id: concurrent duplicates get Stripe's 409 `in use`, retry
//! with the same key, and receive the same customer. Then both links are
//! written: KV, and Kratos by a JSON Patch that adds only our key (Kratos
//! applies it to the identity as stored then, so other keys are kept).

use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::kratos_api::Kratos;
use crate::http::kv::Store;
use crate::http::stripe_api::{Found, Stripe};
use crate::identity::IdentityId;
use crate::kratos::identity::Identity;
use crate::kratos::patch::link_customer;
use crate::kratos::request::{KratosRequest, Patched};
use crate::link::admin_customer_profile;
use crate::stripe::customer::{Customer, CustomerProfile};
use crate::stripe::request::{StripeErrorKind, StripeRequest};

/// The identity's customer after get-or-create.
pub struct Linked {
    pub customer: Customer,
    /// Whether this call asked Stripe to create it (a duplicate call that
    /// Stripe answered from the idempotency key gets the same customer).
    pub created: bool,
}

/// How many times a create whose key Stripe answers with a saved failure
/// is tried again under a fresh key (each failure saved under the last).
const FRESH_KEYS: usize = 2;

/// Creates the identity's customer under the key derived from the identity.
/// When Stripe answers that key with a failure it saved while executing
/// (a 500 it replays for 24 h), or refuses it because an earlier attempt
/// used other parameters (the email changed between retries), whether
/// that earlier attempt made the customer is unknown: it is looked for (the
/// KV link, then Stripe), and only when there is none is it created under
/// a fresh key, so a Stripe incident never leaves the identity without a
/// customer for a day, nor with two.
async fn create(
    stripe: &Stripe<'_>,
    store: &Store,
    profile: &CustomerProfile,
    replacing: Option<&str>,
) -> Result<Customer, ApiError> {
    let mut request = match replacing {
        Some(old) => StripeRequest::replace_customer(profile, old),
        None => StripeRequest::create_customer(profile),
    };
    for _ in 0..=FRESH_KEYS {
        let after = match stripe.send(&request).await {
            Ok(customer) => return Ok(customer),
            Err(e) if e.kind == StripeErrorKind::ReplayedFailure => e.replay_of.clone().unwrap_or_default(),
            Err(e) if e.kind == StripeErrorKind::IdempotencyMismatch => request.parameters_digest(),
            Err(e) => return Err(e.into()),
        };
        if let Some(customer) = existing_customer(stripe, store, profile, replacing).await? {
            return Ok(customer);
        }
        request = request.with_fresh_key(&after);
    }
    Err(ApiError::unavailable("stripe_unavailable", "Stripe keeps failing to create the customer; retry later"))
}

/// The identity's customer if one exists after all (made by an attempt
/// whose answer was lost): the KV link, then Stripe's customers with its
/// metadata (search, which lags) or with its email (a list, which does not).
/// `replacing` is the deleted customer a new one replaces, never an answer.
async fn existing_customer(
    stripe: &Stripe<'_>,
    store: &Store,
    profile: &CustomerProfile,
    replacing: Option<&str>,
) -> Result<Option<Customer>, ApiError> {
    let id = &profile.identity_id;
    let ours = |c: &Customer| !c.deleted && Some(c.id.as_str()) != replacing && c.identity_id().as_ref() == Some(id);
    if let Some(linked) = store.customer_of(id).await?.filter(|c| Some(c.as_str()) != replacing) {
        if let Some(c) = stripe.send(&StripeRequest::retrieve_customer(&linked)).await.found()?.filter(ours) {
            return Ok(Some(c));
        }
    }
    let searched = stripe.send(&StripeRequest::search_customers_by_identity(id)).await?;
    if let Some(c) = searched.data.into_iter().find(ours) {
        return Ok(Some(c));
    }
    let listed = stripe.send(&StripeRequest::customers_with_email(&profile.email)).await?;
    Ok(listed.data.into_iter().find(ours))
}

/// Makes `metadata_admin.stripe_customer_id` say `customer_id`, keeping the
/// other keys; re-reads and retries when Kratos refuses the patch.
async fn write_kratos_link(kratos: &Kratos<'_>, mut identity: Identity, customer_id: &str) -> Result<(), ApiError> {
    for _ in 0..4 {
        let Some(ops) = link_customer(identity.metadata_admin.as_ref(), customer_id) else { return Ok(()) };
        match kratos.send(&KratosRequest::patch_identity(&identity.id, &ops)).await? {
            Patched::Done => return Ok(()),
            Patched::NotFound => return Err(identity_gone()),
            Patched::Refused => {
                identity = kratos.send(&KratosRequest::identity(&identity.id)).await?.ok_or_else(identity_gone)?;
            }
        }
    }
    Err(ApiError::upstream("kratos_refused", "Kratos kept refusing the metadata_admin patch"))
}

fn identity_gone() -> ApiError {
    ApiError::not_found("identity_not_found", "Kratos has no such identity (deleted meanwhile?)")
}

/// Get-or-create the identity's customer and record both links.
pub async fn ensure_customer(cx: &Cx<'_>, store: &Store, profile: &CustomerProfile) -> Result<Linked, ApiError> {
    let identity = cx.kratos().send(&KratosRequest::identity(&profile.identity_id)).await?.ok_or_else(identity_gone)?;
    ensure_customer_of(cx, store, identity, profile).await
}

/// The identity's customer for a Checkout: the KV link when there is one
/// (the registration hook made it), else the same get-or-create as the
/// hook, with the profile read from the admin API's identity.
pub async fn customer_for_checkout(cx: &Cx<'_>, store: &Store, id: &IdentityId) -> Result<String, ApiError> {
    if let Some(customer) = store.customer_of(id).await? {
        return Ok(customer);
    }
    let identity = cx.kratos().send(&KratosRequest::identity(id)).await?.ok_or_else(identity_gone)?;
    let profile = admin_customer_profile(&identity)?;
    Ok(ensure_customer_of(cx, store, identity, &profile).await?.customer.id)
}

/// The identity's customer without creating one: the KV link, else
/// `metadata_admin.stripe_customer_id` (a failed hook, a wiped namespace),
/// which is then linked in KV too.
pub async fn linked_customer(cx: &Cx<'_>, store: &Store, id: &IdentityId) -> Result<Option<String>, ApiError> {
    if let Some(c) = store.customer_of(id).await? {
        return Ok(Some(c));
    }
    let identity = cx.kratos().send(&KratosRequest::identity(id)).await?;
    let found = identity.and_then(|i| i.stripe_customer_id().map(str::to_owned));
    if let Some(c) = &found {
        store.link(id, c).await?;
    }
    Ok(found)
}

/// Links a customer made elsewhere (the reconciliation walk found it by
/// email) to an identity, as the registration hook would: the customer's
/// metadata names the identity, both KV links, `metadata_admin` names the
/// customer.
pub async fn link_existing_customer(
    cx: &Cx<'_>,
    store: &Store,
    id: &IdentityId,
    customer_id: &str,
) -> Result<(), ApiError> {
    let kratos = cx.kratos();
    let identity = kratos.send(&KratosRequest::identity(id)).await?.ok_or_else(identity_gone)?;
    cx.stripe()?.send(&StripeRequest::claim_customer(customer_id, id)).await?;
    store.link(id, customer_id).await?;
    write_kratos_link(&kratos, identity, customer_id).await
}

/// [`ensure_customer`] for an identity already read from the admin API.
async fn ensure_customer_of(
    cx: &Cx<'_>,
    store: &Store,
    identity: Identity,
    profile: &CustomerProfile,
) -> Result<Linked, ApiError> {
    let stripe = cx.stripe()?;
    let kratos = cx.kratos();
    let id = &profile.identity_id;

    let kv_link = store.customer_of(id).await?;
    let known = kv_link.clone().or_else(|| identity.stripe_customer_id().map(str::to_owned));
    let existing = match &known {
        Some(c) => stripe.send(&StripeRequest::retrieve_customer(c)).await.found()?.filter(|c| !c.deleted),
        None => None,
    };
    let (customer, created) = match existing {
        Some(c) => (c, false),
        // No customer yet, or the linked one was deleted in Stripe.
        None => (create(&stripe, store, profile, known.as_deref()).await?, true),
    };
    if kv_link.as_deref() != Some(customer.id.as_str()) {
        store.link(id, &customer.id).await?;
    }
    write_kratos_link(&kratos, identity, &customer.id).await?;
    Ok(Linked { customer, created })
}
