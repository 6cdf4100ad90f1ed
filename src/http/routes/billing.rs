//! `POST /billing/checkout` and `POST /billing/portal`: the signed-in user
//! buys a plan in Stripe Checkout or manages it in the Billing Portal.
//! Browsers (`Accept: text/html`) get a 303 to Stripe's page, API clients
//! `{"url", "kind"}`. The router has already refused cross-site requests.
//!
//! A checkout refuses bad input before calling Stripe, uses the identity's
//! own customer (the registration hook's get-or-create when there is none
//! yet), re-reads the customer's subscriptions so that a subscriber is sent
//! to the portal even when a webhook was lost, resumes the last session it
//! made while Stripe has it open for the same price, leaves the identity at
//! most one open session, and remembers the session it sends the user to
//! (`chk:`, which makes the record pending; the record itself is never
//! written here).

use serde_json::json;
use worker::Request;

use super::identities::deleted;
use crate::billing::input::{choose_price, parse_checkout_body, InputError, PriceChoice, PriceRef};
use crate::billing::next::{
    checkout_step, has_granting_subscription, is_open_for, session_to_keep, CheckoutStep, LastCheckout,
};
use crate::error::ApiError;
use crate::http::body::read_bounded;
use crate::http::context::Cx;
use crate::http::flows::link::{customer_for_checkout, linked_customer};
use crate::http::flows::sync::sync_identity;
use crate::http::headers::header;
use crate::http::kv::Store;
use crate::http::log::Level;
use crate::http::respond;
use crate::http::respond::Reply;
use crate::http::stripe_api::{Found, Stripe};
use crate::identity::IdentityId;
use crate::stripe::checkout::{with_query, CheckoutOrder, CheckoutSession, CheckoutStatus};
use crate::stripe::request::{StripeError, StripeErrorKind, StripeRequest};
use crate::web::gate::wants_html;

/// Which Stripe page an answer sends the user to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    Checkout,
    Portal,
}

fn send_to(req: &Request, url: &str, page: Page) -> Result<Reply, ApiError> {
    let accept = header(req, "accept");
    if wants_html(accept.as_deref()) {
        return Ok(respond::see_other(url));
    }
    let kind = match page {
        Page::Checkout => "checkout",
        Page::Portal => "portal",
    };
    respond::json(200, &json!({"url": url, "kind": kind}))
}

/// `POST /billing/checkout`.
pub async fn checkout(cx: &Cx<'_>, mut req: Request, id: &IdentityId) -> Result<Reply, ApiError> {
    let content_type = header(&req, "content-type");
    let body = read_bounded(&mut req).await?;
    let choice = choose_price(&parse_checkout_body(content_type.as_deref(), &body)?, &cx.config.plans)?;
    let app_url = cx.config.app_url.get()?;
    let store = cx.store();
    if store.is_deleted(id).await? {
        return Err(deleted());
    }
    let stripe = cx.stripe()?;
    let price_id = price_id(&stripe, &choice, cx).await?;
    let customer = customer_for_checkout(cx, &store, id).await?;
    // What Stripe says now, not what the last webhook said (or, when an
    // overlapping sync read Stripe later still, what that one stored).
    let record = sync_identity(cx, &store, id, &customer).await?;
    if has_granting_subscription(&record, &cx.config.plans, cx.now) {
        return portal_for(&stripe, &req, &customer, app_url).await;
    }
    let order = CheckoutOrder {
        identity_id: id,
        customer_id: &customer,
        price_id: &price_id,
        success_url: &with_query(app_url, "checkout=success&session_id={CHECKOUT_SESSION_ID}"),
        cancel_url: &with_query(app_url, "checkout=canceled"),
    };
    let url = session_to_send_to(cx, &stripe, &store, &order).await?;
    send_to(&req, &url, Page::Checkout)
}

/// The page of the Checkout Session `order` is sent to: the last one the
/// identity started while Stripe has it open for the same price, else a
/// new one (and then the one open session left, remembered in `chk:`).
async fn session_to_send_to(
    cx: &Cx<'_>,
    stripe: &Stripe<'_>,
    store: &Store,
    order: &CheckoutOrder<'_>,
) -> Result<String, ApiError> {
    let id = order.identity_id;
    let last = store.last_checkout(id).await?.map(|v| LastCheckout::decode(&v));
    let open = match &last {
        Some(l) => open_session(stripe, &l.session_id).await?,
        None => None,
    };
    let basis = match checkout_step(last.as_ref(), open, order.price_id) {
        CheckoutStep::Resume { open: (url, _), .. } => return Ok(url),
        CheckoutStep::New { basis } => basis,
    };
    let made = stripe.send(&StripeRequest::create_checkout_session(order, &basis)).await?;
    let session = keep_one_open_session(cx, stripe, id, order.customer_id, made).await;
    let url = session.url.clone().ok_or_else(|| {
        ApiError::upstream("stripe_bad_answer", "Stripe answered an open Checkout Session without a url")
    })?;
    let price = session.price().unwrap_or(order.price_id).to_owned();
    let last =
        LastCheckout { session_id: session.id.clone(), price, expires_at: session.expires_at, started_at: cx.now };
    store.put_last_checkout(id, &last).await?;
    Ok(url)
}

