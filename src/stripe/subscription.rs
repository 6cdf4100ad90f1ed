//! The subscription as the Stripe API returns it now: the few fields plan
//! derivation needs, read from `GET /v1/subscriptions?customer=..&status=all`
//! (or one subscription), skipping everything else without building it.
//!
//! Since API version `2025-03-31.basil` the billing period lives on the
//! subscription items, so `current_period_end` is read from
//! `items.data[].current_period_end` first and the old top-level field is the
//! fallback.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A subscription's lifecycle state, exactly Stripe's `status` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// First payment not (yet) made; grants nothing.
    Incomplete,
    /// First payment never made within 23 h; terminal, grants nothing.
    IncompleteExpired,
    /// In a Stripe trial.
    Trialing,
    /// Paid and current.
    Active,
    /// A renewal payment failed; Stripe is retrying.
    PastDue,
    /// Ended (immediately or at period end).
    Canceled,
    /// Retries exhausted, left open unpaid.
    Unpaid,
    /// Trial ended without a payment method (pause behaviour).
    Paused,
}

impl SubscriptionStatus {
    /// Every status, for exhaustive tests and docs.
    pub const ALL: [SubscriptionStatus; 8] = [
        Self::Incomplete,
        Self::IncompleteExpired,
        Self::Trialing,
        Self::Active,
        Self::PastDue,
        Self::Canceled,
        Self::Unpaid,
        Self::Paused,
    ];

    /// Parses Stripe's status string; `None` for a status this build does not know.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Stripe's status string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Unpaid => "unpaid",
            Self::Paused => "paused",
        }
    }
}

/// A price on a subscription item: what maps the subscription to a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRef {
    /// `price_...`.
    pub id: String,
    /// The price's stable lookup key, when set.
    pub lookup_key: Option<String>,
}

/// The fields of a Stripe subscription that decide entitlements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// `sub_...`.
    pub id: String,
    /// `cus_...` (from the id or the expanded customer object).
    pub customer: String,
    /// The lifecycle state.
    pub status: SubscriptionStatus,
    /// Scheduled to end when the current period ends.
    pub cancel_at_period_end: bool,
    /// End of the paid period: the max over items, else the top-level field.
    pub current_period_end: Option<i64>,
    /// End of the Stripe trial, when there is one.
    pub trial_end: Option<i64>,
    /// The prices of all items, in item order.
    pub prices: Vec<PriceRef>,
    /// The subscription's metadata (e.g. `olympus_identity_id`).
    pub metadata: BTreeMap<String, String>,
    /// Creation time (unix seconds).
    pub created: i64,
}

/// One page of `GET /v1/subscriptions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionPage {
    /// The subscriptions of this page, newest first (Stripe's order).
    pub data: Vec<Subscription>,
    /// More pages follow (`starting_after` = the last id of `data`).
    pub has_more: bool,
}

/// Why a subscription answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionError {
    /// Not JSON or not a subscription shape; a location, never the values.
    InvalidJson(String),
    /// A subscription without a customer.
    MissingCustomer {
        /// The subscription concerned.
        subscription_id: String,
    },
    /// A status this build does not know. Refused rather than guessed: a
    /// wrong guess either grants or revokes a plan silently.
    UnknownStatus {
        /// The subscription concerned.
        subscription_id: String,
        /// The status as Stripe sent it.
        status: String,
    },
}

impl fmt::Display for SubscriptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidJson(m) => write!(f, "unreadable Stripe subscription answer: {m}"),
            Self::MissingCustomer { subscription_id } => {
                write!(f, "Stripe subscription {subscription_id} has no customer")
            }
            Self::UnknownStatus { subscription_id, status } => {
                write!(f, "Stripe subscription {subscription_id} has unknown status \"{status}\"")
            }
        }
    }
}

impl std::error::Error for SubscriptionError {}

/// Parses one page of `GET /v1/subscriptions?customer=..&status=all&expand[]=data.items.data.price`.
pub fn parse_subscription_list(json: &[u8]) -> Result<SubscriptionPage, SubscriptionError> {
    let raw: RawList = serde_json::from_slice(json).map_err(|e| SubscriptionError::InvalidJson(json_error(&e)))?;
    let data = raw.data.into_iter().map(Subscription::try_from).collect::<Result<Vec<_>, _>>()?;
    Ok(SubscriptionPage { data, has_more: raw.has_more })
}

