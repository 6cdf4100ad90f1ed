//! Reporting consumed units to a Stripe meter (`POST /v1/billing/meter_events`):
//! the form of one event, and what its answer means for the batch it
//! reports. The event's `identifier` makes a resend of the same batch count
//! once, whatever happened to the first answer.

use super::form::Form;
use super::request::{StripeError, StripeErrorKind};

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

/// What one attempt to report a batch came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOutcome {
    /// Stripe took the event.
    Counted,
    /// Stripe already has an event with this identifier: an earlier
    /// attempt's answer was lost on the way. Done.
    AlreadyCounted,
    /// Not taken this time (the code says why); the batch is sent again
    /// later under the same identifier.
    Failed(&'static str),
}

impl ReportOutcome {
    /// Reads the answer to one attempt.
    pub fn of<T>(answer: Result<T, StripeError>) -> ReportOutcome {
        match answer {
            Ok(_) => ReportOutcome::Counted,
            Err(e) if is_duplicate_identifier(&e) => ReportOutcome::AlreadyCounted,
            Err(e) => ReportOutcome::Failed(match e.kind {
                StripeErrorKind::RateLimited => "rate_limited",
                StripeErrorKind::Timeout => "timeout",
                StripeErrorKind::Unreachable => "unreachable",
                StripeErrorKind::Auth => "auth",
                StripeErrorKind::Server | StripeErrorKind::ReplayedFailure => "server_error",
                StripeErrorKind::InvalidRequest | StripeErrorKind::NotFound => "invalid_request",
                _ => "other",
            }),
        }
    }

    /// The outcome's name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counted => "counted",
            Self::AlreadyCounted => "already_counted",
            Self::Failed(code) => code,
        }
    }
}

/// Whether Stripe refused the event because an event with its identifier
/// exists: a 400 without a code, in these words: "An event already exists
/// with identifier <id>." (also `resource_already_exists`, should Stripe
/// add the code).
fn is_duplicate_identifier(e: &StripeError) -> bool {
    if e.status != Some(400) {
        return false;
    }
    let message = e.said.message.as_deref().unwrap_or_default().to_ascii_lowercase();
    e.said.code.as_deref() == Some("resource_already_exists")
        || (message.contains("already exists") && message.contains("identifier"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::request::{classify_stripe_error, StripeRequest};
    use crate::upstream::Method;

    fn event() -> MeterEvent<'static> {
        MeterEvent {
            event_name: "api_calls",
            customer: "cus_1",
            value: 7,
            identifier: "ksb_x_e_3",
            timestamp: 1_796_225_400,
        }
    }

    #[test]
    fn the_form_is_stripes_with_the_default_payload_keys() {
        let r = StripeRequest::report_meter_event(&event(), 2);
        assert_eq!((r.method, r.path.as_str()), (Method::Post, "/v1/billing/meter_events"));
        assert_eq!(
            r.body().unwrap(),
            "event_name=api_calls&payload%5Bstripe_customer_id%5D=cus_1&payload%5Bvalue%5D=7&identifier=ksb_x_e_3&timestamp=1796225400"
        );
        assert_eq!(r.idempotency_key.as_deref(), Some("ksb-meter-event-ksb_x_e_3-2"));
        assert_ne!(r.idempotency_key, StripeRequest::report_meter_event(&event(), 3).idempotency_key);
    }

    #[test]
    fn answers_are_counted_already_counted_or_retried() {
        assert_eq!(ReportOutcome::of(Ok(())), ReportOutcome::Counted);
        let dup = classify_stripe_error(
            400,
            br#"{"error": {"type": "invalid_request_error",
                "message": "An event already exists with identifier ksb_x_e_3."}}"#,
        );
        assert_eq!(ReportOutcome::of::<()>(Err(dup)), ReportOutcome::AlreadyCounted);
        let limited =
            classify_stripe_error(429, br#"{"error": {"type": "invalid_request_error", "code": "rate_limit"}}"#);
        assert_eq!(ReportOutcome::of::<()>(Err(limited)), ReportOutcome::Failed("rate_limited"));
        let down = classify_stripe_error(500, b"{}");
        assert_eq!(ReportOutcome::of::<()>(Err(down)), ReportOutcome::Failed("server_error"));
        let bad = classify_stripe_error(
            400,
            br#"{"error": {"type": "invalid_request_error", "param": "timestamp", "message": "Timestamp too far in the past"}}"#,
        );
        assert_eq!(ReportOutcome::of::<()>(Err(bad)), ReportOutcome::Failed("invalid_request"));
    }
}
