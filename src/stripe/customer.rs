//! Stripe customers: reading customer objects and lists, and the form bodies
//! that create and update the customer linked to a Kratos identity.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::form::Form;
use crate::identity::{IdentityId, STRIPE_IDENTITY_KEY};

/// What the customer of an identity should say: the identity it belongs to,
/// and the email and name it bills under. Built from Kratos' identity where
/// the two domains meet (`crate::link`), so Stripe code never reads Kratos types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerProfile {
    pub identity_id: IdentityId,
    pub email: String,
    pub name: Option<String>,
}

/// The parts of a Stripe customer the bridge reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Customer {
    /// `cus_...`
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Stripe metadata values are always strings; absent on deleted customers.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub metadata: BTreeMap<String, String>,
    /// True for `{"id", "object": "customer", "deleted": true}`: the customer
    /// is gone and must be neither linked nor updated.
    #[serde(default)]
    pub deleted: bool,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
}

impl Customer {
    /// The Kratos identity this customer is linked to, from
    /// `metadata[olympus_identity_id]`, when that is an identity id.
    pub fn identity_id(&self) -> Option<IdentityId> {
        self.metadata.get(STRIPE_IDENTITY_KEY).and_then(|s| IdentityId::parse(s).ok())
    }

    /// Whether the customer's metadata names any identity at all (even one
    /// that is not a valid id): such a customer is never re-linked silently.
    pub fn claims_an_identity(&self) -> bool {
        self.metadata.get(STRIPE_IDENTITY_KEY).is_some_and(|s| !s.is_empty())
    }
}

/// A page of customers: a `list` (`GET /v1/customers`) or a `search_result`
/// (`GET /v1/customers/search`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerList {
    pub data: Vec<Customer>,
    /// More pages exist: continue a list with `starting_after` = the last id,
    /// a search with `page` = [`next_page`](Self::next_page).
    pub has_more: bool,
    /// The search cursor (`search_result` only).
    pub next_page: Option<String>,
}

/// Why a Stripe answer could not be read as customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerError {
    /// Not JSON or not the expected shape.
    InvalidJson,
    /// JSON of another object type (`object` is not `customer` / a list).
    NotACustomer,
}

impl CustomerError {
    /// The stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidJson => "stripe_invalid_response",
            Self::NotACustomer => "stripe_unexpected_object",
        }
    }

    /// A human-readable explanation (Stripe answered something unexpected).
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidJson => "Stripe answered with something that is not a customer object",
            Self::NotACustomer => "Stripe answered with an object of another type than expected",
        }
    }
}

impl std::fmt::Display for CustomerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for CustomerError {}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    object: Option<String>,
}

#[derive(Deserialize)]
struct RawList {
    data: Vec<Customer>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
}

/// Reads a customer (retrieve, create, update) or a deleted customer.
pub fn parse_customer(json: &[u8]) -> Result<Customer, CustomerError> {
    let envelope: Envelope = serde_json::from_slice(json).map_err(|_| CustomerError::InvalidJson)?;
    if envelope.object.as_deref().is_some_and(|o| o != "customer") {
        return Err(CustomerError::NotACustomer);
    }
    serde_json::from_slice(json).map_err(|_| CustomerError::InvalidJson)
}

/// Reads a `list` or `search_result` of customers.
pub fn parse_customer_list(json: &[u8]) -> Result<CustomerList, CustomerError> {
    let envelope: Envelope = serde_json::from_slice(json).map_err(|_| CustomerError::InvalidJson)?;
    if envelope.object.as_deref().is_some_and(|o| o != "list" && o != "search_result") {
        return Err(CustomerError::NotACustomer);
    }
    let raw: RawList = serde_json::from_slice(json).map_err(|_| CustomerError::InvalidJson)?;
    Ok(CustomerList { data: raw.data, has_more: raw.has_more, next_page: raw.next_page.filter(|p| !p.is_empty()) })
}

/// The body of `POST /v1/customers` for a new identity: `email`, `name` when
/// known, and the link back to the identity.
pub fn create_customer_form(profile: &CustomerProfile) -> Form {
    Form::new()
        .field("email", profile.email.as_str())
        .field_opt("name", profile.name.as_deref())
        .metadata(STRIPE_IDENTITY_KEY, profile.identity_id.as_str())
}

/// The `Idempotency-Key` for creating an identity's customer, the same for
/// every retry of the same identity's registration hook (<= 255 chars).
///
/// Stripe prunes keys after 24 h and replays a key only with identical
/// parameters, so this key only guards against concurrent or quick retries;
/// the lasting guard against duplicate customers is our own KV link,
/// checked before creating.
pub fn create_customer_idempotency_key(identity_id: &str) -> String {
    const PREFIX: &str = "ksb-customer-create-";
    const MAX: usize = 255;
    if PREFIX.len() + identity_id.len() <= MAX {
        format!("{PREFIX}{identity_id}")
    } else {
        format!("{PREFIX}sha256-{}", hex::encode(Sha256::digest(identity_id.as_bytes())))
    }
}

