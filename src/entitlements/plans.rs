//! The plan catalogue from the `PLANS` variable (spec: "`PLANS` example"):
//! which features each plan grants, which Stripe prices buy it, what a
//! past-due customer keeps and what the app trial grants.
//!
//! Parsing validates everything an operator can get wrong and says so in
//! words, because the message is shown in `/healthz` and in the 500 answer.
//! Lookups used per request (price -> plan, plan -> features) are prepared
//! once at parse time.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;

use crate::entitlements::record::{Access, Entitlement};
use crate::usage::meter::{valid_meter_name, Limit, Meter, MAX_METER_NAME};

/// The feature name that grants every feature.
pub const ALL_FEATURES: &str = "*";

/// One plan of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Order among plans: when several subscriptions grant access, the highest
    /// rank wins. Unique across the catalogue.
    pub rank: u32,
    /// Features granted; `"*"` grants all.
    #[serde(default)]
    pub features: Vec<String>,
    /// Stripe price lookup keys or price ids that buy this plan.
    #[serde(default)]
    pub prices: Vec<String>,
    /// How much of each meter the plan includes per window; a meter not
    /// named here has limit 0 on this plan.
    #[serde(default)]
    pub limits: BTreeMap<String, Limit>,
}

impl Plan {
    /// Whether this plan grants `feature` (`"*"` grants everything).
    pub fn grants(&self, feature: &str) -> bool {
        grants(&self.features, feature)
    }
}

/// Whether a feature list grants `feature`; `"*"` in the list grants all.
pub fn grants(features: &[String], feature: &str) -> bool {
    features.iter().any(|f| f == feature || f == ALL_FEATURES)
}

/// The app trial (`trial`): granted once per identity, without Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trial {
    /// Length of the trial in days (at least 1).
    pub days: u32,
    /// The plan the trial grants.
    pub plan: String,
}

impl Trial {
    /// Length of the trial in seconds.
    pub fn duration_secs(&self) -> i64 {
        i64::from(self.days) * 86_400
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlans {
    default_plan: String,
    plans: BTreeMap<String, Plan>,
    #[serde(default)]
    past_due_features: Option<Vec<String>>,
    #[serde(default)]
    trial: Option<Trial>,
    #[serde(default)]
    meters: BTreeMap<String, Meter>,
}

/// What is wrong with a `PLANS` value. `Display` is the operator-facing
/// message (without the `PLANS: ` prefix, which the config adds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlansError {
    /// Not JSON, or not the expected shape (unknown field, wrong type...);
    /// carries serde's message with line and column.
    InvalidJson(String),
    /// `plans` is empty.
    NoPlans,
    /// `default_plan` names no plan.
    UnknownDefaultPlan {
        /// The name given.
        name: String,
        /// The plans defined.
        known: Vec<String>,
    },
    /// `trial.plan` names no plan.
    UnknownTrialPlan {
        /// The name given.
        name: String,
        /// The plans defined.
        known: Vec<String>,
    },
    /// `trial.days` is 0.
    ZeroTrialDays,
    /// The same price (lookup key or id) appears in two plans (or twice).
    DuplicatePrice {
        /// The price listed twice.
        price: String,
        /// The plan it was first seen in.
        first: String,
        /// The plan it was seen in again.
        second: String,
    },
    /// Two plans share a rank, so "the highest plan" would be ambiguous.
    DuplicateRank {
        /// The shared rank.
        rank: u32,
        /// One plan with it.
        first: String,
        /// The other plan with it.
        second: String,
    },
    /// A meter name that is not 1 to 40 of `a-z`, `0-9`, `_`, `-`.
    BadMeterName {
        /// The name given.
        name: String,
    },
    /// A plan's `limits` names a meter `meters` does not define.
    UnknownMeter {
        /// The plan.
        plan: String,
        /// The meter it names.
        meter: String,
        /// The meters defined.
        known: Vec<String>,
    },
    /// A `stripe_event_name` that is empty or longer than Stripe takes.
    BadEventName {
        /// The meter.
        meter: String,
    },
    /// Two meters report to one Stripe event name: each unit would be
    /// billed on both.
    DuplicateEventName {
        /// The event name.
        event_name: String,
        /// One meter with it.
        first: String,
        /// The other meter with it.
        second: String,
    },
    /// An empty string where a name is required (plan name, price, feature).
    EmptyName {
        /// The plan concerned (or the top-level field name).
        plan: String,
        /// The field holding the empty entry.
        field: &'static str,
    },
}

impl fmt::Display for PlansError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidJson(m) => write!(f, "is not a valid plan catalogue: {m}"),
            Self::NoPlans => f.write_str("\"plans\" is empty; define at least the default plan"),
            Self::UnknownDefaultPlan { name, known } => {
                write!(f, "default_plan \"{name}\" is not one of the plans ({})", known.join(", "))
            }
            Self::UnknownTrialPlan { name, known } => {
                write!(f, "trial.plan \"{name}\" is not one of the plans ({})", known.join(", "))
            }
            Self::ZeroTrialDays => {
                f.write_str("trial.days must be at least 1 (remove \"trial\" to disable the app trial)")
            }
            Self::DuplicatePrice { price, first, second } if first == second => {
                write!(f, "price \"{price}\" is listed twice in plan \"{first}\"")
            }
            Self::DuplicatePrice { price, first, second } => {
                write!(f, "price \"{price}\" is mapped to two plans: \"{first}\" and \"{second}\"")
            }
            Self::DuplicateRank { rank, first, second } => {
                write!(f, "plans \"{first}\" and \"{second}\" have the same rank {rank}; ranks must be unique")
            }
            Self::BadMeterName { name } => write!(
                f,
                "meter \"{name}\" must be 1 to {MAX_METER_NAME} characters of a-z, 0-9, _ and -"
            ),
            Self::UnknownMeter { plan, meter, known } if known.is_empty() => {
                write!(f, "plan \"{plan}\" has a limit for meter \"{meter}\", but \"meters\" defines none")
            }
            Self::UnknownMeter { plan, meter, known } => write!(
                f,
                "plan \"{plan}\" has a limit for meter \"{meter}\", which is not one of the meters ({})",
                known.join(", ")
            ),
            Self::BadEventName { meter } => {
                write!(f, "meter \"{meter}\" has an empty stripe_event_name or one over 100 characters")
            }
            Self::DuplicateEventName { event_name, first, second } => write!(
                f,
                "meters \"{first}\" and \"{second}\" both report to Stripe event \"{event_name}\"; each unit would be billed twice"
            ),
            Self::EmptyName { plan, field } if plan.is_empty() => {
                write!(f, "a plan has an empty name ({field})")
            }
            Self::EmptyName { plan, field } => {
                write!(f, "plan \"{plan}\" has an empty entry in \"{field}\"")
            }
        }
    }
}

