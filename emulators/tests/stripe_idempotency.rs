//! `Idempotency-Key`: replay of the first answer, refusal of a reused key
//! with other parameters, 409 while the first is in flight, and nothing saved
//! for requests that never started executing.

mod stripe_support;

use std::time::Duration;

use serde_json::json;
use stripe_support::started;

#[tokio::test]
async fn the_same_key_and_parameters_replay_the_first_answer() {
    let (_stripe, api) = started().await;
    let body = "email=once%40example.com&metadata[identity_id]=i1";
    let first = api.post_idem("/v1/customers", body, "key-1").await;
    assert_eq!(first.status, 200);
    assert!(first.headers.get("idempotent-replayed").is_none());

    // Same parameters in another order are the same request.
    let again = api.post_idem("/v1/customers", "metadata[identity_id]=i1&email=once%40example.com", "key-1").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.headers["request-id"], first.headers["request-id"]);

    let state = api.state().await;
    assert_eq!(state["customers"].as_array().unwrap().len(), 1);
    assert_eq!(api.event_types().await, vec!["customer.created"]);
    assert_eq!(state["events"][0]["request"]["idempotency_key"], "key-1");
    assert_eq!(state["events"][0]["request"]["id"], first.headers["request-id"].to_str().unwrap());
}

#[tokio::test]
async fn a_key_reused_with_other_parameters_or_endpoint_is_refused() {
    let (_stripe, api) = started().await;
    api.post_idem("/v1/customers", "email=a%40example.com", "key-2").await;
    let other = api.post_idem("/v1/customers", "email=b%40example.com", "key-2").await;
    assert_eq!(other.status, 400);
    assert_eq!(other.body["error"]["type"], "idempotency_error");
    assert!(other.body["error"]["message"].as_str().unwrap().contains("same parameters"));

    let elsewhere = api.post_idem("/v1/billing_portal/sessions", "email=a%40example.com", "key-2").await;
    assert_eq!(elsewhere.status, 400);
    assert_eq!(elsewhere.body["error"]["type"], "idempotency_error");
    assert_eq!(api.state().await["customers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn errors_after_execution_started_are_replayed_validation_failures_are_not() {
    let (_stripe, api) = started().await;
    // Executed: the customer does not exist. Saved and replayed even after it would succeed.
    let form = "customer=cus_missing&items[0][price]=price_pro_monthly";
    let first = api.post_idem("/v1/subscriptions", form, "key-3").await;
    assert_eq!(first.status, 400);
    assert_eq!(first.body["error"]["code"], "resource_missing");
    let replay = api.post_idem("/v1/subscriptions", form, "key-3").await;
    assert_eq!((replay.status, &replay.body), (400, &first.body));
    assert_eq!(replay.headers["idempotent-replayed"], "true");

    // Validation failure: nothing saved, so the same key works once fixed.
    let invalid = api.post_idem("/v1/customers", "email=x%40example.com&bogus=1", "key-4").await;
    assert_eq!(invalid.status, 400);
    assert_eq!(invalid.body["error"]["code"], "parameter_unknown");
    let fixed = api.post_idem("/v1/customers", "email=x%40example.com", "key-4").await;
    assert_eq!(fixed.status, 200, "{}", fixed.body);
    assert!(fixed.headers.get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_key_in_flight_gets_409_and_is_usable_after_a_transient_failure() {
    let (_stripe, api) = started().await;
    let armed = api
        .control(
            "/_emulator/faults",
            json!({"count": 1, "kind": "hang", "hang_ms": 1500, "path_prefix": "/v1/customers"}),
        )
        .await;
    assert_eq!(armed.status, 200);

    let slow_api = stripe_support::Api::new(api.base.clone());
    let slow = tokio::spawn(async move { slow_api.post_idem("/v1/customers", "email=c%40example.com", "key-5").await });
    tokio::time::sleep(Duration::from_millis(150)).await;

    let concurrent = api.post_idem("/v1/customers", "email=c%40example.com", "key-5").await;
    assert_eq!(concurrent.status, 409);
    assert_eq!(concurrent.body["error"]["type"], "idempotency_error");
    assert_eq!(concurrent.body["error"]["code"], "idempotency_key_in_use");

    let hung = slow.await.unwrap();
    assert_eq!(hung.status, 500);
    assert_eq!(hung.body["error"]["type"], "api_error");
    assert_eq!(hung.headers["stripe-should-retry"], "true");

    // The injected failure happened before execution: a retry with the key runs.
    let retry = api.post_idem("/v1/customers", "email=c%40example.com", "key-5").await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    let replay = api.post_idem("/v1/customers", "email=c%40example.com", "key-5").await;
    assert_eq!(replay.body["id"], retry.body["id"]);
    assert_eq!(api.state().await["customers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn delete_with_a_key_replays_instead_of_failing_the_second_time() {
    let (_stripe, api) = started().await;
    let c = api.create_customer("email=d%40example.com").await;
    let sub = api.create_subscription(c["id"].as_str().unwrap(), "").await;
    let path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());
    let http = reqwest::Client::new();
    let cancel = || {
        http.delete(format!("{}{path}", api.base))
            .bearer_auth(stripe_support::KEY)
            .header("Idempotency-Key", "cancel-1")
            .send()
    };
    let first = cancel().await.unwrap();
    assert_eq!(first.status(), 200);
    let second = cancel().await.unwrap();
    assert_eq!(second.status(), 200);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    // Without the key, canceling a canceled subscription is an error, as on Stripe.
    assert_eq!(api.delete(&path).await.status, 404);
}
