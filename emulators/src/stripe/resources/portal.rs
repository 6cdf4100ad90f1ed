//! Billing Portal sessions.

use serde_json::{json, Value};

/// A portal session as stored.
#[derive(Debug, Clone)]
pub(crate) struct PortalSession {
    pub id: String,
    pub created: i64,
    pub customer: String,
    pub return_url: Option<String>,
    pub url: String,
    pub configuration: String,
}

impl PortalSession {
    /// The `billing_portal.session` object.
    pub(crate) fn to_json(&self, livemode: bool) -> Value {
        json!({
            "id": self.id,
            "object": "billing_portal.session",
            "configuration": self.configuration,
            "created": self.created,
            "customer": self.customer,
            "customer_account": null,
            "flow": null,
            "livemode": livemode,
            "locale": null,
            "on_behalf_of": null,
            "return_url": self.return_url,
            "url": self.url
        })
    }
}
