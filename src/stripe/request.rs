//! Every Stripe API call the bridge makes, as plain data (method, path,
//! form, idempotency key) that the shell executes with its HTTP client, and
//! how its answer is read: a `StripeRequest<T>` turns Stripe's status and
//! body into a `T` or a classified [`StripeError`], so the shell's `send`
//! returns a typed answer and no route pairs requests with parsers.
//!
//! Paths are relative to `STRIPE_API_BASE` and, for GET, carry the query
//! string. Path segments and query values are percent-encoded, so ids taken
//! from input can never escape their segment. Ids must be non-empty.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::checkout::{
    checkout_idempotency_key, checkout_session_form, portal_session_form, CheckoutOrder, CheckoutSession,
    CheckoutSessionList, PortalSession, Price, PriceList,
};
use super::customer::{
    create_customer_form, create_customer_idempotency_key, fresh_idempotency_key, parse_customer, parse_customer_list,
    search_by_identity_query, Customer, CustomerList, CustomerProfile,
};
use super::form::{percent_encode, Form};
use super::meter_event::{meter_event_form, meter_event_idempotency_key, MeterEvent};
use super::subscription::{parse_subscription_list, SubscriptionPage};
use crate::error::ApiError;
use crate::identity::{IdentityId, STRIPE_IDENTITY_KEY};
pub use crate::upstream::Method;
use crate::upstream::{Answer, CallError, ErrorKind, Said, Transport};

/// One Stripe API call whose successful answer reads as a `T`. The shell
/// sends `Authorization: Bearer <key>`, the pinned `Stripe-Version`,
/// `Content-Type: application/x-www-form-urlencoded` when there is a form,
/// and `Idempotency-Key` when there is one, then calls [`Self::read`].
#[derive(Debug, Clone)]
pub struct StripeRequest<T> {
    pub method: Method,
    /// From `/v1/...`, including the query string for GET.
    pub path: String,
    /// The request body (POST only).
    pub form: Option<Form>,
    /// Stripe replays the first result for the same key (for 24 h).
    pub idempotency_key: Option<String>,
    /// Reads a 2xx body; the reason it could not (never the body itself).
    parse: fn(&[u8]) -> Result<T, String>,
    output: PhantomData<fn() -> T>,
}

/// The answer of calls whose body the bridge does not need (cancel, delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done;

/// The page size limit of Stripe list endpoints.
pub const MAX_LIMIT: u32 = 100;

fn seg(id: &str) -> String {
    percent_encode(id)
}

fn with_query(path: &str, query: Form) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.encode())
    }
}

fn customer(body: &[u8]) -> Result<Customer, String> {
    parse_customer(body).map_err(|e| e.to_string())
}

fn customers(body: &[u8]) -> Result<CustomerList, String> {
    parse_customer_list(body).map_err(|e| e.to_string())
}

fn subscriptions(body: &[u8]) -> Result<SubscriptionPage, String> {
    parse_subscription_list(body).map_err(|e| e.to_string())
}

/// Reads objects whose shape serde checks entirely (sessions, prices).
fn object<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("unexpected answer: {e}"))
}

fn done(_: &[u8]) -> Result<Done, String> {
    Ok(Done)
}

impl<T> StripeRequest<T> {
    fn new(method: Method, path: String, form: Option<Form>, parse: fn(&[u8]) -> Result<T, String>) -> Self {
        Self { method, path, form, idempotency_key: None, parse, output: PhantomData }
    }

    fn get(path: String, parse: fn(&[u8]) -> Result<T, String>) -> Self {
        Self::new(Method::Get, path, None, parse)
    }

    fn post(path: String, form: Form, parse: fn(&[u8]) -> Result<T, String>) -> Self {
        Self::new(Method::Post, path, Some(form), parse)
    }

    fn delete(path: String, parse: fn(&[u8]) -> Result<T, String>) -> Self {
        Self::new(Method::Delete, path, None, parse)
    }

    fn idempotent(self, key: String) -> Self {
        Self { idempotency_key: Some(key), ..self }
    }

    /// The full URL under `api_base` (e.g. `https://api.stripe.com`, with or
    /// without a trailing slash).
    pub fn url(&self, api_base: &str) -> String {
        format!("{}{}", api_base.trim_end_matches('/'), self.path)
    }

