//! What every handler gets: the configuration, the environment's bindings,
//! and the time of the request (read once, so the core never reads a clock).

use worker::{Date, Env};

use super::kratos_api::Kratos;
use super::kv::Store;
use super::stripe_api::Stripe;
use crate::config::Config;
use crate::error::ApiError;

pub struct Cx<'a> {
    pub config: &'a Config,
    pub env: &'a Env,
    /// Unix seconds at the start of the request.
    pub now: i64,
    /// Milliseconds at the start of the request, for durations in logs.
    pub started_ms: u64,
}

impl<'a> Cx<'a> {
    pub fn new(config: &'a Config, env: &'a Env) -> Self {
        let ms = Date::now().as_millis();
        Cx { config, env, now: (ms / 1000) as i64, started_ms: ms }
    }

    pub fn store(&self) -> Store {
        Store::open(self.env, self.config.entitlement_cache_ttl, self.started_ms)
    }

    pub fn stripe(&self) -> Result<Stripe<'a>, ApiError> {
        Stripe::new(self.config)
    }

    pub fn kratos(&self) -> Kratos<'a> {
        Kratos::new(self.config)
    }

    /// Unix milliseconds now. The runtime's clock advances only across I/O,
    /// which is what ordering Stripe reads needs.
    pub fn now_ms(&self) -> u64 {
        Date::now().as_millis()
    }

    /// Milliseconds since the request started.
    pub fn elapsed_ms(&self) -> u64 {
        Date::now().as_millis().saturating_sub(self.started_ms)
    }
}
