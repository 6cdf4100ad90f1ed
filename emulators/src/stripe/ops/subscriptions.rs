//! Creating, changing and canceling subscriptions.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::stripe::app::Ctx;
use crate::stripe::clock::add_interval;
use crate::stripe::errors::ApiError;
use crate::stripe::ids;
use crate::stripe::resources::checkout::LineItem;
use crate::stripe::resources::event::{previous_attributes, EventType};
use crate::stripe::resources::invoice::{BillingReason, InvoiceStatus};
use crate::stripe::resources::subscription::{CancellationReason, Subscription, SubscriptionItem, SubscriptionStatus};
use crate::stripe::state::State;

use super::invoices::{self, InvoiceSpec};

/// Stripe sends `trial_will_end` three days before a trial ends.
const TRIAL_WILL_END_NOTICE: i64 = 3 * 86_400;

/// A validated subscription to create.
pub(crate) struct NewSubscription {
    pub customer: String,
    pub items: Vec<LineItem>,
    pub metadata: BTreeMap<String, String>,
    /// Either a number of days from now or an exact `trial_end`.
    pub trial: Option<Trial>,
    pub cancel_at_period_end: bool,
}

/// How a new subscription's trial is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trial {
    /// `trial_period_days`.
    Days(i64),
    /// `trial_end`: a Unix timestamp in the future.
    EndsAt(i64),
}

/// The price ids of `items` that the catalogue does not have, with their index.
pub(crate) fn unknown_price(state: &State, items: &[LineItem]) -> Option<(usize, String)> {
    items.iter().enumerate().find(|(_, i)| !state.prices.contains_key(&i.price)).map(|(n, i)| (n, i.price.clone()))
}

/// Creates a subscription (active, or trialing) with its first invoice; emits
/// `customer.subscription.created`, `invoice.paid` (and `trial_will_end` for
/// trials shorter than three days). Prices and customer must be valid.
pub(crate) fn create(state: &mut State, ctx: &Ctx, new: NewSubscription) -> Result<Value, ApiError> {
    let now = state.now();
    let trial_end = new.trial.map(|t| match t {
        Trial::Days(days) => now + days * 86_400,
        Trial::EndsAt(at) => at,
    });
    let id = ids::new_id("sub_", 24);
    let mut items = Vec::new();
    for line in &new.items {
        let price =
            state.prices.get(&line.price).ok_or_else(|| ApiError::no_such_param("price", &line.price, "items"))?;
        items.push(SubscriptionItem {
            id: ids::new_id("si_", 14),
            created: now,
            price: line.price.clone(),
            quantity: line.quantity,
            current_period_start: now,
            current_period_end: trial_end.unwrap_or_else(|| add_interval(now, price.interval)),
        });
    }
    let period_end = items.first().map_or(now, |i| i.current_period_end);
    let seq = state.next_seq();
    let subscription = Subscription {
        id: id.clone(),
        seq,
        created: now,
        customer: new.customer,
        status: if trial_end.is_some() { SubscriptionStatus::Trialing } else { SubscriptionStatus::Active },
        items,
        cancel_at_period_end: new.cancel_at_period_end,
        cancel_at: new.cancel_at_period_end.then_some(period_end),
        canceled_at: new.cancel_at_period_end.then_some(now),
        ended_at: None,
        trial_start: trial_end.map(|_| now),
        trial_end,
        metadata: new.metadata,
        latest_invoice: None,
        start_date: now,
        billing_cycle_anchor: period_end,
        cancellation_reason: new.cancel_at_period_end.then_some(CancellationReason::CancellationRequested),
    };
    state.subscriptions.insert(id.clone(), subscription);
    state.reindex_subscription(&id);
    let spec = InvoiceSpec {
        reason: BillingReason::SubscriptionCreate,
        status: InvoiceStatus::Paid,
        free: trial_end.is_some(),
    };
    // The invoice exists (as latest_invoice) before the subscription is announced.
    let issued = invoices::issue(state, &id, spec);
    let json = rendered(state, &id)?;
    state.emit(ctx, EventType::SubscriptionCreated, json.clone(), None);
    if let Some(issued) = issued {
        issued.announce(state, ctx);
    }
    if trial_end.is_some_and(|end| end - now <= TRIAL_WILL_END_NOTICE) {
        state.emit(ctx, EventType::SubscriptionTrialWillEnd, json.clone(), None);
    }
    Ok(json)
}

/// The subscription's current JSON.
pub(crate) fn rendered(state: &State, id: &str) -> Result<Value, ApiError> {
    let sub = state.subscriptions.get(id).ok_or_else(|| ApiError::no_such("subscription", id))?;
    Ok(state.subscription_json(sub))
}

/// Applies `change` and emits `customer.subscription.updated` with
/// `previous_attributes` when the JSON changed; returns the new JSON.
pub(crate) fn mutate(
    state: &mut State,
    ctx: &Ctx,
    id: &str,
    change: impl FnOnce(&mut Subscription),
) -> Result<Value, ApiError> {
    let before = rendered(state, id)?;
    if let Some(sub) = state.subscriptions.get_mut(id) {
        change(sub);
    }
    state.reindex_subscription(id);
    let after = rendered(state, id)?;
    if let Some(previous) = previous_attributes(&before, &after) {
        state.emit(ctx, EventType::SubscriptionUpdated, after.clone(), Some(previous));
    }
    Ok(after)
}

/// Sets or clears `cancel_at_period_end` (with `cancel_at`/`canceled_at`).
pub(crate) fn set_cancel_at_period_end(
    state: &mut State,
    ctx: &Ctx,
    id: &str,
    cancel: bool,
) -> Result<Value, ApiError> {
    let now = state.now();
    mutate(state, ctx, id, |sub| schedule_cancel(sub, cancel, now))
}

/// The fields Stripe sets when `cancel_at_period_end` changes: `cancel_at`
/// (the period end), `canceled_at` (the request time) and the reason.
pub(crate) fn schedule_cancel(sub: &mut Subscription, cancel: bool, now: i64) {
    if sub.cancel_at_period_end == cancel {
        return;
    }
    sub.cancel_at_period_end = cancel;
    sub.cancel_at = cancel.then(|| sub.current_period_end());
    sub.canceled_at = cancel.then_some(now);
    sub.cancellation_reason = cancel.then_some(CancellationReason::CancellationRequested);
}

/// Cancels now: status `canceled`, `canceled_at`/`ended_at` now; emits
/// `customer.subscription.deleted`. An already ended one is "No such subscription".
pub(crate) fn cancel_now(
    state: &mut State,
    ctx: &Ctx,
    id: &str,
    reason: CancellationReason,
) -> Result<Value, ApiError> {
    let now = state.now();
    let sub = state.subscriptions.get_mut(id).ok_or_else(|| ApiError::no_such("subscription", id))?;
    if sub.status.is_ended() {
        return Err(ApiError::no_such("subscription", id));
    }
    sub.status = SubscriptionStatus::Canceled;
    sub.canceled_at = Some(now);
    sub.ended_at = Some(now);
    sub.cancellation_reason = Some(reason);
    state.reindex_subscription(id);
    let json = rendered(state, id)?;
    state.emit(ctx, EventType::SubscriptionDeleted, json.clone(), None);
    Ok(json)
}
