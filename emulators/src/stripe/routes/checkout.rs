//! `/v1/checkout/sessions`: create (subscription mode), list, retrieve and expire.

use axum::extract::{Path, State};
use axum::{Extension, Json};

use crate::stripe::app::{App, Ctx};
use crate::stripe::errors::{ApiError, ApiResult};
use crate::stripe::expand::expand;
use crate::stripe::ids;
use crate::stripe::list::paginate;
use crate::stripe::ops::checkout as ops;
use crate::stripe::ops::subscriptions::unknown_price;
use crate::stripe::params::Params;
use crate::stripe::resources::checkout::{CheckoutSession, CheckoutStatus, LineItem, PaymentStatus};

use super::items::requested_items;

/// Sessions expire after 24 hours by default, the longest `expires_at` Stripe allows.
const LIFETIME: i64 = 24 * 60 * 60;

/// The earliest `expires_at` Stripe allows: 30 minutes after creation.
const MIN_LIFETIME: i64 = 30 * 60;

/// `expires_at`, checked against the creation time `now` as Stripe does.
fn expires_at(params: &Params, now: i64) -> Result<i64, ApiError> {
    let invalid = |message: &str| ApiError::invalid("expires_at", "parameter_invalid_integer", message.to_string());
    match params.int("expires_at")? {
        None => Ok(now + LIFETIME),
        Some(at) if at < now + MIN_LIFETIME => {
            Err(invalid("The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation."))
        }
        Some(at) if at > now + LIFETIME => {
            Err(invalid("The `expires_at` timestamp must be less than 24 hours from Checkout Session creation."))
        }
        Some(at) => Ok(at),
    }
}

/// `POST /v1/checkout/sessions`
pub(crate) async fn create(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    params.only(&[
        "mode",
        "customer",
        "customer_email",
        "client_reference_id",
        "line_items",
        "success_url",
        "cancel_url",
        "metadata",
        "subscription_data",
        "allow_promotion_codes",
        "payment_method_types",
        "billing_address_collection",
        "locale",
        "ui_mode",
        "expires_at",
    ])?;
    let mode = params.required_str("mode")?;
    if mode != "subscription" {
        return Err(ApiError::invalid(
            "mode",
            "parameter_invalid_string",
            format!("The emulator only supports `mode=subscription` (got `{mode}`)."),
        ));
    }
    let customer = params.str("customer")?.filter(|c| !c.is_empty()).map(str::to_string);
    let customer_email = params.str("customer_email")?.filter(|c| !c.is_empty()).map(str::to_string);
    if customer.is_some() && customer_email.is_some() {
        return Err(ApiError::bad_request(
            "You may only specify one of these parameters: customer, customer_email.".to_string(),
        ));
    }
    let requested = requested_items(&params, "line_items")?;
    if requested.is_empty() {
        return Err(ApiError::missing("line_items"));
    }
    let mut line_items = Vec::new();
    for (n, item) in requested.into_iter().enumerate() {
        let price = item.price.ok_or_else(|| ApiError::missing(&format!("line_items[{n}][price]")))?;
        line_items.push(LineItem { price, quantity: item.quantity.unwrap_or(1) });
    }
    let subscription_data = params.child("subscription_data")?;
    subscription_data.only(&["metadata", "trial_period_days", "description"])?;
    let trial_period_days = match subscription_data.int("trial_period_days")? {
        Some(days) if !(1..=730).contains(&days) => {
            return Err(ApiError::invalid(
                "subscription_data[trial_period_days]",
                "parameter_invalid_integer",
                "This value must be greater than or equal to 1 and less than or equal to 730.".to_string(),
            ))
        }
        days => days,
    };
    let subscription_metadata = subscription_data.new_metadata("metadata", "subscription_data[metadata]")?;
    let metadata = params.new_metadata("metadata", "metadata")?;
    let mut state = app.lock();
    let now = state.now();
    let expires_at = expires_at(&params, now)?;
    if let Some(id) = &customer {
        if state.live_customer(id).is_none() {
            return Err(ApiError::no_such_param("customer", id, "customer"));
        }
    }
    if let Some((n, price)) = unknown_price(&state, &line_items) {
        return Err(ApiError::no_such_param("price", &price, &format!("line_items[{n}][price]")));
    }
    let amount_total =
        line_items.iter().map(|i| state.prices.get(&i.price).map_or(0, |p| p.unit_amount * i.quantity as i64)).sum();
    let prefix = if state.livemode { "cs_live_" } else { "cs_test_" };
    let id = ids::new_id(prefix, 24);
    let seq = state.next_seq();
    let session = CheckoutSession {
        url: state.hosted_url("checkout", &id),
        id: id.clone(),
        seq,
        created: now,
        expires_at,
        status: CheckoutStatus::Open,
        payment_status: PaymentStatus::Unpaid,
        customer,
        customer_email,
        details_email: None,
        client_reference_id: params.str("client_reference_id")?.map(str::to_string),
        line_items,
        amount_total,
        success_url: params.str("success_url")?.map(str::to_string),
        cancel_url: params.str("cancel_url")?.map(str::to_string),
        metadata,
        subscription_metadata,
        trial_period_days,
        subscription: None,
        invoice: None,
    };
    let mut json = session.to_json(state.livemode);
    state.checkout_sessions.insert(id, session);
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}

/// `GET /v1/checkout/sessions?customer=&status=&limit=&starting_after=`:
/// newest first, as Stripe lists them (a list, so it sees every session at
/// once, unlike search).
pub(crate) async fn list(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    params.only(&[
        "customer",
        "status",
        "limit",
        "starting_after",
        "ending_before",
        "created",
        "customer_details",
        "payment_intent",
        "payment_link",
        "subscription",
    ])?;
    let customer = params.str("customer")?;
    let status = match params.str("status")? {
        None => None,
        Some("open") => Some(CheckoutStatus::Open),
        Some("complete") => Some(CheckoutStatus::Complete),
        Some("expired") => Some(CheckoutStatus::Expired),
        Some(other) => {
            return Err(ApiError::invalid(
                "status",
                "parameter_invalid_string",
                format!("Invalid status: must be one of open, complete, or expired (got `{other}`)."),
            ))
        }
    };
    let subscription = params.str("subscription")?;
    let state = app.lock();
    let mut found: Vec<_> = state
        .checkout_sessions
        .values()
        .filter(|s| customer.is_none_or(|c| s.customer.as_deref() == Some(c)))
        .filter(|s| status.is_none_or(|st| s.status == st))
        .filter(|s| subscription.is_none_or(|sub| s.subscription.as_deref() == Some(sub)))
        .collect();
    found.sort_by_key(|s| std::cmp::Reverse(s.seq));
    let items = found.into_iter().map(|s| (s.id.clone(), s.to_json(state.livemode))).collect();
    let mut page = paginate(items, &params, "/v1/checkout/sessions", "checkout.session")?;
    expand(&state, &mut page, &params.expand());
    Ok(Json(page))
}

/// `GET /v1/checkout/sessions/{id}`
pub(crate) async fn retrieve(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let state = app.lock();
    let session = state.checkout_sessions.get(&id).ok_or_else(|| ApiError::no_such("checkout.session", &id))?;
    let mut json = session.to_json(state.livemode);
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}

/// `POST /v1/checkout/sessions/{id}/expire`: only an `open` session can be expired.
pub(crate) async fn expire(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    params.only(&[])?;
    let mut state = app.lock();
    let mut json = ops::expire(&mut state, &ctx, &id)?;
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}
