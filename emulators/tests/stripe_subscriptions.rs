//! Subscriptions: the basil shape, listing with status filters, cancellation
//! now and at period end, and the lifecycle controls (status, end_period).

mod stripe_support;

use serde_json::{json, Value};
use stripe_support::{started, Api};

async fn customer(api: &Api) -> String {
    api.create_customer("email=s%40example.com").await["id"].as_str().unwrap().to_string()
}

fn sub_id(sub: &Value) -> String {
    sub["id"].as_str().unwrap().to_string()
}

async fn last_event(api: &Api) -> Value {
    api.get("/v1/events?limit=1").await.body["data"][0].clone()
}

#[tokio::test]
async fn a_subscription_has_the_basil_shape_with_full_prices() {
    let (_stripe, api) = started().await;
    let cid = customer(&api).await;
    let sub = api.create_subscription(&cid, "&metadata[identity_id]=i1").await;
    assert!(sub["id"].as_str().unwrap().starts_with("sub_"));
    assert_eq!(sub["object"], "subscription");
    assert_eq!(sub["customer"], cid.as_str());
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["cancel_at_period_end"], false);
    assert_eq!(sub["metadata"], json!({"identity_id": "i1"}));
    assert!(sub.get("current_period_end").is_none(), "basil moved the period to the items");
    assert_eq!(sub["items"]["object"], "list");
    let item = &sub["items"]["data"][0];
    assert!(item["id"].as_str().unwrap().starts_with("si_"));
    assert_eq!(item["price"]["id"], "price_pro_monthly");
    assert_eq!(item["price"]["lookup_key"], "pro_monthly");
    assert_eq!(item["price"]["recurring"]["interval"], "month");
    assert_eq!(item["price"]["unit_amount"], 1500);
    let (start, end) = (item["current_period_start"].as_i64().unwrap(), item["current_period_end"].as_i64().unwrap());
    assert!((28 * 86_400..=31 * 86_400).contains(&(end - start)), "one calendar month");
    let invoice = sub["latest_invoice"].as_str().unwrap();
    assert!(invoice.starts_with("in_"));
    assert_eq!(api.get(&format!("/v1/invoices/{invoice}")).await.body["status"], "paid");

    let price = api.get("/v1/prices/price_pro_yearly").await.body;
    assert_eq!(price["recurring"]["interval"], "year");
    let by_key = api.get("/v1/prices?lookup_keys[]=enterprise_monthly&lookup_keys[]=pro_yearly").await.body;
    let mut keys: Vec<&str> =
        by_key["data"].as_array().unwrap().iter().map(|p| p["lookup_key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["enterprise_monthly", "pro_yearly"]);

    let bad = api.post("/v1/subscriptions", &format!("customer={cid}&items[0][price]=price_nope")).await;
    assert_eq!((bad.status, &bad.body["error"]["param"]), (400, &json!("items[0][price]")));
    let none = api.post("/v1/subscriptions", &format!("customer={cid}")).await;
    assert_eq!(none.body["error"]["code"], "parameter_missing");
}

#[tokio::test]
async fn lists_hide_canceled_subscriptions_unless_asked() {
    let (_stripe, api) = started().await;
    let cid = customer(&api).await;
    let other = customer(&api).await;
    let old = api.create_subscription(&cid, "").await;
    let current = api.create_subscription(&cid, "").await;
    api.create_subscription(&other, "").await;
    assert_eq!(api.delete(&format!("/v1/subscriptions/{}", sub_id(&old))).await.status, 200);

    let ids = |v: Value| -> Vec<String> { v["data"].as_array().unwrap().iter().map(sub_id).collect() };
    let default = api.get(&format!("/v1/subscriptions?customer={cid}&expand[]=data.items.data.price")).await;
    assert_eq!(default.status, 200, "{}", default.body);
    assert_eq!(ids(default.body), vec![sub_id(&current)]);
    let all = api.get(&format!("/v1/subscriptions?customer={cid}&status=all")).await.body;
    assert_eq!(ids(all), vec![sub_id(&current), sub_id(&old)]);
    let canceled = api.get(&format!("/v1/subscriptions?customer={cid}&status=canceled")).await.body;
    assert_eq!(ids(canceled), vec![sub_id(&old)]);
    assert_eq!(api.get("/v1/subscriptions?status=bogus").await.status, 400);

    let expanded = api.get(&format!("/v1/subscriptions?customer={cid}&expand[]=data.customer")).await.body;
    assert_eq!(expanded["data"][0]["customer"]["id"], cid.as_str());
}

#[tokio::test]
async fn cancel_now_and_cancel_twice() {
    let (_stripe, api) = started().await;
    let cid = customer(&api).await;
    let sub = api.create_subscription(&cid, "").await;
    let path = format!("/v1/subscriptions/{}", sub_id(&sub));
    let canceled = api.delete(&path).await;
    assert_eq!(canceled.status, 200);
    assert_eq!(canceled.body["status"], "canceled");
    assert!(canceled.body["canceled_at"].is_i64());
    assert!(canceled.body["ended_at"].is_i64());
    let event = last_event(&api).await;
    assert_eq!(event["type"], "customer.subscription.deleted");
    assert_eq!(event["data"]["object"]["status"], "canceled");

    let again = api.delete(&path).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.body["error"]["code"], "resource_missing");
    let update = api.post(&path, "cancel_at_period_end=true").await;
    assert_eq!(update.status, 400);
    assert_eq!(api.get(&path).await.body["status"], "canceled", "canceled ones stay retrievable");
}

