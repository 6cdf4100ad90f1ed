//! Executes the core's `StripeRequest`s against `STRIPE_API_BASE` with the
//! secret key, a pinned API version and the request's Idempotency-Key.

use std::time::Duration;

use worker::{Headers, Method};

use super::upstream::{self, Answer};
use crate::config::Config;
use crate::error::ApiError;
use crate::stripe::customer::{parse_customer, Customer};
use crate::stripe::request::{self as req, StripeError, StripeErrorKind, StripeRequest};

/// The API version the core's parsers are written for (`current_period_end`
/// on subscription items).
pub const STRIPE_VERSION: &str = "2025-03-31.basil";

/// Stripe answers 409 `idempotency_key_in_use` while a request with the same
/// key is still executing; it is safe to retry with the same key.
const IN_USE_RETRIES: u32 = 8;
const IN_USE_BACKOFF: Duration = Duration::from_millis(250);

/// A Stripe client for one request's lifetime.
pub struct Stripe<'a> {
    base: &'a str,
    key: &'a str,
}

impl<'a> Stripe<'a> {
    pub fn new(config: &'a Config) -> Result<Stripe<'a>, ApiError> {
        let key = config.stripe_secret_key.as_ref().map_err(|p| ApiError::from(p.clone()))?;
        Ok(Stripe { base: &config.stripe_api_base, key: key.expose() })
    }

    async fn send_once(&self, r: &StripeRequest) -> Result<Answer, ApiError> {
        let headers = Headers::new();
        let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| ApiError::new(500, "internal", e.to_string()));
        set("authorization", &format!("Bearer {}", self.key))?;
        set("stripe-version", STRIPE_VERSION)?;
        if let Some(key) = &r.idempotency_key {
            set("idempotency-key", key)?;
        }
        let method = match r.method {
            req::Method::Get => Method::Get,
            req::Method::Post => Method::Post,
            req::Method::Delete => Method::Delete,
        };
        let body = r.body();
        if body.is_some() {
            set("content-type", "application/x-www-form-urlencoded")?;
        }
        upstream::send("Stripe", method, &r.url(self.base), headers, body).await
    }

    /// Sends `r`; a 2xx answer's body, or the error classified. Retries only
    /// the one case Stripe documents as safe to retry at once.
    pub async fn send(&self, r: &StripeRequest) -> Result<Vec<u8>, StripeFailure> {
        let mut attempt = 0;
        loop {
            let answer = self.send_once(r).await.map_err(StripeFailure::Transport)?;
            if answer.ok() {
                return Ok(answer.body);
            }
            let error = req::classify_stripe_error(answer.status, &answer.body);
            if error.kind == StripeErrorKind::IdempotencyInUse && attempt < IN_USE_RETRIES {
                attempt += 1;
                upstream::sleep(IN_USE_BACKOFF).await;
                continue;
            }
            return Err(StripeFailure::Api(error));
        }
    }
}

impl Stripe<'_> {
    /// The customer as Stripe has it now, including a deleted one
    /// (`deleted: true`); `None` when Stripe has no such id.
    pub async fn customer(&self, id: &str) -> Result<Option<Customer>, ApiError> {
        match self.send(&StripeRequest::retrieve_customer(id)).await {
            Ok(body) => parse_customer(&body)
                .map(Some)
                .map_err(|_| ApiError::upstream("stripe_bad_answer", "Stripe answered a customer we cannot read")),
            Err(f) if f.is_not_found() => Ok(None),
            Err(f) => Err(f.into()),
        }
    }
}

/// Why a Stripe call did not succeed.
#[derive(Debug)]
pub enum StripeFailure {
    /// No answer (unreachable, timeout).
    Transport(ApiError),
    /// Stripe answered with an error.
    Api(StripeError),
}

impl StripeFailure {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StripeFailure::Api(e) if e.kind == StripeErrorKind::NotFound)
    }

    /// Safe to log: never Stripe's message (it may echo an email address).
    pub fn code(&self) -> String {
        match self {
            StripeFailure::Transport(e) => e.code.to_string(),
            StripeFailure::Api(e) => format!("stripe_{:?}_{}", e.kind, e.status).to_lowercase(),
        }
    }
}

impl From<StripeFailure> for ApiError {
    fn from(f: StripeFailure) -> ApiError {
        match f {
            StripeFailure::Transport(e) => e,
            StripeFailure::Api(e) => e.to_api_error(),
        }
    }
}
