//! What every handler gets: the configuration, the environment's bindings,
//! and the time of the request (read once, so the core never reads a clock).

use worker::{Date, Env};

use super::kratos_api::Kratos;
use super::kv::Store;
use super::log::Line;
use super::stripe_api::Stripe;
use crate::config::Config;
use crate::error::ApiError;

/// One unit of work (a request, a cron run): its configuration, bindings,
/// id and start.
pub struct Cx<'a> {
    pub config: &'a Config,
    pub env: &'a Env,
    /// The id every log line of this unit of work carries.
    pub request_id: &'a str,
    /// Unix seconds at the start of the request (shifted by
    /// `TEST_CLOCK_OFFSET` in tests): the time records are judged at.
    pub now: i64,
    /// Milliseconds at the start of the request, for durations in logs.
    pub started_ms: u64,
}

impl<'a> Cx<'a> {
    pub fn new(config: &'a Config, env: &'a Env, request_id: &'a str) -> Self {
        let ms = Date::now().as_millis();
        let now = (ms / 1000) as i64 + config.test_clock_offset;
        Cx { config, env, request_id, now, started_ms: ms }
    }

    /// A log line of type `what` for this unit of work.
    pub fn line(&self, what: &str) -> Line {
        Line::new(what, self.request_id)
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
