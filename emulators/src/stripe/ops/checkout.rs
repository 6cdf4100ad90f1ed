//! Completing a Checkout Session as a paying customer would, or expiring it.

use serde_json::Value;

use crate::stripe::app::Ctx;
use crate::stripe::errors::ApiError;
use crate::stripe::resources::checkout::{CheckoutStatus, PaymentStatus};
use crate::stripe::resources::event::EventType;
use crate::stripe::state::State;

use super::customers::{self, CustomerFields};
use super::subscriptions::{self, NewSubscription};

/// The session and the subscription it created.
pub(crate) struct Completed {
    pub session: Value,
    pub subscription: Value,
}

/// Creates the customer (when the session had none) and the subscription,
/// marks the session complete and paid, and emits `customer.created`,
/// `customer.subscription.created`, `invoice.paid`, `checkout.session.completed`.
pub(crate) fn complete(state: &mut State, ctx: &Ctx, session_id: &str) -> Result<Completed, ApiError> {
    let session = state
        .checkout_sessions
        .get(session_id)
        .ok_or_else(|| ApiError::no_such("checkout.session", session_id))?
        .clone();
    if session.status != CheckoutStatus::Open {
        return Err(ApiError::state(format!(
            "The Checkout Session {session_id} is not open (status: {}).",
            session.status.as_str()
        )));
    }
    let customer_id = match &session.customer {
        Some(id) => {
            state.live_customer(id).ok_or_else(|| ApiError::no_such_param("customer", id, "customer"))?;
            id.clone()
        }
        None => {
            let fields = CustomerFields { email: Some(session.customer_email.clone()), ..Default::default() };
            let json = customers::create(state, ctx, fields)?;
            json.get("id").and_then(Value::as_str).unwrap_or_default().to_string()
        }
    };
    let email = state.customers.get(&customer_id).and_then(|c| c.email.clone());
    let subscription = subscriptions::create(
        state,
        ctx,
        NewSubscription {
            customer: customer_id.clone(),
            items: session.line_items.clone(),
            metadata: session.subscription_metadata.clone(),
            trial: session.trial_period_days.map(subscriptions::Trial::Days),
            cancel_at_period_end: false,
        },
    )?;
    let subscription_id = subscription.get("id").and_then(Value::as_str).map(str::to_string);
    let invoice = subscription.get("latest_invoice").and_then(Value::as_str).map(str::to_string);
    let livemode = state.livemode;
    let stored =
        state.checkout_sessions.get_mut(session_id).ok_or_else(|| ApiError::no_such("checkout.session", session_id))?;
    stored.status = CheckoutStatus::Complete;
    stored.payment_status = PaymentStatus::Paid;
    stored.customer = Some(customer_id);
    stored.details_email = email.or_else(|| stored.customer_email.clone());
    stored.subscription = subscription_id;
    stored.invoice = invoice;
    let session = stored.to_json(livemode);
    state.emit(ctx, EventType::CheckoutSessionCompleted, session.clone(), None);
    Ok(Completed { session, subscription })
}

/// Expires an open session (`url` becomes null) and emits
/// `checkout.session.expired`; answers the session. Any other status is
/// refused with Stripe's message.
pub(crate) fn expire(state: &mut State, ctx: &Ctx, session_id: &str) -> Result<Value, ApiError> {
    let livemode = state.livemode;
    let stored =
        state.checkout_sessions.get_mut(session_id).ok_or_else(|| ApiError::no_such("checkout.session", session_id))?;
    if stored.status != CheckoutStatus::Open {
        return Err(ApiError::state(format!(
            "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of `{}`.",
            stored.status.as_str()
        )));
    }
    stored.status = CheckoutStatus::Expired;
    let session = stored.to_json(livemode);
    state.emit(ctx, EventType::CheckoutSessionExpired, session.clone(), None);
    Ok(session)
}