/// Parses one subscription (`GET /v1/subscriptions/{id}` or an event's object).
pub fn parse_subscription(json: &[u8]) -> Result<Subscription, SubscriptionError> {
    let raw: RawSubscription =
        serde_json::from_slice(json).map_err(|e| SubscriptionError::InvalidJson(json_error(&e)))?;
    Subscription::try_from(raw)
}

#[derive(Deserialize)]
struct RawList {
    data: Vec<RawSubscription>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Deserialize)]
struct RawSubscription {
    id: String,
    #[serde(default, deserialize_with = "expandable_id")]
    customer: Option<String>,
    status: String,
    #[serde(default)]
    cancel_at_period_end: bool,
    #[serde(default)]
    current_period_end: Option<i64>,
    #[serde(default)]
    trial_end: Option<i64>,
    #[serde(default)]
    items: Option<RawItems>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    created: i64,
}

#[derive(Deserialize)]
struct RawItems {
    #[serde(default)]
    data: Vec<RawItem>,
}

#[derive(Deserialize)]
struct RawItem {
    #[serde(default)]
    price: Option<RawPrice>,
    #[serde(default)]
    current_period_end: Option<i64>,
}

#[derive(Deserialize)]
struct RawPrice {
    id: String,
    #[serde(default)]
    lookup_key: Option<String>,
}

impl TryFrom<RawSubscription> for Subscription {
    type Error = SubscriptionError;

    fn try_from(raw: RawSubscription) -> Result<Self, Self::Error> {
        let Some(status) = SubscriptionStatus::parse(&raw.status) else {
            return Err(SubscriptionError::UnknownStatus { subscription_id: raw.id, status: raw.status });
        };
        let Some(customer) = raw.customer else {
            return Err(SubscriptionError::MissingCustomer { subscription_id: raw.id });
        };
        let items = raw.items.map(|i| i.data).unwrap_or_default();
        let item_period_end = items.iter().filter_map(|i| i.current_period_end).max();
        let prices = items
            .into_iter()
            .filter_map(|i| i.price)
            .map(|p| PriceRef { id: p.id, lookup_key: p.lookup_key })
            .collect();
        Ok(Subscription {
            id: raw.id,
            customer,
            status,
            cancel_at_period_end: raw.cancel_at_period_end,
            current_period_end: item_period_end.or(raw.current_period_end),
            trial_end: raw.trial_end,
            prices,
            metadata: raw.metadata.unwrap_or_default(),
            created: raw.created,
        })
    }
}

/// Reads an "expandable" Stripe reference: either the id string, `null`, or
/// the expanded object, of which only `id` is kept (other keys are skipped
/// without being built).
pub(crate) fn expandable_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(ExpandableId)
}

struct ExpandableId;

impl<'de> Visitor<'de> for ExpandableId {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id string, null, or an object with an id")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id = None;
        while let Some(key) = map.next_key::<KeyIsId>()? {
            if key.0 && id.is_none() {
                id = map.next_value::<Option<String>>()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(id)
    }
}

/// A map key, reduced to "is it `id`?" so that keys are not allocated.
struct KeyIsId(bool);

impl<'de> Deserialize<'de> for KeyIsId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyIsId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyIsId, E> {
                Ok(KeyIsId(v == "id"))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// Describes a JSON error by kind and location only: serde's full message can
/// quote a value (an email, a name) and these messages reach logs.
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "not valid JSON".to_string(),
        Category::Eof => "truncated JSON".to_string(),
        Category::Io => "unreadable input".to_string(),
        Category::Data => {
            let m = e.to_string();
            match m.find(" at line ") {
                // "missing field `x`" names only our own field.
                Some(end) if m.starts_with("missing field") => m[..end].to_string(),
                _ => "unexpected JSON shape".to_string(),
            }
        }
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The subscription object from Stripe's OpenAPI fixtures (current API).
    const FIXTURE: &str = include_str!("../../tests/fixtures/stripe_subscription.json");

    fn fixture() -> serde_json::Value {
        serde_json::from_str(FIXTURE).unwrap()
    }