    /// The encoded body, when the call has one.
    pub fn body(&self) -> Option<String> {
        self.form.as_ref().map(Form::encode)
    }

    /// What this call's answer means: the parsed `T` for a 2xx, otherwise
    /// Stripe's error classified (see [`classify_stripe_error`]); a server
    /// error Stripe replays from the idempotency key is
    /// [`StripeErrorKind::ReplayedFailure`].
    pub fn read(&self, answer: &Answer) -> Result<T, StripeError> {
        let (status, body) = (answer.status, answer.body.as_slice());
        let result = match (200..300).contains(&status) {
            true => (self.parse)(body).map_err(|why| StripeError::bad_answer(status, why)),
            false => {
                let mut e = classify_stripe_error(status, body);
                if e.kind == StripeErrorKind::Server && answer.replay_of.is_some() {
                    e.kind = StripeErrorKind::ReplayedFailure;
                    e.replay_of.clone_from(&answer.replay_of);
                }
                Err(e)
            }
        };
        result.map_err(|e| e.during(self.method, &self.path))
    }

    /// The same call under a fresh `Idempotency-Key`, derived from the one
    /// it had and `after` (what went wrong with it), so that every retry
    /// that saw the same failure sends the same new key. Only for a call
    /// whose first key Stripe answers with a saved failure or refuses, and
    /// only once the caller made sure the first attempt did nothing.
    pub fn with_fresh_key(self, after: &str) -> Self {
        let first = self.idempotency_key.clone().unwrap_or_default();
        self.idempotent(fresh_idempotency_key(&first, after))
    }

    /// What tells this call's parameters apart (a hash of its form), for a
    /// fresh key after the first was used with other parameters.
    pub fn parameters_digest(&self) -> String {
        let body = self.body().unwrap_or_default();
        format!("params-{}", &hex::encode(Sha256::digest(body.as_bytes()))[..16])
    }

    /// The error for a call that got no answer.
    pub fn no_answer(&self, transport: Transport) -> StripeError {
        StripeError::no_answer(transport).during(self.method, &self.path)
    }
}

impl StripeRequest<Customer> {
    /// `POST /v1/customers` for a new identity, with an idempotency key
    /// derived from the identity id (see [`create_customer_idempotency_key`]).
    pub fn create_customer(profile: &CustomerProfile) -> Self {
        Self::post("/v1/customers".into(), create_customer_form(profile), customer)
            .idempotent(create_customer_idempotency_key(profile.identity_id.as_str()))
    }

    /// `POST /v1/customers` for an identity whose linked customer was
    /// deleted in Stripe. The usual key's saved answer is that deleted
    /// customer, so the key also names the customer being replaced.
    pub fn replace_customer(profile: &CustomerProfile, deleted_customer_id: &str) -> Self {
        let scope = format!("{}-replaces-{deleted_customer_id}", profile.identity_id);
        Self::create_customer(profile).idempotent(create_customer_idempotency_key(&scope))
    }

    /// `GET /v1/customers/{id}` (a deleted customer answers 200 with `deleted: true`).
    pub fn retrieve_customer(id: &str) -> Self {
        Self::get(format!("/v1/customers/{}", seg(id)), customer)
    }

    /// `POST /v1/customers/{id}` with `metadata[olympus_identity_id]`: links
    /// a customer made elsewhere (found by the reconciliation walk) to its
    /// identity; other metadata keys are kept by Stripe.
    pub fn claim_customer(id: &str, identity_id: &IdentityId) -> Self {
        Self::update_customer(id, Form::new().metadata(STRIPE_IDENTITY_KEY, identity_id.as_str()))
    }

    /// `POST /v1/customers/{id}` with the fields to change.
    pub fn update_customer(id: &str, form: Form) -> Self {
        Self::post(format!("/v1/customers/{}", seg(id)), form, customer)
    }
}

impl StripeRequest<CustomerList> {
    /// `GET /v1/customers`, 100 a page, oldest last (Stripe's order),
    /// after `starting_after`: the reconciliation walk's pages.
    pub fn list_customers(starting_after: Option<&str>) -> Self {
        let query = Form::new().field("limit", MAX_LIMIT.to_string()).field_opt("starting_after", starting_after);
        Self::get(with_query("/v1/customers", query), customers)
    }

