//! `expand[]`: replaces id strings at the requested paths with full objects.

use serde_json::Value;

use super::state::State;

/// Expands every path (e.g. `customer`, `data.latest_invoice`) in `value`.
pub(crate) fn expand(state: &State, value: &mut Value, paths: &[String]) {
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        expand_path(state, value, &segments);
    }
}

fn expand_path(state: &State, value: &mut Value, segments: &[&str]) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let Some(child) = value.get_mut(*first) else {
        return;
    };
    if rest.is_empty() {
        if let Some(full) = child.as_str().and_then(|id| lookup(state, id)) {
            *child = full;
        }
        return;
    }
    match child {
        Value::Array(items) => items.iter_mut().for_each(|item| expand_path(state, item, rest)),
        other => expand_path(state, other, rest),
    }
}

/// The object an id names, by its prefix.
fn lookup(state: &State, id: &str) -> Option<Value> {
    let live = state.livemode;
    if id.starts_with("cus_") {
        let customer = state.customers.get(id)?;
        Some(if customer.deleted { customer.deleted_json() } else { state.customer_json(customer) })
    } else if id.starts_with("sub_") {
        state.subscriptions.get(id).map(|s| state.subscription_json(s))
    } else if id.starts_with("in_") {
        state.invoices.get(id).map(|i| i.to_json(live))
    } else if id.starts_with("price_") {
        state.prices.get(id).map(|p| p.to_json(live))
    } else if id.starts_with("prod_") {
        state.products.get(id).map(|p| p.to_json(live))
    } else if id.starts_with("cs_") {
        state.checkout_sessions.get(id).map(|s| s.to_json(live))
    } else {
        None
    }
}
