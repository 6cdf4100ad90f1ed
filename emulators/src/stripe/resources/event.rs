//! Events: a snapshot of an object at the moment it changed.

use serde_json::{json, Map, Value};

/// The event types the emulator emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    CustomerCreated,
    CustomerUpdated,
    CustomerDeleted,
    SubscriptionCreated,
    SubscriptionUpdated,
    SubscriptionDeleted,
    SubscriptionPaused,
    SubscriptionResumed,
    SubscriptionTrialWillEnd,
    CheckoutSessionCompleted,
    CheckoutSessionExpired,
    InvoicePaid,
    InvoicePaymentFailed,
}

impl EventType {
    /// The wire name, e.g. `customer.subscription.updated`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventType::CustomerCreated => "customer.created",
            EventType::CustomerUpdated => "customer.updated",
            EventType::CustomerDeleted => "customer.deleted",
            EventType::SubscriptionCreated => "customer.subscription.created",
            EventType::SubscriptionUpdated => "customer.subscription.updated",
            EventType::SubscriptionDeleted => "customer.subscription.deleted",
            EventType::SubscriptionPaused => "customer.subscription.paused",
            EventType::SubscriptionResumed => "customer.subscription.resumed",
            EventType::SubscriptionTrialWillEnd => "customer.subscription.trial_will_end",
            EventType::CheckoutSessionCompleted => "checkout.session.completed",
            EventType::CheckoutSessionExpired => "checkout.session.expired",
            EventType::InvoicePaid => "invoice.paid",
            EventType::InvoicePaymentFailed => "invoice.payment_failed",
        }
    }
}

/// The API version whose shapes the emulator speaks.
pub(crate) const API_VERSION: &str = "2025-03-31.basil";

/// Everything needed to render one `event` object.
pub(crate) struct EventParts<'a> {
    pub id: &'a str,
    pub kind: EventType,
    pub created: i64,
    pub object: Value,
    pub previous_attributes: Option<Value>,
    pub livemode: bool,
    pub pending_webhooks: u32,
    pub request_id: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
}

/// The `event` object.
pub(crate) fn event_json(parts: EventParts<'_>) -> Value {
    let mut data = Map::new();
    data.insert("object".into(), parts.object);
    if let Some(previous) = parts.previous_attributes {
        data.insert("previous_attributes".into(), previous);
    }
    json!({
        "id": parts.id,
        "object": "event",
        "api_version": API_VERSION,
        "created": parts.created,
        "data": data,
        "livemode": parts.livemode,
        "pending_webhooks": parts.pending_webhooks,
        "request": { "id": parts.request_id, "idempotency_key": parts.idempotency_key },
        "type": parts.kind.as_str()
    })
}

/// `previous_attributes`: the old value of every top-level field that changed,
/// or `None` when nothing did.
pub(crate) fn previous_attributes(before: &Value, after: &Value) -> Option<Value> {
    let (Value::Object(before), Value::Object(after)) = (before, after) else {
        return None;
    };
    let changed: Map<String, Value> =
        before.iter().filter(|(k, v)| after.get(k.as_str()) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if changed.is_empty() {
        None
    } else {
        Some(Value::Object(changed))
    }
}
