//! Stripe's list objects and cursor pagination (`limit`, `starting_after`, `ending_before`).

use serde_json::{json, Value};

use super::errors::ApiError;
use super::params::Params;

/// Pages `items` (already newest first, as `(id, json)`) into a list object.
pub(crate) fn paginate(items: Vec<(String, Value)>, params: &Params, url: &str, noun: &str) -> Result<Value, ApiError> {
    let limit = params.limit()?;
    let position = |param: &str, id: &str| {
        items.iter().position(|(item_id, _)| item_id == id).ok_or_else(|| ApiError::no_such_param(noun, id, param))
    };
    let (page, has_more): (Vec<Value>, bool) = if let Some(after) = params.str("starting_after")? {
        let start = position("starting_after", after)? + 1;
        let rest = &items[start..];
        (rest.iter().take(limit).map(|(_, v)| v.clone()).collect(), rest.len() > limit)
    } else if let Some(before) = params.str("ending_before")? {
        let end = position("ending_before", before)?;
        let from = end.saturating_sub(limit);
        (items[from..end].iter().map(|(_, v)| v.clone()).collect(), from > 0)
    } else {
        (items.iter().take(limit).map(|(_, v)| v.clone()).collect(), items.len() > limit)
    };
    Ok(json!({ "object": "list", "data": page, "has_more": has_more, "url": url }))
}