    /// `GET /v1/customers?email=`: the customers with exactly this email
    /// (a list, so strongly consistent, unlike search), at most 100.
    pub fn customers_with_email(email: &str) -> Self {
        let query = Form::new().field("email", email).field("limit", MAX_LIMIT.to_string());
        Self::get(with_query("/v1/customers", query), customers)
    }

    /// `GET /v1/customers/search` for the customer linked to an identity
    /// (eventually consistent: lags writes by up to an hour).
    pub fn search_customers_by_identity(identity_id: &IdentityId) -> Self {
        let query = Form::new().field("query", search_by_identity_query(identity_id));
        Self::get(with_query("/v1/customers/search", query), customers)
    }
}

impl StripeRequest<SubscriptionPage> {
    /// `GET /v1/subscriptions` of one customer, every status, 100 a page,
    /// with each item's price expanded (its `lookup_key` names the plan).
    pub fn list_subscriptions(customer_id: &str, starting_after: Option<&str>) -> Self {
        let query = Form::new()
            .field("customer", customer_id)
            .field("status", "all")
            .field("limit", MAX_LIMIT.to_string())
            .field("expand[]", "data.items.data.price")
            .field_opt("starting_after", starting_after);
        Self::get(with_query("/v1/subscriptions", query), subscriptions)
    }
}

impl StripeRequest<CheckoutSession> {
    /// `POST /v1/checkout/sessions` for `order`, keyed by the state it was
    /// made from (see [`checkout_idempotency_key`]).
    pub fn create_checkout_session(order: &CheckoutOrder<'_>, basis: &str) -> Self {
        Self::post("/v1/checkout/sessions".into(), checkout_session_form(order, basis), object)
            .idempotent(checkout_idempotency_key(order, basis))
    }

    /// `GET /v1/checkout/sessions/{id}`.
    pub fn retrieve_checkout_session(id: &str) -> Self {
        Self::get(format!("/v1/checkout/sessions/{}", seg(id)), object)
    }

    /// `POST /v1/checkout/sessions/{id}/expire`: an open session can no
    /// longer be paid (another plan was chosen meanwhile).
    pub fn expire_checkout_session(id: &str) -> Self {
        Self::post(format!("/v1/checkout/sessions/{}/expire", seg(id)), Form::new(), object)
    }
}

impl StripeRequest<CheckoutSessionList> {
    /// `GET /v1/checkout/sessions?customer=&status=open`: the customer's
    /// open sessions (a list, so it sees one made a moment ago), at most 100.
    pub fn open_checkout_sessions(customer_id: &str) -> Self {
        let query =
            Form::new().field("customer", customer_id).field("status", "open").field("limit", MAX_LIMIT.to_string());
        Self::get(with_query("/v1/checkout/sessions", query), object)
    }
}

impl StripeRequest<PortalSession> {
    /// `POST /v1/billing_portal/sessions` for the customer.
    pub fn create_portal_session(customer_id: &str, return_url: &str) -> Self {
        Self::post("/v1/billing_portal/sessions".into(), portal_session_form(customer_id, return_url), object)
    }
}

impl StripeRequest<PriceList> {
    /// `GET /v1/prices` of the active price with a lookup key.
    pub fn active_price_by_lookup_key(lookup_key: &str) -> Self {
        let query =
            Form::new().field("lookup_keys[]", lookup_key).field("active", "true").field("limit", "1".to_string());
        Self::get(with_query("/v1/prices", query), object)
    }

    /// `GET /v1/prices?limit=1`: the cheapest authorised call, which tells
    /// whether Stripe accepts the key (the deep health check).
    pub fn any_price() -> Self {
        Self::get(with_query("/v1/prices", Form::new().field("limit", "1".to_string())), object)
    }
}

impl StripeRequest<Price> {
    /// `GET /v1/prices/{id}`.
    pub fn retrieve_price(id: &str) -> Self {
        Self::get(format!("/v1/prices/{}", seg(id)), object)
    }
}

impl StripeRequest<Done> {
    /// `POST /v1/billing/meter_events`: attempt `attempt` to report one
    /// batch of metered units (its identifier makes every attempt count once).
    pub fn report_meter_event(event: &MeterEvent<'_>, attempt: i64) -> Self {
        Self::post("/v1/billing/meter_events".into(), meter_event_form(event), done)
            .idempotent(meter_event_idempotency_key(event.identifier, attempt))
    }

