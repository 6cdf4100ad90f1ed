//! Signing and sending events to the webhook endpoint, always after the API
//! call that caused them has answered.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::oneshot;

use super::app::App;
use super::delivery::{DeliveryAttempt, DeliveryMode};
use super::ids;

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, as Stripe signs.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

/// The lowercase hex `v1` signature of `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// In manual mode, queues the events now (before the answer is sent); in
/// immediate mode, sends them once `answered` fires (the response body is gone).
pub(crate) fn dispatch_after(app: App, events: Vec<String>, answered: oneshot::Receiver<()>) {
    {
        // Manual mode queues at once, before the answer goes out, so a flush
        // sent right after the answer always finds the events.
        let mut state = app.lock();
        if state.delivery.mode == DeliveryMode::Manual {
            state.queue.extend(events);
            return;
        }
    }
    tokio::spawn(async move {
        let _ = answered.await;
        let (config, has_target) = {
            let state = app.lock();
            (state.delivery, state.webhook.url.is_some())
        };
        if !has_target {
            return;
        }
        if config.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(config.delay_ms)).await;
        }
        deliver_all(&app, &events, config.duplicate).await;
    });
}

/// Sends each event in order (twice each when `duplicate`), one at a time.
pub(crate) async fn deliver_all(app: &App, events: &[String], duplicate: bool) -> Vec<DeliveryAttempt> {
    let mut results = Vec::new();
    for event_id in events {
        for _ in 0..if duplicate { 2 } else { 1 } {
            if let Some(attempt) = deliver_one(app, event_id).await {
                results.push(attempt);
            }
        }
    }
    results
}

/// POSTs one event, signed at the moment of sending, and records the attempt.
/// `None` when the event is unknown or no endpoint is configured.
pub(crate) async fn deliver_one(app: &App, event_id: &str) -> Option<DeliveryAttempt> {
    let (url, secret, body, event_type) = {
        let state = app.lock();
        let event = state.event(event_id)?;
        let event_type = event.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_string();
        let body = serde_json::to_vec(event).ok()?;
        (state.webhook.url.clone()?, state.webhook.secret.clone(), body, event_type)
    };
    // The real time, not the account's clock: the receiver checks the
    // signature's timestamp against its own clock (5 minutes' tolerance).
    let at = ids::now();
    let sent = app
        .client
        .post(&url)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        .header("Cache-Control", "no-cache")
        .header("Stripe-Signature", signature_header(&secret, at, &body))
        .body(body)
        .send()
        .await;
    let (status, error) = match sent {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(err) => (None, Some(transport_error(&err))),
    };
    let mut state = app.lock();
    let attempt_number = state.attempts.iter().filter(|a| a.event_id == event_id).count() as u32 + 1;
    let attempt = DeliveryAttempt {
        event_id: event_id.to_string(),
        event_type,
        attempt: attempt_number,
        url,
        ok: status.is_some_and(|s| (200..300).contains(&s)),
        status,
        error,
        at,
    };
    state.attempts.push(attempt.clone());
    Some(attempt)
}

fn transport_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timeout".to_string()
    } else if err.is_connect() {
        "connection failed".to_string()
    } else {
        "transport error".to_string()
    }
}
