//! What `PLANS` says about amounts (spec: "Metered limits"): the meters
//! (`meters`), how each one's window resets and whether it is billed, and
//! each plan's `limits`.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn meter_names_are_short_and_plain() {
        for good in ["exports", "api_calls", "a", "x-1"] {
            assert!(valid_meter_name(good), "{good}");
        }
        for bad in ["", "Exports", "a b", "é", "a/b", &"x".repeat(41)] {
            assert!(!valid_meter_name(bad), "{bad}");
        }
    }
}
