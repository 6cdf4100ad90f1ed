//! Subscriptions and their items.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::price::Price;
use super::{merged, metadata_json};

/// Stripe's subscription statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubscriptionStatus {
    Incomplete,
    IncompleteExpired,
    Trialing,
    Active,
    PastDue,
    Canceled,
    Unpaid,
    Paused,
}

impl SubscriptionStatus {
    /// All statuses, for parsing and list filters.
    pub(crate) const ALL: [SubscriptionStatus; 8] = [
        SubscriptionStatus::Incomplete,
        SubscriptionStatus::IncompleteExpired,
        SubscriptionStatus::Trialing,
        SubscriptionStatus::Active,
        SubscriptionStatus::PastDue,
        SubscriptionStatus::Canceled,
        SubscriptionStatus::Unpaid,
        SubscriptionStatus::Paused,
    ];

    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Incomplete => "incomplete",
            SubscriptionStatus::IncompleteExpired => "incomplete_expired",
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::Unpaid => "unpaid",
            SubscriptionStatus::Paused => "paused",
        }
    }

    /// Reads a wire name.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the subscription is over (cannot be canceled or updated again).
    pub(crate) fn is_ended(self) -> bool {
        matches!(self, SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired)
    }
}

/// Why a subscription was (or will be) canceled (`cancellation_details.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancellationReason {
    CancellationRequested,
    PaymentFailed,
}

impl CancellationReason {
    fn as_str(self) -> &'static str {
        match self {
            CancellationReason::CancellationRequested => "cancellation_requested",
            CancellationReason::PaymentFailed => "payment_failed",
        }
    }
}

/// One priced line of a subscription; the billing period lives here (basil).
#[derive(Debug, Clone)]
pub(crate) struct SubscriptionItem {
    pub id: String,
    pub created: i64,
    pub price: String,
    pub quantity: u64,
    pub current_period_start: i64,
    pub current_period_end: i64,
}

/// A subscription as stored.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub customer: String,
    pub status: SubscriptionStatus,
    pub items: Vec<SubscriptionItem>,
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<i64>,
    pub canceled_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub trial_start: Option<i64>,
    pub trial_end: Option<i64>,
    pub metadata: BTreeMap<String, String>,
    pub latest_invoice: Option<String>,
    pub start_date: i64,
    pub billing_cycle_anchor: i64,
    pub cancellation_reason: Option<CancellationReason>,
}

impl Subscription {
    /// The end of the current period (of the first item).
    pub(crate) fn current_period_end(&self) -> i64 {
        self.items.first().map_or(self.created, |i| i.current_period_end)
    }

    /// The `subscription` object, items embedding their full price.
    pub(crate) fn to_json(&self, prices: &BTreeMap<String, Price>, livemode: bool) -> Value {
        let items: Vec<Value> = self.items.iter().map(|item| self.item_json(item, prices, livemode)).collect();
        let head = json!({
            "id": self.id,
            "object": "subscription",
            "application": null,
            "application_fee_percent": null,
            "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
            "billing_cycle_anchor": self.billing_cycle_anchor,
            "billing_cycle_anchor_config": null,
            "billing_mode": { "flexible": null, "type": "classic" },
            "billing_schedules": [],
            "billing_thresholds": null,
            "cancel_at": self.cancel_at,
            "cancel_at_period_end": self.cancel_at_period_end,
            "canceled_at": self.canceled_at,
            "cancellation_details": {
                "comment": null,
                "feedback": null,
                "reason": self.cancellation_reason.map(CancellationReason::as_str)
            },
            "collection_method": "charge_automatically",
            "created": self.created,
            "currency": "usd",
            "customer": self.customer,
            "customer_account": null,
            "days_until_due": null,
            "default_payment_method": null,
            "default_source": null,
            "default_tax_rates": [],
            "description": null,
            "discounts": [],
            "ended_at": self.ended_at,
        });
        let rest = json!({
            "invoice_settings": { "account_tax_ids": null, "issuer": { "type": "self" } },
            "items": {
                "object": "list",
                "data": items,
                "has_more": false,
                "total_count": self.items.len(),
                "url": format!("/v1/subscription_items?subscription={}", self.id)
            },
            "latest_invoice": self.latest_invoice,
            "livemode": livemode,
            "managed_payments": null,
            "metadata": metadata_json(&self.metadata),
            "next_pending_invoice_item_invoice": null,
            "on_behalf_of": null,
            "pause_collection": null,
            "payment_settings": {
                "payment_method_options": null,
                "payment_method_types": null,
                "save_default_payment_method": "off"
            },
            "pending_invoice_item_interval": null,
            "pending_setup_intent": null,
            "pending_update": null,
            "schedule": null,
            "start_date": self.start_date,
            "status": self.status.as_str(),
            "test_clock": null,
            "transfer_data": null,
            "trial_end": self.trial_end,
            "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
            "trial_start": self.trial_start
        });
        merged(head, rest)
    }

    fn item_json(&self, item: &SubscriptionItem, prices: &BTreeMap<String, Price>, livemode: bool) -> Value {
        let price = prices.get(&item.price);
        json!({
            "id": item.id,
            "object": "subscription_item",
            "billing_thresholds": null,
            "created": item.created,
            "current_period_end": item.current_period_end,
            "current_period_start": item.current_period_start,
            "discounts": [],
            "metadata": {},
            "plan": price.map(|p| p.plan_json(livemode)),
            "price": price.map(|p| p.to_json(livemode)),
            "quantity": item.quantity,
            "subscription": self.id,
            "tax_rates": []
        })
    }
}
