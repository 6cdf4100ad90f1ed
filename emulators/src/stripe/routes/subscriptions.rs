//! `/v1/subscriptions`: create, retrieve, update, cancel and list.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::Value;

use crate::stripe::app::{App, Ctx};
use crate::stripe::errors::{ApiError, ApiResult};
use crate::stripe::expand::expand;
use crate::stripe::ids;
use crate::stripe::list::paginate;
use crate::stripe::ops::subscriptions::{self, NewSubscription, Trial};
use crate::stripe::params::Params;
use crate::stripe::resources::checkout::LineItem;
use crate::stripe::resources::subscription::{CancellationReason, Subscription, SubscriptionItem, SubscriptionStatus};
use crate::stripe::search::SearchRequest;

use super::items::requested_items;

/// The longest trial Stripe allows.
const MAX_TRIAL_DAYS: i64 = 730;

fn trial_days(params: &Params, key: &str) -> Result<Option<i64>, ApiError> {
    match params.int(key)? {
        Some(days) if !(1..=MAX_TRIAL_DAYS).contains(&days) => Err(ApiError::invalid(
            key,
            "parameter_invalid_integer",
            format!("This value must be greater than or equal to 1 and less than or equal to {MAX_TRIAL_DAYS}."),
        )),
        days => Ok(days),
    }
}

/// Validated line items: every entry needs a `price`; unknown prices are `None` here.
fn new_items(params: &Params) -> Result<Vec<LineItem>, ApiError> {
    let requested = requested_items(params, "items")?;
    if requested.is_empty() {
        return Err(ApiError::missing("items"));
    }
    requested
        .into_iter()
        .enumerate()
        .map(|(n, item)| match item.price {
            Some(price) => Ok(LineItem { price, quantity: item.quantity.unwrap_or(1) }),
            None => Err(ApiError::missing(&format!("items[{n}][price]"))),
        })
        .collect()
}

/// `POST /v1/subscriptions`
pub(crate) async fn create(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    params.only(&[
        "customer",
        "items",
        "trial_period_days",
        "trial_end",
        "metadata",
        "cancel_at_period_end",
        "payment_behavior",
        "default_payment_method",
        "collection_method",
    ])?;
    let customer = params.required_str("customer")?.to_string();
    let items = new_items(&params)?;
    let now = app.lock().now();
    let trial = match (trial_days(&params, "trial_period_days")?, params.int("trial_end")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "trial_end",
                "parameter_invalid_integer",
                "You may only specify one of these parameters: trial_end, trial_period_days.".into(),
            ))
        }
        (Some(days), None) => Some(Trial::Days(days)),
        (None, Some(at)) if at <= now => {
            return Err(ApiError::invalid(
                "trial_end",
                "parameter_invalid_integer",
                "Invalid timestamp: must be an integer Unix timestamp in the future.".into(),
            ))
        }
        (None, Some(at)) => Some(Trial::EndsAt(at)),
        (None, None) => None,
    };
    let cancel_at_period_end = params.bool("cancel_at_period_end")?.unwrap_or(false);
    let metadata = params.new_metadata("metadata", "metadata")?;
    let mut state = app.lock();
    if state.live_customer(&customer).is_none() {
        return Err(ApiError::no_such_param("customer", &customer, "customer"));
    }
    if let Some((n, price)) = subscriptions::unknown_price(&state, &items) {
        return Err(ApiError::no_such_param("price", &price, &format!("items[{n}][price]")));
    }
    let new = NewSubscription { customer, items, metadata, trial, cancel_at_period_end };
    let mut json = subscriptions::create(&mut state, &ctx, new)?;
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}

/// `GET /v1/subscriptions/{id}` (canceled ones stay retrievable).
pub(crate) async fn retrieve(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let state = app.lock();
    let mut json = subscriptions::rendered(&state, &id)?;
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}

/// `POST /v1/subscriptions/{id}`: `cancel_at_period_end`, `metadata`, `items`
/// (change an item's price/quantity by `id`, or add one).
pub(crate) async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    params.only(&["cancel_at_period_end", "metadata", "items", "proration_behavior", "payment_behavior"])?;
    let cancel = params.bool("cancel_at_period_end")?;
    let metadata = params.metadata("metadata")?;
    let items = requested_items(&params, "items")?;
    let mut state = app.lock();
    let sub = state.subscriptions.get(&id).ok_or_else(|| ApiError::no_such("subscription", &id))?;
    if sub.status.is_ended() && (cancel.is_some() || !items.is_empty()) {
        return Err(ApiError::state(
            "A canceled subscription can only update its cancellation_details and metadata.".to_string(),
        ));
    }
    let metadata = match metadata {
        Some(update) => Some(update.applied_to(&sub.metadata)?),
        None => None,
    };
    for (n, item) in items.iter().enumerate() {
        if let Some(item_id) = &item.id {
            if !sub.items.iter().any(|i| &i.id == item_id) {
                return Err(ApiError::no_such_param("subscription_item", item_id, &format!("items[{n}][id]")));
            }
        } else if item.price.is_none() {
            return Err(ApiError::missing(&format!("items[{n}][price]")));
        }
        if let Some(price) = &item.price {
            if !state.prices.contains_key(price) {
                return Err(ApiError::no_such_param("price", price, &format!("items[{n}][price]")));
            }
        }
    }
    let now = state.now();
    let mut json = subscriptions::mutate(&mut state, &ctx, &id, |sub| {
        if let Some(cancel) = cancel {
            subscriptions::schedule_cancel(sub, cancel, now);
        }
        if let Some(metadata) = metadata {
            sub.metadata = metadata;
        }
        for item in items {
            apply_item(sub, item, now);
        }
    })?;
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}

