//! Billing meters and meter events: creating and (de)activating meters,
//! taking meter events in, and what they add up to.
//!
//! Stripe checks a meter event's parameters when it arrives but matches it
//! to a meter and a customer asynchronously: an event for an unknown
//! customer or an event name no meter has is answered 200 and only later
//! reported as an error. The emulator processes it at once, records why it
//! does not count, and answers 200 all the same. A reused `identifier` is
//! different: Stripe refuses it on the spot.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::stripe::errors::ApiError;
use crate::stripe::ids;
use crate::stripe::resources::meter::{Formula, Meter, NotCounted, RecordedMeterEvent};
use crate::stripe::state::State;

/// The payload keys used when no meter says otherwise.
pub(crate) const DEFAULT_CUSTOMER_KEY: &str = "stripe_customer_id";
pub(crate) const DEFAULT_VALUE_KEY: &str = "value";

/// A meter to create, as validated by the route.
pub(crate) struct NewMeter {
    pub display_name: String,
    pub event_name: String,
    pub formula: Formula,
    pub customer_key: String,
    pub value_key: String,
}

/// A refusal naming the active meter that already has `event_name`.
fn event_name_taken(event_name: &str, holder: &str) -> ApiError {
    ApiError::state(format!(
        "An active meter with event_name `{event_name}` already exists ({holder}). An event name can belong to only \
         one active meter."
    ))
    .param("event_name")
}

/// The active meter with `event_name`, if any.
fn active_with(state: &State, event_name: &str) -> Option<String> {
    state.meters.values().find(|m| m.active && m.event_name == event_name).map(|m| m.id.clone())
}

/// Creates a meter; refused while another active meter has its event name.
pub(crate) fn create(state: &mut State, new: NewMeter) -> Result<Value, ApiError> {
    if let Some(holder) = active_with(state, &new.event_name) {
        return Err(event_name_taken(&new.event_name, &holder));
    }
    let now = state.now();
    let seq = state.next_seq();
    let prefix = if state.livemode { "mtr_" } else { "mtr_test_" };
    let meter = Meter {
        id: ids::new_id(prefix, 32),
        seq,
        created: now,
        updated: now,
        display_name: new.display_name,
        event_name: new.event_name,
        formula: new.formula,
        customer_key: new.customer_key,
        value_key: new.value_key,
        active: true,
        deactivated_at: None,
    };
    let json = meter.to_json(state.livemode);
    state.meters.insert(meter.id.clone(), meter);
    Ok(json)
}

/// Changes a meter's display name (the only setting Stripe lets change).
pub(crate) fn rename(state: &mut State, id: &str, display_name: Option<String>) -> Result<Value, ApiError> {
    let now = state.now();
    let livemode = state.livemode;
    let meter = state.meters.get_mut(id).ok_or_else(|| ApiError::no_such("billing.meter", id))?;
    if let Some(name) = display_name {
        meter.display_name = name;
        meter.updated = now;
    }
    Ok(meter.to_json(livemode))
}

/// Deactivates or reactivates a meter. Reactivating is refused while another
/// active meter took its event name meanwhile; a meter already in the asked
/// state is a 400 rather than a silent no-op, so a test notices.
pub(crate) fn set_active(state: &mut State, id: &str, active: bool) -> Result<Value, ApiError> {
    let meter = state.meters.get(id).ok_or_else(|| ApiError::no_such("billing.meter", id))?;
    if meter.active == active {
        let status = if active { "active" } else { "inactive" };
        return Err(ApiError::state(format!("This meter is already {status}.")));
    }
    if active {
        if let Some(holder) = active_with(state, &meter.event_name) {
            return Err(event_name_taken(&meter.event_name, &holder));
        }
    }
    let now = state.now();
    let livemode = state.livemode;
    let meter = state.meters.get_mut(id).ok_or_else(|| ApiError::no_such("billing.meter", id))?;
    meter.active = active;
    meter.deactivated_at = (!active).then_some(now);
    meter.updated = now;
    Ok(meter.to_json(livemode))
}

/// The meter events named `event_name` go to: the active one, else the
/// newest deactivated one (whose payload keys still apply).
pub(crate) fn meter_for<'a>(state: &'a State, event_name: &str) -> Option<&'a Meter> {
    let mut named: Vec<&Meter> = state.meters.values().filter(|m| m.event_name == event_name).collect();
    named.sort_by_key(|m| (m.active, m.seq));
    named.pop()
}

