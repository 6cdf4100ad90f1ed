//! Sends the core's `StripeRequest`s to `STRIPE_API_BASE` with the secret
//! key, a pinned API version and the request's Idempotency-Key, and hands
//! back the typed answer the request reads.

use std::time::Duration;

use worker::Headers;

use super::outbound;
use crate::config::Config;
use crate::error::ApiError;
use crate::stripe::request::{StripeError, StripeErrorKind, StripeRequest};
use crate::upstream::Transport;

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
        let key = config.stripe_secret_key.get()?;
        Ok(Stripe { base: &config.stripe_api_base, key: key.expose() })
    }

    fn headers<T>(&self, r: &StripeRequest<T>) -> Result<Headers, Transport> {
        let headers = Headers::new();
        let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| Transport::Unreachable(e.to_string()));
        set("authorization", &format!("Bearer {}", self.key))?;
        set("stripe-version", STRIPE_VERSION)?;
        if let Some(key) = &r.idempotency_key {
            set("idempotency-key", key)?;
        }
        if r.form.is_some() {
            set("content-type", "application/x-www-form-urlencoded")?;
        }
        Ok(headers)
    }

    async fn send_once<T>(&self, r: &StripeRequest<T>) -> Result<T, StripeError> {
        let headers = self.headers(r).map_err(|t| r.no_answer(t))?;
        match outbound::send(r.method, &r.url(self.base), headers, r.body()).await {
            Ok(answer) => r.read(&answer),
            Err(t) => Err(r.no_answer(t)),
        }
    }

    /// Sends `r` and reads its answer. Retries only the one case Stripe
    /// documents as safe to retry at once (the same key still executing).
    pub async fn send<T>(&self, r: &StripeRequest<T>) -> Result<T, StripeError> {
        let mut attempt = 0;
        loop {
            match self.send_once(r).await {
                Err(e) if e.kind == StripeErrorKind::IdempotencyInUse && attempt < IN_USE_RETRIES => {
                    attempt += 1;
                    outbound::sleep(IN_USE_BACKOFF).await;
                }
                answer => return answer,
            }
        }
    }
}

/// Stripe's "no such object" as an absent value, for calls where that is an
/// answer rather than a failure.
pub trait Found<T> {
    fn found(self) -> Result<Option<T>, StripeError>;
}

impl<T> Found<T> for Result<T, StripeError> {
    fn found(self) -> Result<Option<T>, StripeError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
