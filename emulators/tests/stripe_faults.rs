//! Injected faults: 500 and 429 answers in Stripe's error shape, limited to
//! a count and a path prefix, and never applied to the controls.

mod stripe_support;

use serde_json::json;
use stripe_support::started;

#[tokio::test]
async fn the_next_calls_fail_with_500_then_the_api_recovers() {
    let (_stripe, api) = started().await;
    let armed = api
        .control("/_emulator/faults", json!({"count": 2, "kind": "500"}))
        .await;
    assert_eq!(armed.body["pending"], 2);

    for _ in 0..2 {
        let failed = api.post("/v1/customers", "email=f%40example.com").await;
        assert_eq!(failed.status, 500);
        assert_eq!(failed.body["error"]["type"], "api_error");
        assert!(failed.headers.contains_key("request-id"));
    }
    assert_eq!(
        api.state().await["customers"],
        json!([]),
        "failed calls change nothing"
    );
    assert_eq!(
        api.post("/v1/customers", "email=f%40example.com")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn rate_limits_hit_only_the_matching_prefix() {
    let (_stripe, api) = started().await;
    api.control(
        "/_emulator/faults",
        json!({"count": 1, "kind": "429", "path_prefix": "/v1/subscriptions"}),
    )
    .await;

    let customer = api.post("/v1/customers", "").await;
    assert_eq!(customer.status, 200, "other paths are untouched");
    let limited = api.get("/v1/subscriptions").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["error"]["type"], "rate_limit_error");
    assert_eq!(limited.body["error"]["code"], "rate_limit");
    assert_eq!(
        api.get("/v1/subscriptions").await.status,
        200,
        "the count is used up"
    );
}

#[tokio::test]
async fn clearing_faults_and_controls_are_never_affected() {
    let (_stripe, api) = started().await;
    api.control("/_emulator/faults", json!({"count": 5, "kind": "500"}))
        .await;
    // Controls keep working while faults are armed.
    let state = reqwest::get(format!("{}/_emulator/state", api.base))
        .await
        .unwrap();
    assert_eq!(state.status(), 200);
    let cleared = reqwest::Client::new()
        .delete(format!("{}/_emulator/faults", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    assert_eq!(api.get("/v1/customers").await.status, 200);

    let bad = api
        .control("/_emulator/faults", json!({"count": 1, "kind": "418"}))
        .await;
    assert_eq!(bad.status, 400);
}
