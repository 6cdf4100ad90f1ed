//! `expand[]`: which paths each answer can expand (checked before anything
//! executes, as Stripe does), and the expansion itself, which replaces id
//! strings at the requested paths with full objects.
//!
//! A path walks the answer's fields by name; on a list or search result it
//! starts with `data`. Each field must be one Stripe lets you expand or walk
//! through: a reference (an id that becomes the object), or an object already
//! embedded (expanding it is a no-op, as for `data.items.data.price`). Any
//! other field is a 400 "This property cannot be expanded (path)." with the
//! param `expand[n]`. A few that Stripe expands but the emulator does not
//! model (`customer.subscriptions`, checkout `line_items`, ...) are refused the
//! same way, with a note saying so, rather than ignored.

use axum::http::Method;
use serde_json::Value;

use super::errors::ApiError;
use super::params::Params;
use super::state::State;

/// The objects answers are made of, as far as expansion sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// An embedded object with nothing expandable inside.
    Leaf,
    Customer,
    CustomerInvoiceSettings,
    DeletedCustomer,
    Subscription,
    SubscriptionItems,
    SubscriptionItem,
    Price,
    Plan,
    Product,
    Invoice,
    InvoiceLines,
    InvoiceLine,
    InvoiceParent,
    InvoiceSubscriptionDetails,
    CheckoutSession,
    PortalSession,
    Event,
    Meter,
    MeterEvent,
    CustomerList,
    CheckoutSessionList,
    CustomerSearch,
    SubscriptionList,
    SubscriptionSearch,
    PriceList,
    EventList,
    MeterList,
    MeterEventSummaryList,
}

/// What a path may do with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// An id (or null) that expands into the object.
    Expands(Shape),
    /// An object (or list) already in the answer: a no-op, or walked through.
    Embedded(Shape),
    /// A reference Stripe expands that the emulator always leaves null: a
    /// no-op, but nothing below it can be checked.
    AlwaysNull,
    /// Stripe expands or includes it; the emulator does not model it.
    NotModelled,
    /// `total_count` of a search result (included only when expanded).
    TotalCount,
}