/// A fresh `Idempotency-Key` for a call whose key `first` Stripe answers
/// with a saved failure, or refuses for other parameters: `first` and what
/// went wrong (`after`: the failed request's id, a digest of the new
/// parameters), so retries that saw the same failure share the new key
/// (<= 255 chars).
pub fn fresh_idempotency_key(first: &str, after: &str) -> String {
    const MAX: usize = 255;
    let key = format!("{first}-after-{after}");
    if key.len() <= MAX {
        key
    } else {
        format!("ksb-fresh-sha256-{}", hex::encode(Sha256::digest(key.as_bytes())))
    }
}

/// The body of `POST /v1/customers/{id}` that brings the customer in line
/// with the identity, or `None` when nothing differs. Only changed fields are
/// sent. A name missing from the identity never clears the customer's name
/// (it may come from billing details). The identity link is restored only
/// when missing: a customer linked to a different identity is a conflict for
/// the caller, never silently re-linked here. Check [`Customer::deleted`]
/// first: deleted customers cannot be updated.
pub fn update_customer_form(current: &Customer, wanted: &CustomerProfile) -> Option<Form> {
    let email = (current.email.as_deref() != Some(wanted.email.as_str())).then_some(wanted.email.as_str());
    let name = wanted.name.as_deref().filter(|n| current.name.as_deref() != Some(*n));
    let form = Form::new().field_opt("email", email).field_opt("name", name);
    let form = match current.claims_an_identity() {
        true => form,
        false => form.metadata(STRIPE_IDENTITY_KEY, wanted.identity_id.as_str()),
    };
    (!form.is_empty()).then_some(form)
}

