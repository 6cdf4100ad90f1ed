//! What happens to a subscription over time, driven by the test controls:
//! payment failures and recoveries, pauses, and the end of a period.

use serde_json::Value;

use crate::stripe::app::Ctx;
use crate::stripe::clock::add_interval;
use crate::stripe::errors::ApiError;
use crate::stripe::resources::event::EventType;
use crate::stripe::resources::invoice::{BillingReason, InvoiceStatus};
use crate::stripe::resources::subscription::{CancellationReason, SubscriptionStatus};
use crate::stripe::state::State;

use super::invoices::{self, InvoiceSpec};
use super::subscriptions::{self, mutate, rendered};

fn is_delinquent(status: SubscriptionStatus) -> bool {
    matches!(status, SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid)
}

/// Forces a status, with the events Stripe sends around such a change:
/// `invoice.payment_failed` on entering past_due/unpaid, `invoice.paid` on
/// recovering to active, `paused`/`resumed`, and `deleted` for canceled.
pub(crate) fn set_status(
    state: &mut State,
    ctx: &Ctx,
    id: &str,
    status: SubscriptionStatus,
) -> Result<Value, ApiError> {
    let before = state.subscriptions.get(id).ok_or_else(|| ApiError::no_such("subscription", id))?.status;
    if before.is_ended() {
        return Err(ApiError::state(
            "A canceled subscription can only update its cancellation_details and metadata.".into(),
        ));
    }
    if status == SubscriptionStatus::Canceled {
        return subscriptions::cancel_now(state, ctx, id, CancellationReason::PaymentFailed);
    }
    let failed = is_delinquent(status) && !is_delinquent(before);
    let recovered = status == SubscriptionStatus::Active
        && matches!(before, SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid | SubscriptionStatus::Incomplete);
    let invoice = if failed || recovered {
        let spec = InvoiceSpec {
            reason: BillingReason::SubscriptionCycle,
            status: if failed { InvoiceStatus::Open } else { InvoiceStatus::Paid },
            free: false,
        };
        invoices::issue(state, id, spec)
    } else {
        None
    };
    if let Some(invoice) = invoice {
        invoice.announce(state, ctx);
    }
    let json = mutate(state, ctx, id, |sub| sub.status = status)?;
    if status == SubscriptionStatus::Paused && before != SubscriptionStatus::Paused {
        state.emit(ctx, EventType::SubscriptionPaused, json.clone(), None);
    }
    if before == SubscriptionStatus::Paused && status != SubscriptionStatus::Paused {
        state.emit(ctx, EventType::SubscriptionResumed, json.clone(), None);
    }
    Ok(json)
}

/// Ends the current period now: a subscription set to cancel at period end
/// is canceled (`deleted`); a trial converts to active; anything else renews
/// with a paid invoice. Answers the subscription.
pub(crate) fn end_period(state: &mut State, ctx: &Ctx, id: &str) -> Result<Value, ApiError> {
    let sub = state.subscriptions.get(id).ok_or_else(|| ApiError::no_such("subscription", id))?;
    if sub.status.is_ended() {
        return Err(ApiError::state("This subscription has already ended.".into()));
    }
    let now = state.now();
    if sub.cancel_at_period_end {
        if let Some(sub) = state.subscriptions.get_mut(id) {
            sub.status = SubscriptionStatus::Canceled;
            sub.ended_at = Some(now);
            sub.cancel_at = Some(now);
            for item in &mut sub.items {
                item.current_period_end = now;
            }
        }
        state.reindex_subscription(id);
        let json = rendered(state, id)?;
        state.emit(ctx, EventType::SubscriptionDeleted, json.clone(), None);
        return Ok(json);
    }
    let trialing = sub.status == SubscriptionStatus::Trialing;
    let intervals: Vec<_> = sub.items.iter().map(|i| state.prices.get(&i.price).map(|p| p.interval)).collect();
    let before = rendered(state, id)?;
    if let Some(sub) = state.subscriptions.get_mut(id) {
        if trialing {
            sub.status = SubscriptionStatus::Active;
            sub.trial_end = Some(now);
        }
        for (item, interval) in sub.items.iter_mut().zip(intervals) {
            item.current_period_start = now;
            item.current_period_end = interval.map_or(now + 30 * 86_400, |i| add_interval(now, i));
        }
        sub.billing_cycle_anchor = sub.current_period_end();
    }
    state.reindex_subscription(id);
    let spec = InvoiceSpec { reason: BillingReason::SubscriptionCycle, status: InvoiceStatus::Paid, free: false };
    invoices::issue_and_announce(state, ctx, id, spec);
    let after = rendered(state, id)?;
    let previous = crate::stripe::resources::event::previous_attributes(&before, &after);
    state.emit(ctx, EventType::SubscriptionUpdated, after.clone(), previous);
    Ok(after)
}
