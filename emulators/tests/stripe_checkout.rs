//! Checkout Sessions and the Billing Portal: creation, validation, the hosted
//! pages, completing a session as a paying customer, and expiring one.

mod stripe_support;

use std::time::{SystemTime, UNIX_EPOCH};

use ksb_emulators::stripe::StripeOptions;
use serde_json::{json, Value};
use stripe_support::{started, started_with, Api, Receiver};

/// An open session for a new customer; answers its JSON.
async fn open_session(api: &Api, extra: &str) -> Value {
    let form = format!(
        "mode=subscription&customer_email=x%40example.com&line_items[0][price]=price_pro_monthly\
         &success_url=http%3A%2F%2Fapp%2Fok{extra}"
    );
    let created = api.post("/v1/checkout/sessions", &form).await;
    assert_eq!(created.status, 200, "{}", created.body);
    created.body
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn a_session_for_a_new_customer_completes_into_customer_and_subscription() {
    let (stripe, api) = started().await;
    let created = api
        .post(
            "/v1/checkout/sessions",
            "mode=subscription&customer_email=pay%40example.com&client_reference_id=identity-1\
             &line_items[0][price]=price_pro_monthly&line_items[0][quantity]=1\
             &success_url=http%3A%2F%2Fapp%2Fok%3Fs%3D%7BCHECKOUT_SESSION_ID%7D&cancel_url=http%3A%2F%2Fapp%2Fpricing\
             &metadata[identity_id]=identity-1&subscription_data[metadata][identity_id]=identity-1",
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let session = created.body;
    let id = session["id"].as_str().unwrap();
    assert!(id.starts_with("cs_test_"), "{id}");
    assert_eq!(session["object"], "checkout.session");
    assert_eq!(session["status"], "open");
    assert_eq!(session["payment_status"], "unpaid");
    assert_eq!(session["mode"], "subscription");
    assert_eq!(session["customer"], Value::Null);
    assert_eq!(session["customer_email"], "pay@example.com");
    assert_eq!(session["client_reference_id"], "identity-1");
    assert_eq!(session["url"], format!("{}/checkout/{id}", stripe.url()));
    assert_eq!(api.get(&format!("/v1/checkout/sessions/{id}")).await.body, session);

    let page = reqwest::get(session["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("price_pro_monthly"));

    let done = api.control(&format!("/_emulator/checkout/sessions/{id}/complete"), json!({})).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let (session, sub) = (&done.body["session"], &done.body["subscription"]);
    assert_eq!(session["status"], "complete");
    assert_eq!(session["payment_status"], "paid");
    assert_eq!(session["subscription"], sub["id"]);
    let customer_id = session["customer"].as_str().unwrap();
    assert_eq!(sub["customer"], customer_id);
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["metadata"], json!({"identity_id": "identity-1"}));
    assert_eq!(sub["items"]["data"][0]["price"]["lookup_key"], "pro_monthly");

    let customer = api.get(&format!("/v1/customers/{customer_id}")).await.body;
    assert_eq!(customer["email"], "pay@example.com");
    assert_eq!(
        api.event_types().await,
        vec!["customer.created", "customer.subscription.created", "invoice.paid", "checkout.session.completed"]
    );
    let state = api.state().await;
    let completed = &state["events"][3]["data"]["object"];
    assert_eq!(completed["client_reference_id"], "identity-1");
    assert_eq!(completed["customer"], customer_id);
    let invoice = &state["events"][2]["data"]["object"];
    assert_eq!(invoice["customer"], customer_id);
    assert!(invoice.get("subscription").is_none(), "basil has no top-level invoice.subscription");
    assert_eq!(invoice["parent"]["subscription_details"]["subscription"], sub["id"]);
    assert_eq!(invoice["parent"]["subscription_details"]["metadata"], json!({"identity_id": "identity-1"}));
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["amount_paid"], 1500);

    let again = api.control(&format!("/_emulator/checkout/sessions/{id}/complete"), json!({})).await;
    assert_eq!(again.status, 400, "a session completes once");
}

#[tokio::test]
async fn a_session_for_an_existing_customer_with_a_trial() {
    let (_stripe, api) = started().await;
    let customer = api.create_customer("email=t%40example.com").await;
    let cid = customer["id"].as_str().unwrap();
    let form = format!(
        "mode=subscription&customer={cid}&line_items[0][price]=price_enterprise_monthly\
         &subscription_data[trial_period_days]=14"
    );
    let session = api.post("/v1/checkout/sessions", &form).await.body;
    let id = session["id"].as_str().unwrap();
    let done = api.control(&format!("/_emulator/checkout/sessions/{id}/complete"), json!({})).await.body;
    let sub = &done["subscription"];
    assert_eq!(sub["customer"], cid);
    assert_eq!(sub["status"], "trialing");
    let trial_start = sub["trial_start"].as_i64().unwrap();
    assert_eq!(sub["trial_end"].as_i64().unwrap() - trial_start, 14 * 86_400);
    assert_eq!(sub["items"]["data"][0]["current_period_end"], sub["trial_end"]);
    let types = api.event_types().await;
    assert_eq!(
        types,
        vec!["customer.created", "customer.subscription.created", "invoice.paid", "checkout.session.completed"]
    );
    assert_eq!(api.state().await["customers"].as_array().unwrap().len(), 1, "no second customer");
}

#[tokio::test]
async fn paying_on_the_hosted_page_redirects_to_the_success_url() {
    let (_stripe, api) = started().await;
    let session = api
        .post(
            "/v1/checkout/sessions",
            "mode=subscription&customer_email=h%40example.com&line_items[0][price]=price_pro_yearly\
             &success_url=http%3A%2F%2Fapp%2Fok%3Fs%3D%7BCHECKOUT_SESSION_ID%7D",
        )
        .await
        .body;
    let id = session["id"].as_str().unwrap();
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let paid = no_redirects.post(format!("{}/pay", session["url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(paid.status(), 303);
    assert_eq!(paid.headers()["location"], format!("http://app/ok?s={id}").as_str());
    let after = api.get(&format!("/v1/checkout/sessions/{id}")).await.body;
    assert_eq!(after["status"], "complete");
    assert_eq!(after["url"], Value::Null);
}

#[tokio::test]
async fn invalid_sessions_are_refused_like_stripe() {
    let (_stripe, api) = started().await;
    let no_mode = api.post("/v1/checkout/sessions", "line_items[0][price]=price_pro_monthly").await;
    assert_eq!((no_mode.status, &no_mode.body["error"]["code"]), (400, &json!("parameter_missing")));
    assert_eq!(no_mode.body["error"]["param"], "mode");

    let bad_price = api.post("/v1/checkout/sessions", "mode=subscription&line_items[0][price]=price_nope").await;
    assert_eq!(bad_price.status, 400);
    assert_eq!(bad_price.body["error"]["code"], "resource_missing");
    assert_eq!(bad_price.body["error"]["message"], "No such price: 'price_nope'");
    assert_eq!(bad_price.body["error"]["param"], "line_items[0][price]");

    let bad_customer = api
        .post("/v1/checkout/sessions", "mode=subscription&customer=cus_nope&line_items[0][price]=price_pro_monthly")
        .await;
    assert_eq!(bad_customer.status, 400);
    assert_eq!(bad_customer.body["error"]["param"], "customer");

    let no_items = api.post("/v1/checkout/sessions", "mode=subscription").await;
    assert_eq!(no_items.body["error"]["param"], "line_items");
    assert_eq!(api.state().await["checkout_sessions"], json!([]));
}

#[tokio::test]
async fn billing_portal_sessions_point_at_the_emulator() {
    let (stripe, api) = started().await;
    let customer = api.create_customer("email=p%40example.com").await;
    let cid = customer["id"].as_str().unwrap();
    api.create_subscription(cid, "").await;
    let portal = api
        .post("/v1/billing_portal/sessions", &format!("customer={cid}&return_url=http%3A%2F%2Fapp%2Fsettings"))
        .await;
    assert_eq!(portal.status, 200, "{}", portal.body);
    let id = portal.body["id"].as_str().unwrap();
    assert!(id.starts_with("bps_"));
    assert_eq!(portal.body["object"], "billing_portal.session");
    assert_eq!(portal.body["customer"], cid);
    assert_eq!(portal.body["return_url"], "http://app/settings");
    assert_eq!(portal.body["url"], format!("{}/portal/{id}", stripe.url()));
    let page = reqwest::get(portal.body["url"].as_str().unwrap()).await.unwrap().text().await.unwrap();
    assert!(page.contains("Cancel at period end"));

    let missing = api.post("/v1/billing_portal/sessions", "return_url=http%3A%2F%2Fapp").await;
    assert_eq!(missing.body["error"]["code"], "parameter_missing");
    let unknown = api.post("/v1/billing_portal/sessions", "customer=cus_nope").await;
    assert_eq!(unknown.body["error"]["code"], "resource_missing");
}

#[tokio::test]
async fn expiring_an_open_session_nulls_its_url_and_sends_checkout_session_expired() {
    let receiver = Receiver::start().await;
    let options = StripeOptions { webhook_url: Some(receiver.url()), ..Default::default() };
    let (_stripe, api) = started_with(options).await;
    let session = open_session(&api, "").await;
    let id = session["id"].as_str().unwrap();
    let url = session["url"].as_str().unwrap().to_string();

    let expired = api.post(&format!("/v1/checkout/sessions/{id}/expire"), "").await;
    assert_eq!(expired.status, 200, "{}", expired.body);
    assert_eq!(expired.body["id"], id);
    assert_eq!(expired.body["status"], "expired");
    assert_eq!(expired.body["payment_status"], "unpaid");
    assert_eq!(expired.body["url"], Value::Null);
    assert_eq!(expired.body["expires_at"], session["expires_at"]);
    assert_eq!(api.get(&format!("/v1/checkout/sessions/{id}")).await.body, expired.body);

    let received = receiver.wait_for(1).await;
    let event = received[0].event();
    assert_eq!(event["type"], "checkout.session.expired");
    assert_eq!(event["data"]["object"], expired.body);
    assert_eq!(event["request"]["id"], expired.headers["request-id"].to_str().unwrap());
    assert_eq!(api.event_types().await, vec!["checkout.session.expired"]);
    let listed = api.get("/v1/events?type=checkout.session.expired").await.body;
    assert_eq!(listed["data"][0]["id"], event["id"]);

    let again = api.post(&format!("/v1/checkout/sessions/{id}/expire"), "").await;
    assert_eq!(again.status, 400);
    assert_eq!(again.body["error"]["type"], "invalid_request_error");
    assert_eq!(
        again.body["error"]["message"],
        "Only Checkout Sessions with a status in [\"open\"] can be expired. \
         This Checkout Session has a status of `expired`."
    );
    assert_eq!(again.body["error"].get("param"), None);
    assert_eq!(again.body["error"].get("code"), None);

    let complete = api.control(&format!("/_emulator/checkout/sessions/{id}/complete"), json!({})).await;
    assert_eq!(complete.status, 400, "an expired session cannot be paid: {}", complete.body);
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("expired") && !page.contains("id=\"pay\""), "{page}");
    let paid = reqwest::Client::new().post(format!("{url}/pay")).send().await.unwrap();
    assert_eq!(paid.status(), 400);
    let state = api.state().await;
    assert_eq!((state["customers"].clone(), state["subscriptions"].clone()), (json!([]), json!([])));
    assert_eq!(state["checkout_sessions"][0]["status"], "expired");
    assert_eq!(api.event_types().await.len(), 1, "refused completions emit nothing");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn only_open_sessions_expire() {
    let (_stripe, api) = started().await;
    let session = open_session(&api, "").await;
    let id = session["id"].as_str().unwrap();
    api.control(&format!("/_emulator/checkout/sessions/{id}/complete"), json!({})).await;
    let refused = api.post(&format!("/v1/checkout/sessions/{id}/expire"), "").await;
    assert_eq!(refused.status, 400);
    assert!(refused.body["error"]["message"].as_str().unwrap().ends_with("has a status of `complete`."));
    let after = api.get(&format!("/v1/checkout/sessions/{id}")).await.body;
    assert_eq!((&after["status"], &after["url"]), (&json!("complete"), &Value::Null));

    let missing = api.post("/v1/checkout/sessions/cs_test_nope/expire", "").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "resource_missing");
    assert_eq!(missing.body["error"]["message"], "No such checkout.session: 'cs_test_nope'");
}

#[tokio::test]
async fn expire_goes_through_the_api_pipeline() {
    let (_stripe, api) = started().await;
    let session = open_session(&api, "").await;
    let path = format!("/v1/checkout/sessions/{}/expire", session["id"].as_str().unwrap());

    let anonymous = reqwest::Client::new().post(format!("{}{path}", api.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let unknown = api.post(&path, "after_expiration=1").await;
    assert_eq!((unknown.status, &unknown.body["error"]["code"]), (400, &json!("parameter_unknown")));

    api.control("/_emulator/faults", json!({"count": 1, "kind": "500", "path_prefix": "/v1/checkout"})).await;
    let failed = api.post_idem(&path, "", "expire-1").await;
    assert_eq!(failed.status, 500);
    assert_eq!(api.get(&path.replace("/expire", "")).await.body["status"], "open", "a fault changes nothing");

    let first = api.post_idem(&path, "", "expire-1").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let replay = api.post_idem(&path, "", "expire-1").await;
    assert_eq!((replay.status, &replay.body), (200, &first.body));
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(api.event_types().await, vec!["checkout.session.expired"], "a replay emits nothing");
    let other_key = api.post_idem(&path, "", "expire-2").await;
    assert_eq!(other_key.status, 400);
}

#[tokio::test]
async fn the_expire_control_plays_the_passage_of_time() {
    let (_stripe, api) = started().await;
    let session = open_session(&api, "").await;
    let id = session["id"].as_str().unwrap();
    let expired = api.control(&format!("/_emulator/checkout/sessions/{id}/expire"), json!({})).await;
    assert_eq!(expired.status, 200, "{}", expired.body);
    assert_eq!((&expired.body["status"], &expired.body["url"]), (&json!("expired"), &Value::Null));
    let event = &api.state().await["events"][0];
    assert_eq!(event["type"], "checkout.session.expired");
    assert_eq!(event["request"]["id"], Value::Null, "automatic expiry has no request");
    let again = api.control(&format!("/_emulator/checkout/sessions/{id}/expire"), json!({})).await;
    assert_eq!(again.status, 400);
}

#[tokio::test]
async fn expires_at_must_be_30_minutes_to_24_hours_ahead() {
    let (_stripe, api) = started().await;
    let now = unix_now();
    let default = open_session(&api, "").await;
    let lifetime = default["expires_at"].as_i64().unwrap() - default["created"].as_i64().unwrap();
    assert_eq!(lifetime, 24 * 3600, "24 hours by default");

    let at = now + 3600;
    let in_range = open_session(&api, &format!("&expires_at={at}")).await;
    assert_eq!(in_range["expires_at"], at);
    let id = in_range["id"].as_str().unwrap();
    assert_eq!(api.get(&format!("/v1/checkout/sessions/{id}")).await.body["expires_at"], at);

    for (at, words) in
        [(now + 60, "at least 30 minutes"), (now + 25 * 3600, "less than 24 hours"), (now - 10, "at least")]
    {
        let form = format!("mode=subscription&line_items[0][price]=price_pro_monthly&expires_at={at}");
        let refused = api.post("/v1/checkout/sessions", &form).await;
        assert_eq!(refused.status, 400, "{at}: {}", refused.body);
        assert_eq!(refused.body["error"]["type"], "invalid_request_error");
        assert_eq!(refused.body["error"]["param"], "expires_at");
        assert_eq!(refused.body["error"]["code"], "parameter_invalid_integer");
        assert!(refused.body["error"]["message"].as_str().unwrap().contains(words), "{}", refused.body);
    }
    let not_a_number = api
        .post("/v1/checkout/sessions", "mode=subscription&line_items[0][price]=price_pro_monthly&expires_at=soon")
        .await;
    assert_eq!((not_a_number.status, &not_a_number.body["error"]["param"]), (400, &json!("expires_at")));
    assert_eq!(api.state().await["checkout_sessions"].as_array().unwrap().len(), 2, "refused sessions are not created");
}

/// `GET /v1/checkout/sessions`: newest first, by customer and status, as
/// Stripe lists them.
#[tokio::test]
async fn sessions_are_listed_by_customer_and_status() {
    let (_stripe, api) = started().await;
    let cus = api.create_customer("email=lister%40example.com").await["id"].as_str().unwrap().to_string();
    let form = |price: &str| {
        format!("mode=subscription&customer={cus}&line_items[0][price]={price}&success_url=http%3A%2F%2Fapp%2Fok")
    };
    let a = api.post("/v1/checkout/sessions", &form("price_pro_monthly")).await.body;
    let b = api.post("/v1/checkout/sessions", &form("price_pro_yearly")).await.body;
    open_session(&api, "").await;
    api.post(&format!("/v1/checkout/sessions/{}/expire", a["id"].as_str().unwrap()), "").await;

    let all = api.get(&format!("/v1/checkout/sessions?customer={cus}")).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["object"], "list");
    let ids: Vec<&str> = all.body["data"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [b["id"].as_str().unwrap(), a["id"].as_str().unwrap()], "the customer's, newest first");
    let open = api.get(&format!("/v1/checkout/sessions?customer={cus}&status=open")).await;
    let open: Vec<&Value> = open.body["data"].as_array().unwrap().iter().collect();
    assert_eq!((open.len(), open[0]["id"].as_str()), (1, b["id"].as_str()));
    let bad = api.get("/v1/checkout/sessions?status=paid").await;
    assert_eq!((bad.status, bad.body["error"]["param"].as_str()), (400, Some("status")));
    let unknown = api.get("/v1/checkout/sessions?colour=red").await;
    assert_eq!(unknown.status, 400, "unknown parameters are refused");
}
