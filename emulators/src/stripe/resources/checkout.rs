//! Checkout Sessions (subscription mode).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{merged, metadata_json};

/// `status` of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckoutStatus {
    Open,
    Complete,
    /// Expired through the API or the `/_emulator` control; nothing can complete it.
    Expired,
}

impl CheckoutStatus {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CheckoutStatus::Open => "open",
            CheckoutStatus::Complete => "complete",
            CheckoutStatus::Expired => "expired",
        }
    }
}

/// `payment_status` of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PaymentStatus {
    Unpaid,
    Paid,
}

impl PaymentStatus {
    fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Unpaid => "unpaid",
            PaymentStatus::Paid => "paid",
        }
    }
}

/// One `line_items[n]` entry.
#[derive(Debug, Clone)]
pub(crate) struct LineItem {
    pub price: String,
    pub quantity: u64,
}

/// A session as stored, including the `subscription_data` it will apply.
#[derive(Debug, Clone)]
pub(crate) struct CheckoutSession {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub expires_at: i64,
    pub status: CheckoutStatus,
    pub payment_status: PaymentStatus,
    pub customer: Option<String>,
    pub customer_email: Option<String>,
    /// The email the payer ended up with (`customer_details.email`).
    pub details_email: Option<String>,
    pub client_reference_id: Option<String>,
    pub line_items: Vec<LineItem>,
    pub amount_total: i64,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub subscription_metadata: BTreeMap<String, String>,
    pub trial_period_days: Option<i64>,
    pub subscription: Option<String>,
    pub invoice: Option<String>,
    pub url: String,
}

impl CheckoutSession {
    /// The `checkout.session` object.
    pub(crate) fn to_json(&self, livemode: bool) -> Value {
        let open = self.status == CheckoutStatus::Open;
        let customer_details = self.details_email.as_ref().map(|email| {
            json!({
                "address": null, "email": email, "name": null, "phone": null,
                "tax_exempt": "none", "tax_ids": []
            })
        });
        let head = json!({
            "id": self.id,
            "object": "checkout.session",
            "adaptive_pricing": null,
            "after_expiration": null,
            "allow_promotion_codes": null,
            "amount_subtotal": self.amount_total,
            "amount_total": self.amount_total,
            "automatic_tax": { "enabled": false, "liability": null, "provider": null, "status": null },
            "billing_address_collection": null,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "client_secret": null,
            "collected_information": null,
            "consent": null,
            "consent_collection": null,
            "created": self.created,
            "currency": "usd",
            "currency_conversion": null,
            "custom_fields": [],
            "custom_text": {
                "after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null
            },
            "customer": self.customer,
            "customer_account": null,
            // Null when a customer was given at creation (an expired session keeps it as it was).
            "customer_creation": if self.customer.is_some() && self.status != CheckoutStatus::Complete {
                Value::Null
            } else {
                json!("always")
            },
            "customer_details": customer_details,
            "customer_email": self.customer_email,
        });
        let rest = json!({
            "discounts": [],
            "expires_at": self.expires_at,
            "invoice": self.invoice,
            "integration_identifier": null,
            "invoice_creation": null,
            "livemode": livemode,
            "locale": null,
            "managed_payments": null,
            "metadata": metadata_json(&self.metadata),
            "mode": "subscription",
            "origin_context": null,
            "payment_intent": null,
            "payment_link": null,
            "payment_method_collection": "always",
            "payment_method_configuration_details": null,
            "payment_method_options": { "card": { "request_three_d_secure": "automatic" } },
            "payment_method_types": ["card"],
            "payment_status": self.payment_status.as_str(),
            "permissions": null,
            "phone_number_collection": { "enabled": false },
            "recovered_from": null,
            "saved_payment_method_options": null,
            "setup_intent": null,
            "shipping_address_collection": null,
            "shipping_cost": null,
            "shipping_options": [],
            "status": self.status.as_str(),
            "submit_type": null,
            "subscription": self.subscription,
            "success_url": self.success_url,
            "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
            "ui_mode": "hosted",
            "url": if open { json!(self.url) } else { Value::Null },
            "wallet_options": null
        });
        merged(head, rest)
    }
}
