//! Counts of the `/v1` calls the emulator has served (`GET|DELETE
//! /_emulator/requests`), so a test can show how many Stripe calls its
//! caller makes.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Calls counted by `"METHOD pattern"`, e.g. `"POST /v1/customers/{id}"`.
#[derive(Debug, Default)]
pub(crate) struct RequestCounts {
    total: u64,
    by_route: BTreeMap<String, u64>,
}

impl RequestCounts {
    /// Counts one call to `route` (the matched route pattern, or the raw
    /// path of a call no route matched) with `method`.
    pub(crate) fn record(&mut self, method: &str, route: &str) {
        self.total += 1;
        *self.by_route.entry(format!("{method} {route}")).or_default() += 1;
    }

    /// Forgets every count.
    pub(crate) fn reset(&mut self) {
        self.total = 0;
        self.by_route.clear();
    }

    /// `{"total": N, "by_route": {"GET /v1/customers": 3, ...}}`, routes sorted.
    pub(crate) fn to_json(&self) -> Value {
        json!({ "total": self.total, "by_route": self.by_route })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_method_and_route_and_resets() {
        let mut counts = RequestCounts::default();
        counts.record("GET", "/v1/customers");
        counts.record("GET", "/v1/customers");
        counts.record("POST", "/v1/customers/{id}");
        assert_eq!(
            counts.to_json(),
            json!({"total": 3, "by_route": {"GET /v1/customers": 2, "POST /v1/customers/{id}": 1}})
        );
        counts.reset();
        assert_eq!(counts.to_json(), json!({"total": 0, "by_route": {}}));
    }
}
