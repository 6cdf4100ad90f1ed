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

fn ids(found: &[Value]) -> Vec<&str> {
    let mut ids: Vec<&str> = found.iter().map(|c| c["id"].as_str().unwrap()).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<&str>) -> Vec<&str> {
    ids.sort();
    ids
}

#[tokio::test]
async fn or_and_whitespace_join_clauses() {
    let (_stripe, api) = started().await;
    let ann = api.create_customer("email=ann%40example.com&name=Ann&metadata[team]=a").await;
    let bob = api.create_customer("email=bob%40example.com&name=Bob&metadata[team]=b").await;
    api.create_customer("email=cat%40example.com&name=Cat&metadata[team]=a").await;
    let (ann, bob) = (ann["id"].as_str().unwrap(), bob["id"].as_str().unwrap());

    let either = search(&api, "email:'ann@example.com' OR email:'bob@example.com'").await;
    assert_eq!(ids(&either), sorted(vec![ann, bob]));
    let lower = search(&api, "metadata['team']:'b' or name:'Ann'").await;
    assert_eq!(ids(&lower), sorted(vec![ann, bob]));
    let implicit = search(&api, "metadata['team']:'a' name:'Ann'").await;
    assert_eq!(ids(&implicit), vec![ann]);
    let negated = search(&api, "metadata['team']:'a' -name:'Ann'").await;
    assert_eq!(negated.len(), 1);
    assert_eq!(negated[0]["name"], "Cat");
}

#[tokio::test]
async fn queries_stripe_cannot_parse_are_400s() {
    let (_stripe, api) = started().await;
    api.create_customer("email=ann%40example.com&metadata[team]=a").await;
    let refused = |query: &'static str| {
        let api = &api;
        async move {
            let answer = api.get(&format!("/v1/customers/search?query={}", urlencode(query))).await;
            assert_eq!(answer.status, 400, "{query}: {}", answer.body);
            assert_eq!(answer.body["error"]["type"], "invalid_request_error");
            assert_eq!(answer.body["error"]["param"], "query");
            answer.body["error"]["message"].as_str().unwrap().to_string()
        }
    };
    for mixed in ["email:'ann@example.com' AND metadata['team']:'a' OR name:'x'", "name:'x' name:'y' OR name:'z'"] {
        let message = refused(mixed).await;
        assert!(message.contains("You cannot combine AND and OR"), "{message}");
    }
    for bad in [
        "email:'ann@example.com' OR",
        "OR email:'ann@example.com'",
        "email:ann@example.com",
        "email~'ann'",
        "metadata[team]:'a'",
        "status:'active'",
        "email:'a'email:'b'",
    ] {
        refused(bad).await;
    }
}