#[tokio::test]
async fn cancel_at_period_end_then_the_period_ends() {
    let (_stripe, api) = started().await;
    let cid = customer(&api).await;
    let sub = api.create_subscription(&cid, "").await;
    let id = sub_id(&sub);
    let period_end = sub["items"]["data"][0]["current_period_end"].as_i64().unwrap();

    let scheduled = api.post(&format!("/v1/subscriptions/{id}"), "cancel_at_period_end=true").await.body;
    assert_eq!(scheduled["status"], "active");
    assert_eq!(scheduled["cancel_at_period_end"], true);
    assert_eq!(scheduled["cancel_at"], period_end);
    assert!(scheduled["canceled_at"].is_i64());
    let event = last_event(&api).await;
    assert_eq!(event["type"], "customer.subscription.updated");
    assert_eq!(event["data"]["previous_attributes"]["cancel_at_period_end"], false);
    assert_eq!(event["data"]["previous_attributes"]["cancel_at"], Value::Null);

    let ended = api.control(&format!("/_emulator/subscriptions/{id}/end_period"), json!({})).await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert_eq!(ended.body["status"], "canceled");
    let ended_at = ended.body["ended_at"].as_i64().unwrap();
    assert_eq!(ended.body["items"]["data"][0]["current_period_end"], ended_at);
    assert_eq!(last_event(&api).await["type"], "customer.subscription.deleted");

    let resumed = api.post(&format!("/v1/subscriptions/{id}"), "metadata[note]=kept").await;
    assert_eq!(resumed.status, 200, "metadata stays editable");
}

#[tokio::test]
async fn undoing_a_scheduled_cancel_and_renewing() {
    let (_stripe, api) = started().await;
    let cid = customer(&api).await;
    let id = sub_id(&api.create_subscription(&cid, "&cancel_at_period_end=true").await);
    let undone = api.post(&format!("/v1/subscriptions/{id}"), "cancel_at_period_end=false").await.body;
    assert_eq!(undone["cancel_at"], Value::Null);
    assert_eq!(undone["canceled_at"], Value::Null);

    let before = undone["items"]["data"][0]["current_period_end"].as_i64().unwrap();
    let renewed = api.control(&format!("/_emulator/subscriptions/{id}/end_period"), json!({})).await.body;
    assert_eq!(renewed["status"], "active");
    assert!(renewed["items"]["data"][0]["current_period_end"].as_i64().unwrap() > before - 86_400 * 3);
    assert_ne!(renewed["latest_invoice"], undone["latest_invoice"]);
    let types = api.event_types().await;
    assert_eq!(&types[types.len() - 2..], ["invoice.paid", "customer.subscription.updated"]);
}

