//! Stripe Checkout, the Billing Portal and prices: the objects the bridge
//! reads back, and the form bodies that buy a plan for one identity.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::form::Form;
use crate::identity::{IdentityId, STRIPE_IDENTITY_KEY};

/// `status` of a Checkout Session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckoutStatus {
    /// The customer may still pay.
    Open,
    /// Paid (or set up): the subscription exists.
    Complete,
    /// Expired or expired by the API: it can no longer complete.
    Expired,
}

/// The metadata key of a Checkout Session that names the price it sells
/// (so a list of sessions says what each sells without expanding its items).
pub const STRIPE_PRICE_KEY: &str = "olympus_price_id";

/// The metadata key of a Checkout Session that names the state it was made
/// from (`billing::next`'s basis: `after-<the last session>`, or `none`), so
/// that a list of sessions says which came after which.
pub const STRIPE_BASIS_KEY: &str = "olympus_checkout_basis";

/// The parts of a Checkout Session the bridge reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckoutSession {
    /// `cs_...`.
    pub id: String,
    /// The hosted page; `null` once the session is no longer open.
    #[serde(default)]
    pub url: Option<String>,
    pub status: CheckoutStatus,
    /// When Stripe expires the session (unix seconds).
    pub expires_at: i64,
    /// When it was made (unix seconds).
    #[serde(default)]
    pub created: i64,
    /// The identity the bridge made it for.
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default, deserialize_with = "metadata")]
    pub metadata: std::collections::BTreeMap<String, String>,
}

fn metadata<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::collections::BTreeMap<String, String>, D::Error> {
    Ok(Option::<std::collections::BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
}

impl CheckoutSession {
    /// The price it sells, as the bridge noted it in its metadata.
    pub fn price(&self) -> Option<&str> {
        self.metadata.get(STRIPE_PRICE_KEY).map(String::as_str)
    }

    /// The session it was made after, as the bridge noted it.
    pub fn made_after(&self) -> Option<&str> {
        self.metadata.get(STRIPE_BASIS_KEY).and_then(|b| b.strip_prefix("after-"))
    }
}

/// A page of Checkout Sessions (`GET /v1/checkout/sessions`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckoutSessionList {
    pub data: Vec<CheckoutSession>,
}

/// The parts of a Billing Portal session the bridge reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PortalSession {
    /// The short-lived portal page.
    pub url: String,
}

/// The parts of a price the bridge reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Price {
    /// `price_...`.
    pub id: String,
    #[serde(default)]
    pub lookup_key: Option<String>,
    #[serde(default)]
    pub active: bool,
    /// `recurring` or `one_time` (Stripe's `type`); a plan needs a recurring one.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// A page of prices (`GET /v1/prices`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PriceList {
    pub data: Vec<Price>,
}

/// What one identity's Checkout buys, and where Stripe sends the browser back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutOrder<'a> {
    pub identity_id: &'a IdentityId,
    /// The identity's own customer (never `customer_email`: no second customer).
    pub customer_id: &'a str,
    /// The Stripe price id.
    pub price_id: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
}

/// The body of `POST /v1/checkout/sessions`: a subscription for the
/// identity's customer, attributed to the identity both by
/// `client_reference_id` and by the subscription's metadata (which every
/// later subscription event carries). No `expires_at`: a replayed
/// idempotency key must see the same parameters.
pub fn checkout_session_form(order: &CheckoutOrder<'_>, basis: &str) -> Form {
    Form::new()
        .field("mode", "subscription")
        .field("customer", order.customer_id)
        .field("client_reference_id", order.identity_id.as_str())
        .field("line_items[0][price]", order.price_id)
        .field("line_items[0][quantity]", "1")
        .field(format!("subscription_data[metadata][{STRIPE_IDENTITY_KEY}]"), order.identity_id.as_str())
        .metadata(STRIPE_IDENTITY_KEY, order.identity_id.as_str())
        .metadata(STRIPE_PRICE_KEY, order.price_id)
        .metadata(STRIPE_BASIS_KEY, basis)
        .field("success_url", order.success_url)
        .field("cancel_url", order.cancel_url)
}