    /// `DELETE /v1/customers/{id}` (also removes its payment methods).
    pub fn delete_customer(id: &str) -> Self {
        Self::delete(format!("/v1/customers/{}", seg(id)), done)
    }

    /// `DELETE /v1/subscriptions/{id}`: cancel now (account deletion).
    pub fn cancel_subscription(id: &str) -> Self {
        Self::delete(format!("/v1/subscriptions/{}", seg(id)), done)
    }

    /// `POST /v1/subscriptions/{id}` with `cancel_at_period_end=true`: access
    /// continues until the paid period ends.
    pub fn cancel_subscription_at_period_end(id: &str) -> Self {
        Self::post(format!("/v1/subscriptions/{}", seg(id)), Form::new().field("cancel_at_period_end", "true"), done)
    }
}

/// What kind of failure a Stripe call is, which decides the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripeErrorKind {
    /// 429: slow down and retry.
    RateLimited,
    /// 409 `idempotency_key_in_use`: the same key is still executing; retry
    /// with the same key to get its saved result.
    IdempotencyInUse,
    /// 400 `idempotency_error`: the key was used with other parameters (e.g.
    /// the email changed between retries); retrying will not help.
    IdempotencyMismatch,
    /// Another 409 (e.g. `lock_timeout`: the object is busy); retryable.
    Conflict,
    /// 404, or `resource_missing` (also on 400, for an id in a parameter:
    /// see [`Said::param`]).
    NotFound,
    /// Any other 4xx: the request is wrong; retrying will not help.
    InvalidRequest,
    /// 401 / 403: the secret key is wrong, revoked, or lacks a permission.
    Auth,
    /// 5xx: Stripe failed; retryable.
    Server,
    /// A 5xx Stripe replays from a result saved under the Idempotency-Key
    /// (it started executing, then failed): every retry with that key gets
    /// it again for 24 h, so only another key can succeed.
    ReplayedFailure,
    /// A 2xx whose body is not what the call answers; retryable.
    BadAnswer,
    /// No connection; retryable.
    Unreachable,
    /// No answer within the deadline; retryable.
    Timeout,
}

impl StripeErrorKind {
    /// Whether the same request may succeed when sent again.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Self::RateLimited
                | Self::IdempotencyInUse
                | Self::Conflict
                | Self::Server
                | Self::BadAnswer
                | Self::Unreachable
                | Self::Timeout
        )
    }
}

/// A classified failure of a Stripe call.
pub type StripeError = CallError<StripeErrorKind>;

impl ErrorKind for StripeErrorKind {
    const SERVICE: &'static str = "Stripe";
    const ID: &'static str = "stripe";
    const UNREACHABLE: Self = Self::Unreachable;
    const TIMEOUT: Self = Self::Timeout;
    const BAD_ANSWER: Self = Self::BadAnswer;
}

impl StripeError {
    /// Whether Stripe has no such object.
    pub fn is_not_found(&self) -> bool {
        self.kind == StripeErrorKind::NotFound
    }
}

/// The answer the bridge gives its own caller: 503 for retryable failures
/// and 504 for a timeout (Kratos and Stripe retry), 502 otherwise; always
/// with what Stripe said.
impl From<StripeError> for ApiError {
    fn from(e: StripeError) -> ApiError {
        e.to_api_error("stripe_bad_answer", |kind, message| match kind {
            k if k.retryable() => ApiError::unavailable("stripe_unavailable", format!("{message}; retry later")),
            StripeErrorKind::Auth => ApiError::upstream("stripe_auth", format!("{message}; check STRIPE_SECRET_KEY")),
            StripeErrorKind::NotFound => ApiError::upstream("stripe_not_found", message),
            _ => ApiError::upstream("stripe_error", message),
        })
    }
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorInner,
}

