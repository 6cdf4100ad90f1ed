//! What an attempt to report a batch of metered units (`meter_event`) came
//! to, read from Stripe's answer: counted, already counted (an earlier
//! attempt's answer was lost), or to be sent again later.

use super::request::{StripeError, StripeErrorKind};

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
    use crate::stripe::request::classify_stripe_error;

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
