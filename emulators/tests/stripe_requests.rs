//! `GET|DELETE /_emulator/requests`: the `/v1` calls served, counted by
//! method and route pattern, faulted and refused calls included, controls
//! and hosted pages not.

mod stripe_support;

use serde_json::{json, Value};
use stripe_support::{started, Api};

async fn counts(api: &Api) -> Value {
    let answer = api.http.get(format!("{}/_emulator/requests", api.base)).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

async fn reset(api: &Api) -> Value {
    let answer = api.http.delete(format!("{}/_emulator/requests", api.base)).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

#[tokio::test]
async fn calls_are_counted_under_their_route_patterns() {
    let (_stripe, api) = started().await;
    assert_eq!(counts(&api).await, json!({"total": 0, "by_route": {}}));

    let first = api.create_customer("email=a%40example.com").await;
    let second = api.create_customer("email=b%40example.com").await;
    let (first, second) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    assert_eq!(api.get(&format!("/v1/customers/{first}")).await.status, 200);
    assert_eq!(api.get(&format!("/v1/customers/{second}")).await.status, 200);
    assert_eq!(api.get("/v1/customers/cus_missing").await.status, 404, "errors count too");
    assert_eq!(api.post(&format!("/v1/customers/{first}"), "name=A").await.status, 200);
    assert_eq!(api.get("/v1/customers?limit=2").await.status, 200);
    assert_eq!(api.get("/v1/subscriptions").await.status, 200);
    assert_eq!(api.get("/v1/prices").await.status, 200);
    assert_eq!(api.get("/v1/prices/price_pro_monthly").await.status, 200);
    assert_eq!(api.get("/v1/no_such_thing/x1").await.status, 404);

    assert_eq!(
        counts(&api).await,
        json!({
            "total": 11,
            "by_route": {
                "POST /v1/customers": 2,
                "GET /v1/customers/{id}": 3,
                "POST /v1/customers/{id}": 1,
                "GET /v1/customers": 1,
                "GET /v1/subscriptions": 1,
                "GET /v1/prices": 1,
                "GET /v1/prices/{id}": 1,
                "GET /v1/no_such_thing/x1": 1,
            }
        })
    );
}

#[tokio::test]
async fn faulted_and_refused_calls_are_counted() {
    let (_stripe, api) = started().await;
    api.control("/_emulator/faults", json!({"count": 1, "kind": "500", "path_prefix": "/v1/subscriptions"})).await;
    assert_eq!(api.get("/v1/subscriptions").await.status, 500);
    assert_eq!(api.get("/v1/subscriptions").await.status, 200);
    api.control("/_emulator/faults", json!({"count": 1, "kind": "429"})).await;
    assert_eq!(api.get("/v1/customers/cus_x").await.status, 429);
    let unauthorized = api.http.get(format!("{}/v1/customers", api.base)).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);

    assert_eq!(
        counts(&api).await,
        json!({
            "total": 4,
            "by_route": {"GET /v1/subscriptions": 2, "GET /v1/customers/{id}": 1, "GET /v1/customers": 1}
        })
    );
}

#[tokio::test]
async fn controls_and_hosted_pages_are_not_counted_and_delete_resets() {
    let (_stripe, api) = started().await;
    let customer = api.create_customer("email=c%40example.com").await;
    api.create_subscription(customer["id"].as_str().unwrap(), "").await;

    api.state().await;
    api.deliveries().await;
    api.control("/_emulator/faults", json!({"count": 1, "kind": "500"})).await;
    api.http.delete(format!("{}/_emulator/faults", api.base)).send().await.unwrap();
    api.http.get(format!("{}/checkout/cs_test_none", api.base)).send().await.unwrap();
    api.http.get(format!("{}/portal/bps_none", api.base)).send().await.unwrap();
    counts(&api).await;

    let expected = json!({"total": 2, "by_route": {"POST /v1/customers": 1, "POST /v1/subscriptions": 1}});
    assert_eq!(counts(&api).await, expected, "only the two API calls");

    assert_eq!(reset(&api).await, json!({"total": 0, "by_route": {}}));
    assert_eq!(counts(&api).await, json!({"total": 0, "by_route": {}}));
    assert_eq!(api.get("/v1/customers").await.status, 200);
    assert_eq!(counts(&api).await, json!({"total": 1, "by_route": {"GET /v1/customers": 1}}), "counting goes on");
}
