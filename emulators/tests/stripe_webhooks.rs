//! Webhook delivery: Stripe's signature and headers, delivery only after the
//! API call answered, manual mode with ordered/shuffled/duplicated flushes,
//! and redelivery of failed events.

mod stripe_support;

use std::time::Duration;

use ksb_emulators::stripe::{StripeEmulator, StripeOptions};
use serde_json::{json, Value};
use stripe_support::{signature_valid, started_with, Api, Receiver};

async fn with_receiver() -> (StripeEmulator, Api, Receiver) {
    let receiver = Receiver::start().await;
    let options = StripeOptions {
        webhook_url: Some(receiver.url()),
        webhook_secret: "whsec_test_secret".to_string(),
        ..Default::default()
    };
    let (stripe, api) = started_with(options).await;
    (stripe, api, receiver)
}

fn ids_of(values: &[Value]) -> Vec<String> {
    values.iter().map(|a| a["event_id"].as_str().unwrap().to_string()).collect()
}

async fn event_ids(api: &Api) -> Vec<String> {
    let state = api.state().await;
    state["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn events_are_signed_like_stripe_and_verifiable() {
    let (_stripe, api, receiver) = with_receiver().await;
    let customer = api.create_customer("email=w%40example.com").await;

    let received = receiver.wait_for(1).await;
    let delivery = &received[0];
    let signature = delivery.headers["stripe-signature"].to_str().unwrap();
    assert!(signature.starts_with("t="), "{signature}");
    assert!(signature_valid(signature, &delivery.body, "whsec_test_secret"));
    assert!(!signature_valid(signature, &delivery.body, "whsec_other"));
    let mut tampered = delivery.body.to_vec();
    tampered.push(b' ');
    assert!(!signature_valid(signature, &tampered, "whsec_test_secret"));
    assert_eq!(delivery.headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(delivery.headers["user-agent"], "Stripe/1.0 (+https://stripe.com/docs/webhooks)");

    let event = delivery.event();
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["object"], "event");
    assert_eq!(event["type"], "customer.created");
    assert_eq!(event["api_version"], "2025-03-31.basil");
    assert_eq!(event["livemode"], false);
    assert_eq!(event["data"]["object"], customer);
    assert_eq!(api.get(&format!("/v1/events/{}", event["id"].as_str().unwrap())).await.body, event);

    let attempts = api.deliveries().await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["attempt"], 1);
    assert_eq!(attempts[0]["status"], 200);
    assert_eq!(attempts[0]["ok"], true);
    assert_eq!(attempts[0]["type"], "customer.created");
}

#[tokio::test]
async fn a_replaced_secret_signs_later_events() {
    let (_stripe, api, receiver) = with_receiver().await;
    api.control("/_emulator/webhook", json!({"secret": "whsec_rotated"})).await;
    api.create_customer("").await;
    let received = receiver.wait_for(1).await;
    let signature = received[0].headers["stripe-signature"].to_str().unwrap();
    assert!(signature_valid(signature, &received[0].body, "whsec_rotated"));
}

