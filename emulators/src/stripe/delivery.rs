//! Webhook delivery settings and the record of every attempt.

use serde::{Deserialize, Serialize};

/// Where events go and the secret that signs them.
#[derive(Debug, Clone)]
pub(crate) struct WebhookTarget {
    pub url: Option<String>,
    pub secret: String,
}

/// Whether events are sent as they happen or held until a flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DeliveryMode {
    #[default]
    Immediate,
    Manual,
}

/// How immediate delivery behaves (`POST /_emulator/delivery`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct DeliveryConfig {
    pub mode: DeliveryMode,
    pub duplicate: bool,
    pub delay_ms: u64,
}

/// The order `POST /_emulator/events/flush` sends the queue in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FlushOrder {
    #[default]
    Created,
    Reverse,
    Shuffle,
}

/// One POST of one event to the webhook endpoint.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DeliveryAttempt {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// 1 for the first attempt of this event, then 2, 3, ...
    pub attempt: u32,
    pub url: String,
    /// The endpoint's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The transport error, when it did not.
    pub error: Option<String>,
    /// A 2xx answer.
    pub ok: bool,
    /// Unix seconds when the attempt was made.
    pub at: i64,
}