impl std::error::Error for PlansError {}

/// The validated catalogue with its lookups prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plans {
    default_plan: String,
    plans: BTreeMap<String, Plan>,
    past_due_features: Vec<String>,
    trial: Option<Trial>,
    meters: BTreeMap<String, Meter>,
    /// Price lookup key or id -> plan name.
    by_price: HashMap<String, String>,
}

impl Plans {
    /// Parses and validates a `PLANS` JSON value. When `past_due_features` is
    /// absent, a past-due customer keeps the default plan's features.
    pub fn parse(json: &str) -> Result<Plans, PlansError> {
        let raw: RawPlans = serde_json::from_str(json).map_err(|e| PlansError::InvalidJson(e.to_string()))?;
        if raw.plans.is_empty() {
            return Err(PlansError::NoPlans);
        }
        let known = || raw.plans.keys().cloned().collect::<Vec<_>>();
        if !raw.plans.contains_key(&raw.default_plan) {
            return Err(PlansError::UnknownDefaultPlan { name: raw.default_plan.clone(), known: known() });
        }
        if let Some(trial) = &raw.trial {
            if !raw.plans.contains_key(&trial.plan) {
                return Err(PlansError::UnknownTrialPlan { name: trial.plan.clone(), known: known() });
            }
            if trial.days == 0 {
                return Err(PlansError::ZeroTrialDays);
            }
        }
        let mut by_event: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, meter) in &raw.meters {
            if !valid_meter_name(name) {
                return Err(PlansError::BadMeterName { name: name.clone() });
            }
            if let Some(event) = &meter.stripe_event_name {
                if event.trim().is_empty() || event.len() > 100 {
                    return Err(PlansError::BadEventName { meter: name.clone() });
                }
                if let Some(first) = by_event.insert(event, name) {
                    return Err(PlansError::DuplicateEventName {
                        event_name: event.clone(),
                        first: first.to_string(),
                        second: name.clone(),
                    });
                }
            }
        }
        let mut by_rank: BTreeMap<u32, &str> = BTreeMap::new();
        let mut by_price: HashMap<String, String> = HashMap::new();
        for (name, plan) in &raw.plans {
            let empty = |field| PlansError::EmptyName { plan: name.clone(), field };
            if name.trim().is_empty() {
                return Err(empty("plans"));
            }
            if plan.features.iter().any(|f| f.trim().is_empty()) {
                return Err(empty("features"));
            }
            if let Some(meter) = plan.limits.keys().find(|m| !raw.meters.contains_key(*m)) {
                return Err(PlansError::UnknownMeter {
                    plan: name.clone(),
                    meter: meter.clone(),
                    known: raw.meters.keys().cloned().collect(),
                });
            }
            if let Some(first) = by_rank.insert(plan.rank, name) {
                return Err(PlansError::DuplicateRank {
                    rank: plan.rank,
                    first: first.to_string(),
                    second: name.clone(),
                });
            }
            for price in &plan.prices {
                if price.trim().is_empty() {
                    return Err(empty("prices"));
                }
                if let Some(first) = by_price.insert(price.clone(), name.clone()) {
                    return Err(PlansError::DuplicatePrice { price: price.clone(), first, second: name.clone() });
                }
            }
        }
        if let Some(f) = &raw.past_due_features {
            if f.iter().any(|f| f.trim().is_empty()) {
                return Err(PlansError::EmptyName { plan: "past_due_features".into(), field: "past_due_features" });
            }
        }
        let past_due_features = match raw.past_due_features {
            Some(f) => f,
            None => raw.plans[&raw.default_plan].features.clone(),
        };
        Ok(Plans {
            default_plan: raw.default_plan,
            plans: raw.plans,
            past_due_features,
            trial: raw.trial,
            meters: raw.meters,
            by_price,
        })
    }

    /// The plan whoever has no granting subscription is on.
    pub fn default_plan(&self) -> &str {
        &self.default_plan
    }

    /// A plan by name.
    pub fn plan(&self, name: &str) -> Option<&Plan> {
        self.plans.get(name)
    }

    /// The features of a plan; empty for an unknown name.
    pub fn features_of(&self, name: &str) -> &[String] {
        self.plans.get(name).map(|p| p.features.as_slice()).unwrap_or(&[])
    }

    /// The features of the default plan.
    pub fn default_features(&self) -> &[String] {
        self.features_of(&self.default_plan)
    }

    /// The rank of a plan; `None` for an unknown name.
    pub fn rank_of(&self, name: &str) -> Option<u32> {
        self.plans.get(name).map(|p| p.rank)
    }

    /// What a past-due (limited) customer keeps.
    pub fn past_due_features(&self) -> &[String] {
        &self.past_due_features
    }

    /// The app trial, when configured.
    pub fn trial(&self) -> Option<&Trial> {
        self.trial.as_ref()
    }

    /// A meter by name.
    pub fn meter(&self, name: &str) -> Option<&Meter> {
        self.meters.get(name)
    }

    /// The meters by name, in name order.
    pub fn meters(&self) -> impl Iterator<Item = (&str, &Meter)> {
        self.meters.iter().map(|(n, m)| (n.as_str(), m))
    }

    /// How much of `meter` `plan` includes per window: 0 when the plan (or
    /// the meter) is unknown or the plan names no limit for it.
    pub fn limit(&self, plan: &str, meter: &str) -> Limit {
        self.plans.get(plan).and_then(|p| p.limits.get(meter)).copied().unwrap_or(Limit::Units(0))
    }

    /// The limit of `meter` for an identity whose record at read time is
    /// `now`: its plan's, or while past due (limited access) the default
    /// plan's, as features fall back while Stripe retries the payment.
    pub fn limit_in_effect(&self, now: &Entitlement, meter: &str) -> Limit {
        let plan = match now.access {
            Access::Limited => self.default_plan(),
            Access::Full | Access::None => now.plan.as_str(),
        };
        self.limit(plan, meter)
    }

    /// All plans by name, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Plan)> {
        self.plans.iter().map(|(n, p)| (n.as_str(), p))
    }

    /// The plan a Stripe price buys: its lookup key is tried first, then its
    /// id. `None` for a price the catalogue does not know.
    pub fn plan_for_price(&self, price_id: &str, lookup_key: Option<&str>) -> Option<&str> {
        lookup_key.and_then(|k| self.by_price.get(k)).or_else(|| self.by_price.get(price_id)).map(String::as_str)
    }
}