fn apply_item(
    sub: &mut crate::stripe::resources::subscription::Subscription,
    item: super::items::RequestedItem,
    now: i64,
) {
    match item.id {
        Some(id) => {
            if let Some(existing) = sub.items.iter_mut().find(|i| i.id == id) {
                if let Some(price) = item.price {
                    existing.price = price;
                }
                if let Some(quantity) = item.quantity {
                    existing.quantity = quantity;
                }
            }
        }
        None => {
            let (start, end) = sub.items.first().map_or((now, now), |i| (i.current_period_start, i.current_period_end));
            sub.items.push(SubscriptionItem {
                id: ids::new_id("si_", 14),
                created: now,
                price: item.price.unwrap_or_default(),
                quantity: item.quantity.unwrap_or(1),
                current_period_start: start,
                current_period_end: end,
            });
        }
    }
}

/// `DELETE /v1/subscriptions/{id}`: cancels now.
pub(crate) async fn cancel(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    params.only(&["invoice_now", "prorate", "cancellation_details"])?;
    let mut state = app.lock();
    let mut json = subscriptions::cancel_now(&mut state, &ctx, &id, CancellationReason::CancellationRequested)?;
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}

/// Which statuses a list returns: `all`, `ended`, one status, or by default
/// everything but canceled and incomplete_expired.
fn status_filter(params: &Params) -> Result<Box<dyn Fn(SubscriptionStatus) -> bool>, ApiError> {
    Ok(match params.str("status")? {
        None => Box::new(|s: SubscriptionStatus| !s.is_ended()),
        Some("all") => Box::new(|_| true),
        Some("ended") => Box::new(|s: SubscriptionStatus| s.is_ended()),
        Some(other) => match SubscriptionStatus::parse(other) {
            Some(wanted) => Box::new(move |s| s == wanted),
            None => {
                return Err(ApiError::invalid(
                    "status",
                    "parameter_invalid_string",
                    "Invalid status: must be one of active, all, canceled, ended, incomplete, incomplete_expired, past_due, paused, trialing, or unpaid".to_string(),
                ))
            }
        },
    })
}

/// `GET /v1/subscriptions?customer=&price=&status=`: newest first.
pub(crate) async fn list(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    params.only(&[
        "customer",
        "price",
        "status",
        "limit",
        "starting_after",
        "ending_before",
        "created",
        "collection_method",
    ])?;
    let customer = params.str("customer")?;
    let price = params.str("price")?;
    let wanted = status_filter(&params)?;
    let state = app.lock();
    let mut subs: Vec<_> = state
        .subscriptions
        .values()
        .filter(|s| customer.is_none_or(|c| s.customer == c))
        .filter(|s| price.is_none_or(|p| s.items.iter().any(|i| i.price == p)))
        .filter(|s| wanted(s.status))
        .collect();
    subs.sort_by_key(|x| std::cmp::Reverse(x.seq));
    let items: Vec<(String, Value)> = subs.into_iter().map(|s| (s.id.clone(), state.subscription_json(s))).collect();
    let mut page = paginate(items, &params, "/v1/subscriptions", "subscription")?;
    expand(&state, &mut page, &params.expand());
    Ok(Json(page))
}

/// `GET /v1/subscriptions/search?query=`: like customer search, it sees the
/// account as it was `search_lag` ago and answers each match as it is now.
pub(crate) async fn search(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    let request = SearchRequest::read::<Subscription>(&params)?;
    let state = app.lock();
    let mut found: Vec<_> =
        state.subscription_index.visible(state.search_lag).into_iter().filter(|s| request.query.matches(*s)).collect();
    found.sort_by_key(|x| std::cmp::Reverse(x.seq));
    let mut result = request.page(found, "/v1/subscriptions/search", |snapshot| {
        state.subscription_json(state.subscriptions.get(&snapshot.id).unwrap_or(snapshot))
    });
    expand(&state, &mut result, &params.expand());
    Ok(Json(result))
}