/// The field `name` of `shape`, when a path may name it.
fn field(shape: Shape, name: &str) -> Option<Field> {
    use Field::*;
    use Shape::*;
    let found = match (shape, name) {
        (CustomerList, "data") | (CustomerSearch, "data") => Embedded(Customer),
        (CheckoutSessionList, "data") => Embedded(CheckoutSession),
        (SubscriptionList, "data") | (SubscriptionSearch, "data") => Embedded(Subscription),
        (PriceList, "data") => Embedded(Price),
        (EventList, "data") => Embedded(Event),
        (MeterList, "data") => Embedded(Meter),
        // A summary has nothing to expand: `meter` is a plain id.
        (MeterEventSummaryList, "data") => Embedded(Leaf),
        (CustomerSearch, "total_count") | (SubscriptionSearch, "total_count") => TotalCount,

        (Customer, "address" | "shipping") => Embedded(Leaf),
        (Customer, "invoice_settings") => Embedded(CustomerInvoiceSettings),
        (Customer, "default_source" | "discount" | "test_clock") => AlwaysNull,
        (Customer, "cash_balance" | "invoice_credit_balance" | "sources" | "subscriptions" | "tax" | "tax_ids") => {
            NotModelled
        }
        (CustomerInvoiceSettings, "custom_fields" | "rendering_options") => Embedded(Leaf),
        (CustomerInvoiceSettings, "default_payment_method") => AlwaysNull,

        (Subscription, "customer") => Expands(Customer),
        (Subscription, "latest_invoice") => Expands(Invoice),
        (Subscription, "items") => Embedded(SubscriptionItems),
        (
            Subscription,
            "automatic_tax"
            | "billing_cycle_anchor_config"
            | "billing_thresholds"
            | "cancellation_details"
            | "default_tax_rates"
            | "invoice_settings"
            | "pause_collection"
            | "payment_settings"
            | "pending_invoice_item_interval"
            | "trial_settings",
        ) => Embedded(Leaf),
        (
            Subscription,
            "application"
            | "default_payment_method"
            | "default_source"
            | "discounts"
            | "on_behalf_of"
            | "pending_setup_intent"
            | "pending_update"
            | "schedule"
            | "test_clock"
            | "transfer_data",
        ) => AlwaysNull,
        (SubscriptionItems, "data") => Embedded(SubscriptionItem),
        (SubscriptionItem, "price") => Embedded(Price),
        (SubscriptionItem, "plan") => Embedded(Plan),
        (SubscriptionItem, "billing_thresholds" | "tax_rates") => Embedded(Leaf),
        (SubscriptionItem, "discounts") => AlwaysNull,

        (Price | Plan, "product") => Expands(Product),
        (Price, "custom_unit_amount" | "recurring" | "transform_quantity") => Embedded(Leaf),
        (Plan, "transform_usage") => Embedded(Leaf),
        (Price, "currency_options" | "tiers") | (Plan, "tiers") => NotModelled,
        (Product, "default_price") => Expands(Price),
        (Product, "marketing_features" | "package_dimensions") => Embedded(Leaf),
        (Product, "tax_code") => AlwaysNull,

        (Invoice, "customer") => Expands(Customer),
        (Invoice, "lines") => Embedded(InvoiceLines),
        (Invoice, "parent") => Embedded(InvoiceParent),
        (
            Invoice,
            "automatic_tax"
            | "customer_address"
            | "customer_shipping"
            | "customer_tax_ids"
            | "default_tax_rates"
            | "issuer"
            | "last_finalization_error"
            | "payment_settings"
            | "rendering"
            | "shipping_cost"
            | "shipping_details"
            | "status_transitions"
            | "total_discount_amounts"
            | "total_taxes",
        ) => Embedded(Leaf),
        (
            Invoice,
            "account_tax_ids"
            | "application"
            | "default_payment_method"
            | "default_source"
            | "discounts"
            | "from_invoice"
            | "latest_revision"
            | "on_behalf_of"
            | "test_clock",
        ) => AlwaysNull,
        (Invoice, "confirmation_secret" | "payments") => NotModelled,
        (InvoiceLines, "data") => Embedded(InvoiceLine),
        (InvoiceLine, "discount_amounts" | "parent" | "period" | "pricing") => Embedded(Leaf),
        (InvoiceLine, "discounts") => AlwaysNull,
        (InvoiceParent, "subscription_details") => Embedded(InvoiceSubscriptionDetails),
        (InvoiceParent, "quote_details") => AlwaysNull,
        (InvoiceSubscriptionDetails, "subscription") => Expands(Subscription),

        (CheckoutSession, "customer") => Expands(Customer),
        (CheckoutSession, "invoice") => Expands(Invoice),
        (CheckoutSession, "subscription") => Expands(Subscription),
        (
            CheckoutSession,
            "adaptive_pricing"
            | "after_expiration"
            | "automatic_tax"
            | "consent"
            | "consent_collection"
            | "currency_conversion"
            | "custom_fields"
            | "custom_text"
            | "customer_details"
            | "invoice_creation"
            | "payment_method_configuration_details"
            | "payment_method_options"
            | "phone_number_collection"
            | "shipping_address_collection"
            | "shipping_cost"
            | "shipping_options"
            | "total_details",
        ) => Embedded(Leaf),
        (CheckoutSession, "discounts" | "payment_intent" | "payment_link" | "setup_intent") => AlwaysNull,
        (CheckoutSession, "line_items") => NotModelled,
        (PortalSession, "flow") => Embedded(Leaf),
        (PortalSession, "configuration") => NotModelled,

        (Event, "data" | "request") => Embedded(Leaf),
        (Meter, "customer_mapping" | "default_aggregation" | "status_transitions" | "value_settings") => Embedded(Leaf),
        (MeterEvent, "payload") => Embedded(Leaf),
        _ => return None,
    };
    Some(found)
}

/// What a route answers (`None`: no such endpoint, so nothing to check).
pub(crate) fn answer_shape(method: &Method, route: &str) -> Option<Shape> {
    use Shape::*;
    let shape = match (method.as_str(), route) {
        ("GET", "/v1/customers") => CustomerList,
        ("POST", "/v1/customers") => Customer,
        ("GET", "/v1/customers/search") => CustomerSearch,
        ("GET" | "POST", "/v1/customers/{id}") => Customer,
        ("DELETE", "/v1/customers/{id}") => DeletedCustomer,
        ("GET", "/v1/prices") => PriceList,
        ("GET", "/v1/prices/{id}") => Price,
        ("GET", "/v1/products/{id}") => Product,
        ("GET", "/v1/subscriptions") => SubscriptionList,
        ("POST", "/v1/subscriptions") => Subscription,
        ("GET", "/v1/subscriptions/search") => SubscriptionSearch,
        ("GET" | "POST" | "DELETE", "/v1/subscriptions/{id}") => Subscription,
        ("POST", "/v1/checkout/sessions") => CheckoutSession,
        ("GET", "/v1/checkout/sessions") => CheckoutSessionList,
        ("GET", "/v1/checkout/sessions/{id}") => CheckoutSession,
        ("POST", "/v1/checkout/sessions/{id}/expire") => CheckoutSession,
        ("POST", "/v1/billing_portal/sessions") => PortalSession,
        ("GET", "/v1/events") => EventList,
        ("GET", "/v1/events/{id}") => Event,
        ("GET", "/v1/invoices/{id}") => Invoice,
        ("GET", "/v1/billing/meters") => MeterList,
        ("POST", "/v1/billing/meters") => Meter,
        ("GET" | "POST", "/v1/billing/meters/{id}") => Meter,
        ("POST", "/v1/billing/meters/{id}/deactivate" | "/v1/billing/meters/{id}/reactivate") => Meter,
        ("GET", "/v1/billing/meters/{id}/event_summaries") => MeterEventSummaryList,
        ("POST", "/v1/billing/meter_events") => MeterEvent,
        _ => return None,
    };
    Some(shape)
}