#[tokio::test]
async fn delivery_waits_for_the_api_answer_and_follows_delay_and_duplicate() {
    let (_stripe, api, receiver) = with_receiver().await;
    api.control("/_emulator/delivery", json!({"delay_ms": 1000, "duplicate": true})).await;
    api.create_customer("email=late%40example.com").await;
    // The customer exists before any event about it arrives.
    assert!(receiver.received().is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(receiver.received().is_empty(), "delay_ms is honoured");
    let received = receiver.wait_for(2).await;
    assert_eq!(received[0].event()["id"], received[1].event()["id"]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let attempts = api.deliveries().await;
    let numbers: Vec<u64> = attempts.iter().map(|a| a["attempt"].as_u64().unwrap()).collect();
    assert_eq!(numbers, vec![1, 2]);
}

#[tokio::test]
async fn manual_mode_queues_until_flushed_in_the_requested_order() {
    let (_stripe, api, receiver) = with_receiver().await;
    api.control("/_emulator/delivery", json!({"mode": "manual"})).await;
    for n in 0..4 {
        api.create_customer(&format!("name=c{n}")).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(receiver.received().is_empty());
    let created = event_ids(&api).await;

    let flushed = api.control("/_emulator/events/flush", json!({"order": "reverse"})).await;
    assert_eq!(flushed.status, 200);
    let reversed: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(ids_of(flushed.body.as_array().unwrap()), reversed);
    let seen: Vec<String> = receiver.received().iter().map(|r| r.event()["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(seen, reversed, "sent sequentially in that order");

    let nothing = api.control("/_emulator/events/flush", json!({})).await;
    assert_eq!(nothing.body, json!([]), "the queue was emptied");
}

/// A flush sent the moment an API call has answered finds that call's
/// events: manual mode queues them before the answer goes out (it used to
/// queue them after, so a quick flush could find nothing).
#[tokio::test(flavor = "multi_thread")]
async fn manual_mode_has_queued_a_calls_events_by_the_time_it_answers() {
    let (_stripe, api, receiver) = with_receiver().await;
    api.control("/_emulator/delivery", json!({"mode": "manual"})).await;
    for n in 0..50 {
        api.create_customer(&format!("name=q{n}")).await;
        let flushed = api.control("/_emulator/events/flush", json!({})).await;
        assert_eq!(flushed.body.as_array().map(Vec::len), Some(1), "call {n}: {}", flushed.body);
    }
    assert_eq!(receiver.received().len(), 50);
}

/// The flush order of six events as positions in their creation order.
async fn shuffled(seed: u64) -> Vec<usize> {
    let (_stripe, api, _receiver) = with_receiver().await;
    api.control("/_emulator/delivery", json!({"mode": "manual"})).await;
    for n in 0..6 {
        api.create_customer(&format!("name=c{n}")).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let created = event_ids(&api).await;
    let flushed = api.control("/_emulator/events/flush", json!({"order": "shuffle", "seed": seed})).await;
    ids_of(flushed.body.as_array().unwrap()).iter().map(|id| created.iter().position(|c| c == id).unwrap()).collect()
}

#[tokio::test]
async fn shuffle_is_a_deterministic_permutation_of_the_queue() {
    let a = shuffled(7).await;
    let b = shuffled(7).await;
    let c = shuffled(8).await;
    assert_eq!(a, b, "same seed, same order");
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, vec![0, 1, 2, 3, 4, 5], "every event exactly once");
    let identity = vec![0, 1, 2, 3, 4, 5];
    assert!(a != identity || c != identity, "shuffling changes the order");
}

#[tokio::test]
async fn a_flush_can_duplicate_every_event() {
    let (_stripe, api, receiver) = with_receiver().await;
    api.control("/_emulator/delivery", json!({"mode": "manual"})).await;
    api.create_customer("").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let flushed = api.control("/_emulator/events/flush", json!({"duplicate": true})).await;
    let attempts = flushed.body.as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["event_id"], attempts[1]["event_id"]);
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn failed_deliveries_are_recorded_and_retried_on_request() {
    let (_stripe, api, receiver) = with_receiver().await;
    receiver.answer_with(500);
    api.create_customer("").await;
    receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let attempts = api.deliveries().await;
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[0]["ok"], false);

    receiver.answer_with(200);
    let retried = api.control("/_emulator/events/retry_failed", json!({})).await.body;
    let retried = retried.as_array().unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0]["event_id"], attempts[0]["event_id"]);
    assert_eq!(retried[0]["attempt"], 2);
    assert_eq!(retried[0]["ok"], true);
    let again = api.control("/_emulator/events/retry_failed", json!({})).await.body;
    assert_eq!(again, json!([]), "nothing left to retry");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_failed_delivery() {
    let receiver = Receiver::start().await;
    let url = receiver.url();
    drop(receiver);
    let (_stripe, api) = started_with(StripeOptions { webhook_url: Some(url), ..Default::default() }).await;
    api.create_customer("").await;
    for _ in 0..100 {
        if !api.deliveries().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let attempts = api.deliveries().await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["ok"], false);
    assert_eq!(attempts[0]["status"], Value::Null);
    assert!(attempts[0]["error"].is_string());
}

#[tokio::test]
async fn without_an_endpoint_events_are_only_stored() {
    let (_stripe, api) = started_with(StripeOptions::default()).await;
    api.create_customer("").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(api.deliveries().await.is_empty());
    assert_eq!(api.get("/v1/events").await.body["data"][0]["type"], "customer.created");
    assert_eq!(api.control("/_emulator/events/flush", json!({})).await.status, 400);
}