/// The payload keys an event named `event_name` must carry: its meter's, or
/// Stripe's defaults when no meter has the name.
pub(crate) fn payload_keys(state: &State, event_name: &str) -> (String, String) {
    match meter_for(state, event_name) {
        Some(meter) => (meter.customer_key.clone(), meter.value_key.clone()),
        None => (DEFAULT_CUSTOMER_KEY.to_string(), DEFAULT_VALUE_KEY.to_string()),
    }
}

/// A meter event whose parameters passed the route's checks.
pub(crate) struct NewMeterEvent {
    pub event_name: String,
    pub identifier: Option<String>,
    pub payload: BTreeMap<String, String>,
    pub customer: String,
    pub value: i64,
    pub timestamp: i64,
}

/// Takes a meter event in and answers the `billing.meter_event`. A reused
/// identifier is refused (and logged as such); anything else is accepted,
/// counted only when a live meter and an existing customer match it.
pub(crate) fn record(state: &mut State, event: NewMeterEvent) -> Result<Value, ApiError> {
    let duplicate = event.identifier.as_ref().is_some_and(|id| state.meter_identifiers.contains(id));
    let identifier = event.identifier.unwrap_or_else(ids::uuid);
    let meter = meter_for(state, &event.event_name);
    let not_counted = if duplicate {
        Some(NotCounted::DuplicateIdentifier)
    } else {
        match meter {
            None => Some(NotCounted::NoMeter),
            Some(m) if !m.active => Some(NotCounted::ArchivedMeter),
            Some(_) if state.live_customer(&event.customer).is_none() => Some(NotCounted::CustomerNotFound),
            Some(_) => None,
        }
    };
    let recorded = RecordedMeterEvent {
        meter: meter.map(|m| m.id.clone()),
        identifier,
        event_name: event.event_name,
        payload: event.payload,
        customer: event.customer,
        value: event.value,
        timestamp: event.timestamp,
        created: state.now(),
        not_counted,
    };
    let answer = recorded.to_json(state.livemode);
    let refused = duplicate.then(|| ApiError::duplicate_meter_event(&recorded.identifier));
    if !duplicate {
        state.meter_identifiers.insert(recorded.identifier.clone());
    }
    state.meter_events.push(recorded);
    match refused {
        Some(err) => Err(err),
        None => Ok(answer),
    }
}

/// What one customer's counted events with one event name add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Total {
    pub customer: String,
    pub event_name: String,
    pub value: i64,
    pub events: u64,
}

/// The counted events summed by customer and event name, in that order.
/// Sums saturate rather than wrap, so an absurd total stays visibly absurd.
pub(crate) fn totals(state: &State) -> Vec<Total> {
    let mut sums: BTreeMap<(&str, &str), (i64, u64)> = BTreeMap::new();
    for event in state.meter_events.iter().filter(|e| e.counted()) {
        let entry = sums.entry((event.customer.as_str(), event.event_name.as_str())).or_default();
        entry.0 = entry.0.saturating_add(event.value);
        entry.1 += 1;
    }
    sums.into_iter()
        .map(|((customer, event_name), (value, events))| Total {
            customer: customer.to_string(),
            event_name: event_name.to_string(),
            value,
            events,
        })
        .collect()
}

/// A meter's aggregate for one customer over `[start, end)` (event
/// timestamps), by the meter's formula; 0 when no event falls in it.
pub(crate) fn aggregate(state: &State, meter: &Meter, customer: &str, start: i64, end: i64) -> i64 {
    let events = state.meter_events.iter().filter(|e| {
        e.counted()
            && e.meter.as_deref() == Some(meter.id.as_str())
            && e.customer == customer
            && (start..end).contains(&e.timestamp)
    });
    match meter.formula {
        Formula::Sum => events.fold(0i64, |sum, e| sum.saturating_add(e.value)),
        Formula::Count => events.count() as i64,
        // The latest by timestamp; among equal timestamps, the last received.
        Formula::Last => events.enumerate().max_by_key(|(n, e)| (e.timestamp, *n)).map_or(0, |(_, e)| e.value),
    }
}
