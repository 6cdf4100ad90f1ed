//! Invoices: one per subscription period, paid or failed.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{merged, metadata_json};

/// `status` of an invoice (only the ones the emulator produces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvoiceStatus {
    Open,
    Paid,
}

/// `billing_reason` of an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BillingReason {
    SubscriptionCreate,
    SubscriptionCycle,
}

impl BillingReason {
    fn as_str(self) -> &'static str {
        match self {
            BillingReason::SubscriptionCreate => "subscription_create",
            BillingReason::SubscriptionCycle => "subscription_cycle",
        }
    }
}

/// An invoice as stored.
#[derive(Debug, Clone)]
pub(crate) struct Invoice {
    pub id: String,
    pub seq: u64,
    pub number: String,
    pub created: i64,
    pub customer: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub subscription: String,
    /// The subscription's metadata when the invoice was issued (Stripe keeps
    /// this snapshot in `parent.subscription_details.metadata`).
    pub subscription_metadata: BTreeMap<String, String>,
    pub subscription_item: String,
    pub price: String,
    pub status: InvoiceStatus,
    pub billing_reason: BillingReason,
    pub amount: i64,
    pub period_start: i64,
    pub period_end: i64,
}

impl Invoice {
    /// The `invoice` object. As in basil, the subscription is named only under
    /// `parent.subscription_details` (with its metadata); there is no
    /// top-level `subscription` (nor `subscription_details`) any more.
    pub(crate) fn to_json(&self, livemode: bool) -> Value {
        let paid = self.status == InvoiceStatus::Paid;
        let line_id = format!("il_{}", self.id.trim_start_matches("in_"));
        let lines = json!({
            "object": "list",
            "data": [{
                "id": line_id,
                "object": "line_item",
                "amount": self.amount,
                "currency": "usd",
                "description": null,
                "discount_amounts": [],
                "discountable": true,
                "discounts": [],
                "invoice": self.id,
                "livemode": livemode,
                "metadata": {},
                "parent": {
                    "invoice_item_details": null,
                    "subscription_item_details": {
                        "invoice_item": null,
                        "proration": false,
                        "proration_details": { "credited_items": null },
                        "subscription": self.subscription,
                        "subscription_item": self.subscription_item
                    },
                    "type": "subscription_item_details"
                },
                "period": { "end": self.period_end, "start": self.period_start },
                "pretax_credit_amounts": [],
                "pricing": { "price_details": { "price": self.price, "product": null }, "type": "price_details", "unit_amount_decimal": self.amount.to_string() },
                "quantity": 1,
                "quantity_decimal": "1",
                "subscription": self.subscription,
                "subtotal": self.amount,
                "taxes": []
            }],
            "has_more": false,
            "total_count": 1,
            "url": format!("/v1/invoices/{}/lines", self.id)
        });
        let head = json!({
            "id": self.id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Stripe Emulator",
            "amount_due": self.amount,
            "amount_overpaid": 0,
            "amount_paid": if paid { self.amount } else { 0 },
            "amount_remaining": if paid { 0 } else { self.amount },
            "amount_shipping": 0,
            "attempt_count": if self.amount == 0 { 0 } else { 1 },
            "attempted": self.amount != 0,
            "auto_advance": !paid,
            "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null, "provider": null, "status": null },
            "billing_reason": self.billing_reason.as_str(),
            "collection_method": "charge_automatically",
            "created": self.created,
            "currency": "usd",
            "customer": self.customer,
            "customer_email": self.customer_email,
            "customer_name": self.customer_name,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": null,
            "description": null,
            "discounts": [],
            "due_date": null,
            "effective_at": self.created,
            "ending_balance": 0,
            "hosted_invoice_url": null,
            "invoice_pdf": null,
            "issuer": { "type": "self" },
            "last_finalization_error": null,
        });
        let rest = json!({
            "lines": lines,
            "livemode": livemode,
            "metadata": {},
            "next_payment_attempt": null,
            "number": self.number,
            "on_behalf_of": null,
            "parent": {
                "quote_details": null,
                "subscription_details": {
                    "metadata": metadata_json(&self.subscription_metadata),
                    "subscription": self.subscription
                },
                "type": "subscription_details"
            },
            "period_end": self.period_end,
            "period_start": self.period_start,
            "status": if paid { "paid" } else { "open" },
            "status_transitions": {
                "finalized_at": self.created,
                "marked_uncollectible_at": null,
                "paid_at": if paid { Some(self.created) } else { None },
                "voided_at": null
            },
            "subtotal": self.amount,
            "subtotal_excluding_tax": self.amount,
            "test_clock": null,
            "total": self.amount,
            "total_discount_amounts": [],
            "total_excluding_tax": self.amount,
            "total_taxes": []
        });
        // Fields Stripe always sends that the emulator never fills.
        let unset = json!({
            "account_tax_ids": null,
            "application": null,
            "automatically_finalizes_at": null,
            "custom_fields": null,
            "customer_account": null,
            "customer_address": null,
            "customer_phone": null,
            "customer_shipping": null,
            "default_source": null,
            "default_tax_rates": [],
            "footer": null,
            "from_invoice": null,
            "latest_revision": null,
            "payment_settings": { "default_mandate": null, "payment_method_options": null, "payment_method_types": null },
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": null,
            "rendering": null,
            "shipping_cost": null,
            "shipping_details": null,
            "starting_balance": 0,
            "statement_descriptor": null,
            "total_pretax_credit_amounts": [],
            "webhooks_delivered_at": null
        });
        merged(merged(head, rest), unset)
    }
}
