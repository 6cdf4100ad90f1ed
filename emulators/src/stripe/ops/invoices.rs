//! Issuing the invoice of a subscription period.

use serde_json::Value;

use crate::stripe::app::Ctx;
use crate::stripe::ids;
use crate::stripe::resources::event::EventType;
use crate::stripe::resources::invoice::{BillingReason, Invoice, InvoiceStatus};
use crate::stripe::state::State;

/// What an invoice is for and how its payment went.
pub(crate) struct InvoiceSpec {
    pub reason: BillingReason,
    pub status: InvoiceStatus,
    /// A $0 invoice (the start of a trial).
    pub free: bool,
}

/// An invoice that exists but whose event has not been emitted yet.
pub(crate) struct Issued {
    json: Value,
    kind: EventType,
}

impl Issued {
    /// Emits `invoice.paid` or `invoice.payment_failed`.
    pub(crate) fn announce(self, state: &mut State, ctx: &Ctx) {
        state.emit(ctx, self.kind, self.json, None);
    }
}

/// Issues the invoice for the subscription's current period and makes it the
/// `latest_invoice`; the caller announces it when Stripe would.
pub(crate) fn issue(state: &mut State, subscription_id: &str, spec: InvoiceSpec) -> Option<Issued> {
    let seq = state.next_seq();
    let sub = state.subscriptions.get(subscription_id)?;
    let item = sub.items.first()?;
    let amount: i64 = if spec.free {
        0
    } else {
        sub.items.iter().map(|i| state.prices.get(&i.price).map_or(0, |p| p.unit_amount * i.quantity as i64)).sum()
    };
    let customer = state.customers.get(&sub.customer);
    let number_seq = state.invoices.values().filter(|i| i.customer == sub.customer).count() + 1;
    let invoice = Invoice {
        id: ids::new_id("in_", 24),
        seq,
        number: format!("{}-{:04}", customer.map_or("EMU00000", |c| c.invoice_prefix.as_str()), number_seq),
        created: state.now(),
        customer: sub.customer.clone(),
        customer_email: customer.and_then(|c| c.email.clone()),
        customer_name: customer.and_then(|c| c.name.clone()),
        subscription: sub.id.clone(),
        subscription_metadata: sub.metadata.clone(),
        subscription_item: item.id.clone(),
        price: item.price.clone(),
        status: spec.status,
        billing_reason: spec.reason,
        amount,
        period_start: item.current_period_start,
        period_end: item.current_period_end,
    };
    let json = invoice.to_json(state.livemode);
    let id = invoice.id.clone();
    state.invoices.insert(id.clone(), invoice);
    if let Some(sub) = state.subscriptions.get_mut(subscription_id) {
        sub.latest_invoice = Some(id);
    }
    let kind = match spec.status {
        InvoiceStatus::Paid => EventType::InvoicePaid,
        InvoiceStatus::Open => EventType::InvoicePaymentFailed,
    };
    Some(Issued { json, kind })
}

/// Issues and at once announces an invoice.
pub(crate) fn issue_and_announce(state: &mut State, ctx: &Ctx, subscription_id: &str, spec: InvoiceSpec) {
    if let Some(issued) = issue(state, subscription_id, spec) {
        issued.announce(state, ctx);
    }
}
