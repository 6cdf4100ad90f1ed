//! Prices and their products (the seeded catalogue).

use serde_json::{json, Value};

use crate::stripe::clock::Interval;

/// A recurring USD price.
#[derive(Debug, Clone)]
pub(crate) struct Price {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub product: String,
    pub lookup_key: Option<String>,
    pub unit_amount: i64,
    pub interval: Interval,
    pub active: bool,
}

/// The product a price sells.
#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub id: String,
    pub created: i64,
    pub name: String,
    pub default_price: String,
}

impl Price {
    /// The `price` object.
    pub(crate) fn to_json(&self, livemode: bool) -> Value {
        json!({
            "id": self.id,
            "object": "price",
            "active": self.active,
            "billing_scheme": "per_unit",
            "created": self.created,
            "currency": "usd",
            "custom_unit_amount": null,
            "livemode": livemode,
            "lookup_key": self.lookup_key,
            "metadata": {},
            "nickname": null,
            "product": self.product,
            "recurring": {
                "interval": self.interval.as_str(),
                "interval_count": 1,
                "meter": null,
                "usage_type": "licensed",
                "trial_period_days": null
            },
            "tax_behavior": "unspecified",
            "tiers_mode": null,
            "transform_quantity": null,
            "type": "recurring",
            "unit_amount": self.unit_amount,
            "unit_amount_decimal": self.unit_amount.to_string()
        })
    }

    /// The legacy `plan` view of the price that subscription items still carry.
    pub(crate) fn plan_json(&self, livemode: bool) -> Value {
        json!({
            "id": self.id,
            "object": "plan",
            "active": self.active,
            "amount": self.unit_amount,
            "amount_decimal": self.unit_amount.to_string(),
            "billing_scheme": "per_unit",
            "created": self.created,
            "currency": "usd",
            "interval": self.interval.as_str(),
            "interval_count": 1,
            "livemode": livemode,
            "metadata": {},
            "meter": null,
            "nickname": null,
            "product": self.product,
            "tiers_mode": null,
            "transform_usage": null,
            "trial_period_days": null,
            "usage_type": "licensed"
        })
    }
}

impl Product {
    /// The `product` object.
    pub(crate) fn to_json(&self, livemode: bool) -> Value {
        json!({
            "id": self.id,
            "object": "product",
            "active": true,
            "created": self.created,
            "default_price": self.default_price,
            "description": null,
            "images": [],
            "livemode": livemode,
            "marketing_features": [],
            "metadata": {},
            "name": self.name,
            "package_dimensions": null,
            "shippable": null,
            "statement_descriptor": null,
            "tax_code": null,
            "type": "service",
            "unit_label": null,
            "updated": self.created,
            "url": null
        })
    }
}
