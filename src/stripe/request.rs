//! Every Stripe API call the bridge makes, as plain data (method, path,
//! form, idempotency key) that the shell executes with its HTTP client; and
//! the classification of Stripe's error answers into what the caller does next.
//!
//! Paths are relative to `STRIPE_API_BASE` and, for GET, carry the query
//! string. Path segments and query values are percent-encoded, so ids taken
//! from input can never escape their segment. Ids must be non-empty.

use serde::Deserialize;

use super::customer::{
    create_customer_form, create_customer_idempotency_key, search_by_identity_query, IDENTITY_METADATA_KEY,
};
use super::form::{percent_encode, Form};
use crate::error::ApiError;
use crate::kratos::hook::HookIdentity;

/// The HTTP methods Stripe's API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    /// The method name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }
}

/// One Stripe API call. The shell sends `Authorization: Bearer <key>`, the
/// pinned `Stripe-Version`, `Content-Type: application/x-www-form-urlencoded`
/// when there is a form, and `Idempotency-Key` when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeRequest {
    pub method: Method,
    /// From `/v1/...`, including the query string for GET.
    pub path: String,
    /// The request body (POST only).
    pub form: Option<Form>,
    /// Stripe replays the first result for the same key (for 24 h).
    pub idempotency_key: Option<String>,
}

/// What a Checkout Session for a subscription needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutParams {
    /// The linked customer; when set, `customer_email` is not sent (Stripe
    /// refuses both at once).
    pub customer: Option<String>,
    /// Prefills Checkout when there is no customer yet.
    pub customer_email: Option<String>,
    /// The Kratos identity id; also written to the session's and the
    /// subscription's metadata so webhooks can find the identity.
    pub client_reference_id: String,
    /// A price id (`price_...`), already resolved from a lookup key.
    pub price: String,
    pub success_url: String,
    pub cancel_url: String,
    /// Stripe-side trial; `None` or `Some(0)` means no trial.
    pub trial_days: Option<u32>,
}

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

fn clamp_limit(limit: u32) -> String {
    limit.clamp(1, MAX_LIMIT).to_string()
}

impl StripeRequest {
    fn get(path: String) -> Self {
        Self { method: Method::Get, path, form: None, idempotency_key: None }
    }

    fn post(path: String, form: Form) -> Self {
        Self { method: Method::Post, path, form: Some(form), idempotency_key: None }
    }

    fn delete(path: String) -> Self {
        Self { method: Method::Delete, path, form: None, idempotency_key: None }
    }

    /// `POST /v1/customers` for a new identity, with an idempotency key
    /// derived from the identity id (see [`create_customer_idempotency_key`]).
    pub fn create_customer(identity: &HookIdentity) -> Self {
        Self {
            idempotency_key: Some(create_customer_idempotency_key(&identity.id)),
            ..Self::post("/v1/customers".into(), create_customer_form(identity))
        }
    }

    /// `POST /v1/customers` for an identity whose linked customer was
    /// deleted in Stripe. The usual key's saved answer is that deleted
    /// customer, so the key also names the customer being replaced.
    pub fn replace_customer(identity: &HookIdentity, deleted_customer_id: &str) -> Self {
        let scope = format!("{}-replaces-{deleted_customer_id}", identity.id);
        Self { idempotency_key: Some(create_customer_idempotency_key(&scope)), ..Self::create_customer(identity) }
    }

    /// `GET /v1/customers/{id}` (a deleted customer answers 200 with `deleted: true`).
    pub fn retrieve_customer(id: &str) -> Self {
        Self::get(format!("/v1/customers/{}", seg(id)))
    }

    /// `POST /v1/customers/{id}` with the fields to change.
    pub fn update_customer(id: &str, form: Form) -> Self {
        Self::post(format!("/v1/customers/{}", seg(id)), form)
    }

    /// `DELETE /v1/customers/{id}` (also removes its payment methods).
    pub fn delete_customer(id: &str) -> Self {
        Self::delete(format!("/v1/customers/{}", seg(id)))
    }

    /// `GET /v1/customers?email=` (exact, case-sensitive match; read-after-write
    /// consistent, unlike search). `limit` is clamped to 1..=100.
    pub fn list_customers_by_email(email: &str, limit: u32) -> Self {
        Self::get(with_query("/v1/customers", Form::new().field("email", email).field("limit", clamp_limit(limit))))
    }