#[tokio::test]
async fn a_trial_converts_to_active_when_its_period_ends() {
    let (_stripe, api) = started().await;
    let cid = customer(&api).await;
    let sub = api.create_subscription(&cid, "&trial_period_days=2").await;
    assert_eq!(sub["status"], "trialing");
    assert!(api.event_types().await.contains(&"customer.subscription.trial_will_end".to_string()));
    let active = api.control(&format!("/_emulator/subscriptions/{}/end_period", sub_id(&sub)), json!({})).await.body;
    assert_eq!(active["status"], "active");
    let event = last_event(&api).await;
    assert_eq!(event["type"], "customer.subscription.updated");
    assert_eq!(event["data"]["previous_attributes"]["status"], "trialing");
}

#[tokio::test]
async fn a_trial_can_end_at_a_given_time_and_only_in_the_future() {
    let (_stripe, api) = started().await;
    let cid = customer(&api).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let sub = api.create_subscription(&cid, &format!("&trial_end={}", now + 90)).await;
    assert_eq!((sub["status"].as_str(), sub["trial_end"].as_i64()), (Some("trialing"), Some(now + 90)));
    assert_eq!(sub["items"]["data"][0]["current_period_end"].as_i64(), Some(now + 90));

    let form = format!("customer={cid}&items[0][price]=price_pro_monthly&trial_end={}", now - 1);
    let past = api.post("/v1/subscriptions", &form).await;
    assert_eq!((past.status, past.body["error"]["param"].as_str()), (400, Some("trial_end")), "{}", past.body);
    let both = api.post("/v1/subscriptions", &format!("{form}0&trial_period_days=3")).await;
    assert_eq!(both.status, 400, "{}", both.body);
}

#[tokio::test]
async fn status_changes_emit_payment_events() {
    let (_stripe, api) = started().await;
    let cid = customer(&api).await;
    let id = sub_id(&api.create_subscription(&cid, "").await);
    let set = |status: &'static str| {
        let api = &api;
        let id = id.clone();
        async move { api.control(&format!("/_emulator/subscriptions/{id}/status"), json!({"status": status})).await }
    };

    let past_due = set("past_due").await;
    assert_eq!(past_due.body["status"], "past_due");
    let types = api.event_types().await;
    assert_eq!(&types[types.len() - 2..], ["invoice.payment_failed", "customer.subscription.updated"]);
    let updated = last_event(&api).await;
    assert_eq!(updated["data"]["previous_attributes"]["status"], "active");
    let failed = &api.state().await["invoices"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(failed["status"], "open");
    assert_eq!(failed["parent"]["subscription_details"]["subscription"], id.as_str());

    set("active").await;
    let types = api.event_types().await;
    assert_eq!(&types[types.len() - 2..], ["invoice.paid", "customer.subscription.updated"]);

    set("paused").await;
    assert_eq!(last_event(&api).await["type"], "customer.subscription.paused");
    set("active").await;
    assert_eq!(last_event(&api).await["type"], "customer.subscription.resumed");

    assert_eq!(set("sleeping").await.status, 400);
}

#[tokio::test]
async fn changing_the_price_of_an_item() {
    let (_stripe, api) = started().await;
    let cid = customer(&api).await;
    let sub = api.create_subscription(&cid, "").await;
    let item = sub["items"]["data"][0]["id"].as_str().unwrap();
    let form = format!("items[0][id]={item}&items[0][price]=price_enterprise_monthly");
    let changed = api.post(&format!("/v1/subscriptions/{}", sub_id(&sub)), &form).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["items"]["data"][0]["price"]["lookup_key"], "enterprise_monthly");
    assert_eq!(changed.body["items"]["data"].as_array().unwrap().len(), 1);
    let event = last_event(&api).await;
    assert_eq!(event["data"]["previous_attributes"]["items"]["data"][0]["price"]["lookup_key"], "pro_monthly");
}
