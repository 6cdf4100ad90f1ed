//! Stripe's metadata limits, wherever metadata is accepted: at most 50 keys
//! (counted once merged into what is stored), keys of at most 40 characters,
//! values of at most 500; anything over is a 400 naming the parameter and
//! changes nothing.

mod stripe_support;

use serde_json::{json, Value};
use stripe_support::{started, Answer, Api};

/// `{param}[k0]=v&{param}[k1]=v...` for `n` keys starting at `from`.
fn keys(param: &str, from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("&{param}[k{i}]=v")).collect()
}

fn assert_refused(answer: &Answer, param: &str, message_start: &str) {
    assert_eq!(answer.status, 400, "{}", answer.body);
    let error = &answer.body["error"];
    assert_eq!(error["type"], "invalid_request_error", "{error}");
    assert_eq!(error["param"], param, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with(message_start), "{message}");
}

async fn customer_count(api: &Api) -> usize {
    api.state().await["customers"].as_array().unwrap().len()
}

#[tokio::test]
async fn customers_may_have_50_keys_40_character_keys_and_500_character_values() {
    let (_stripe, api) = started().await;
    let at_limit = api.create_customer(&keys("metadata", 0, 50)).await;
    assert_eq!(at_limit["metadata"].as_object().unwrap().len(), 50);

    let over = api.post("/v1/customers", &keys("metadata", 0, 51)).await;
    assert_refused(&over, "metadata", "Metadata can have up to 50 keys, but you've set 51.");

    let key40 = "k".repeat(40);
    let key41 = "k".repeat(41);
    assert_eq!(api.post("/v1/customers", &format!("metadata[{key40}]=v")).await.status, 200);
    let long_key = api.post("/v1/customers", &format!("metadata[{key41}]=v")).await;
    assert_refused(&long_key, "metadata", &format!("Invalid key: {key41}"));

    // Characters, not bytes: 500 two-byte characters are within the limit.
    let value500 = "%C3%A9".repeat(500);
    let ok = api.post("/v1/customers", &format!("metadata[long]={value500}")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["metadata"]["long"].as_str().unwrap().chars().count(), 500);
    let long_value = api.post("/v1/customers", &format!("metadata[long]={}", "x".repeat(501))).await;
    assert_refused(&long_value, "metadata", "Invalid val: ");

    assert_eq!(customer_count(&api).await, 3, "refused creates made nothing");
    let created = api.get("/v1/events?type=customer.created").await.body;
    assert_eq!(created["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn an_update_is_counted_against_the_merged_metadata() {
    let (_stripe, api) = started().await;
    let customer = api.create_customer(&keys("metadata", 0, 49)).await;
    let path = format!("/v1/customers/{}", customer["id"].as_str().unwrap());

    let over = api.post(&path, &keys("metadata", 49, 2)).await;
    assert_refused(&over, "metadata", "Metadata can have up to 50 keys, but you've set 51.");
    assert_eq!(api.get(&path).await.body, customer, "the refused update changed nothing");
    assert!(api.get("/v1/events?type=customer.updated").await.body["data"].as_array().unwrap().is_empty());

    // Unsetting one key makes room for another; clearing makes room for 50.
    let swapped = api.post(&path, &format!("metadata[k0]={}", keys("metadata", 49, 2))).await;
    assert_eq!(swapped.status, 200, "{}", swapped.body);
    assert_eq!(swapped.body["metadata"].as_object().unwrap().len(), 50);
    assert_eq!(swapped.body["metadata"].get("k0"), None);
    let replaced = api.post(&path, &format!("metadata={}", "")).await;
    assert_eq!(replaced.body["metadata"], json!({}));
    assert_eq!(api.post(&path, &keys("metadata", 100, 50)).await.status, 200);
}

#[tokio::test]
async fn subscriptions_are_held_to_the_same_limits() {
    let (_stripe, api) = started().await;
    let customer = api.create_customer("").await;
    let cid = customer["id"].as_str().unwrap();
    let base = format!("customer={cid}&items[0][price]=price_pro_monthly");

    let over = api.post("/v1/subscriptions", &format!("{base}{}", keys("metadata", 0, 51))).await;
    assert_refused(&over, "metadata", "Metadata can have up to 50 keys");
    let long_key = api.post("/v1/subscriptions", &format!("{base}&metadata[{}]=v", "k".repeat(41))).await;
    assert_refused(&long_key, "metadata", "Invalid key: ");
    let item = api.post("/v1/subscriptions", &format!("{base}&items[0][metadata][k]={}", "x".repeat(501))).await;
    assert_refused(&item, "items[0][metadata]", "Invalid val: ");
    assert!(api.state().await["subscriptions"].as_array().unwrap().is_empty(), "nothing was created");

    let sub = api.create_subscription(cid, &keys("metadata", 0, 50)).await;
    let path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());
    let more = api.post(&path, "metadata[one_more]=v").await;
    assert_refused(&more, "metadata", "Metadata can have up to 50 keys, but you've set 51.");
    let long_value = api.post(&path, &format!("metadata[k0]={}", "x".repeat(501))).await;
    assert_refused(&long_value, "metadata", "Invalid val: ");
    let stored: Value = api.get(&path).await.body;
    assert_eq!(stored["metadata"], sub["metadata"], "refused updates changed nothing");
}

#[tokio::test]
async fn checkout_sessions_name_the_nested_parameter() {
    let (_stripe, api) = started().await;
    let base = "mode=subscription&line_items[0][price]=price_pro_monthly&success_url=http%3A%2F%2Fapp%2Fok";

    let session = api.post("/v1/checkout/sessions", &format!("{base}{}", keys("metadata", 0, 51))).await;
    assert_refused(&session, "metadata", "Metadata can have up to 50 keys");
    let nested =
        api.post("/v1/checkout/sessions", &format!("{base}{}", keys("subscription_data[metadata]", 0, 51))).await;
    assert_refused(&nested, "subscription_data[metadata]", "Metadata can have up to 50 keys");
    let long_key =
        api.post("/v1/checkout/sessions", &format!("{base}&subscription_data[metadata][{}]=v", "k".repeat(41))).await;
    assert_refused(&long_key, "subscription_data[metadata]", "Invalid key: ");
    let line =
        api.post("/v1/checkout/sessions", &format!("{base}&line_items[0][metadata][{}]=v", "k".repeat(41))).await;
    assert_refused(&line, "line_items[0][metadata]", "Invalid key: ");
    assert!(api.state().await["checkout_sessions"].as_array().unwrap().is_empty());

    let fine = api
        .post(
            "/v1/checkout/sessions",
            &format!("{base}{}{}", keys("metadata", 0, 50), keys("subscription_data[metadata]", 0, 50)),
        )
        .await;
    assert_eq!(fine.status, 200, "{}", fine.body);
}
