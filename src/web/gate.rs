//! What the signed-in user's gate answers (`GET /gate/{feature}`, and edge
//! gate mode's feature rules): the decision as JSON, or for a browser the
//! pricing page.

use crate::entitlements::feature::FeatureDecision;

/// How `GET /gate/{feature}` answers a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateAnswer {
    /// 200 with the decision.
    Allowed(FeatureDecision),
    /// 402 with the decision (API clients).
    Denied(FeatureDecision),
    /// 303 to `PRICING_URL` (browsers).
    ToPricing,
}

/// Whether the caller is a browser asking for a page (`Accept` names
/// `text/html`), which is sent a redirect instead of JSON.
pub fn wants_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.split(',').any(|t| t.trim().to_ascii_lowercase().starts_with("text/html")))
}

/// The gate's answer for `decision`, by what the caller accepts.
pub fn gate_answer(decision: FeatureDecision, accept: Option<&str>) -> GateAnswer {
    match (decision.allowed, wants_html(accept)) {
        (true, _) => GateAnswer::Allowed(decision),
        (false, true) => GateAnswer::ToPricing,
        (false, false) => GateAnswer::Denied(decision),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlements::feature::Reason;
    use crate::entitlements::record::EntitlementStatus;

    fn decision(allowed: bool) -> FeatureDecision {
        let reason = if allowed { Reason::Included } else { Reason::NotInPlan };
        FeatureDecision { allowed, plan: "free".into(), status: EntitlementStatus::None, reason }
    }

    #[test]
    fn browsers_are_redirected_and_api_clients_get_json() {
        assert!(wants_html(Some("text/html,application/xhtml+xml,*/*;q=0.8")));
        assert!(wants_html(Some("application/json, Text/HTML")));
        assert!(!wants_html(Some("application/json")));
        assert!(!wants_html(Some("*/*")));
        assert!(!wants_html(None));
        assert_eq!(gate_answer(decision(true), Some("text/html")), GateAnswer::Allowed(decision(true)));
        assert_eq!(gate_answer(decision(false), Some("text/html")), GateAnswer::ToPricing);
        assert_eq!(gate_answer(decision(false), None), GateAnswer::Denied(decision(false)));
    }
}
