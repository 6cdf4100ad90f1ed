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

/// Stripe saves a result under an Idempotency-Key once the endpoint started
/// executing, a 500 included, and replays it to every retry with that key;
/// the endpoint may or may not have done its work.
#[tokio::test]
async fn a_500_raised_while_executing_is_saved_under_the_key_and_replayed() {
    let (_stripe, api) = started().await;
    let armed = api.control("/_emulator/faults", json!({"kind": "500", "saved": true, "executed": true})).await;
    assert_eq!(armed.status, 200, "{:?}", armed.body);
    let first = api.post_idem("/v1/customers", "email=saved%40example.com", "key-1").await;
    assert_eq!((first.status, first.body["error"]["type"].as_str()), (500, Some("api_error")));
    assert_eq!(api.state().await["customers"].as_array().map(Vec::len), Some(1), "the endpoint did run");
    let original = first.headers["request-id"].to_str().unwrap().to_string();
    for _ in 0..2 {
        let again = api.post_idem("/v1/customers", "email=saved%40example.com", "key-1").await;
        assert_eq!(again.status, 500, "replayed, not executed again");
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(again.headers["original-request"].to_str().unwrap(), original);
    }
    assert_eq!(api.state().await["customers"].as_array().map(Vec::len), Some(1));
    let other = api.post_idem("/v1/customers", "email=saved%40example.com", "key-2").await;
    assert_eq!(other.status, 200, "another key executes");

    // Without `executed`, nothing was made, and the 500 is still replayed.
    api.control("/_emulator/faults", json!({"kind": "500", "saved": true})).await;
    assert_eq!(api.post_idem("/v1/customers", "email=none%40example.com", "key-3").await.status, 500);
    let again = api.post_idem("/v1/customers", "email=none%40example.com", "key-3").await;
    assert_eq!((again.status, again.headers.contains_key("idempotent-replayed")), (500, true));
    assert_eq!(api.state().await["customers"].as_array().map(Vec::len), Some(2));
    for bad in [json!({"kind": "429", "saved": true}), json!({"kind": "500", "executed": true})] {
        assert_eq!(api.control("/_emulator/faults", bad.clone()).await.status, 400, "{bad}");
    }
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

/// Which of `n` `GET /v1/customers` calls fail, and how (0 for none).
async fn fault_pattern(api: &stripe_support::Api, n: usize) -> Vec<u16> {
    let mut pattern = Vec::new();
    for _ in 0..n {
        let answer = api.get("/v1/customers").await;
        pattern.push(if answer.status == 200 { 0 } else { answer.status });
    }
    pattern
}

async fn figures(api: &stripe_support::Api) -> serde_json::Value {
    let r = api.http.get(format!("{}/_emulator/faults", api.base)).send().await.unwrap();
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_rate_fails_that_share_of_calls_the_same_way_for_the_same_seed() {
    let (_a, first) = started().await;
    let (_b, second) = started().await;
    let (_c, other) = started().await;
    let arm = |seed: u64| json!({"rate": 0.25, "kinds": ["500", "429"], "seed": seed});
    for (api, seed) in [(&first, 9), (&second, 9), (&other, 10)] {
        let armed = api.control("/_emulator/faults", arm(seed)).await;
        assert_eq!((armed.status, armed.body["rate"].as_f64()), (200, Some(0.25)), "{}", armed.body);
    }
    let pattern = fault_pattern(&first, 400).await;
    let failed = pattern.iter().filter(|s| **s != 0).count();
    assert!((60..=140).contains(&failed), "{failed} of 400 calls failed at rate 0.25");
    assert!(pattern.contains(&500) && pattern.contains(&429), "both kinds are drawn: {pattern:?}");
    assert!(pattern.iter().all(|s| [0, 500, 429].contains(s)), "only the armed kinds: {pattern:?}");
    assert_eq!(fault_pattern(&second, 400).await, pattern, "the same seed fails the same calls the same way");
    assert_ne!(fault_pattern(&other, 400).await, pattern, "another seed fails other calls");

    let f = figures(&first).await;
    let injected = f["injected"]["500"].as_u64().unwrap() + f["injected"]["429"].as_u64().unwrap();
    assert_eq!((injected, f["injected_total"].as_u64()), (failed as u64, Some(failed as u64)), "{f}");

    // Disarming stops the failures and keeps the figures.
    let cleared = first.http.delete(format!("{}/_emulator/faults", first.base)).send().await.unwrap();
    assert_eq!(cleared.status(), 200);
    assert!(fault_pattern(&first, 50).await.iter().all(|s| *s == 0));
    let f = figures(&first).await;
    assert_eq!((f["rate"].clone(), f["injected_total"].as_u64()), (json!(null), Some(failed as u64)), "{f}");
}

#[tokio::test]
async fn a_rate_keeps_to_its_prefix_and_counted_rules_go_first() {
    let (_stripe, api) = started().await;
    api.control("/_emulator/faults", json!({"rate": 1, "kinds": ["429"], "path_prefix": "/v1/subscriptions"})).await;
    api.control("/_emulator/faults", json!({"count": 1, "kind": "500", "path_prefix": "/v1/subscriptions"})).await;
    assert_eq!(api.get("/v1/customers").await.status, 200, "other paths are untouched");
    assert_eq!(api.get("/v1/subscriptions").await.status, 500, "the counted rule first");
    assert_eq!(api.get("/v1/subscriptions").await.status, 429, "then the share (rate 1: every call)");
    let f = figures(&api).await;
    assert_eq!(f["injected"], json!({"500": 1, "429": 1}), "{f}");
    // Rate 0 disarms the share.
    api.control("/_emulator/faults", json!({"rate": 0})).await;
    assert_eq!(api.get("/v1/subscriptions").await.status, 200);
}

#[tokio::test]
async fn a_random_hang_holds_the_answer_then_fails() {
    let (_stripe, api) = started().await;
    api.control("/_emulator/faults", json!({"rate": 1, "kinds": ["hang"], "hang_ms": 300})).await;
    let started = std::time::Instant::now();
    let hung = api.get("/v1/customers").await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300), "the answer waited");
    assert_eq!(
        (hung.status, hung.headers.get("stripe-should-retry").map(|v| v.to_str().unwrap())),
        (500, Some("true"))
    );
    assert_eq!(figures(&api).await["injected"], json!({"hang": 1}));
}

#[tokio::test]
async fn bad_rates_are_refused_with_400_and_arm_nothing() {
    let (_stripe, api) = started().await;
    for body in [
        json!({"rate": 1.5}),
        json!({"rate": -0.1}),
        json!({"rate": "0.2"}),
        json!({"rate": 0.2, "kinds": []}),
        json!({"rate": 0.2, "kinds": ["418"]}),
        json!({"rate": 0.2, "kinds": "500"}),
        json!({"rate": 0.2, "count": 3}),
        json!({"rate": 0.2, "kind": "500"}),
        json!({"kinds": ["500"]}),
        json!({"seed": 4, "kind": "500"}),
        json!({"rate": 0.2, "odds": 3}),
    ] {
        let answer = api.control("/_emulator/faults", body.clone()).await;
        assert_eq!(answer.status, 400, "{body} -> {}", answer.body);
        assert_eq!(answer.body["error"]["type"], "invalid_request_error", "{body}");
    }
    let f = figures(&api).await;
    assert_eq!((f["rate"].clone(), f["pending"].as_u64()), (json!(null), Some(0)), "{f}");
    assert!(fault_pattern(&api, 20).await.iter().all(|s| *s == 0));
}
