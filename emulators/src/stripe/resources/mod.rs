//! The objects the emulated account holds, each with its wire JSON shape
//! (field for field as in Stripe's API version 2025-03-31.basil).

pub(crate) mod checkout;
pub(crate) mod customer;
pub(crate) mod event;
pub(crate) mod invoice;
pub(crate) mod meter;
pub(crate) mod portal;
pub(crate) mod price;
pub(crate) mod subscription;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Metadata as Stripe returns it: a JSON object of strings.
pub(crate) fn metadata_json(metadata: &BTreeMap<String, String>) -> Value {
    Value::Object(metadata.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<Map<_, _>>())
}

/// Joins two JSON objects (for objects too large for one `json!` call).
pub(crate) fn merged(first: Value, second: Value) -> Value {
    match (first, second) {
        (Value::Object(mut a), Value::Object(b)) => {
            a.extend(b);
            Value::Object(a)
        }
        (a, _) => a,
    }
}
