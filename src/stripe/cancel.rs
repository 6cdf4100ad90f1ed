//! Which of a deleted account's subscriptions to cancel, and how.

use crate::stripe::request::{Done, StripeRequest};
use crate::stripe::subscription::{Subscription, SubscriptionStatus};

/// What account deletion does to the identity's subscriptions
/// (`DELETION_CANCEL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelMode {
    /// `now` (default): cancel at once.
    Now,
    /// `period_end`: let the paid period run out.
    PeriodEnd,
}

/// Whether the subscription can still bill the customer.
pub fn still_billing(s: &Subscription) -> bool {
    !matches!(s.status, SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired)
}

/// The request that stops `s` billing, or `None` when nothing is left to
/// do (already canceled, or already set to end with its period).
pub fn cancel_request(s: &Subscription, mode: CancelMode) -> Option<StripeRequest<Done>> {
    if !still_billing(s) {
        return None;
    }
    let has_paid_period =
        matches!(s.status, SubscriptionStatus::Active | SubscriptionStatus::Trialing | SubscriptionStatus::PastDue);
    match mode {
        CancelMode::PeriodEnd if has_paid_period => {
            (!s.cancel_at_period_end).then(|| StripeRequest::cancel_subscription_at_period_end(&s.id))
        }
        // Unpaid, paused, incomplete: nothing to run out; cancel now.
        _ => Some(StripeRequest::cancel_subscription(&s.id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::request::Method;
    use std::collections::BTreeMap;

    fn sub(status: SubscriptionStatus, cancel_at_period_end: bool) -> Subscription {
        Subscription {
            id: "sub_1".into(),
            customer: "cus_1".into(),
            status,
            cancel_at_period_end,
            current_period_end: Some(2_000_000_000),
            trial_end: None,
            prices: vec![],
            metadata: BTreeMap::new(),
            created: 1,
        }
    }

    #[test]
    fn now_cancels_everything_still_billing() {
        use SubscriptionStatus::*;
        for status in [Active, Trialing, PastDue, Unpaid, Paused, Incomplete] {
            let r = cancel_request(&sub(status, true), CancelMode::Now).expect("a cancel");
            assert_eq!((r.method, r.path.as_str()), (Method::Delete, "/v1/subscriptions/sub_1"));
        }
        assert!(cancel_request(&sub(Canceled, false), CancelMode::Now).is_none());
        assert!(cancel_request(&sub(IncompleteExpired, false), CancelMode::Now).is_none());
    }

    #[test]
    fn period_end_lets_paid_periods_run_out_once() {
        use SubscriptionStatus::*;
        let r = cancel_request(&sub(Active, false), CancelMode::PeriodEnd).expect("a cancel");
        assert_eq!((r.method, r.body().as_deref()), (Method::Post, Some("cancel_at_period_end=true")));
        assert!(cancel_request(&sub(Active, true), CancelMode::PeriodEnd).is_none(), "already set: nothing to do");
        let r = cancel_request(&sub(Unpaid, false), CancelMode::PeriodEnd).expect("a cancel");
        assert_eq!(r.method, Method::Delete);
    }
}
