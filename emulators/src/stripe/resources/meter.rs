//! Billing meters and the meter events reported against them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// How a meter aggregates its events over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Formula {
    Sum,
    Count,
    Last,
}

impl Formula {
    /// Reads Stripe's `sum` / `count` / `last`.
    pub(crate) fn parse(s: &str) -> Option<Formula> {
        match s {
            "sum" => Some(Formula::Sum),
            "count" => Some(Formula::Count),
            "last" => Some(Formula::Last),
            _ => None,
        }
    }

    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Formula::Sum => "sum",
            Formula::Count => "count",
            Formula::Last => "last",
        }
    }
}

/// A meter as stored; `active` is false once deactivated.
#[derive(Debug, Clone)]
pub(crate) struct Meter {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub updated: i64,
    pub display_name: String,
    pub event_name: String,
    pub formula: Formula,
    /// The payload key naming the customer (`customer_mapping.event_payload_key`).
    pub customer_key: String,
    /// The payload key holding the value (`value_settings.event_payload_key`).
    pub value_key: String,
    pub active: bool,
    pub deactivated_at: Option<i64>,
}

impl Meter {
    /// The `billing.meter` object.
    pub(crate) fn to_json(&self, livemode: bool) -> Value {
        json!({
            "id": self.id,
            "object": "billing.meter",
            "created": self.created,
            "customer_mapping": { "event_payload_key": self.customer_key, "type": "by_id" },
            "default_aggregation": { "formula": self.formula.as_str() },
            "display_name": self.display_name,
            "event_name": self.event_name,
            "event_time_window": null,
            "livemode": livemode,
            "status": if self.active { "active" } else { "inactive" },
            "status_transitions": { "deactivated_at": self.deactivated_at },
            "updated": self.updated,
            "value_settings": { "event_payload_key": self.value_key }
        })
    }
}

/// Why a meter event that was taken in counts towards no customer's usage:
/// the error Stripe reports later, after its asynchronous processing, or
/// (`DuplicateIdentifier`) the reason it refused the event outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotCounted {
    /// The identifier was already used: refused with a 400, nothing recorded.
    DuplicateIdentifier,
    /// No meter has the event's name.
    NoMeter,
    /// The only meters with the event's name are deactivated.
    ArchivedMeter,
    /// The payload names no customer of the account (or a deleted one).
    CustomerNotFound,
}

impl NotCounted {
    /// The name `/_emulator/meter_events` shows.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            NotCounted::DuplicateIdentifier => "duplicate_identifier",
            NotCounted::NoMeter => "no_meter",
            NotCounted::ArchivedMeter => "archived_meter",
            NotCounted::CustomerNotFound => "customer_not_found",
        }
    }
}

/// One meter event as the emulator took it in.
#[derive(Debug, Clone)]
pub(crate) struct RecordedMeterEvent {
    pub identifier: String,
    pub event_name: String,
    pub payload: BTreeMap<String, String>,
    /// The payload's customer key, as sent.
    pub customer: String,
    pub value: i64,
    pub timestamp: i64,
    pub created: i64,
    /// The meter the event was matched to, if any.
    pub meter: Option<String>,
    pub not_counted: Option<NotCounted>,
}

impl RecordedMeterEvent {
    /// Whether the event adds to its customer's usage.
    pub(crate) fn counted(&self) -> bool {
        self.not_counted.is_none()
    }

    /// The `billing.meter_event` object the create call answers.
    pub(crate) fn to_json(&self, livemode: bool) -> Value {
        json!({
            "object": "billing.meter_event",
            "created": self.created,
            "event_name": self.event_name,
            "identifier": self.identifier,
            "livemode": livemode,
            "payload": self.payload,
            "timestamp": self.timestamp
        })
    }

    /// One entry of `/_emulator/meter_events`.
    pub(crate) fn control_json(&self) -> Value {
        json!({
            "identifier": self.identifier,
            "event_name": self.event_name,
            "customer": self.customer,
            "value": self.value,
            "timestamp": self.timestamp,
            "created": self.created,
            "meter": self.meter,
            "counted": self.counted(),
            "reason": self.not_counted.map(NotCounted::as_str),
            "refused": self.not_counted == Some(NotCounted::DuplicateIdentifier)
        })
    }
}
