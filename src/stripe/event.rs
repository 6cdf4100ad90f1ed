//! A Stripe webhook event read as a signal naming a customer: which event it
//! is, which customer (and maybe which identity) it concerns, nothing more.
//! The worker then re-reads the customer's subscriptions from the API, so
//! duplicated or out-of-order events cannot revert state.
//!
//! Only the handful of fields needed are deserialized; the rest of the
//! (~3 KB) body is skipped without being built.

use std::fmt;

use serde::de::{self, value::MapAccessDeserializer, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::subscription::{expandable_id, json_error};
use crate::error::ApiError;
use crate::identity::{IdentityId, STRIPE_IDENTITY_KEY};

/// The event types the bridge reacts to; anything else is `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `checkout.session.completed`: a purchase just finished.
    CheckoutSessionCompleted,
    /// `checkout.session.expired`: an abandoned Checkout can no longer be paid.
    CheckoutSessionExpired,
    /// `customer.subscription.created`.
    SubscriptionCreated,
    /// `customer.subscription.updated`.
    SubscriptionUpdated,
    /// `customer.subscription.deleted`: the subscription ended.
    SubscriptionDeleted,
    /// `customer.subscription.paused`.
    SubscriptionPaused,
    /// `customer.subscription.resumed`.
    SubscriptionResumed,
    /// `customer.subscription.trial_will_end`.
    SubscriptionTrialWillEnd,
    /// `invoice.paid`: a renewal or recovery succeeded.
    InvoicePaid,
    /// `invoice.payment_failed`: may turn the subscription past due.
    InvoicePaymentFailed,
    /// `customer.updated`.
    CustomerUpdated,
    /// `customer.deleted`.
    CustomerDeleted,
    /// Any other type, kept verbatim (acknowledged, not acted on).
    Other(String),
}

impl EventKind {
    const KNOWN: [(&'static str, EventKind); 12] = [
        ("checkout.session.completed", Self::CheckoutSessionCompleted),
        ("checkout.session.expired", Self::CheckoutSessionExpired),
        ("customer.subscription.created", Self::SubscriptionCreated),
        ("customer.subscription.updated", Self::SubscriptionUpdated),
        ("customer.subscription.deleted", Self::SubscriptionDeleted),
        ("customer.subscription.paused", Self::SubscriptionPaused),
        ("customer.subscription.resumed", Self::SubscriptionResumed),
        ("customer.subscription.trial_will_end", Self::SubscriptionTrialWillEnd),
        ("invoice.paid", Self::InvoicePaid),
        ("invoice.payment_failed", Self::InvoicePaymentFailed),
        ("customer.updated", Self::CustomerUpdated),
        ("customer.deleted", Self::CustomerDeleted),
    ];

    /// Maps Stripe's `type` string; never fails.
    pub fn parse(s: &str) -> EventKind {
        Self::KNOWN
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, k)| k.clone())
            .unwrap_or_else(|| Self::Other(s.to_owned()))
    }

    /// Stripe's `type` string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(s) => s,
            known => Self::KNOWN.iter().find(|(_, k)| k == known).map(|(n, _)| *n).unwrap_or(""),
        }
    }

    /// Whether this event should trigger a re-sync of the customer's plan.
    pub fn triggers_sync(&self) -> bool {
        !matches!(self, Self::Other(_))
    }

    /// Whether the event says its Checkout Session is over (completed or
    /// expired), which ends the record's `pending` for that session.
    pub fn ends_checkout(&self) -> bool {
        matches!(self, Self::CheckoutSessionCompleted | Self::CheckoutSessionExpired)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a webhook event tells the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSignal {
    /// `evt_...`: the dedupe key (delivery is at-least-once).
    pub id: String,
    /// The event type.
    pub kind: EventKind,
    /// Live or test mode; must match the deployment's environment.
    pub livemode: bool,
    /// When Stripe created the event (unix seconds).
    pub created: i64,
    /// The customer concerned: `data.object.id` for a customer object,
    /// `data.object.customer` otherwise (id or expanded object).
    pub customer_id: Option<String>,
    /// The identity the object names, if any: the first valid id among a
    /// checkout session's `client_reference_id`, `metadata.olympus_identity_id`
    /// of the object, and (invoices) the subscription's metadata.
    pub identity_hint: Option<IdentityId>,
    /// `data.object.id` (the subscription, invoice, session... id).
    pub object_id: Option<String>,
}

/// Why a webhook body is not a usable event. No variant quotes the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventError {
    /// Not JSON, or fields of the wrong type; a location, never the values.
    InvalidJson(String),
    /// A field every Stripe event has is absent.
    MissingField(&'static str),
}

impl EventError {
    /// A stable machine-readable code for error answers.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid_event",
            Self::MissingField(_) => "invalid_event",
        }
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidJson(m) => write!(f, "event body is unreadable: {m}"),
            Self::MissingField(name) => write!(f, "event has no \"{name}\""),
        }
    }
}

