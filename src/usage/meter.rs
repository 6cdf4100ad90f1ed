//! What `PLANS` says about amounts (spec: "Metered limits"): the meters
//! (`meters`), how each one's window resets and whether it is billed, and
//! each plan's `limits`.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::entitlements::plans::Plans;
use crate::entitlements::record::{Access, Entitlement};

/// The longest meter name: it appears in routes and in Stripe identifiers.
pub const MAX_METER_NAME: usize = 40;

/// The largest limit and amount: counts stay exact in JavaScript numbers
/// and in SQLite on the way.
pub const MAX_UNITS: u64 = 1_000_000_000_000;

/// When a meter's count starts again from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reset {
    /// At the record's `current_period_end`; calendar months (UTC) for an
    /// identity without a current period.
    BillingPeriod,
    /// On the first of each month, UTC.
    Month,
    /// At midnight UTC.
    Day,
}

/// One meter of `PLANS.meters`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meter {
    pub reset: Reset,
    /// The Stripe meter's `event_name`: every consumed unit is reported to
    /// Stripe as meter events. `None`: counted, never billed.
    #[serde(default)]
    pub stripe_event_name: Option<String>,
}

/// How much of a meter a plan includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// At most this many units per window (0: none).
    Units(u64),
    /// No limit.
    Unlimited,
}

impl Limit {
    /// Units left after `used` (`None`: no limit).
    pub fn remaining(self, used: u64) -> Option<u64> {
        match self {
            Limit::Units(n) => Some(n.saturating_sub(used)),
            Limit::Unlimited => None,
        }
    }
}

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Limit::Units(n) => s.serialize_u64(*n),
            Limit::Unlimited => s.serialize_str("unlimited"),
        }
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wrong = || de::Error::custom(format!("a limit is a whole number from 0 to {MAX_UNITS} or \"unlimited\""));
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) if s == "unlimited" => Ok(Limit::Unlimited),
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(n) if n <= MAX_UNITS => Ok(Limit::Units(n)),
                _ => Err(wrong()),
            },
            _ => Err(wrong()),
        }
    }
}

