//! Reporting consumed units to a Stripe meter (`POST /v1/billing/meter_events`):
//! the form of one event and its attempts' keys (`meter_report` reads the
//! answers). The event's `identifier` makes a resend of the same batch
//! count once, whatever happened to the first answer.

use super::form::Form;

/// One meter event: a batch of units of one identity's meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterEvent<'a> {
    /// The Stripe meter's `event_name`.
    pub event_name: &'a str,
    /// `payload[stripe_customer_id]`.
    pub customer: &'a str,
    /// `payload[value]`: the batch's units.
    pub value: i64,
    /// Unique per batch; Stripe counts an identifier once.
    pub identifier: &'a str,
    /// Unix seconds, within Stripe's window (35 days back, 5 minutes ahead).
    pub timestamp: i64,
}

/// The form Stripe takes (payload keys as Stripe's meter defaults name
/// them: `stripe_customer_id` and `value`).
pub fn meter_event_form(e: &MeterEvent<'_>) -> Form {
    Form::new()
        .field("event_name", e.event_name)
        .field("payload[stripe_customer_id]", e.customer)
        .field("payload[value]", e.value.to_string())
        .field("identifier", e.identifier)
        .field("timestamp", e.timestamp.to_string())
}

/// The Idempotency-Key of one attempt to report a batch. Each attempt has
/// its own: Stripe replays a saved failure under a key for 24 h, and the
/// identifier already makes every attempt count once.
pub fn meter_event_idempotency_key(identifier: &str, attempt: i64) -> String {
    format!("ksb-meter-event-{identifier}-{attempt}")
}