    /// `GET /v1/customers/search` for the customer linked to an identity
    /// (eventually consistent: lags writes by up to an hour).
    pub fn search_customers_by_identity(identity_id: &str) -> Self {
        Self::get(with_query("/v1/customers/search", Form::new().field("query", search_by_identity_query(identity_id))))
    }

    /// `GET /v1/customers`, one page, for reconciliation; `starting_after`
    /// is the last customer id of the previous page.
    pub fn list_customers(limit: u32, starting_after: Option<&str>) -> Self {
        let query = Form::new().field("limit", clamp_limit(limit)).field_opt("starting_after", starting_after);
        Self::get(with_query("/v1/customers", query))
    }

    /// `GET /v1/subscriptions` of one customer, every status, 100 a page,
    /// with each item's price expanded (its `lookup_key` names the plan).
    pub fn list_subscriptions(customer_id: &str, starting_after: Option<&str>) -> Self {
        let query = Form::new()
            .field("customer", customer_id)
            .field("status", "all")
            .field("limit", MAX_LIMIT.to_string())
            .field("expand[]", "data.items.data.price")
            .field_opt("starting_after", starting_after);
        Self::get(with_query("/v1/subscriptions", query))
    }

    /// `DELETE /v1/subscriptions/{id}`: cancel now (account deletion).
    pub fn cancel_subscription(id: &str) -> Self {
        Self::delete(format!("/v1/subscriptions/{}", seg(id)))
    }

    /// `POST /v1/subscriptions/{id}` with `cancel_at_period_end=true`: access
    /// continues until the paid period ends.
    pub fn cancel_subscription_at_period_end(id: &str) -> Self {
        Self::post(format!("/v1/subscriptions/{}", seg(id)), Form::new().field("cancel_at_period_end", "true"))
    }

    /// `POST /v1/checkout/sessions` in subscription mode; the answer's `url`
    /// is where the user is sent.
    pub fn create_checkout_session(params: CheckoutParams) -> Self {
        let email = if params.customer.is_some() { None } else { params.customer_email };
        let identity_meta = format!("subscription_data[metadata][{IDENTITY_METADATA_KEY}]");
        let form = Form::new()
            .field("mode", "subscription")
            .field_opt("customer", params.customer)
            .field_opt("customer_email", email)
            .field("client_reference_id", params.client_reference_id.as_str())
            .field("line_items[0][price]", params.price)
            .field("line_items[0][quantity]", "1")
            .field("success_url", params.success_url)
            .field("cancel_url", params.cancel_url)
            .field(identity_meta, params.client_reference_id.as_str())
            .field_opt(
                "subscription_data[trial_period_days]",
                params.trial_days.filter(|d| *d > 0).map(|d| d.to_string()),
            )
            .metadata(IDENTITY_METADATA_KEY, params.client_reference_id.as_str());
        Self::post("/v1/checkout/sessions".into(), form)
    }

    /// `POST /v1/billing_portal/sessions`; the answer's `url` is where the user is sent.
    pub fn create_portal_session(customer: &str, return_url: &str) -> Self {
        Self::post(
            "/v1/billing_portal/sessions".into(),
            Form::new().field("customer", customer).field("return_url", return_url),
        )
    }

    /// `GET /v1/prices?lookup_keys[]=` for the active price with this lookup
    /// key (a list with zero or one price).
    pub fn get_price_by_lookup_key(key: &str) -> Self {
        let query = Form::new().field("lookup_keys[]", key).field("active", "true").field("limit", "1");
        Self::get(with_query("/v1/prices", query))
    }

    /// `GET /v1/prices/{id}`, for plans configured with price ids.
    pub fn retrieve_price(id: &str) -> Self {
        Self::get(format!("/v1/prices/{}", seg(id)))
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
}

/// What kind of failure a Stripe error answer is, which decides the next step.
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
    /// see [`StripeError::param`]).
    NotFound,
    /// Any other 4xx: the request is wrong; retrying will not help.
    InvalidRequest,
    /// 401 / 403: the secret key is wrong, revoked, or lacks a permission.
    Auth,
    /// 5xx: Stripe failed; retryable.
    Server,
}

