//! Injected faults: 500 and 429 answers in Stripe's error shape, limited to
//! a count and a path prefix, and never applied to the controls.

mod stripe_support;

use serde_json::json;
use stripe_support::started;

#[tokio::test]
async fn the_next_calls_fail_with_500_then_the_api_recovers() {
    let (_stripe, api) = started().await;
    let armed = api.control("/_emulator/faults", json!({"count": 2, "kind": "500"})).await;
    assert_eq!(armed.body["pending"], 2);

    for _ in 0..2 {
        let failed = api.post("/v1/customers", "email=f%40example.com").await;
        assert_eq!(failed.status, 500);
        assert_eq!(failed.body["error"]["type"], "api_error");
        assert!(failed.headers.contains_key("request-id"));
    }
    assert_eq!(api.state().await["customers"], json!([]), "failed calls change nothing");
    assert_eq!(api.post("/v1/customers", "email=f%40example.com").await.status, 200);
}

#[tokio::test]
async fn rate_limits_hit_only_the_matching_prefix() {
    let (_stripe, api) = started().await;
    api.control("/_emulator/faults", json!({"count": 1, "kind": "429", "path_prefix": "/v1/subscriptions"})).await;

    let customer = api.post("/v1/customers", "").await;
    assert_eq!(customer.status, 200, "other paths are untouched");
    let limited = api.get("/v1/subscriptions").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["error"]["type"], "rate_limit_error");
    assert_eq!(limited.body["error"]["code"], "rate_limit");
    assert_eq!(api.get("/v1/subscriptions").await.status, 200, "the count is used up");
}

#[tokio::test]
async fn clearing_faults_and_controls_are_never_affected() {
    let (_stripe, api) = started().await;
    api.control("/_emulator/faults", json!({"count": 5, "kind": "500"})).await;
    // Controls keep working while faults are armed.
    let state = reqwest::get(format!("{}/_emulator/state", api.base)).await.unwrap();
    assert_eq!(state.status(), 200);
    let cleared = reqwest::Client::new().delete(format!("{}/_emulator/faults", api.base)).send().await.unwrap();
    assert_eq!(cleared.status(), 200);
    assert_eq!(api.get("/v1/customers").await.status, 200);

    let bad = api.control("/_emulator/faults", json!({"count": 1, "kind": "418"})).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn a_slow_fault_answers_the_state_at_arrival_after_the_delay() {
    let stripe = ksb_emulators::stripe::start(ksb_emulators::stripe::StripeOptions::default()).await.unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let key = "sk_test_emulator";
    let cus: serde_json::Value = http
        .post(format!("{}/v1/customers", stripe.url()))
        .bearer_auth(key)
        .form(&[("email", "slow@example.com")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = cus["id"].as_str().unwrap().to_string();
    http.post(format!("{}/_emulator/faults", stripe.url()))
        .json(&serde_json::json!({"count": 1, "kind": "slow", "hang_ms": 800, "path_prefix": "/v1/customers/"}))
        .send()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let slow = {
        let (http, url) = (http.clone(), format!("{}/v1/customers/{id}", stripe.url()));
        tokio::spawn(async move {
            http.get(url).bearer_auth(key).send().await.unwrap().json::<serde_json::Value>().await.unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let updated: serde_json::Value = http
        .post(format!("{}/v1/customers/{id}", stripe.url()))
        .bearer_auth(key)
        .form(&[("name", "Changed Meanwhile")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["name"], "Changed Meanwhile", "the update was not slowed");
    let old = slow.await.unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(800), "the answer waited");
    assert_eq!(old["name"], serde_json::Value::Null, "the slow answer shows the state when the call arrived");
    stripe.shutdown().await;
}