/// Whether `name` may name a meter: 1 to 40 of `a-z`, `0-9`, `_` and `-`.
pub fn valid_meter_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_METER_NAME
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The limit of `meter` for an identity whose record at read time is
/// `now`: its plan's, or while past due (limited access) the default
/// plan's, as features fall back while Stripe retries the payment.
pub fn limit_for(plans: &Plans, now: &Entitlement, meter: &str) -> Limit {
    let plan = match now.access {
        Access::Limited => plans.default_plan(),
        Access::Full | Access::None => now.plan.as_str(),
    };
    plans.limit(plan, meter)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::entitlements::feature::effective;
    use crate::entitlements::plans::tests::{record_of, DAY, NOW};
    use crate::stripe::subscription::SubscriptionStatus;

    pub const METERED: &str = r#"{
      "default_plan": "free",
      "meters": {
        "exports":   { "reset": "billing_period" },
        "api_calls": { "reset": "month", "stripe_event_name": "api_calls" }
      },
      "plans": {
        "free": { "rank": 0, "features": ["basic_feature"], "limits": { "exports": 3 } },
        "pro":  { "rank": 1, "features": ["basic_feature", "premium_feature"], "prices": ["pro_monthly"],
                  "limits": { "exports": 100, "api_calls": "unlimited" } }
      }
    }"#;

    #[test]
    fn limits_are_whole_numbers_or_unlimited() {
        let l = |s: &str| serde_json::from_str::<Limit>(s).map_err(|e| e.to_string());
        assert_eq!(l("0"), Ok(Limit::Units(0)));
        assert_eq!(l("100"), Ok(Limit::Units(100)));
        assert_eq!(l("\"unlimited\""), Ok(Limit::Unlimited));
        for bad in ["-1", "1.5", "1e13", "\"100\"", "null", "\"Unlimited\"", "true"] {
            assert!(l(bad).unwrap_err().contains("whole number"), "{bad}");
        }
        assert_eq!(serde_json::to_string(&Limit::Unlimited).unwrap(), "\"unlimited\"");
        assert_eq!(Limit::Units(5).remaining(7), Some(0));
        assert_eq!(Limit::Unlimited.remaining(7), None);
    }

    #[test]
    fn a_meter_a_plan_does_not_name_has_limit_0_and_past_due_falls_back_to_the_default_plan() {
        let plans = Plans::parse(METERED).unwrap();
        let pro = record_of(SubscriptionStatus::Active, "pro_monthly", NOW + 10 * DAY, false);
        let now = effective(&pro, &plans, NOW);
        assert_eq!(limit_for(&plans, &now, "exports"), Limit::Units(100));
        assert_eq!(limit_for(&plans, &now, "api_calls"), Limit::Unlimited);
        let past_due = record_of(SubscriptionStatus::PastDue, "pro_monthly", NOW + 10 * DAY, false);
        let now = effective(&past_due, &plans, NOW);
        assert_eq!(limit_for(&plans, &now, "exports"), Limit::Units(3), "the default plan's while past due");
        assert_eq!(limit_for(&plans, &now, "api_calls"), Limit::Units(0), "free names no api_calls");
        assert_eq!(plans.limit("nope", "exports"), Limit::Units(0));
    }

    #[test]
    fn a_metered_catalogue_is_validated_as_strictly_as_the_rest() {
        let plans = Plans::parse(METERED).unwrap();
        assert_eq!(plans.meter("exports").map(|m| m.reset), Some(Reset::BillingPeriod));
        assert_eq!(plans.meter("api_calls").and_then(|m| m.stripe_event_name.as_deref()), Some("api_calls"));
        let err = |meters: &str, free_limits: &str| {
            let json = format!(
                r#"{{"default_plan": "free", "meters": {meters},
                    "plans": {{"free": {{"rank": 0, "limits": {free_limits}}}}}}}"#
            );
            Plans::parse(&json).unwrap_err().to_string()
        };
        let ok_meters = r#"{"exports": {"reset": "day"}}"#;
        assert!(
            err(ok_meters, r#"{"exprots": 3}"#).contains("meter \"exprots\", which is not one of the meters (exports)")
        );
        assert!(err("{}", r#"{"exports": 3}"#).contains("\"meters\" defines none"));
        assert!(err(ok_meters, r#"{"exports": -1}"#).contains("whole number"));
        assert!(err(ok_meters, r#"{"exports": 2.5}"#).contains("whole number"));
        assert!(err(ok_meters, r#"{"exports": "lots"}"#).contains("whole number"));
        assert!(err(r#"{"exports": {"reset": "weekly"}}"#, "{}").contains("unknown variant `weekly`"));
        assert!(err(r#"{"exports": {"reset": "day", "price": "x"}}"#, "{}").contains("unknown field `price`"));
        assert!(err(r#"{"Exports": {"reset": "day"}}"#, "{}").contains("must be 1 to 40 characters"));
        assert!(err(r#"{"a": {"reset": "day", "stripe_event_name": " "}}"#, "{}").contains("empty stripe_event_name"));
        let twice = r#"{"a": {"reset": "day", "stripe_event_name": "calls"}, "b": {"reset": "month", "stripe_event_name": "calls"}}"#;
        assert!(err(twice, "{}").contains("both report to Stripe event \"calls\""));
    }

    #[test]
    fn meter_names_are_short_and_plain() {
        for good in ["exports", "api_calls", "a", "x-1"] {
            assert!(valid_meter_name(good), "{good}");
        }
        for bad in ["", "Exports", "a b", "é", "a/b", &"x".repeat(41)] {
            assert!(!valid_meter_name(bad), "{bad}");
        }
    }
}