async fn search_subscriptions(api: &Api, query: &str) -> Vec<Value> {
    let answer = api.get(&format!("/v1/subscriptions/search?query={}", urlencode(query))).await;
    assert_eq!(answer.status, 200, "{query}: {}", answer.body);
    assert_eq!(answer.body["object"], "search_result");
    assert_eq!(answer.body["url"], "/v1/subscriptions/search");
    answer.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn subscriptions_are_searched_by_status_and_metadata() {
    let (_stripe, api) = started().await;
    let customer = api.create_customer("email=subs%40example.com").await;
    let cid = customer["id"].as_str().unwrap();
    let one = api.create_subscription(cid, "&metadata[identity_id]=id-1").await;
    let two = api.create_subscription(cid, "&metadata[identity_id]=id-2").await;
    let trial = api.create_subscription(cid, "&metadata[identity_id]=id-3&trial_period_days=7").await;
    let (one, two, trial) = (one["id"].as_str().unwrap(), two["id"].as_str().unwrap(), trial["id"].as_str().unwrap());
    assert_eq!(api.delete(&format!("/v1/subscriptions/{two}")).await.status, 200);

    assert_eq!(ids(&search_subscriptions(&api, "status:'active'").await), vec![one]);
    assert_eq!(ids(&search_subscriptions(&api, "status:'canceled'").await), vec![two]);
    let by_metadata = search_subscriptions(&api, "metadata['identity_id']:'id-2'").await;
    assert_eq!(ids(&by_metadata), vec![two]);
    assert_eq!(by_metadata[0]["status"], "canceled", "matches are answered as they are now");
    let either = search_subscriptions(&api, "status:'trialing' OR metadata['identity_id']:'id-1'").await;
    assert_eq!(ids(&either), sorted(vec![one, trial]));
    let both = search_subscriptions(&api, "status:'active' AND metadata['identity_id']:'id-2'").await;
    assert!(both.is_empty());
    assert_eq!(ids(&search_subscriptions(&api, "-status:'canceled' -status:'trialing'").await), vec![one]);

    // Newest first, paged like customer search; expand works on the results.
    let page = api
        .get("/v1/subscriptions/search?query=metadata%5B%27identity_id%27%5D%3A%27id-1%27&expand[]=data.customer")
        .await;
    assert_eq!(page.body["data"][0]["customer"]["id"], cid);
    let first = api.get("/v1/subscriptions/search?query=-status%3A%27x%27&limit=2").await.body;
    assert_eq!(ids(first["data"].as_array().unwrap()), sorted(vec![trial, two]));
    assert_eq!(first["has_more"], true);
    let next = first["next_page"].as_str().unwrap();
    let second = api.get(&format!("/v1/subscriptions/search?query=-status%3A%27x%27&limit=2&page={next}")).await.body;
    assert_eq!(ids(second["data"].as_array().unwrap()), vec![one]);
    assert_eq!(second["has_more"], false);
}

#[tokio::test]
async fn subscription_search_is_a_route_not_a_subscription_named_search() {
    let (_stripe, api) = started().await;
    let missing = api.get("/v1/subscriptions/search").await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert_eq!(missing.body["error"]["code"], "parameter_missing");
    assert_eq!(missing.body["error"]["param"], "query");

    let wrong_field = api.get(&format!("/v1/subscriptions/search?query={}", urlencode("email:'a@b.c'"))).await;
    assert_eq!(wrong_field.status, 400);
    assert_eq!(wrong_field.body["error"]["param"], "query");
    let mixed = api
        .get(&format!(
            "/v1/subscriptions/search?query={}",
            urlencode("status:'active' OR status:'past_due' AND status:'x'")
        ))
        .await;
    assert_eq!(mixed.status, 400);
    assert!(mixed.body["error"]["message"].as_str().unwrap().contains("You cannot combine AND and OR"));
    let unknown = api.get("/v1/subscriptions/search?query=status%3A%27active%27&customer=cus_1").await;
    assert_eq!(unknown.body["error"]["code"], "parameter_unknown");

    let counts = api.http.get(format!("{}/_emulator/requests", api.base)).send().await.unwrap();
    let counts: Value = counts.json().await.unwrap();
    assert_eq!(counts["by_route"]["GET /v1/subscriptions/search"], 4, "{counts}");
    assert!(counts["by_route"].get("GET /v1/subscriptions/{id}").is_none(), "{counts}");
}

#[tokio::test]
async fn subscription_search_lags_behind_writes() {
    let lag = Duration::from_millis(800);
    let (_stripe, api) = started_with(StripeOptions { search_lag: lag, ..Default::default() }).await;
    let customer = api.create_customer("").await;
    let sub = api.create_subscription(customer["id"].as_str().unwrap(), "&metadata[identity_id]=late").await;
    let id = sub["id"].as_str().unwrap();
    assert!(search_subscriptions(&api, "metadata['identity_id']:'late'").await.is_empty());
    tokio::time::sleep(lag + Duration::from_millis(100)).await;
    assert_eq!(ids(&search_subscriptions(&api, "status:'active'").await), vec![id]);

    // A cancellation is searched in the previous state until the lag has passed.
    api.delete(&format!("/v1/subscriptions/{id}")).await;
    let stale = search_subscriptions(&api, "status:'active'").await;
    assert_eq!(ids(&stale), vec![id]);
    assert_eq!(stale[0]["status"], "canceled");
    tokio::time::sleep(lag + Duration::from_millis(100)).await;
    assert!(search_subscriptions(&api, "status:'active'").await.is_empty());
    assert_eq!(ids(&search_subscriptions(&api, "status:'canceled'").await), vec![id]);
}