    fn bytes(v: &serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn reads_the_stripe_fixture() {
        let s = parse_subscription(FIXTURE.as_bytes()).unwrap();
        assert_eq!(s.id, "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw");
        assert_eq!(s.customer, "cus_QXg1o8vcGmoR32");
        assert_eq!(s.status, SubscriptionStatus::Active);
        assert!(s.cancel_at_period_end);
        // The fixture has no top-level period: it comes from the item.
        assert_eq!(s.current_period_end, Some(976287773));
        assert_eq!(s.trial_end, Some(1234567890));
        assert_eq!(s.prices, [PriceRef { id: "price_1PgafmB7WZ01zgkW6dKueIc5".into(), lookup_key: None }]);
        assert!(s.metadata.is_empty());
        assert_eq!(s.created, 1234567890);
    }

    #[test]
    fn period_end_is_the_max_over_items_then_the_top_level_field() {
        let mut v = fixture();
        v["current_period_end"] = 5.into();
        let mut second = v["items"]["data"][0].clone();
        second["current_period_end"] = 2_000_000_000.into();
        second["price"]["id"] = "price_2".into();
        second["price"]["lookup_key"] = "pro_monthly".into();
        v["items"]["data"].as_array_mut().unwrap().push(second);
        let s = parse_subscription(&bytes(&v)).unwrap();
        assert_eq!(s.current_period_end, Some(2_000_000_000));
        assert_eq!(s.prices[1], PriceRef { id: "price_2".into(), lookup_key: Some("pro_monthly".into()) });

        // An older API version: only the top-level field.
        for item in v["items"]["data"].as_array_mut().unwrap() {
            item.as_object_mut().unwrap().remove("current_period_end");
        }
        v["current_period_end"] = 1_767_225_600.into();
        assert_eq!(parse_subscription(&bytes(&v)).unwrap().current_period_end, Some(1_767_225_600));

        // Neither: unknown.
        v.as_object_mut().unwrap().remove("current_period_end");
        assert_eq!(parse_subscription(&bytes(&v)).unwrap().current_period_end, None);
    }

    #[test]
    fn reads_a_list_page_with_metadata_and_an_expanded_customer() {
        let mut v = fixture();
        v["customer"] = serde_json::json!({"id": "cus_X", "object": "customer", "email": "a@example.com", "metadata": {"id": "not it"}});
        v["metadata"] = serde_json::json!({"olympus_identity_id": "9f1c"});
        v["status"] = "past_due".into();
        let list =
            serde_json::json!({"object": "list", "data": [v, fixture()], "has_more": true, "url": "/v1/subscriptions"});
        let page = parse_subscription_list(&bytes(&list)).unwrap();
        assert!(page.has_more);
        assert_eq!(page.data.len(), 2);
        assert_eq!(page.data[0].customer, "cus_X");
        assert_eq!(page.data[0].status, SubscriptionStatus::PastDue);
        assert_eq!(page.data[0].metadata.get("olympus_identity_id").map(String::as_str), Some("9f1c"));
        let empty = parse_subscription_list(br#"{"object":"list","data":[],"has_more":false}"#).unwrap();
        assert!(empty.data.is_empty() && !empty.has_more);
    }

    #[test]
    fn every_status_round_trips_and_unknown_ones_are_refused_by_name() {
        for st in SubscriptionStatus::ALL {
            assert_eq!(SubscriptionStatus::parse(st.as_str()), Some(st));
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
            let mut v = fixture();
            v["status"] = st.as_str().into();
            assert_eq!(parse_subscription(&bytes(&v)).unwrap().status, st);
        }
        let mut v = fixture();
        v["status"] = "frozen".into();
        let e = parse_subscription(&bytes(&v)).unwrap_err();
        assert_eq!(
            e,
            SubscriptionError::UnknownStatus {
                subscription_id: "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw".into(),
                status: "frozen".into()
            }
        );
        assert!(e.to_string().contains("unknown status \"frozen\""));
    }

    #[test]
    fn bad_answers_are_errors_that_quote_no_values() {
        let mut v = fixture();
        v["customer"] = serde_json::Value::Null;
        assert!(matches!(parse_subscription(&bytes(&v)), Err(SubscriptionError::MissingCustomer { .. })));
        assert!(
            matches!(parse_subscription(b"{\"id\":"), Err(SubscriptionError::InvalidJson(m)) if m.starts_with("truncated JSON"))
        );
        let e = parse_subscription(br#"{"id":"sub_1","status":"active","created":1}"#).unwrap_err();
        assert!(matches!(&e, SubscriptionError::MissingCustomer { .. }), "{e}");
        let e = parse_subscription(br#"{"id":"sub_1","customer":"cus_1","status":"active"}"#).unwrap_err();
        assert_eq!(e, SubscriptionError::InvalidJson("missing field `created` at line 1 column 51".into()));
        let e = parse_subscription(br#"{"id":"sub_1","customer":"cus_1","status":"active","created":"a@example.com"}"#)
            .unwrap_err();
        assert!(!e.to_string().contains("example.com"), "{e}");
    }
}