#[derive(Deserialize, Default)]
struct ErrorInner {
    #[serde(rename = "type", default)]
    error_type: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    param: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Classifies a non-2xx Stripe answer from its status and body
/// (`{"error": {"type", "code", "message", "param"}}`; a body that is not
/// that shape is classified by status alone).
pub fn classify_stripe_error(status: u16, body: &[u8]) -> StripeError {
    let inner = serde_json::from_slice::<ErrorBody>(body).unwrap_or_default().error;
    let code = inner.code.as_deref();
    let kind = match status {
        429 => StripeErrorKind::RateLimited,
        500.. => StripeErrorKind::Server,
        401 | 403 => StripeErrorKind::Auth,
        409 if code == Some("idempotency_key_in_use") => StripeErrorKind::IdempotencyInUse,
        409 => StripeErrorKind::Conflict,
        400 if inner.error_type.as_deref() == Some("idempotency_error") => StripeErrorKind::IdempotencyMismatch,
        404 => StripeErrorKind::NotFound,
        _ if code == Some("resource_missing") => StripeErrorKind::NotFound,
        _ => StripeErrorKind::InvalidRequest,
    };
    let said = Said { error_type: inner.error_type, code: inner.code, param: inner.param, message: inner.message };
    StripeError::answered(kind, status, said)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16, body: &[u8]) -> Answer {
        Answer { status, body: body.to_vec(), replay_of: None }
    }

    const ID: &str = "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";

    fn profile() -> CustomerProfile {
        CustomerProfile {
            identity_id: IdentityId::parse(ID).unwrap(),
            email: "ada+x@example.com".into(),
            name: Some("Ada".into()),
        }
    }

    #[test]
    fn create_customer_is_an_idempotent_post() {
        let r = StripeRequest::create_customer(&profile());
        assert_eq!((r.method, r.path.as_str()), (Method::Post, "/v1/customers"));
        assert_eq!(
            r.body().unwrap(),
            format!("email=ada%2Bx%40example.com&name=Ada&metadata%5Bolympus_identity_id%5D={ID}")
        );
        assert_eq!(r.idempotency_key, Some(format!("ksb-customer-create-{ID}")));
    }

    #[test]
    fn replacing_a_deleted_customer_uses_its_own_key() {
        let first = StripeRequest::create_customer(&profile());
        let r = StripeRequest::replace_customer(&profile(), "cus_old");
        assert_eq!(r.idempotency_key, Some(format!("ksb-customer-create-{ID}-replaces-cus_old")));
        assert_ne!(r.idempotency_key, first.idempotency_key);
        assert_eq!((r.method, r.path.as_str(), r.body()), (first.method, first.path.as_str(), first.body()));
        let r2 = StripeRequest::replace_customer(&profile(), "cus_old");
        assert_eq!(r.idempotency_key, r2.idempotency_key, "retries of the replacement share a key");
    }

    #[test]
    fn a_server_error_replayed_from_the_key_is_told_apart_with_its_first_request() {
        let r = StripeRequest::create_customer(&profile());
        let body = br#"{"error":{"type":"api_error","message":"An unknown error occurred"}}"#;
        let fresh = r.read(&answered(500, body)).unwrap_err();
        assert_eq!(
            (fresh.kind, fresh.replay_of.as_deref()),
            (StripeErrorKind::Server, None),
            "retry with the same key"
        );
        let replayed = Answer { replay_of: Some("req_first".into()), ..answered(500, body) };
        let e = r.read(&replayed).unwrap_err();
        assert_eq!((e.kind, e.replay_of.as_deref()), (StripeErrorKind::ReplayedFailure, Some("req_first")));
        assert!(!e.kind.retryable(), "the same key answers it again for a day");
        let not_found = Answer { replay_of: Some("req_first".into()), ..answered(404, b"{}") };
        assert_eq!(r.read(&not_found).unwrap_err().kind, StripeErrorKind::NotFound, "a replayed 4xx is what it says");
    }

    #[test]
    fn fresh_keys_are_the_same_for_the_same_failure_and_stay_short() {
        let r = StripeRequest::create_customer(&profile());
        let a = r.clone().with_fresh_key("req_first");
        assert_eq!(a.idempotency_key, Some(format!("ksb-customer-create-{ID}-after-req_first")));
        assert_eq!(a.idempotency_key, r.clone().with_fresh_key("req_first").idempotency_key, "retries share it");
        assert_ne!(a.idempotency_key, r.clone().with_fresh_key("req_other").idempotency_key);
        assert_eq!(
            (a.method, a.path.as_str(), a.body()),
            (r.method, r.path.as_str(), r.body()),
            "only the key differs"
        );
        let long = r.clone().with_fresh_key(&"x".repeat(300)).idempotency_key.unwrap();
        assert!(long.len() <= 255 && long.starts_with("ksb-fresh-sha256-"), "{long}");
        let other_email = CustomerProfile { email: "ada@example.com".into(), ..profile() };
        assert_ne!(r.parameters_digest(), StripeRequest::create_customer(&other_email).parameters_digest());
        assert_eq!(r.parameters_digest(), StripeRequest::create_customer(&profile()).parameters_digest());
        let listed = StripeRequest::customers_with_email("ada+x@example.com");
        assert_eq!(listed.path, "/v1/customers?email=ada%2Bx%40example.com&limit=100");
    }

