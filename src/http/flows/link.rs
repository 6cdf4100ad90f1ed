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

use serde_json::json;

use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::kratos_api::{Kratos, Patched};
use crate::http::kv::Store;
use crate::http::stripe_api::{Stripe, StripeFailure};
use crate::kratos::hook::HookIdentity;
use crate::kratos::identity::Identity;
use crate::kratos::patch::{needs_update, set_metadata_admin_key};
use crate::stripe::customer::{parse_customer, parse_customer_list, Customer};
use crate::stripe::request::{StripeErrorKind, StripeRequest};

/// The metadata_admin key holding the link (spec).
pub const CUSTOMER_KEY: &str = "stripe_customer_id";

/// The identity's customer after get-or-create.
pub struct Linked {
    pub customer: Customer,
    /// Whether this call asked Stripe to create it (a duplicate call that
    /// Stripe answered from the idempotency key gets the same customer).
    pub created: bool,
}

fn bad_answer() -> ApiError {
    ApiError::upstream("stripe_bad_answer", "Stripe answered a customer we cannot read")
}

async fn create(stripe: &Stripe<'_>, hook: &HookIdentity, replacing: Option<&str>) -> Result<Customer, ApiError> {
    let request = match replacing {
        Some(old) => StripeRequest::replace_customer(hook, old),
        None => StripeRequest::create_customer(hook),
    };
    match stripe.send(&request).await {
        Ok(body) => parse_customer(&body).map_err(|_| bad_answer()),
        // The key was first used with other parameters (the email changed
        // between two attempts): that first attempt did create the customer.
        Err(StripeFailure::Api(e)) if e.kind == StripeErrorKind::IdempotencyMismatch => {
            find_by_metadata(stripe, &hook.id).await
        }
        Err(f) => Err(f.into()),
    }
}

async fn find_by_metadata(stripe: &Stripe<'_>, identity_id: &str) -> Result<Customer, ApiError> {
    let body = stripe.send(&StripeRequest::search_customers_by_identity(identity_id)).await?;
    let list = parse_customer_list(&body).map_err(|_| bad_answer())?;
    list.data.into_iter().find(|c| !c.deleted && c.identity_id() == Some(identity_id)).ok_or_else(|| {
        ApiError::unavailable("stripe_search_lag", "the customer is not searchable yet; retry in a minute")
    })
}

/// Makes `metadata_admin.stripe_customer_id` say `customer_id`, keeping the
/// other keys; re-reads and retries when Kratos refuses the patch.
async fn write_kratos_link(kratos: &Kratos<'_>, mut identity: Identity, customer_id: &str) -> Result<(), ApiError> {
    for _ in 0..4 {
        let current = identity.metadata_admin.as_ref();
        if !needs_update(current, CUSTOMER_KEY, &json!(customer_id)) {
            return Ok(());
        }
        match kratos.patch(&identity.id, &set_metadata_admin_key(current, CUSTOMER_KEY, json!(customer_id))).await? {
            Patched::Done => return Ok(()),
            Patched::NotFound => return Err(identity_gone()),
            Patched::Refused => {
                identity = kratos.identity(&identity.id).await?.ok_or_else(identity_gone)?;
            }
        }
    }
    Err(ApiError::upstream("kratos_refused", "Kratos kept refusing the metadata_admin patch"))
}

fn identity_gone() -> ApiError {
    ApiError::new(404, "identity_not_found", "Kratos has no such identity (deleted meanwhile?)")
}

/// Get-or-create the identity's customer and record both links.
pub async fn ensure_customer(cx: &Cx<'_>, store: &Store, hook: &HookIdentity) -> Result<Linked, ApiError> {
    let stripe = cx.stripe()?;
    let kratos = cx.kratos()?;
    let identity = kratos.identity(&hook.id).await?.ok_or_else(identity_gone)?;

    let kv_link = store.customer_of(&hook.id).await?;
    let known = kv_link.clone().or_else(|| identity.stripe_customer_id().map(str::to_owned));
    let existing = match &known {
        Some(id) => stripe.customer(id).await?.filter(|c| !c.deleted),
        None => None,
    };
    let (customer, created) = match existing {
        Some(c) => (c, false),
        // No customer yet, or the linked one was deleted in Stripe.
        None => (create(&stripe, hook, known.as_deref()).await?, true),
    };
    if kv_link.as_deref() != Some(customer.id.as_str()) {
        store.link(&hook.id, &customer.id).await?;
    }
    write_kratos_link(&kratos, identity, &customer.id).await?;
    Ok(Linked { customer, created })
}