/// Leaves the identity at most one open Checkout Session: of its open
/// sessions (the one just `made`, the last one for another price, a
/// concurrent click's), the newest is kept and the others expired, so that
/// only one can be paid; concurrent clicks agree on which. Answers the
/// session kept. A failure to list or expire is logged, not answered: the
/// session made is recorded, and one left open still expires at its
/// `expires_at`.
async fn keep_one_open_session(
    cx: &Cx<'_>,
    stripe: &Stripe<'_>,
    id: &IdentityId,
    customer: &str,
    made: CheckoutSession,
) -> CheckoutSession {
    let open = match stripe.send(&StripeRequest::open_checkout_sessions(customer)).await {
        Ok(list) => list.data,
        Err(e) => {
            log_failure(cx, "checkout_list_failed", None, e);
            return made;
        }
    };
    let keep = session_to_keep(&open, id).cloned().unwrap_or(made);
    for other in open.iter().filter(|s| s.id != keep.id && is_open_for(s, id)) {
        expire(cx, stripe, &other.id).await;
    }
    keep
}

/// The page and expiry of a session Stripe still has open, if it does.
async fn open_session(stripe: &Stripe<'_>, session_id: &str) -> Result<Option<(String, i64)>, ApiError> {
    let session = stripe.send(&StripeRequest::retrieve_checkout_session(session_id)).await.found()?;
    Ok(session.filter(|s| s.status == CheckoutStatus::Open).and_then(|s| Some((s.url?, s.expires_at))))
}

/// The Stripe price id of the choice; a price id `PLANS` does not list is
/// sold only when its lookup key is listed (400 otherwise, nothing made).
async fn price_id(stripe: &Stripe<'_>, choice: &PriceChoice, cx: &Cx<'_>) -> Result<String, ApiError> {
    match choice {
        PriceChoice::Listed { price: PriceRef::Id(id), .. } => Ok(id.clone()),
        PriceChoice::Listed { price: PriceRef::LookupKey(key), plan } => {
            let list = stripe.send(&StripeRequest::active_price_by_lookup_key(key)).await?;
            let price = list.data.into_iter().next().ok_or_else(|| {
                let message =
                    format!("Stripe has no active price with lookup key \"{key}\" (PLANS sells it as plan \"{plan}\")");
                ApiError::upstream("stripe_price_missing", message)
            })?;
            Ok(price.id)
        }
        PriceChoice::UnlistedId(id) => {
            let price = stripe.send(&StripeRequest::retrieve_price(id)).await.found()?;
            let sold =
                price.filter(|p| p.active && cx.config.plans.plan_for_price(&p.id, p.lookup_key.as_deref()).is_some());
            Ok(sold.ok_or_else(|| InputError::UnknownPrice(id.clone()))?.id)
        }
    }
}

/// Expires an open session another replaces. A session that is no longer
/// open (paid, expired) has nothing to expire; any other failure is logged.
async fn expire(cx: &Cx<'_>, stripe: &Stripe<'_>, session_id: &str) {
    match stripe.send(&StripeRequest::expire_checkout_session(session_id)).await {
        Ok(_) => {}
        Err(e) if matches!(e.kind, StripeErrorKind::InvalidRequest | StripeErrorKind::NotFound) => {}
        Err(e) => log_failure(cx, "checkout_expire_failed", Some(session_id), e),
    }
}

fn log_failure(cx: &Cx<'_>, what: &str, session: Option<&str>, e: StripeError) {
    let e = ApiError::from(e);
    cx.line(what)
        .field("session", &session)
        .field("error", e.code)
        .field("upstream", &e.upstream)
        .level(Level::Error)
        .write();
}

async fn portal_for(stripe: &Stripe<'_>, req: &Request, customer: &str, app_url: &str) -> Result<Reply, ApiError> {
    let session = stripe.send(&StripeRequest::create_portal_session(customer, app_url)).await?;
    send_to(req, &session.url, Page::Portal)
}

/// `POST /billing/portal`: 409 with nothing created when the identity has
/// no customer yet.
pub async fn portal(cx: &Cx<'_>, req: &Request, id: &IdentityId) -> Result<Reply, ApiError> {
    let app_url = cx.config.app_url.get()?;
    let store: Store = cx.store();
    if store.is_deleted(id).await? {
        return Err(deleted());
    }
    let customer = linked_customer(cx, &store, id).await?.ok_or_else(|| {
        ApiError::conflict("no_customer", "this identity has no Stripe customer yet; check out first")
    })?;
    portal_for(&cx.stripe()?, req, &customer, app_url).await
}