impl std::error::Error for EventError {}

/// A verified body that is not an event: the sender's fault, 400.
impl From<EventError> for ApiError {
    fn from(e: EventError) -> Self {
        ApiError::bad_request(e.code(), e.to_string())
    }
}

/// Reads the signal out of a (verified) webhook body.
pub fn parse_event(body: &[u8]) -> Result<EventSignal, EventError> {
    let raw: RawEvent = serde_json::from_slice(body).map_err(|e| EventError::InvalidJson(json_error(&e)))?;
    let id = raw.id.ok_or(EventError::MissingField("id"))?;
    let kind = EventKind::parse(&raw.kind.ok_or(EventError::MissingField("type"))?);
    let livemode = raw.livemode.ok_or(EventError::MissingField("livemode"))?;
    let created = raw.created.ok_or(EventError::MissingField("created"))?;
    let object = raw.data.and_then(|d| d.object).ok_or(EventError::MissingField("data.object"))?;

    let is_customer = match object.object.as_deref() {
        Some(o) => o == "customer",
        None => matches!(kind, EventKind::CustomerUpdated | EventKind::CustomerDeleted),
    };
    let customer_id = if is_customer { object.id.clone() } else { object.customer };
    let identity_hint = [
        object.client_reference_id,
        object.metadata.and_then(|m| m.identity),
        object.parent.and_then(|p| p.subscription_details).and_then(|d| d.metadata).and_then(|m| m.identity),
        object.subscription_details.and_then(|d| d.metadata).and_then(|m| m.identity),
    ]
    .into_iter()
    .flatten()
    .find_map(|h| IdentityId::parse(h.trim()).ok());
    Ok(EventSignal {
        id,
        kind,
        livemode,
        created,
        customer_id: customer_id.filter(|c| !c.is_empty()),
        identity_hint,
        object_id: object.id,
    })
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    livemode: Option<bool>,
    #[serde(default)]
    created: Option<i64>,
    #[serde(default)]
    data: Option<RawData>,
}

#[derive(Deserialize)]
struct RawData {
    #[serde(default)]
    object: Option<RawObject>,
}

/// The parts of `data.object` that name a customer or an identity, across
/// object types. Fields that are objects on some types and something else on
/// others are read leniently (non-objects are skipped).
#[derive(Deserialize)]
struct RawObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default, deserialize_with = "expandable_id")]
    customer: Option<String>,
    #[serde(default)]
    client_reference_id: Option<String>,
    #[serde(default, deserialize_with = "object_or_none")]
    metadata: Option<IdentityMetadata>,
    /// Invoices (API 2025-03-31.basil+): `parent.subscription_details.metadata`.
    #[serde(default, deserialize_with = "object_or_none")]
    parent: Option<RawParent>,
    /// Invoices (older API versions): `subscription_details.metadata`.
    #[serde(default, deserialize_with = "object_or_none")]
    subscription_details: Option<RawSubscriptionDetails>,
}

/// A metadata object, of which only [`STRIPE_IDENTITY_KEY`] is kept.
struct IdentityMetadata {
    identity: Option<String>,
}

