//! `expand[]`: paths Stripe cannot expand are a 400 before anything runs;
//! the paths the emulator supports (and the worker uses) expand as before.

mod stripe_support;

use serde_json::{json, Value};
use stripe_support::{started, Answer, Api};

fn assert_not_expandable(answer: &Answer, param: &str, path: &str) {
    assert_eq!(answer.status, 400, "{}", answer.body);
    let error = &answer.body["error"];
    assert_eq!(error["type"], "invalid_request_error", "{error}");
    assert_eq!(error["param"], param, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("This property cannot be expanded ({path}).")), "{message}");
}

async fn subscribed(api: &Api) -> (String, Value) {
    let customer = api.create_customer("email=exp%40example.com").await;
    let cid = customer["id"].as_str().unwrap().to_string();
    let sub = api.create_subscription(&cid, "&metadata[identity_id]=id-1").await;
    (cid, sub)
}

#[tokio::test]
async fn unknown_paths_are_400s_naming_the_expand_index() {
    let (_stripe, api) = started().await;
    let (cid, sub) = subscribed(&api).await;
    let sid = sub["id"].as_str().unwrap();

    assert_not_expandable(&api.get(&format!("/v1/customers/{cid}?expand[]=nope")).await, "expand[0]", "nope");
    assert_not_expandable(&api.get(&format!("/v1/customers/{cid}?expand[]=metadata")).await, "expand[0]", "metadata");
    let second = api.get(&format!("/v1/subscriptions/{sid}?expand[]=customer&expand[]=plan")).await;
    assert_not_expandable(&second, "expand[1]", "plan");
    let nested = api.get(&format!("/v1/subscriptions/{sid}?expand[]=customer.nope")).await;
    assert_not_expandable(&nested, "expand[0]", "customer.nope");
    // On a list the path starts at `data`.
    let list = api.get(&format!("/v1/subscriptions?customer={cid}&expand[]=items.data.price")).await;
    assert_not_expandable(&list, "expand[0]", "items");
    let events = api.get("/v1/events?expand[]=data.object").await;
    assert_not_expandable(&events, "expand[0]", "data.object");
    let deleted = api.delete(&format!("/v1/customers/{cid}?expand[]=subscriptions")).await;
    assert_not_expandable(&deleted, "expand[0]", "subscriptions");
    assert_eq!(api.get(&format!("/v1/customers/{cid}")).await.body["deleted"], Value::Null, "nothing ran");

    // Stripe can include these; the emulator says it does not model them.
    let unmodelled = api.get(&format!("/v1/customers/{cid}?expand[]=subscriptions")).await;
    assert_not_expandable(&unmodelled, "expand[0]", "subscriptions");
    assert!(unmodelled.body["error"]["message"].as_str().unwrap().contains("does not model"));

    let not_a_list = api.get(&format!("/v1/customers/{cid}?expand=customer")).await;
    assert_eq!(not_a_list.status, 400);
    assert_eq!(not_a_list.body["error"]["param"], "expand");
    assert_eq!(api.get("/v1/nothing_here?expand[]=nope").await.status, 404, "an unknown URL stays a 404");
}

#[tokio::test]
async fn a_refused_expand_runs_nothing_and_saves_no_idempotent_answer() {
    let (_stripe, api) = started().await;
    let refused = api.post_idem("/v1/customers", "email=a%40example.com&expand[]=invoice", "key-1").await;
    assert_not_expandable(&refused, "expand[0]", "invoice");
    assert_eq!(api.state().await["customers"], json!([]));
    assert!(api.event_types().await.is_empty());

    let retried = api.post_idem("/v1/customers", "email=a%40example.com", "key-1").await;
    assert_eq!(retried.status, 200, "the key was not used up: {}", retried.body);
    let checkout = api
        .post("/v1/checkout/sessions", "mode=subscription&line_items[0][price]=price_pro_monthly&expand[]=url")
        .await;
    assert_not_expandable(&checkout, "expand[0]", "url");
    assert_eq!(api.state().await["checkout_sessions"], json!([]));
}

#[tokio::test]
async fn supported_paths_keep_expanding() {
    let (_stripe, api) = started().await;
    let (cid, sub) = subscribed(&api).await;
    let sid = sub["id"].as_str().unwrap();

    // What the worker asks for: a no-op, since items embed their price.
    let page = api.get(&format!("/v1/subscriptions?customer={cid}&status=all&expand[]=data.items.data.price")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["data"][0]["items"]["data"][0]["price"]["lookup_key"], "pro_monthly");
    let deep = api
        .get(&format!("/v1/subscriptions?customer={cid}&expand[]=data.items.data.price.product&expand[]=data.customer"))
        .await
        .body;
    assert_eq!(deep["data"][0]["items"]["data"][0]["price"]["product"]["object"], "product");
    assert_eq!(deep["data"][0]["customer"]["id"], cid.as_str());

    let retrieved = api.get(&format!("/v1/subscriptions/{sid}?expand[]=latest_invoice.customer")).await.body;
    assert_eq!(retrieved["latest_invoice"]["object"], "invoice");
    assert_eq!(retrieved["latest_invoice"]["customer"]["id"], cid.as_str());
    let invoice_id = sub["latest_invoice"].as_str().unwrap();
    let invoice = api
        .get(&format!("/v1/invoices/{invoice_id}?expand[]=parent.subscription_details.subscription&expand[]=customer"))
        .await
        .body;
    assert_eq!(invoice["parent"]["subscription_details"]["subscription"]["id"], sid);
    assert_eq!(invoice["customer"]["object"], "customer");
    let updated = api.post(&format!("/v1/subscriptions/{sid}"), "metadata[x]=1&expand[]=customer").await.body;
    assert_eq!(updated["customer"]["id"], cid.as_str());
    let customer = api.get(&format!("/v1/customers/{cid}?expand[]=invoice_settings.default_payment_method")).await;
    assert_eq!(customer.status, 200, "{}", customer.body);
    assert_eq!(customer.body["invoice_settings"]["default_payment_method"], Value::Null);

    let price = api.get("/v1/prices/price_pro_monthly?expand[]=product").await.body;
    let product =
        api.get(&format!("/v1/products/{}?expand[]=default_price", price["product"]["id"].as_str().unwrap())).await;
    assert_eq!(product.body["default_price"]["id"], "price_pro_monthly");

    let found = api
        .get("/v1/subscriptions/search?query=status%3A%27active%27&expand[]=total_count&expand[]=data.customer")
        .await
        .body;
    assert_eq!(found["total_count"], 1);
    assert_eq!(found["data"][0]["customer"]["id"], cid.as_str());
    let plain = api.get("/v1/customers/search?query=email%3A%27exp%40example.com%27").await.body;
    assert!(plain.get("total_count").is_none(), "only included when expanded");

    let session = api
        .post(
            "/v1/checkout/sessions",
            &format!("mode=subscription&customer={cid}&line_items[0][price]=price_pro_monthly"),
        )
        .await
        .body;
    let id = session["id"].as_str().unwrap();
    api.control(&format!("/_emulator/checkout/sessions/{id}/complete"), json!({})).await;
    let done = api.get(&format!("/v1/checkout/sessions/{id}?expand[]=subscription&expand[]=invoice")).await.body;
    assert_eq!(done["subscription"]["object"], "subscription");
    assert_eq!(done["invoice"]["object"], "invoice");
}