/// The spec's example catalogue: the default `PLANS` in wrangler.toml, and
/// the catalogue the tests run with.
pub const EXAMPLE_PLANS: &str = r#"{
  "default_plan": "free",
  "plans": {
    "free":       { "rank": 0, "features": ["basic_feature"] },
    "pro":        { "rank": 1, "features": ["basic_feature", "premium_feature"], "prices": ["pro_monthly", "pro_yearly"] },
    "enterprise": { "rank": 2, "features": ["*"], "prices": ["enterprise_monthly"] }
  },
  "past_due_features": ["basic_feature"],
  "trial": { "days": 14, "plan": "pro" }
}"#;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::entitlements::derive::derive;
    use crate::entitlements::feature::effective;
    use crate::stripe::subscription::{PriceRef, Subscription, SubscriptionStatus};

    pub(crate) use super::EXAMPLE_PLANS as EXAMPLE;

    /// The time the entitlement tests run at, and a day.
    pub(crate) const NOW: i64 = 1_764_000_000;
    pub(crate) const DAY: i64 = 86_400;

    /// The spec's example catalogue.
    pub(crate) fn example() -> Plans {
        Plans::parse(EXAMPLE).unwrap()
    }

    /// The identity the entitlement tests are about.
    pub(crate) fn id1() -> crate::identity::IdentityId {
        crate::identity::IdentityId::parse("1d000000-0000-4000-8000-000000000001").unwrap()
    }

    /// The record [`id1`] gets from one subscription of customer `cus_1`
    /// to the price with `lookup_key` (a trial ends with the period).
    pub(crate) fn record_of(
        status: SubscriptionStatus,
        lookup_key: &str,
        period_end: i64,
        cancel: bool,
    ) -> Entitlement {
        let sub = Subscription {
            id: "sub_1".into(),
            customer: "cus_1".into(),
            status,
            cancel_at_period_end: cancel,
            current_period_end: Some(period_end),
            trial_end: (status == SubscriptionStatus::Trialing).then_some(period_end),
            prices: vec![PriceRef { id: format!("price_{lookup_key}"), lookup_key: Some(lookup_key.into()) }],
            metadata: Default::default(),
            created: NOW - 100 * DAY,
        };
        derive(&id1(), Some("cus_1"), &[sub], &example(), NOW)
    }

    fn err(json: &str) -> String {
        Plans::parse(json).unwrap_err().to_string()
    }

    #[test]
    fn parses_the_spec_example() {
        let p = Plans::parse(EXAMPLE).unwrap();
        assert_eq!(p.default_plan(), "free");
        assert_eq!(p.features_of("pro"), ["basic_feature", "premium_feature"]);
        assert_eq!(p.rank_of("enterprise"), Some(2));
        assert_eq!(p.past_due_features(), ["basic_feature"]);
        assert_eq!(p.trial().map(|t| (t.days, t.plan.as_str(), t.duration_secs())), Some((14, "pro", 14 * 86_400)));
        assert!(p.plan("enterprise").unwrap().grants("anything"));
        assert!(!p.plan("free").unwrap().grants("premium_feature"));
        assert!(p.features_of("nope").is_empty());
    }

    #[test]
    fn prices_map_by_lookup_key_first_then_id() {
        let p = Plans::parse(
            r#"{"default_plan":"free","plans":{"free":{"rank":0},
                "pro":{"rank":1,"prices":["pro_monthly"]},
                "team":{"rank":2,"prices":["price_123"]}}}"#,
        )
        .unwrap();
        assert_eq!(p.plan_for_price("price_999", Some("pro_monthly")), Some("pro"));
        assert_eq!(p.plan_for_price("price_123", None), Some("team"));
        // The lookup key wins over the id.
        assert_eq!(p.plan_for_price("price_123", Some("pro_monthly")), Some("pro"));
        // An unknown lookup key still falls back to the id.
        assert_eq!(p.plan_for_price("price_123", Some("legacy")), Some("team"));
        assert_eq!(p.plan_for_price("price_999", Some("legacy")), None);
    }

    #[test]
    fn past_due_features_default_to_the_default_plan() {
        let p = Plans::parse(r#"{"default_plan":"free","plans":{"free":{"rank":0,"features":["a"]}}}"#).unwrap();
        assert_eq!(p.past_due_features(), ["a"]);
        assert!(p.trial().is_none());
    }

    #[test]
    fn invalid_json_reports_line_and_column() {
        let m = err("{\n  \"default_plan\": \"free\",\n  \"plans\": {\n}");
        assert!(m.starts_with("is not a valid plan catalogue: "), "{m}");
        assert!(m.contains("line 4 column"), "{m}");
        let m = err(r#"{"default_plan":"free","plans":{"free":{"rank":"zero"}}}"#);
        assert!(m.contains("invalid type") && m.contains("line 1"), "{m}");
    }

    #[test]
    fn unknown_fields_are_rejected_everywhere() {
        let top = err(r#"{"default_plan":"free","plan":{},"plans":{"free":{"rank":0}}}"#);
        assert!(top.contains("unknown field `plan`"), "{top}");
        let inner = err(r#"{"default_plan":"free","plans":{"free":{"rank":0,"feature":["a"]}}}"#);
        assert!(inner.contains("unknown field `feature`"), "{inner}");
        let trial =
            err(r#"{"default_plan":"free","plans":{"free":{"rank":0}},"trial":{"days":3,"plan":"free","len":1}}"#);
        assert!(trial.contains("unknown field `len`"), "{trial}");
    }

    #[test]
    fn semantic_errors_have_clear_messages() {
        assert_eq!(
            err(r#"{"default_plan":"free","plans":{}}"#),
            "\"plans\" is empty; define at least the default plan"
        );
        assert_eq!(
            err(r#"{"default_plan":"gold","plans":{"free":{"rank":0},"pro":{"rank":1}}}"#),
            "default_plan \"gold\" is not one of the plans (free, pro)"
        );
        assert_eq!(
            err(r#"{"default_plan":"free","plans":{"free":{"rank":0}},"trial":{"days":14,"plan":"pro"}}"#),
            "trial.plan \"pro\" is not one of the plans (free)"
        );
        assert_eq!(
            err(
                r#"{"default_plan":"free","plans":{"free":{"rank":0},"pro":{"rank":1}},"trial":{"days":0,"plan":"pro"}}"#
            ),
            "trial.days must be at least 1 (remove \"trial\" to disable the app trial)"
        );
        assert_eq!(
            err(r#"{"default_plan":"free","plans":{"free":{"rank":0},"pro":{"rank":0}}}"#),
            "plans \"free\" and \"pro\" have the same rank 0; ranks must be unique"
        );
        assert_eq!(
            err(
                r#"{"default_plan":"free","plans":{"free":{"rank":0},"pro":{"rank":1,"prices":["p1"]},"team":{"rank":2,"prices":["p1"]}}}"#
            ),
            "price \"p1\" is mapped to two plans: \"pro\" and \"team\""
        );
        assert_eq!(
            err(r#"{"default_plan":"free","plans":{"free":{"rank":0},"pro":{"rank":1,"prices":["p1","p1"]}}}"#),
            "price \"p1\" is listed twice in plan \"pro\""
        );
        assert_eq!(
            err(r#"{"default_plan":"free","plans":{"free":{"rank":0,"features":[""]}}}"#),
            "plan \"free\" has an empty entry in \"features\""
        );
    }
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
    fn a_meter_a_plan_does_not_name_has_limit_0_and_past_due_falls_back_to_the_default_plan() {
        let plans = Plans::parse(METERED).unwrap();
        let pro = record_of(SubscriptionStatus::Active, "pro_monthly", NOW + 10 * DAY, false);
        let now = effective(&pro, &plans, NOW);
        assert_eq!(plans.limit_in_effect(&now, "exports"), Limit::Units(100));
        assert_eq!(plans.limit_in_effect(&now, "api_calls"), Limit::Unlimited);
        let past_due = record_of(SubscriptionStatus::PastDue, "pro_monthly", NOW + 10 * DAY, false);
        let now = effective(&past_due, &plans, NOW);
        assert_eq!(plans.limit_in_effect(&now, "exports"), Limit::Units(3), "the default plan's while past due");
        assert_eq!(plans.limit_in_effect(&now, "api_calls"), Limit::Units(0), "free names no api_calls");
        assert_eq!(plans.limit("nope", "exports"), Limit::Units(0));
    }

    #[test]
    fn a_metered_catalogue_is_validated_as_strictly_as_the_rest() {
        let plans = Plans::parse(METERED).unwrap();
        assert_eq!(plans.meter("exports").map(|m| m.reset), Some(crate::usage::meter::Reset::BillingPeriod));
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
}
