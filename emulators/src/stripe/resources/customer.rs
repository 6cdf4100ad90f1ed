//! Customers.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::metadata_json;

/// A customer as stored; `deleted` ones keep their last state for `/_emulator/state`.
#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub phone: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub invoice_prefix: String,
    pub deleted: bool,
}

impl Customer {
    /// The `customer` object.
    pub(crate) fn to_json(&self, livemode: bool) -> Value {
        json!({
            "id": self.id,
            "object": "customer",
            "address": null,
            "balance": 0,
            "created": self.created,
            "currency": null,
            "customer_account": null,
            "default_source": null,
            "delinquent": false,
            "description": self.description,
            "discount": null,
            "email": self.email,
            "invoice_prefix": self.invoice_prefix,
            "invoice_settings": {
                "custom_fields": null,
                "default_payment_method": null,
                "footer": null,
                "rendering_options": null
            },
            "livemode": livemode,
            "metadata": metadata_json(&self.metadata),
            "name": self.name,
            "next_invoice_sequence": 1,
            "phone": self.phone,
            "preferred_locales": [],
            "shipping": null,
            "tax_exempt": "none",
            "test_clock": null
        })
    }

    /// What `GET`/`DELETE` answer for a deleted customer.
    pub(crate) fn deleted_json(&self) -> Value {
        json!({ "id": self.id, "object": "customer", "deleted": true })
    }
}