impl StripeErrorKind {
    /// Whether the same request may succeed when sent again.
    pub fn retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::IdempotencyInUse | Self::Conflict | Self::Server)
    }
}

/// A classified Stripe error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeError {
    pub kind: StripeErrorKind,
    pub status: u16,
    /// `error.type`, e.g. `invalid_request_error`, `idempotency_error`.
    pub error_type: Option<String>,
    /// `error.code`, e.g. `resource_missing`.
    pub code: Option<String>,
    /// `error.param`: which parameter was wrong.
    pub param: Option<String>,
    /// `error.message`. Stripe may echo request values here (an email
    /// address, for one): never log it or pass it to a user as is.
    pub message: Option<String>,
}

impl StripeError {
    /// Whether the same request may succeed when sent again.
    pub fn retryable(&self) -> bool {
        self.kind.retryable()
    }

    /// The answer the bridge gives its own caller: 503 for retryable
    /// failures (Kratos and Stripe retry), 502 otherwise. Stripe's message
    /// is not included (it may carry an email address).
    pub fn to_api_error(&self) -> ApiError {
        let detail = format!("Stripe answered {} ({})", self.status, self.code.as_deref().unwrap_or("no code"));
        match self.kind {
            k if k.retryable() => ApiError::unavailable("stripe_unavailable", format!("{detail}; retry later")),
            StripeErrorKind::Auth => ApiError::upstream("stripe_auth", format!("{detail}; check STRIPE_SECRET_KEY")),
            StripeErrorKind::NotFound => ApiError::upstream("stripe_not_found", detail),
            _ => ApiError::upstream("stripe_error", detail),
        }
    }
}

/// Safe to log: kind, status, type, code and param, never the message.
impl std::fmt::Display for StripeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stripe {:?} (status {}", self.kind, self.status)?;
        for (name, v) in [("type", &self.error_type), ("code", &self.code), ("param", &self.param)] {
            if let Some(v) = v {
                write!(f, ", {name} {v}")?;
            }
        }
        f.write_str(")")
    }
}

