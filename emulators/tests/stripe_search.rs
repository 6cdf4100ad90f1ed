//! Customer Search: query clauses, and the index lag that makes a fresh
//! write invisible for a while (as on Stripe).

mod stripe_support;

use std::time::Duration;

use ksb_emulators::stripe::StripeOptions;
use serde_json::Value;
use stripe_support::{started, started_with, Api};

async fn search(api: &Api, query: &str) -> Vec<Value> {
    let answer = api.get(&format!("/v1/customers/search?query={}", urlencode(query))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["object"], "search_result");
    assert_eq!(answer.body["url"], "/v1/customers/search");
    answer.body["data"].as_array().unwrap().clone()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn finds_customers_by_metadata_and_email() {
    let (_stripe, api) = started().await;
    let ann = api.create_customer("email=ann%40example.com&metadata[identity_id]=id-1").await;
    api.create_customer("email=bob%40example.com&metadata[identity_id]=id-2").await;
    api.create_customer("email=ann%40example.com&metadata[identity_id]=id-3").await;

    let found = search(&api, "metadata['identity_id']:'id-1'").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], ann["id"]);

    assert_eq!(search(&api, "email:'ann@example.com'").await.len(), 2);
    let both = search(&api, "email:'ann@example.com' AND metadata[\"identity_id\"]:\"id-3\"").await;
    assert_eq!(both.len(), 1);
    assert_eq!(both[0]["metadata"]["identity_id"], "id-3");
    assert!(search(&api, "metadata['identity_id']:'id-9'").await.is_empty());

    let bad = api.get("/v1/customers/search?query=created%3E5").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["param"], "query");
    assert_eq!(api.get("/v1/customers/search").await.body["error"]["code"], "parameter_missing");
}

#[tokio::test]
async fn deleted_customers_leave_the_results() {
    let (_stripe, api) = started().await;
    let c = api.create_customer("metadata[identity_id]=gone").await;
    api.delete(&format!("/v1/customers/{}", c["id"].as_str().unwrap())).await;
    assert!(search(&api, "metadata['identity_id']:'gone'").await.is_empty());
}

#[tokio::test]
async fn search_lags_behind_writes() {
    let lag = Duration::from_millis(1000);
    let (_stripe, api) = started_with(StripeOptions { search_lag: lag, ..Default::default() }).await;
    let c = api.create_customer("email=lag%40example.com&metadata[identity_id]=fresh").await;
    let id = c["id"].as_str().unwrap().to_string();

    // Read-after-write: the list API sees it, search does not yet.
    assert_eq!(api.get("/v1/customers?email=lag%40example.com").await.body["data"][0]["id"], id.as_str());
    assert!(search(&api, "metadata['identity_id']:'fresh'").await.is_empty());

    tokio::time::sleep(lag + Duration::from_millis(100)).await;
    assert_eq!(search(&api, "metadata['identity_id']:'fresh'").await[0]["id"], id.as_str());

    // An update is searched in the previous state until the lag has passed.
    api.post(&format!("/v1/customers/{id}"), "metadata[identity_id]=changed").await;
    assert_eq!(search(&api, "metadata['identity_id']:'fresh'").await.len(), 1);
    assert!(search(&api, "metadata['identity_id']:'changed'").await.is_empty());
    tokio::time::sleep(lag + Duration::from_millis(100)).await;
    assert!(search(&api, "metadata['identity_id']:'fresh'").await.is_empty());
    assert_eq!(search(&api, "metadata['identity_id']:'changed'").await.len(), 1);
}

#[tokio::test]
async fn search_pages_with_next_page() {
    let (_stripe, api) = started().await;
    for _ in 0..3 {
        api.create_customer("metadata[team]=t").await;
    }
    let first = api.get("/v1/customers/search?query=metadata%5B%27team%27%5D%3A%27t%27&limit=2").await.body;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    assert_eq!(first["has_more"], true);
    let page = first["next_page"].as_str().unwrap();
    let second = api
        .get(&format!("/v1/customers/search?query=metadata%5B%27team%27%5D%3A%27t%27&limit=2&page={page}"))
        .await
        .body;
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert_eq!(second["has_more"], false);
    assert_eq!(second["next_page"], Value::Null);
}