    #[test]
    fn customer_paths_encode_ids() {
        let r = StripeRequest::retrieve_customer("cus_1");
        assert_eq!((r.method, r.path.as_str(), r.body()), (Method::Get, "/v1/customers/cus_1", None));
        assert_eq!(StripeRequest::retrieve_customer("../v1/charges?x").path, "/v1/customers/..%2Fv1%2Fcharges%3Fx");
        let r = StripeRequest::update_customer("cus_1", Form::new().field("email", "a@b.c"));
        assert_eq!(
            (r.method, r.path.as_str(), r.body().as_deref()),
            (Method::Post, "/v1/customers/cus_1", Some("email=a%40b.c"))
        );
        assert_eq!(r.idempotency_key, None);
        let r = StripeRequest::delete_customer("cus_1");
        assert_eq!((r.method, r.path.as_str(), r.form), (Method::Delete, "/v1/customers/cus_1", None));
    }

    #[test]
    fn checkout_portal_and_price_calls() {
        let id = IdentityId::parse(ID).unwrap();
        let order = CheckoutOrder {
            identity_id: &id,
            customer_id: "cus_1",
            price_id: "price_pro",
            success_url: "https://app.example/ok",
            cancel_url: "https://app.example/no",
        };
        let r = StripeRequest::create_checkout_session(&order, "synced-1");
        assert_eq!((r.method, r.path.as_str()), (Method::Post, "/v1/checkout/sessions"));
        assert_eq!(r.idempotency_key, Some(checkout_idempotency_key(&order, "synced-1")));
        assert!(r.body().unwrap().contains("subscription_data%5Bmetadata%5D%5Bolympus_identity_id%5D="));
        assert!(r.body().unwrap().contains("metadata%5Bolympus_price_id%5D="), "the price it sells, for lists");
        let r = StripeRequest::open_checkout_sessions("cus_1");
        assert_eq!(r.path, "/v1/checkout/sessions?customer=cus_1&status=open&limit=100");
        let r = StripeRequest::expire_checkout_session("cs/1");
        assert_eq!((r.method, r.path.as_str()), (Method::Post, "/v1/checkout/sessions/cs%2F1/expire"));
        assert_eq!(StripeRequest::retrieve_checkout_session("cs_1").path, "/v1/checkout/sessions/cs_1");
        let r = StripeRequest::create_portal_session("cus_1", "https://app.example/");
        assert_eq!(
            (r.path.as_str(), r.body().as_deref()),
            ("/v1/billing_portal/sessions", Some("customer=cus_1&return_url=https%3A%2F%2Fapp.example%2F"))
        );
        assert_eq!(
            StripeRequest::active_price_by_lookup_key("pro monthly").path,
            "/v1/prices?lookup_keys%5B%5D=pro%20monthly&active=true&limit=1"
        );
        assert_eq!(StripeRequest::retrieve_price("price_1").path, "/v1/prices/price_1");
        let s = StripeRequest::retrieve_checkout_session("cs_1");
        let body = br#"{"id":"cs_1","object":"checkout.session","url":"https://c/1","status":"open","expires_at":9}"#;
        assert_eq!(s.read(&answered(200, body)).unwrap().url.as_deref(), Some("https://c/1"));
        assert_eq!(s.read(&answered(200, b"{}")).unwrap_err().kind, StripeErrorKind::BadAnswer);
    }

    #[test]
    fn claiming_a_customer_writes_only_the_identity_key() {
        let r = StripeRequest::claim_customer("cus_1", &IdentityId::parse(ID).unwrap());
        assert_eq!(
            (r.method, r.path.as_str(), r.body()),
            (Method::Post, "/v1/customers/cus_1", Some(format!("metadata%5Bolympus_identity_id%5D={ID}")))
        );
    }