/// Why a path cannot be expanded: the path up to the field at fault.
enum Refusal {
    NotExpandable(String),
    NotModelled(String),
}

fn check_path(shape: Shape, path: &str) -> Result<(), Refusal> {
    let segments: Vec<&str> = path.split('.').collect();
    let mut current = Some(shape);
    for (n, segment) in segments.iter().enumerate() {
        let prefix = segments[..=n].join(".");
        let Some(shape) = current else {
            return Err(Refusal::NotModelled(prefix));
        };
        current = match field(shape, segment) {
            None => return Err(Refusal::NotExpandable(prefix)),
            Some(Field::NotModelled) => return Err(Refusal::NotModelled(prefix)),
            Some(Field::TotalCount) if n + 1 == segments.len() => None,
            Some(Field::TotalCount) => return Err(Refusal::NotExpandable(prefix)),
            Some(Field::Expands(next) | Field::Embedded(next)) => Some(next),
            Some(Field::AlwaysNull) => None,
        };
    }
    Ok(())
}

/// Checks every `expand[]` path against what the route answers.
pub(crate) fn validate(shape: Shape, params: &Params) -> Result<(), ApiError> {
    let invalid_array = || ApiError::bad_request("Invalid array".to_string()).param("expand");
    let paths = match params.list("expand") {
        Ok(Some(paths)) => paths,
        Ok(None) => return Ok(()),
        Err(_) => return Err(invalid_array()),
    };
    for (n, path) in paths.iter().enumerate() {
        let param = format!("expand[{n}]");
        let Some(path) = path.as_str() else {
            return Err(ApiError::bad_request(format!("Invalid string: {param}")).param(param));
        };
        let message = match check_path(shape, path) {
            Ok(()) => continue,
            Err(Refusal::NotExpandable(at)) => format!("This property cannot be expanded ({at})."),
            Err(Refusal::NotModelled(at)) => format!(
                "This property cannot be expanded ({at}). (Stripe can expand it; the Stripe emulator does not model it.)"
            ),
        };
        return Err(ApiError::bad_request(message).param(param));
    }
    Ok(())
}

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
    // Every id on the way is expanded too (`latest_invoice.customer`).
    if let Some(full) = child.as_str().and_then(|id| lookup(state, id)) {
        *child = full;
    }
    if rest.is_empty() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(shape: Shape, path: &str) -> bool {
        check_path(shape, path).is_ok()
    }

    #[test]
    fn the_paths_the_worker_and_tests_use_are_accepted() {
        assert!(ok(Shape::SubscriptionList, "data.items.data.price"));
        assert!(ok(Shape::SubscriptionList, "data.items.data.price.product"));
        assert!(ok(Shape::SubscriptionList, "data.customer"));
        assert!(ok(Shape::SubscriptionList, "data.latest_invoice.parent.subscription_details.subscription"));
        assert!(ok(Shape::Subscription, "latest_invoice.customer"));
        assert!(ok(Shape::CheckoutSession, "subscription.items.data.price"));
        assert!(ok(Shape::Customer, "invoice_settings.default_payment_method"));
        assert!(ok(Shape::CustomerSearch, "total_count"));
        assert!(ok(Shape::Product, "default_price.product"));
    }

    #[test]
    fn unknown_and_unmodelled_paths_are_refused_at_the_field_at_fault() {
        let at = |shape, path| match check_path(shape, path) {
            Err(Refusal::NotExpandable(at)) => format!("not expandable: {at}"),
            Err(Refusal::NotModelled(at)) => format!("not modelled: {at}"),
            Ok(()) => "ok".to_string(),
        };
        assert_eq!(at(Shape::Customer, "metadata"), "not expandable: metadata");
        assert_eq!(at(Shape::Customer, "email"), "not expandable: email");
        assert_eq!(at(Shape::Customer, ""), "not expandable: ");
        assert_eq!(at(Shape::SubscriptionList, "items.data.price"), "not expandable: items");
        assert_eq!(at(Shape::SubscriptionList, "data.items.price"), "not expandable: data.items.price");
        assert_eq!(at(Shape::Subscription, "customer.nope"), "not expandable: customer.nope");
        assert_eq!(at(Shape::Subscription, "customer..id"), "not expandable: customer.");
        assert_eq!(at(Shape::CustomerList, "total_count"), "not expandable: total_count");
        assert_eq!(at(Shape::Customer, "subscriptions"), "not modelled: subscriptions");
        assert_eq!(at(Shape::Subscription, "test_clock.customer"), "not modelled: test_clock.customer");
        assert_eq!(at(Shape::DeletedCustomer, "default_source"), "not expandable: default_source");
    }
}