impl std::error::Error for StripeError {}

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
    StripeError {
        kind,
        status,
        error_type: inner.error_type,
        code: inner.code,
        param: inner.param,
        message: inner.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";

    fn identity() -> HookIdentity {
        HookIdentity {
            id: ID.into(),
            email: "ada+x@example.com".into(),
            name: Some("Ada".into()),
            metadata_public: None,
        }
    }

    fn checkout() -> CheckoutParams {
        CheckoutParams {
            customer: Some("cus_1".into()),
            customer_email: Some("ada@example.com".into()),
            client_reference_id: ID.into(),
            price: "price_1".into(),
            success_url: "https://app.example.com/billing/success?s={CHECKOUT_SESSION_ID}".into(),
            cancel_url: "https://app.example.com/pricing".into(),
            trial_days: None,
        }
    }

    #[test]
    fn create_customer_is_an_idempotent_post() {
        let r = StripeRequest::create_customer(&identity());
        assert_eq!((r.method, r.path.as_str()), (Method::Post, "/v1/customers"));
        assert_eq!(
            r.body().unwrap(),
            format!("email=ada%2Bx%40example.com&name=Ada&metadata%5Bolympus_identity_id%5D={ID}")
        );
        assert_eq!(r.idempotency_key, Some(format!("ksb-customer-create-{ID}")));
    }

    #[test]
    fn replacing_a_deleted_customer_uses_its_own_key() {
        let first = StripeRequest::create_customer(&identity());
        let r = StripeRequest::replace_customer(&identity(), "cus_old");
        assert_eq!(r.idempotency_key, Some(format!("ksb-customer-create-{ID}-replaces-cus_old")));
        assert_ne!(r.idempotency_key, first.idempotency_key);
        assert_eq!((r.method, r.path.as_str(), r.body()), (first.method, first.path.as_str(), first.body()));
        let r2 = StripeRequest::replace_customer(&identity(), "cus_old");
        assert_eq!(r.idempotency_key, r2.idempotency_key, "retries of the replacement share a key");
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
    fn customer_lookups() {
        assert_eq!(
            StripeRequest::list_customers_by_email("ada+x@example.com", 3).path,
            "/v1/customers?email=ada%2Bx%40example.com&limit=3"
        );
        assert_eq!(StripeRequest::list_customers_by_email("a@b.c", 1000).path, "/v1/customers?email=a%40b.c&limit=100");
        assert_eq!(
            StripeRequest::search_customers_by_identity(ID).path,
            format!("/v1/customers/search?query=metadata%5B%27olympus_identity_id%27%5D%3A%27{ID}%27")
        );
        assert_eq!(StripeRequest::list_customers(100, None).path, "/v1/customers?limit=100");
        assert_eq!(StripeRequest::list_customers(0, Some("cus_9")).path, "/v1/customers?limit=1&starting_after=cus_9");
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
    fn checkout_for_a_known_customer() {
        let r = StripeRequest::create_checkout_session(checkout());
        assert_eq!((r.method, r.path.as_str()), (Method::Post, "/v1/checkout/sessions"));
        assert_eq!(
            r.body().unwrap(),
            format!(
                "mode=subscription&customer=cus_1&client_reference_id={ID}\
                 &line_items%5B0%5D%5Bprice%5D=price_1&line_items%5B0%5D%5Bquantity%5D=1\
                 &success_url=https%3A%2F%2Fapp.example.com%2Fbilling%2Fsuccess%3Fs%3D%7BCHECKOUT_SESSION_ID%7D\
                 &cancel_url=https%3A%2F%2Fapp.example.com%2Fpricing\
                 &subscription_data%5Bmetadata%5D%5Bolympus_identity_id%5D={ID}\
                 &metadata%5Bolympus_identity_id%5D={ID}"
            )
        );
    }

    #[test]
    fn checkout_by_email_with_a_trial() {
        let params = CheckoutParams { customer: None, trial_days: Some(14), ..checkout() };
        let form = StripeRequest::create_checkout_session(params).form.unwrap();
        let fields: Vec<(&str, &str)> = form.fields().iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert!(fields.contains(&("customer_email", "ada@example.com")));
        assert!(!fields.iter().any(|(k, _)| *k == "customer"));
        assert!(fields.contains(&("subscription_data[trial_period_days]", "14")));
        let no_trial = CheckoutParams { trial_days: Some(0), ..checkout() };
        let form = StripeRequest::create_checkout_session(no_trial).form.unwrap();
        assert!(!form.fields().iter().any(|(k, _)| k.contains("trial")));
    }

    #[test]
    fn portal_and_prices() {
        let r = StripeRequest::create_portal_session("cus_1", "https://app.example.com/settings");
        assert_eq!(r.path, "/v1/billing_portal/sessions");
        assert_eq!(r.body().unwrap(), "customer=cus_1&return_url=https%3A%2F%2Fapp.example.com%2Fsettings");
        assert_eq!(
            StripeRequest::get_price_by_lookup_key("pro monthly").path,
            "/v1/prices?lookup_keys%5B%5D=pro%20monthly&active=true&limit=1"
        );
        assert_eq!(StripeRequest::retrieve_price("price_1").path, "/v1/prices/price_1");
    }

    #[test]
    fn url_joins_the_base() {
        let r = StripeRequest::retrieve_customer("cus_1");
        assert_eq!(r.url("https://api.stripe.com"), "https://api.stripe.com/v1/customers/cus_1");
        assert_eq!(r.url("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/v1/customers/cus_1");
        assert_eq!(Method::Delete.as_str(), "DELETE");
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
        for k in [RateLimited, IdempotencyInUse, Conflict, Server] {
            assert!(k.retryable(), "{k:?}");
        }
        for k in [IdempotencyMismatch, NotFound, InvalidRequest, Auth] {
            assert!(!k.retryable(), "{k:?}");
        }
    }

    #[test]
    fn keeps_the_details_but_never_shows_the_message() {
        let e = err(404, "invalid_request_error", Some("resource_missing"));
        assert_eq!(e.param.as_deref(), Some("id"));
        assert_eq!(e.message.as_deref(), Some("No such customer: 'a@b.c'"));
        assert!(!e.to_string().contains("a@b.c"));
        let api = e.to_api_error();
        assert_eq!((api.status, api.code), (502, "stripe_not_found"));
        assert!(!api.message.contains("a@b.c"));
        assert_eq!(err(429, "x", None).to_api_error().status, 503);
        assert_eq!(err(401, "x", None).to_api_error().code, "stripe_auth");
    }
}