    #[test]
    fn customer_pages() {
        assert_eq!(StripeRequest::list_customers(None).path, "/v1/customers?limit=100");
        assert_eq!(StripeRequest::list_customers(Some("cus_9")).path, "/v1/customers?limit=100&starting_after=cus_9");
    }

    #[test]
    fn customer_search_by_identity() {
        assert_eq!(
            StripeRequest::search_customers_by_identity(&IdentityId::parse(ID).unwrap()).path,
            format!("/v1/customers/search?query=metadata%5B%27olympus_identity_id%27%5D%3A%27{ID}%27")
        );
    }

    #[test]
    fn subscription_calls() {
        assert_eq!(
            StripeRequest::list_subscriptions("cus_1", None).path,
            "/v1/subscriptions?customer=cus_1&status=all&limit=100&expand%5B%5D=data.items.data.price"
        );
        assert_eq!(
            StripeRequest::list_subscriptions("cus_1", Some("sub_9")).path,
            "/v1/subscriptions?customer=cus_1&status=all&limit=100&expand%5B%5D=data.items.data.price&starting_after=sub_9"
        );
        let r = StripeRequest::cancel_subscription("sub_1");
        assert_eq!((r.method, r.path.as_str(), r.body()), (Method::Delete, "/v1/subscriptions/sub_1", None));
        let r = StripeRequest::cancel_subscription_at_period_end("sub_1");
        assert_eq!(
            (r.method, r.path.as_str(), r.body().as_deref()),
            (Method::Post, "/v1/subscriptions/sub_1", Some("cancel_at_period_end=true"))
        );
    }