/// The Customer Search query that finds the customer linked to an identity:
/// `metadata['olympus_identity_id']:'<id>'` (an [`IdentityId`] has no
/// quote to escape). Search lags writes by up to an hour: never the only
/// guard against duplicates.
pub fn search_by_identity_query(identity_id: &IdentityId) -> String {
    format!("metadata['{STRIPE_IDENTITY_KEY}']:'{identity_id}'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";

    /// Stripe's own fixtures (`stripe/openapi` fixtures3.json) for a customer and a deleted customer.
    const FIXTURE_CUSTOMER: &str = r#"{"address":{"city":null,"country":null,"line1":null,"line2":null,"postal_code":null,"state":null},"balance":0,"created":1234567890,"currency":"usd","default_source":null,"delinquent":false,"description":null,"discount":{"checkout_session":null,"customer":null,"end":null,"id":"obj_123","invoice":null,"invoice_item":null,"object":"discount","promotion_code":null,"start":109757538,"subscription":null,"subscription_item":null,"source":{"coupon":null,"type":"coupon"},"customer_account":null},"email":null,"id":"cus_QXg1o8vcGmoR32","invoice_prefix":"7FE1103","invoice_settings":{"custom_fields":null,"default_payment_method":null,"footer":null,"rendering_options":{"amount_tax_display":null,"template":null}},"livemode":false,"metadata":{},"name":null,"next_invoice_sequence":1,"object":"customer","phone":null,"preferred_locales":[],"shipping":{},"tax_exempt":"none","test_clock":null}"#;
    const FIXTURE_DELETED: &str = r#"{"deleted":true,"id":"cus_QXg1o8vcGmoR32","object":"customer"}"#;

    fn identity(name: Option<&str>) -> CustomerProfile {
        CustomerProfile {
            identity_id: IdentityId::parse(ID).unwrap(),
            email: "ada@example.com".into(),
            name: name.map(Into::into),
        }
    }

    fn customer(email: Option<&str>, name: Option<&str>, linked: Option<&str>) -> Customer {
        Customer {
            id: "cus_1".into(),
            email: email.map(Into::into),
            name: name.map(Into::into),
            metadata: linked
                .map(|l| BTreeMap::from([(STRIPE_IDENTITY_KEY.to_string(), l.to_string())]))
                .unwrap_or_default(),
            deleted: false,
        }
    }

    #[test]
    fn parses_the_stripe_fixture_customer() {
        let c = parse_customer(FIXTURE_CUSTOMER.as_bytes()).unwrap();
        assert_eq!(c.id, "cus_QXg1o8vcGmoR32");
        assert_eq!((c.email, c.name, c.deleted, c.metadata.len()), (None, None, false, 0));
    }

    #[test]
    fn parses_deleted_customers() {
        let c = parse_customer(FIXTURE_DELETED.as_bytes()).unwrap();
        assert!(c.deleted);
        assert_eq!(c.identity_id(), None);
        let c = parse_customer(br#"{"id":"cus_1","object":"customer","metadata":null}"#).unwrap();
        assert!(c.metadata.is_empty());
    }

    #[test]
    fn reads_the_identity_link() {
        let c = parse_customer(
            format!(
                r#"{{"id":"cus_1","object":"customer","email":"a@b.c","metadata":{{"olympus_identity_id":"{ID}"}}}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(c.identity_id().unwrap(), ID);
        assert_eq!(customer(None, None, Some("")).identity_id(), None);
        let odd = customer(None, None, Some("not-an-id"));
        assert_eq!((odd.identity_id(), odd.claims_an_identity()), (None, true));
    }

    #[test]
    fn refuses_other_objects() {
        assert_eq!(parse_customer(br#"{"id":"sub_1","object":"subscription"}"#), Err(CustomerError::NotACustomer));
        assert_eq!(parse_customer(b"oops"), Err(CustomerError::InvalidJson));
        assert_eq!(parse_customer(br#"{"object":"customer"}"#), Err(CustomerError::InvalidJson));
        assert_eq!(parse_customer_list(br#"{"id":"cus_1","object":"customer"}"#), Err(CustomerError::NotACustomer));
    }

    #[test]
    fn parses_lists_and_search_results() {
        let list = json!({"object": "list", "url": "/v1/customers", "has_more": true,
            "data": [{"id": "cus_1", "object": "customer", "email": "a@b.c", "metadata": {}}, {"id": "cus_2", "object": "customer"}]});
        let l = parse_customer_list(&serde_json::to_vec(&list).unwrap()).unwrap();
        assert_eq!(l.data.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["cus_1", "cus_2"]);
        assert!(l.has_more);
        assert_eq!(l.next_page, None);

        let search = json!({"object": "search_result", "url": "/v1/customers/search", "has_more": false,
            "next_page": null, "total_count": 0, "data": []});
        let s = parse_customer_list(&serde_json::to_vec(&search).unwrap()).unwrap();
        assert!(s.data.is_empty() && !s.has_more);
        let paged = json!({"object": "search_result", "has_more": true, "next_page": "pg_abc", "data": []});
        assert_eq!(
            parse_customer_list(&serde_json::to_vec(&paged).unwrap()).unwrap().next_page.as_deref(),
            Some("pg_abc")
        );
    }

    #[test]
    fn create_form_carries_email_name_and_link() {
        assert_eq!(
            create_customer_form(&identity(Some("Ada Lovelace"))).encode(),
            format!("email=ada%40example.com&name=Ada%20Lovelace&metadata%5Bolympus_identity_id%5D={ID}")
        );
        assert_eq!(
            create_customer_form(&identity(None)).encode(),
            format!("email=ada%40example.com&metadata%5Bolympus_identity_id%5D={ID}")
        );
    }

    #[test]
    fn idempotency_key_is_deterministic_and_bounded() {
        let k = create_customer_idempotency_key(ID);
        assert_eq!(k, format!("ksb-customer-create-{ID}"));
        assert_eq!(k, create_customer_idempotency_key(ID));
        assert_ne!(k, create_customer_idempotency_key("00000000-0000-4000-8000-000000000001"));
        let long = "x".repeat(400);
        let k = create_customer_idempotency_key(&long);
        assert!(k.len() <= 255);
        assert_ne!(k, create_customer_idempotency_key(&"x".repeat(401)));
    }

    #[test]
    fn update_form_is_none_when_in_sync() {
        let c = customer(Some("ada@example.com"), Some("Ada Lovelace"), Some(ID));
        assert_eq!(update_customer_form(&c, &identity(Some("Ada Lovelace"))), None);
        // No name in Kratos never clears the customer's name.
        assert_eq!(update_customer_form(&c, &identity(None)), None);
    }

    #[test]
    fn update_form_sends_only_changed_fields() {
        let c = customer(Some("old@example.com"), Some("Ada Lovelace"), Some(ID));
        assert_eq!(
            update_customer_form(&c, &identity(Some("Ada Lovelace"))).unwrap().encode(),
            "email=ada%40example.com"
        );
        let c = customer(Some("ada@example.com"), None, Some(ID));
        assert_eq!(update_customer_form(&c, &identity(Some("Ada King"))).unwrap().encode(), "name=Ada%20King");
        let c = customer(None, Some("A"), Some(ID));
        assert_eq!(update_customer_form(&c, &identity(Some("B"))).unwrap().encode(), "email=ada%40example.com&name=B");
    }

    #[test]
    fn update_form_restores_a_missing_link_but_never_relinks() {
        let c = customer(Some("ada@example.com"), None, None);
        assert_eq!(
            update_customer_form(&c, &identity(None)).unwrap().encode(),
            format!("metadata%5Bolympus_identity_id%5D={ID}")
        );
        let other = customer(Some("ada@example.com"), None, Some("00000000-0000-4000-8000-000000000001"));
        assert_eq!(update_customer_form(&other, &identity(None)), None);
        let odd = customer(Some("ada@example.com"), None, Some("not-an-id"));
        assert_eq!(update_customer_form(&odd, &identity(None)), None, "a claim, even malformed, is never overwritten");
    }

    #[test]
    fn search_query_quotes_and_escapes() {
        let id = IdentityId::parse(ID).unwrap();
        assert_eq!(search_by_identity_query(&id), format!("metadata['olympus_identity_id']:'{ID}'"));
    }
}
