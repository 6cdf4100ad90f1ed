//! Creating, updating and deleting customers.

use serde_json::Value;

use crate::stripe::app::Ctx;
use crate::stripe::errors::ApiError;
use crate::stripe::ids;
use crate::stripe::params::MetadataUpdate;
use crate::stripe::resources::customer::Customer;
use crate::stripe::resources::event::{previous_attributes, EventType};
use crate::stripe::resources::subscription::CancellationReason;
use crate::stripe::state::State;

use super::subscriptions;

/// The writable fields; `Some(None)` unsets a field.
#[derive(Debug, Default, Clone)]
pub(crate) struct CustomerFields {
    pub email: Option<Option<String>>,
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub metadata: Option<MetadataUpdate>,
}

impl CustomerFields {
    /// Writes the fields; fails (leaving `customer` as it was) when the merged
    /// metadata would be over Stripe's limits.
    fn apply(self, customer: &mut Customer) -> Result<(), ApiError> {
        let metadata = match self.metadata {
            Some(update) => Some(update.applied_to(&customer.metadata)?),
            None => None,
        };
        if let Some(email) = self.email {
            customer.email = email;
        }
        if let Some(name) = self.name {
            customer.name = name;
        }
        if let Some(description) = self.description {
            customer.description = description;
        }
        if let Some(phone) = self.phone {
            customer.phone = phone;
        }
        if let Some(metadata) = metadata {
            customer.metadata = metadata;
        }
        Ok(())
    }
}

/// Creates a customer and emits `customer.created`; returns its JSON.
pub(crate) fn create(state: &mut State, ctx: &Ctx, fields: CustomerFields) -> Result<Value, ApiError> {
    let seq = state.next_seq();
    let mut customer = Customer {
        id: ids::new_id("cus_", 14),
        seq,
        created: state.now(),
        email: None,
        name: None,
        description: None,
        phone: None,
        metadata: Default::default(),
        invoice_prefix: ids::invoice_prefix(),
        deleted: false,
    };
    fields.apply(&mut customer)?;
    let id = customer.id.clone();
    let json = state.customer_json(&customer);
    state.customers.insert(id.clone(), customer);
    state.reindex_customer(&id);
    state.emit(ctx, EventType::CustomerCreated, json.clone(), None);
    Ok(json)
}

/// Updates a live customer; emits `customer.updated` when anything changed.
pub(crate) fn update(state: &mut State, ctx: &Ctx, id: &str, fields: CustomerFields) -> Result<Value, ApiError> {
    let customer = state.live_customer(id).ok_or_else(|| ApiError::no_such("customer", id))?;
    let before = state.customer_json(customer);
    let mut updated = customer.clone();
    fields.apply(&mut updated)?;
    let after = state.customer_json(&updated);
    state.customers.insert(id.to_string(), updated);
    if let Some(previous) = previous_attributes(&before, &after) {
        state.reindex_customer(id);
        state.emit(ctx, EventType::CustomerUpdated, after.clone(), Some(previous));
    }
    Ok(after)
}

/// Deletes a customer: cancels its subscriptions, emits their
/// `customer.subscription.deleted` and then `customer.deleted`.
pub(crate) fn delete(state: &mut State, ctx: &Ctx, id: &str) -> Result<Value, ApiError> {
    let customer = state.live_customer(id).ok_or_else(|| ApiError::no_such("customer", id))?;
    let last = state.customer_json(customer);
    let open: Vec<String> = state
        .subscriptions
        .values()
        .filter(|s| s.customer == id && !s.status.is_ended())
        .map(|s| s.id.clone())
        .collect();
    for sub in open {
        subscriptions::cancel_now(state, ctx, &sub, CancellationReason::CancellationRequested)?;
    }
    let Some(customer) = state.customers.get_mut(id) else {
        return Err(ApiError::no_such("customer", id));
    };
    customer.deleted = true;
    let answer = customer.deleted_json();
    state.reindex_customer(id);
    state.emit(ctx, EventType::CustomerDeleted, last, None);
    Ok(answer)
}