    #[test]
    fn url_joins_the_base() {
        let r = StripeRequest::retrieve_customer("cus_1");
        assert_eq!(r.url("https://api.stripe.com"), "https://api.stripe.com/v1/customers/cus_1");
        assert_eq!(r.url("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/v1/customers/cus_1");
    }

    #[test]
    fn a_request_reads_its_own_answer() {
        let r = StripeRequest::retrieve_customer("cus_1");
        let c = r.read(&answered(200, br#"{"id":"cus_1","object":"customer","metadata":{}}"#)).unwrap();
        assert_eq!(c.id, "cus_1");
        let e = r.read(&answered(200, br#"{"id":"sub_1","object":"subscription"}"#)).unwrap_err();
        assert_eq!((e.kind, e.status), (StripeErrorKind::BadAnswer, Some(200)));
        let e = r
            .read(&answered(404, br#"{"error":{"type":"invalid_request_error","code":"resource_missing"}}"#))
            .unwrap_err();
        assert!(e.is_not_found());
        assert_eq!(e.call.as_deref(), Some("GET /v1/customers/cus_1"));
        let page = StripeRequest::list_subscriptions("cus_1", None)
            .read(&answered(200, br#"{"object":"list","data":[],"has_more":false}"#));
        assert!(page.unwrap().data.is_empty());
        assert_eq!(StripeRequest::cancel_subscription("sub_1").read(&answered(200, b"{}")).unwrap(), Done);
    }

    #[test]
    fn no_answer_is_retryable_and_named() {
        let r = StripeRequest::list_subscriptions("cus_1", None);
        let e = r.no_answer(Transport::Timeout(8));
        assert!(e.kind.retryable());
        let api = ApiError::from(e);
        assert_eq!((api.status, api.code), (504, "upstream_timeout"));
        assert!(api.message.contains("GET /v1/subscriptions"), "{}", api.message);
        assert!(!api.message.contains("cus_1"), "no query in messages: {}", api.message);
        let api = ApiError::from(r.no_answer(Transport::Unreachable("connection refused".into())));
        assert_eq!((api.status, api.code), (502, "upstream_unreachable"));
    }

    fn err(status: u16, t: &str, code: Option<&str>) -> StripeError {
        let body = serde_json::json!({"error": {"type": t, "code": code, "message": "No such customer: 'a@b.c'", "param": "id"}});
        classify_stripe_error(status, &serde_json::to_vec(&body).unwrap())
    }

    #[test]
    fn classifies_stripe_errors() {
        use StripeErrorKind::*;
        assert_eq!(err(429, "invalid_request_error", Some("rate_limit")).kind, RateLimited);
        assert_eq!(err(409, "idempotency_error", Some("idempotency_key_in_use")).kind, IdempotencyInUse);
        assert_eq!(err(400, "idempotency_error", None).kind, IdempotencyMismatch);
        assert_eq!(err(409, "invalid_request_error", Some("lock_timeout")).kind, Conflict);
        assert_eq!(err(404, "invalid_request_error", Some("resource_missing")).kind, NotFound);
        assert_eq!(err(400, "invalid_request_error", Some("resource_missing")).kind, NotFound);
        assert_eq!(err(400, "invalid_request_error", Some("parameter_missing")).kind, InvalidRequest);
        assert_eq!(err(402, "card_error", Some("card_declined")).kind, InvalidRequest);
        assert_eq!(err(401, "invalid_request_error", None).kind, Auth);
        assert_eq!(err(403, "invalid_request_error", None).kind, Auth);
        assert_eq!(err(500, "api_error", None).kind, Server);
        assert_eq!(classify_stripe_error(502, b"<html>Bad gateway</html>").kind, Server);
        assert_eq!(classify_stripe_error(404, b"").kind, NotFound);
    }

    #[test]
    fn retryability() {
        use StripeErrorKind::*;
        for k in [RateLimited, IdempotencyInUse, Conflict, Server, BadAnswer, Unreachable, Timeout] {
            assert!(k.retryable(), "{k:?}");
        }
        for k in [IdempotencyMismatch, NotFound, InvalidRequest, Auth] {
            assert!(!k.retryable(), "{k:?}");
        }
    }

    #[test]
    fn a_permanent_refusal_keeps_what_stripe_said_with_emails_redacted() {
        let body = br#"{"error":{"type":"invalid_request_error","code":"parameter_unknown","param":"expand[0]",
            "message":"This property cannot be expanded (data.items.data.price)."}}"#;
        let e = StripeRequest::list_subscriptions("cus_1", None).read(&answered(400, body)).unwrap_err();
        let api = ApiError::from(e);
        assert_eq!((api.status, api.code), (502, "stripe_error"));
        assert_eq!(api.message, "Stripe answered GET /v1/subscriptions with 400 (parameter_unknown)");
        let detail = api.upstream.as_deref().unwrap();
        assert_eq!(
            (
                detail.service,
                detail.status,
                detail.error_type.as_deref(),
                detail.code.as_deref(),
                detail.param.as_deref()
            ),
            ("stripe", Some(400), Some("invalid_request_error"), Some("parameter_unknown"), Some("expand[0]"))
        );
        assert_eq!(detail.message.as_deref(), Some("This property cannot be expanded (data.items.data.price)."));

        let e = err(404, "invalid_request_error", Some("resource_missing"));
        assert_eq!(e.said.message.as_deref(), Some("No such customer: 'a@b.c'"));
        assert!(!e.to_string().contains("a@b.c"));
        let api = ApiError::from(e);
        assert_eq!((api.status, api.code), (502, "stripe_not_found"));
        assert!(!api.to_json().contains("a@b.c"), "{}", api.to_json());
        assert!(api.to_json().contains("No such customer: '<redacted>'"));
        assert_eq!(ApiError::from(err(429, "x", None)).status, 503);
        assert_eq!(ApiError::from(err(401, "x", None)).code, "stripe_auth");
    }

    fn meter_event() -> MeterEvent<'static> {
        MeterEvent {
            event_name: "api_calls",
            customer: "cus_1",
            value: 7,
            identifier: "ksb_x_e_3",
            timestamp: 1_796_225_400,
        }
    }

    #[test]
    fn the_form_is_stripes_with_the_default_payload_keys() {
        let r = StripeRequest::report_meter_event(&meter_event(), 2);
        assert_eq!((r.method, r.path.as_str()), (Method::Post, "/v1/billing/meter_events"));
        assert_eq!(
            r.body().unwrap(),
            "event_name=api_calls&payload%5Bstripe_customer_id%5D=cus_1&payload%5Bvalue%5D=7&identifier=ksb_x_e_3&timestamp=1796225400"
        );
        assert_eq!(r.idempotency_key.as_deref(), Some("ksb-meter-event-ksb_x_e_3-2"));
        assert_ne!(r.idempotency_key, StripeRequest::report_meter_event(&meter_event(), 3).idempotency_key);
    }
}