impl<'de> Deserialize<'de> for IdentityMetadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdentityMetadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a metadata object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IdentityMetadata, A::Error> {
                let mut identity = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == STRIPE_IDENTITY_KEY {
                        identity = map.next_value::<Option<String>>()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(IdentityMetadata { identity })
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct RawParent {
    #[serde(default, deserialize_with = "object_or_none")]
    subscription_details: Option<RawSubscriptionDetails>,
}

#[derive(Deserialize)]
struct RawSubscriptionDetails {
    #[serde(default, deserialize_with = "object_or_none")]
    metadata: Option<IdentityMetadata>,
}

/// Deserializes `T` from a JSON object; any other value (null, string,
/// number, array) is skipped and gives `None` instead of failing the event.
fn object_or_none<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Option<T>, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const SUBSCRIPTION: &str = include_str!("../../tests/fixtures/stripe_subscription.json");

    fn event(kind: &str, object: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": "evt_1", "object": "event", "api_version": "2025-03-31.basil",
            "created": 1_700_000_000, "livemode": false, "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null},
            "type": kind, "data": {"object": object, "previous_attributes": {"status": "trialing"}}
        }))
        .unwrap()
    }

    fn subscription() -> Value {
        serde_json::from_str(SUBSCRIPTION).unwrap()
    }

    #[test]
    fn kinds_round_trip_and_only_other_is_unhandled() {
        for (name, kind) in EventKind::KNOWN {
            assert_eq!(EventKind::parse(name), kind);
            assert_eq!(kind.as_str(), name);
            assert!(kind.triggers_sync());
            assert_eq!(kind.ends_checkout(), name.starts_with("checkout.session."), "{name}");
        }
        let other = EventKind::parse("plan.created");
        assert_eq!(other, EventKind::Other("plan.created".into()));
        assert_eq!(other.as_str(), "plan.created");
        assert!(!other.triggers_sync());
    }

    #[test]
    fn a_subscription_event_names_its_customer_and_metadata_identity() {
        let mut sub = subscription();
        sub["metadata"] = json!({"olympus_identity_id": "9f1c2d3e-4b5a-4c6d-8e7f-000000000001", "other": "x"});
        let s = parse_event(&event("customer.subscription.updated", sub)).unwrap();
        assert_eq!(
            s,
            EventSignal {
                id: "evt_1".into(),
                kind: EventKind::SubscriptionUpdated,
                livemode: false,
                created: 1_700_000_000,
                customer_id: Some("cus_QXg1o8vcGmoR32".into()),
                identity_hint: Some(IdentityId::parse("9f1c2d3e-4b5a-4c6d-8e7f-000000000001").unwrap()),
                object_id: Some("sub_1Pgc6rB7WZ01zgkWNy0Cn5nw".into()),
            }
        );
        // Without metadata: no hint, still the customer.
        let s = parse_event(&event("customer.subscription.deleted", subscription())).unwrap();
        assert_eq!(s.identity_hint, None);
        assert_eq!(s.customer_id.as_deref(), Some("cus_QXg1o8vcGmoR32"));
    }

    #[test]
    fn a_customer_event_names_the_object_itself() {
        let customer = json!({"id": "cus_9", "object": "customer", "email": "a@example.com",
            "metadata": {"olympus_identity_id": "9f1c2d3e-4b5a-4c6d-8e7f-000000000009"}, "invoice_settings": {"default_payment_method": null}});
        for kind in ["customer.updated", "customer.deleted", "customer.created"] {
            let s = parse_event(&event(kind, customer.clone())).unwrap();
            assert_eq!(s.customer_id.as_deref(), Some("cus_9"), "{kind}");
            assert_eq!(s.identity_hint.as_ref().map(IdentityId::as_str), Some("9f1c2d3e-4b5a-4c6d-8e7f-000000000009"));
        }
    }

    #[test]
    fn checkout_prefers_client_reference_id_then_metadata() {
        let mut cs = json!({"id": "cs_test_1", "object": "checkout.session", "mode": "subscription",
            "customer": "cus_7", "client_reference_id": "9f1c2d3e-4b5a-4c6d-8e7f-00000000000a", "metadata": {"olympus_identity_id": "9f1c2d3e-4b5a-4c6d-8e7f-00000000000b"},
            "customer_details": {"email": "a@example.com"}});
        let s = parse_event(&event("checkout.session.completed", cs.clone())).unwrap();
        assert_eq!(s.kind, EventKind::CheckoutSessionCompleted);
        assert_eq!(s.customer_id.as_deref(), Some("cus_7"));
        assert_eq!(s.identity_hint.as_ref().map(IdentityId::as_str), Some("9f1c2d3e-4b5a-4c6d-8e7f-00000000000a"));
        assert_eq!(s.object_id.as_deref(), Some("cs_test_1"));
        cs["client_reference_id"] = Value::Null;
        let s = parse_event(&event("checkout.session.completed", cs.clone())).unwrap();
        assert_eq!(s.identity_hint.as_ref().map(IdentityId::as_str), Some("9f1c2d3e-4b5a-4c6d-8e7f-00000000000b"));
        cs["client_reference_id"] = "not-an-identity".into();
        let s = parse_event(&event("checkout.session.completed", cs.clone())).unwrap();
        assert_eq!(
            s.identity_hint.as_ref().map(IdentityId::as_str),
            Some("9f1c2d3e-4b5a-4c6d-8e7f-00000000000b"),
            "an id that is not one is skipped"
        );
        cs["client_reference_id"] = "  ".into();
        cs["metadata"] = json!({});
        cs["customer"] = Value::Null;
        let s = parse_event(&event("checkout.session.completed", cs)).unwrap();
        assert_eq!((s.identity_hint, s.customer_id), (None, None));
    }

    #[test]
    fn invoices_name_the_customer_and_the_subscription_metadata_identity() {
        let invoice = json!({"id": "in_1", "object": "invoice", "customer": "cus_3", "metadata": {},
            "parent": {"type": "subscription_details", "quote_details": null,
                "subscription_details": {"metadata": {"olympus_identity_id": "9f1c2d3e-4b5a-4c6d-8e7f-00000000000c"}, "subscription": "sub_1"}}});
        let s = parse_event(&event("invoice.payment_failed", invoice)).unwrap();
        assert_eq!(s.kind, EventKind::InvoicePaymentFailed);
        assert_eq!(s.customer_id.as_deref(), Some("cus_3"));
        assert_eq!(s.identity_hint.as_ref().map(IdentityId::as_str), Some("9f1c2d3e-4b5a-4c6d-8e7f-00000000000c"));
        let old = json!({"id": "in_2", "object": "invoice", "customer": {"id": "cus_4", "object": "customer"},
            "subscription_details": {"metadata": {"olympus_identity_id": "9f1c2d3e-4b5a-4c6d-8e7f-00000000000d"}}});
        let s = parse_event(&event("invoice.paid", old)).unwrap();
        assert_eq!(
            (s.customer_id.as_deref(), s.identity_hint.as_ref().map(IdentityId::as_str)),
            (Some("cus_4"), Some("9f1c2d3e-4b5a-4c6d-8e7f-00000000000d"))
        );
    }

    #[test]
    fn unrelated_shapes_of_optional_fields_do_not_fail_the_event() {
        let odd = json!({"id": "x_1", "object": "thing", "parent": "prod_1", "metadata": null,
            "subscription_details": [1, {"a": 2}]});
        let s = parse_event(&event("thing.happened", odd)).unwrap();
        assert_eq!(s.kind, EventKind::Other("thing.happened".into()));
        assert_eq!((s.customer_id, s.identity_hint), (None, None));
        let plan = br#"{"id":"evt_2","type":"plan.created","livemode":true,"created":1,"data":{"object":{"id":"price_1","object":"plan","product":"prod_1"}}}"#;
        let s = parse_event(plan).unwrap();
        assert!(s.livemode);
        assert_eq!(s.object_id.as_deref(), Some("price_1"));
    }

    #[test]
    fn missing_fields_and_bad_json_are_named_without_quoting_the_body() {
        let full = json!({"id": "evt_1", "type": "invoice.paid", "livemode": false, "created": 1, "data": {"object": {"id": "in_1"}}});
        for (field, path) in
            [("id", "id"), ("type", "type"), ("livemode", "livemode"), ("created", "created"), ("data", "data.object")]
        {
            let mut v = full.clone();
            v.as_object_mut().unwrap().remove(field);
            let e = parse_event(&serde_json::to_vec(&v).unwrap()).unwrap_err();
            assert_eq!(e, EventError::MissingField(path));
        }
        assert!(matches!(parse_event(b"not json"), Err(EventError::InvalidJson(_))));
        assert!(matches!(parse_event(b""), Err(EventError::InvalidJson(_))));
        let e = parse_event(br#"{"id":"evt_1","type":"invoice.paid","livemode":"a@example.com"}"#).unwrap_err();
        assert!(!e.to_string().contains("example.com"), "{e}");
        assert_eq!(e.code(), "invalid_event");
    }
}
