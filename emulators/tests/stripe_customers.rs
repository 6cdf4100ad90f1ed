//! Authentication and the customer API: CRUD, deleted customers, listing by
//! email, and cursor pagination.

mod stripe_support;

use serde_json::{json, Value};
use stripe_support::{started, Api};

#[tokio::test]
async fn requests_without_the_right_key_get_401_and_the_key_is_not_echoed() {
    let (stripe, _api) = started().await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/customers", stripe.url());

    let missing = http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("did not provide an API key"));

    let wrong_key = "sk_test_51SecretValueThatMustNotLeak1234";
    let wrong = http.get(&url).bearer_auth(wrong_key).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let message = wrong.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("Invalid API Key provided: sk_test_"), "{message}");
    assert!(!message.contains("SecretValue"), "{message}");

    let controls = http.get(format!("{}/_emulator/state", stripe.url())).send().await.unwrap();
    assert_eq!(controls.status(), 200, "controls need no key");
}

#[tokio::test]
async fn basic_auth_with_the_key_as_user_name_is_accepted_as_in_stripes_curl_examples() {
    let (stripe, _api) = started().await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/customers", stripe.url());

    // `curl -u sk_test_...:` sends the key as the user name and an empty password.
    let empty_password = http.get(&url).basic_auth(stripe_support::KEY, Some("")).send().await.unwrap();
    assert_eq!(empty_password.status(), 200);
    assert_eq!(empty_password.json::<Value>().await.unwrap()["object"], "list");
    let created = http
        .post(&url)
        .basic_auth(stripe_support::KEY, None::<&str>)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("email=basic%40example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    assert_eq!(created.json::<Value>().await.unwrap()["email"], "basic@example.com");

    let wrong_key = "sk_test_51SecretValueThatMustNotLeak1234";
    let wrong = http.get(&url).basic_auth(wrong_key, Some("")).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let message = wrong.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("Invalid API Key provided: sk_test_"), "{message}");
    assert!(!message.contains("SecretValue"), "{message}");

    // The key belongs in the user name; an empty user name provides no key.
    let as_password = http.get(&url).basic_auth("", Some(stripe_support::KEY)).send().await.unwrap();
    assert_eq!(as_password.status(), 401);
    let garbage = http.get(&url).header("Authorization", "Basic %%%").send().await.unwrap();
    assert_eq!(garbage.status(), 401);
}

#[tokio::test]
async fn create_retrieve_update_with_metadata_merge() {
    let (_stripe, api) = started().await;
    let created = api.create_customer("email=ann%40example.com&name=Ann&metadata[a]=1&metadata[b]=2").await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("cus_") && id.len() >= 18, "{id}");
    assert_eq!(created["object"], "customer");
    assert_eq!(created["livemode"], false);
    assert!(created["created"].as_i64().unwrap() > 1_700_000_000);

    let fetched = api.get(&format!("/v1/customers/{id}")).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, created);

    let updated = api.post(&format!("/v1/customers/{id}"), "email=new%40example.com&metadata[b]=&metadata[c]=3").await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.body["email"], "new@example.com");
    assert_eq!(updated.body["name"], "Ann");
    assert_eq!(updated.body["metadata"], json!({"a": "1", "c": "3"}));

    let events = api.get("/v1/events?type=customer.updated").await.body;
    let event = &events["data"][0];
    assert_eq!(event["data"]["object"]["email"], "new@example.com");
    assert_eq!(event["data"]["previous_attributes"]["email"], "ann@example.com");
    assert_eq!(event["data"]["previous_attributes"]["metadata"], json!({"a": "1", "b": "2"}));
}

#[tokio::test]
async fn unknown_customers_and_parameters_get_stripe_errors() {
    let (_stripe, api) = started().await;
    let missing = api.get("/v1/customers/cus_nope").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "resource_missing");
    assert_eq!(missing.body["error"]["message"], "No such customer: 'cus_nope'");

    let unknown = api.post("/v1/customers", "emial=typo%40example.com").await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.body["error"]["code"], "parameter_unknown");
    assert_eq!(unknown.body["error"]["param"], "emial");

    let route = api.get("/v1/nothing_here").await;
    assert_eq!(route.status, 404);
    assert!(route.body["error"]["message"].as_str().unwrap().starts_with("Unrecognized request URL"));
}

#[tokio::test]
async fn deleting_a_customer_cancels_its_subscriptions_and_leaves_a_tombstone() {
    let (_stripe, api) = started().await;
    let customer = api.create_customer("email=gone%40example.com").await;
    let id = customer["id"].as_str().unwrap();
    let sub = api.create_subscription(id, "").await;

    let deleted = api.delete(&format!("/v1/customers/{id}")).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body, json!({"id": id, "object": "customer", "deleted": true}));

    let fetched = api.get(&format!("/v1/customers/{id}")).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, json!({"id": id, "object": "customer", "deleted": true}));

    let sub_now = api.get(&format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap())).await.body;
    assert_eq!(sub_now["status"], "canceled");

    assert_eq!(api.delete(&format!("/v1/customers/{id}")).await.status, 404);
    assert_eq!(api.post(&format!("/v1/customers/{id}"), "name=x").await.status, 404);
    let list = api.get("/v1/customers").await.body;
    assert_eq!(list["data"], json!([]));

    let state = api.state().await;
    assert_eq!(state["customers"][0]["deleted"], true);
    assert_eq!(state["customers"][0]["email"], "gone@example.com");
    let types = api.event_types().await;
    let tail: Vec<&str> = types.iter().rev().take(2).rev().map(String::as_str).collect();
    assert_eq!(tail, ["customer.subscription.deleted", "customer.deleted"]);
}

async fn ids(api: &Api, path: &str) -> (Vec<String>, bool) {
    let list = api.get(path).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["object"], "list");
    assert_eq!(list.body["url"], "/v1/customers");
    let ids = list.body["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    (ids, list.body["has_more"].as_bool().unwrap())
}

#[tokio::test]
async fn list_filters_by_email_newest_first_and_paginates() {
    let (_stripe, api) = started().await;
    let mut created = Vec::new();
    for n in 0..5 {
        let c = api.create_customer(&format!("email=user{}%40example.com", n % 2)).await;
        created.push(c["id"].as_str().unwrap().to_string());
    }
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let (by_email, _) = ids(&api, "/v1/customers?email=user1%40example.com").await;
    assert_eq!(by_email, vec![created[3].clone(), created[1].clone()]);

    let (page1, more1) = ids(&api, "/v1/customers?limit=2").await;
    assert_eq!((page1.clone(), more1), (newest_first[..2].to_vec(), true));
    let (page2, more2) = ids(&api, &format!("/v1/customers?limit=2&starting_after={}", page1[1])).await;
    assert_eq!((page2.clone(), more2), (newest_first[2..4].to_vec(), true));
    let (page3, more3) = ids(&api, &format!("/v1/customers?limit=2&starting_after={}", page2[1])).await;
    assert_eq!((page3, more3), (newest_first[4..].to_vec(), false));

    let (all, more) = ids(&api, "/v1/customers").await;
    assert_eq!((all, more), (newest_first, false));

    assert_eq!(api.get("/v1/customers?limit=101").await.status, 400);
    assert_eq!(api.get("/v1/customers?limit=0").await.status, 400);
}
