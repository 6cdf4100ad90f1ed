//! How a Stripe emulator is configured when it starts.

use std::time::Duration;

/// Everything a test or the local dev run may choose about the emulator;
/// [`Default`] gives a ready-to-use test-mode account with three prices.
#[derive(Debug, Clone)]
pub struct StripeOptions {
    /// The only accepted `Authorization: Bearer` key.
    pub api_key: String,
    /// Where signed events are POSTed; `None` means events are only stored.
    pub webhook_url: Option<String>,
    /// The `whsec_...` endpoint secret used to sign deliveries.
    pub webhook_secret: String,
    /// Customer search does not see writes younger than this (Stripe's index lags).
    pub search_lag: Duration,
    /// The catalogue of recurring prices the account sells.
    pub prices: Vec<PriceSeed>,
    /// Whether objects and events claim to be live-mode ones.
    pub livemode: bool,
    /// Loopback port to bind; 0 picks a free one.
    pub port: u16,
}

/// One recurring price to seed the catalogue with.
#[derive(Debug, Clone)]
pub struct PriceSeed {
    /// The price id, e.g. `price_pro_monthly`.
    pub id: String,
    /// The stable name apps map to plans, e.g. `pro_monthly`.
    pub lookup_key: Option<String>,
    /// Amount in cents (USD).
    pub unit_amount: i64,
    /// Billing interval: `"month"` or `"year"`.
    pub interval: String,
}

impl PriceSeed {
    /// A seed with a lookup key; a shorthand for tests and defaults.
    pub fn new(id: &str, lookup_key: &str, unit_amount: i64, interval: &str) -> Self {
        PriceSeed {
            id: id.to_string(),
            lookup_key: Some(lookup_key.to_string()),
            unit_amount,
            interval: interval.to_string(),
        }
    }
}

impl Default for StripeOptions {
    fn default() -> Self {
        StripeOptions {
            api_key: "sk_test_emulator".to_string(),
            webhook_url: None,
            webhook_secret: "whsec_emulator".to_string(),
            search_lag: Duration::ZERO,
            prices: vec![
                PriceSeed::new("price_pro_monthly", "pro_monthly", 1500, "month"),
                PriceSeed::new("price_pro_yearly", "pro_yearly", 15000, "year"),
                PriceSeed::new("price_enterprise_monthly", "enterprise_monthly", 9900, "month"),
            ],
            livemode: false,
            port: 0,
        }
    }
}
