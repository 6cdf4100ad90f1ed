//! Reading `items[n][...]` / `line_items[n][...]` parameters.

use serde_json::Value;

use crate::stripe::errors::ApiError;
use crate::stripe::params::Params;

/// One priced line as requested: `id` names an existing subscription item.
pub(crate) struct RequestedItem {
    pub id: Option<String>,
    pub price: Option<String>,
    pub quantity: Option<u64>,
}

/// Reads the list under `key`; each entry may have `id`, `price`, `quantity`.
pub(crate) fn requested_items(params: &Params, key: &str) -> Result<Vec<RequestedItem>, ApiError> {
    let Some(entries) = params.list(key)? else {
        return Ok(Vec::new());
    };
    let mut items = Vec::new();
    for (n, entry) in entries.into_iter().enumerate() {
        let name = format!("{key}[{n}]");
        let Value::Object(map) = entry else {
            return Err(ApiError::invalid(&name, "parameter_invalid_hash", format!("Invalid hash: {name}")));
        };
        let entry = Params(map);
        entry.only(&["id", "price", "quantity", "deleted", "metadata"]).map_err(|e| prefixed(e, &name))?;
        let quantity = match entry.int("quantity").map_err(|e| prefixed(e, &name))? {
            None => None,
            Some(q) if q >= 1 => Some(q as u64),
            Some(_) => {
                let param = format!("{name}[quantity]");
                return Err(ApiError::invalid(
                    &param,
                    "parameter_invalid_integer",
                    "This value must be greater than or equal to 1.".to_string(),
                ));
            }
        };
        // Item metadata is not kept, but it is held to Stripe's limits.
        entry.new_metadata("metadata", &format!("{name}[metadata]"))?;
        items.push(RequestedItem {
            id: entry.str("id")?.map(str::to_string),
            price: entry.str("price")?.filter(|p| !p.is_empty()).map(str::to_string),
            quantity,
        });
    }
    Ok(items)
}

/// Makes an error about `price` name `line_items[0][price]`.
pub(crate) fn prefixed(mut err: ApiError, prefix: &str) -> ApiError {
    if let Some(param) = err.param.take() {
        err.param = Some(format!("{prefix}[{param}]"));
        err.message = err.message.replace(&format!(": {param}"), &format!(": {prefix}[{param}]"));
    }
    err
}