/// The `Idempotency-Key` of a Checkout: the same for every request made
/// from the same state (a double-click, a retried request), different once
/// the state moved on. `basis` names that state (`billing::next::CheckoutStep::New`:
/// the last session the identity started).
pub fn checkout_idempotency_key(order: &CheckoutOrder<'_>, basis: &str) -> String {
    let mut h = Sha256::new();
    for part in [order.identity_id.as_str(), order.customer_id, order.price_id, basis] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("ksb-checkout-{}", hex::encode(h.finalize()))
}

/// The body of `POST /v1/billing_portal/sessions`.
pub fn portal_session_form(customer_id: &str, return_url: &str) -> Form {
    Form::new().field("customer", customer_id).field("return_url", return_url)
}

/// `base` with `query` appended (`?` or `&`), for the URLs Stripe sends
/// the browser back to. Stripe fills in `{CHECKOUT_SESSION_ID}` itself.
pub fn with_query(base: &str, query: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";

    fn order(id: &IdentityId) -> CheckoutOrder<'_> {
        CheckoutOrder {
            identity_id: id,
            customer_id: "cus_1",
            price_id: "price_pro",
            success_url: "https://app.example.com/?checkout=success",
            cancel_url: "https://app.example.com/?checkout=canceled",
        }
    }

    #[test]
    fn a_checkout_is_for_the_identitys_customer_and_names_the_identity_twice() {
        let id = IdentityId::parse(ID).unwrap();
        let form = checkout_session_form(&order(&id), "none");
        let get = |k: &str| form.fields().iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("mode"), Some("subscription"));
        assert_eq!(get("customer"), Some("cus_1"));
        assert_eq!(get("customer_email"), None);
        assert_eq!(get("client_reference_id"), Some(ID));
        assert_eq!(get("subscription_data[metadata][olympus_identity_id]"), Some(ID));
        assert_eq!(get("line_items[0][price]"), Some("price_pro"));
        assert_eq!(get("expires_at"), None);
        assert_eq!(get("metadata[olympus_price_id]"), Some("price_pro"), "what it sells, for lists");
        assert_eq!(get("metadata[olympus_checkout_basis]"), Some("none"), "what it came after, for lists");
    }

    #[test]
    fn the_idempotency_key_follows_the_state_it_was_made_from() {
        let id = IdentityId::parse(ID).unwrap();
        let o = order(&id);
        let key = checkout_idempotency_key(&o, "none");
        assert_eq!(key, checkout_idempotency_key(&o, "none"), "a double-click");
        assert!(key.starts_with("ksb-checkout-") && key.len() <= 255);
        assert_ne!(key, checkout_idempotency_key(&o, "cs_test_1"));
        assert_ne!(key, checkout_idempotency_key(&CheckoutOrder { price_id: "price_ent", ..o.clone() }, "none"));
        // Parts are separated: ("ab", "c") and ("a", "bc") differ.
        let shifted = CheckoutOrder { customer_id: "cus_", price_id: "1price_pro", ..o.clone() };
        assert_ne!(checkout_idempotency_key(&shifted, "x"), checkout_idempotency_key(&o, "x"));
    }

    #[test]
    fn reads_stripes_objects() {
        let s: CheckoutSession = serde_json::from_str(
            r#"{"id":"cs_test_1","object":"checkout.session","url":null,"status":"expired","expires_at":1764086400}"#,
        )
        .unwrap();
        assert_eq!((s.status, s.url), (CheckoutStatus::Expired, None));
        let p: PriceList = serde_json::from_str(
            r#"{"object":"list","data":[{"id":"price_1","object":"price","active":true,"lookup_key":"pro_monthly"}]}"#,
        )
        .unwrap();
        assert_eq!(p.data[0].lookup_key.as_deref(), Some("pro_monthly"));
        assert_eq!(with_query("https://a.example/x", "k=v"), "https://a.example/x?k=v");
        assert_eq!(with_query("https://a.example/x?a=1", "k=v"), "https://a.example/x?a=1&k=v");
    }
}
