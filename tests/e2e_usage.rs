//! End to end: metered limits. Plans sell amounts; each identity's counts
//! live in its own Durable Object (`wrangler dev` runs it locally, with its
//! SQLite storage in the stack's persistence directory), consumed all or
//! nothing, replayed under an `Idempotency-Key`, and billed units reach the
//! Stripe emulator's meter events exactly once.

mod common;

use std::time::{Duration, Instant};

use common::basics::status_json;
use common::calls::User;
use common::openapi::assert_documented;
use common::origin::Origin;
use common::stack::*;
use reqwest::Method;
use serde_json::{json, Value};

/// The tests' catalogue: `exports` per billing period, `api_calls` per
/// month and billed, `daily` named by no plan but enterprise.
const METERED_PLANS: &str = r#"{
  "default_plan": "free",
  "meters": {
    "exports":   { "reset": "billing_period" },
    "api_calls": { "reset": "month", "stripe_event_name": "api_calls" },
    "daily":     { "reset": "day" }
  },
  "plans": {
    "free":       { "rank": 0, "features": ["basic_feature"], "limits": { "exports": 5, "api_calls": 3 } },
    "pro":        { "rank": 1, "features": ["basic_feature", "premium_feature"], "prices": ["pro_monthly", "pro_yearly"],
                    "limits": { "exports": 100, "api_calls": "unlimited" } },
    "enterprise": { "rank": 2, "features": ["*"], "prices": ["enterprise_monthly"],
                    "limits": { "exports": "unlimited", "api_calls": "unlimited", "daily": 10 } }
  },
  "past_due_features": ["basic_feature"],
  "trial": { "days": 14, "plan": "pro" }
}"#;

async fn metered_stack(more: &[(&str, &str)]) -> Stack {
    let mut options = StackOptions::default().var("PLANS", METERED_PLANS).var("USAGE_REPORT_INTERVAL", "1");
    for (k, v) in more {
        options = options.var(k, v);
        if *k == "BRIDGE_PATH_PREFIX" {
            options.bridge_prefix = v.to_string();
        }
    }
    let stack = Stack::start_with(options).await;
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    // The Stripe setup of a billed meter: a meter for its event name.
    let meter = stack
        .stripe_api(
            Method::POST,
            "/v1/billing/meters",
            &[("display_name", "API calls"), ("event_name", "api_calls"), ("default_aggregation[formula]", "sum")],
        )
        .await;
    assert_eq!(meter["status"], "active", "{meter}");
    stack
}

const USAGE: &str = "/v1/identities/{id}/usage/{meter}";

/// `POST .../usage/{meter}` with `body` and an optional Idempotency-Key.
async fn consume(stack: &Stack, id: &str, meter: &str, body: Option<Value>, key: Option<&str>) -> (u16, Value) {
    let mut r = stack.http.post(stack.url(&format!("/v1/identities/{id}/usage/{meter}"))).bearer_auth(BRIDGE_API_TOKEN);
    if let Some(b) = body {
        r = r.json(&b);
    }
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    let (status, v) = status_json(r.send().await.unwrap()).await;
    assert_documented("POST", USAGE, status, &v);
    (status, v)
}

async fn balance(stack: &Stack, id: &str, meter: &str) -> Value {
    let r = stack.http.get(stack.url(&format!("/v1/identities/{id}/usage/{meter}"))).bearer_auth(BRIDGE_API_TOKEN);
    let (status, v) = status_json(r.send().await.unwrap()).await;
    assert_documented("GET", USAGE, status, &v);
    assert_eq!(status, 200, "{v}");
    v
}

async fn subscribe(stack: &Stack, id: &str, price: &str) {
    let cus = stack.customers_of(id).await[0]["id"].as_str().unwrap().to_string();
    stack.stripe_api(Method::POST, "/v1/subscriptions", &[("customer", &cus), ("items[0][price]", price)]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_refuse_whole_amounts_and_keys_replay_the_first_answer() {
    let stack = metered_stack(&[]).await;
    let User { id, token, .. } = stack.user("limits@example.com").await;

    let (status, v) = consume(&stack, &id, "exports", None, None).await;
    assert_eq!(
        (status, v["allowed"].as_bool(), v["used"].as_u64(), v["remaining"].as_u64()),
        (200, Some(true), Some(1), Some(4))
    );
    assert_eq!(v["limit"], 5);
    let (status, v) = consume(&stack, &id, "exports", Some(json!({"amount": 3})), None).await;
    assert_eq!((status, v["used"].as_u64()), (200, Some(4)), "{v}");
    // 4 used of 5: an amount of 2 does not fit, and nothing of it is counted.
    let (status, v) = consume(&stack, &id, "exports", Some(json!({"amount": 2})), None).await;
    assert_eq!((status, v["reason"].as_str(), v["used"].as_u64()), (402, Some("limit_reached"), Some(4)), "{v}");
    assert_eq!(balance(&stack, &id, "exports").await["used"], 4);

    // A key: the first answer, once; a replay answers it again and counts nothing.
    let (status, first) = consume(&stack, &id, "exports", None, Some("export-report-7")).await;
    assert_eq!((status, first["used"].as_u64(), first["remaining"].as_u64()), (200, Some(5), Some(0)));
    for _ in 0..3 {
        let (status, again) = consume(&stack, &id, "exports", None, Some("export-report-7")).await;
        assert_eq!((status, &again), (200, &first), "a replay answers as the first time");
    }
    assert_eq!(balance(&stack, &id, "exports").await["used"], 5, "counted once");
    // A refusal under a key is replayed too, and the same key for another amount is a conflict.
    let (status, refused) = consume(&stack, &id, "exports", None, Some("export-report-8")).await;
    assert_eq!(status, 402, "{refused}");
    let (status, again) = consume(&stack, &id, "exports", None, Some("export-report-8")).await;
    assert_eq!((status, again), (402, refused));
    let (status, v) = consume(&stack, &id, "exports", Some(json!({"amount": 2})), Some("export-report-7")).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("idempotency_key_reused")), "{v}");

    // Bad input: a clear error, nothing counted.
    for body in
        [json!({"amount": 0}), json!({"amount": 1.5}), json!({"amount": -2}), json!({"amount": "1"}), json!({"n": 1})]
    {
        let (status, v) = consume(&stack, &id, "exports", Some(body.clone()), None).await;
        assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_amount")), "{body}: {v}");
    }
    let (status, v) = consume(&stack, &id, "nope", None, None).await;
    assert_eq!((status, v["error"]["code"].as_str()), (404, Some("unknown_meter")), "{v}");
    // A meter the plan does not name: limit 0.
    let (status, v) = consume(&stack, &id, "daily", None, None).await;
    assert_eq!((status, v["limit"].as_u64(), v["used"].as_u64()), (402, Some(0), Some(0)), "{v}");
    assert_eq!(balance(&stack, &id, "exports").await["used"], 5, "no refusal counted anything");

    // The signed-in user's own balance, for the app's "5 of 5 exports used".
    let r = stack.http.get(stack.url("/me/usage/exports")).header("X-Session-Token", &token).send().await.unwrap();
    let (status, v) = status_json(r).await;
    assert_documented("GET", "/me/usage/{meter}", status, &v);
    assert_eq!((status, v["used"].as_u64(), v["allowed"].as_bool()), (200, Some(5), Some(false)), "{v}");
    let r = stack.http.get(stack.url("/me/usage/exports")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = stack.http.post(stack.url("/me/usage/exports")).header("X-Session-Token", &token).send().await.unwrap();
    assert_eq!(r.status(), 404, "nothing consumes from a browser");
    // Only the API token consumes.
    let r = stack.http.post(stack.url(&format!("/v1/identities/{id}/usage/exports"))).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_consumers_never_pass_the_limit() {
    let stack = metered_stack(&[]).await;
    let User { id, .. } = stack.user("crowd@example.com").await;
    let url = stack.url(&format!("/v1/identities/{id}/usage/exports"));
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let (http, url) = (stack.http.clone(), url.clone());
            tokio::spawn(
                async move { http.post(url).bearer_auth(BRIDGE_API_TOKEN).send().await.unwrap().status().as_u16() },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let granted = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 402).count();
    assert_eq!((granted, refused), (5, 19), "{statuses:?}");
    assert_eq!(balance(&stack, &id, "exports").await["used"], 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upgrade_applies_its_limit_at_once_and_windows_follow_the_plan() {
    let stack = metered_stack(&[]).await;
    let User { id, .. } = stack.user("upgrade@example.com").await;
    for _ in 0..3 {
        assert_eq!(consume(&stack, &id, "api_calls", None, None).await.0, 200);
    }
    let (status, v) = consume(&stack, &id, "api_calls", None, None).await;
    assert_eq!((status, v["used"].as_u64()), (402, Some(3)));
    // Free has no billing period: `exports` counts by calendar month until one exists.
    let free_window = balance(&stack, &id, "exports").await["resets_at"].as_i64().unwrap();

    subscribe(&stack, &id, "price_pro_monthly").await;
    let record = stack.sync(&id).await;
    assert_eq!(record.plan, "pro");
    // The month's window goes on: the same 3 used, now of an unlimited plan.
    let (status, v) = consume(&stack, &id, "api_calls", Some(json!({"amount": 1000})), None).await;
    assert_eq!(
        (status, v["used"].as_u64(), v["limit"].as_str(), v["remaining"].clone()),
        (200, Some(1003), Some("unlimited"), Value::Null),
        "{v}"
    );
    // `exports` resets with the billing period now.
    let v = balance(&stack, &id, "exports").await;
    assert_eq!((v["limit"].as_u64(), v["resets_at"].as_i64()), (Some(100), record.current_period_end), "{v}");
    assert_ne!(Some(free_window), record.current_period_end);
    let month = balance(&stack, &id, "api_calls").await["resets_at"].as_i64().unwrap();
    assert_eq!(month, free_window, "api_calls resets on the 1st of next month (UTC), as free's exports did");
    let now = common::basics::unix_now();
    assert!(month > now && month <= now + 31 * 86_400 && month % 86_400 == 0, "{month}");
}

/// The Stripe emulator's meter events: `(total counted for the customer,
/// every event)`.
async fn meter_events(stack: &Stack, customer: &str) -> (u64, Vec<Value>) {
    let v = stack.control(Method::GET, stack.stripe_url("/_emulator/meter_events"), json!(null)).await;
    let total = v["totals"]
        .as_array()
        .expect("totals")
        .iter()
        .filter(|t| t["customer"] == customer && t["event_name"] == "api_calls")
        .map(|t| t["value"].as_u64().unwrap())
        .sum();
    (total, v["events"].as_array().expect("events").clone())
}

/// Waits until Stripe counted `want` units for `customer` and the counter
/// has nothing left to report; panics after `within`.
async fn until_reported(stack: &Stack, id: &str, customer: &str, want: u64, within: Duration) -> (u64, Value) {
    let deadline = Instant::now() + within;
    loop {
        let (total, _) = meter_events(stack, customer).await;
        let b = balance(stack, id, "api_calls").await;
        if total == want && b["unreported"] == 0 {
            return (total, b);
        }
        assert!(total <= want, "Stripe counted {total} units of {want}: billed twice");
        assert!(Instant::now() < deadline, "after {within:?}: Stripe counted {total} of {want}; the counter says {b}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn billed_units_reach_stripe_once_through_lost_answers_and_outages() {
    let mut stack = metered_stack(&[]).await;
    let User { id, .. } = stack.user("billed@example.com").await;
    subscribe(&stack, &id, "price_pro_monthly").await;
    assert_eq!(stack.sync(&id).await.plan, "pro");
    let cus = stack.customers_of(&id).await[0]["id"].as_str().unwrap().to_string();

    for amount in [1, 4, 2] {
        assert_eq!(consume(&stack, &id, "api_calls", Some(json!({"amount": amount})), None).await.0, 200);
    }
    let (_, b) = until_reported(&stack, &id, &cus, 7, Duration::from_secs(20)).await;
    assert_eq!((b["reported"].as_u64(), b["unreported"].as_u64(), b["used"].as_u64()), (Some(7), Some(0), Some(7)));

    // The first report's answer is lost after Stripe counted it, the next is
    // a 500, then 429: the counter sends the same batch again, and Stripe
    // counts it once.
    for fault in [
        json!({"count": 1, "kind": "500", "saved": true, "executed": true, "path_prefix": "/v1/billing/meter_events"}),
        json!({"count": 1, "kind": "500", "path_prefix": "/v1/billing/meter_events"}),
        json!({"count": 1, "kind": "429", "path_prefix": "/v1/billing/meter_events"}),
    ] {
        stack.stripe_control("/_emulator/faults", fault).await;
    }
    for _ in 0..5 {
        assert_eq!(consume(&stack, &id, "api_calls", None, None).await.0, 200);
    }
    until_reported(&stack, &id, &cus, 12, Duration::from_secs(40)).await;
    let faults = stack.control(Method::GET, stack.stripe_url("/_emulator/faults"), json!(null)).await;
    assert_eq!(
        (faults["pending"].as_u64(), faults["injected_total"].as_u64()),
        (Some(0), Some(3)),
        "every fault met a report: {faults}"
    );
    let (_, events) = meter_events(&stack, &cus).await;
    assert!(
        events.iter().any(|e| e["counted"] == false && e["reason"] == "duplicate_identifier"),
        "the resend after the lost answer reached Stripe: {events:?}"
    );

    // Counts and the backlog survive a restart of wrangler dev with the same
    // persistence directory.
    stack
        .stripe_control(
            "/_emulator/faults",
            json!({"count": 1000, "kind": "500", "path_prefix": "/v1/billing/meter_events"}),
        )
        .await;
    assert_eq!(consume(&stack, &id, "api_calls", Some(json!({"amount": 3})), None).await.0, 200);
    assert_eq!(consume(&stack, &id, "exports", Some(json!({"amount": 2})), None).await.0, 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = balance(&stack, &id, "api_calls").await;
    assert_eq!(
        (before["used"].as_u64(), before["unreported"].as_u64()),
        (Some(15), Some(3)),
        "Stripe is down: {before}"
    );
    stack.restart_worker().await;
    let after = balance(&stack, &id, "api_calls").await;
    assert_eq!(
        (after["used"].as_u64(), after["reported"].as_u64(), after["unreported"].as_u64()),
        (Some(15), Some(12), Some(3))
    );
    assert_eq!(balance(&stack, &id, "exports").await["used"], 2);
    stack.control(Method::DELETE, stack.stripe_url("/_emulator/faults"), json!(null)).await;
    until_reported(&stack, &id, &cus, 15, Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gate_rules_forward_a_request_only_after_it_consumed_a_unit() {
    let origin = Origin::start().await;
    let rules = r#"[
      {"path": "/api/export", "methods": ["POST"], "consume": "exports"},
      {"path": "/app/*", "session": "required"}
    ]"#;
    let stack =
        metered_stack(&[("ORIGIN_URL", &origin.url), ("GATE_ROUTES", rules), ("BRIDGE_PATH_PREFIX", "/_bridge")]).await;
    let User { id, token, .. } = stack.user("edge-meter@example.com").await;
    let export = |accept: &'static str| {
        stack
            .http
            .post(format!("{}/api/export", stack.worker_url))
            .header("X-Session-Token", &token)
            .header("Accept", accept)
            .send()
    };
    // Five exports on free: each reaches the origin after a unit was consumed.
    for n in 1..=5 {
        let r = export("application/json").await.unwrap();
        assert_eq!(r.status(), 418, "export {n} reached the origin");
    }
    // The sixth is refused with the balance, or a browser is sent to pricing; nothing counted.
    let (status, v) = status_json(export("application/json").await.unwrap()).await;
    assert_eq!((status, v["reason"].as_str(), v["used"].as_u64()), (402, Some("limit_reached"), Some(5)), "{v}");
    let no_redirects =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirects
        .post(format!("{}/api/export", stack.worker_url))
        .header("X-Session-Token", &token)
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, PRICING_URL));
    // Without a session nothing is consumed; GET is no export.
    let r = stack.http.post(format!("{}/api/export", stack.worker_url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = stack.http.get(format!("{}/api/export", stack.worker_url)).send().await.unwrap();
    assert_eq!(r.status(), 418, "no rule for GET");
    assert_eq!(
        stack
            .http
            .get(stack.url(&format!("/_bridge/v1/identities/{id}/usage/exports")))
            .bearer_auth(BRIDGE_API_TOKEN)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["used"],
        5
    );

    // /auth/forward judges with the same rules: a proxy's refusal is 403 (nginx passes it).
    let User { id: other, token: other_token, .. } = stack.user("forward-meter@example.com").await;
    let ask = || {
        no_redirects
            .get(stack.url("/_bridge/auth/forward"))
            .header("X-Forwarded-Method", "POST")
            .header("X-Forwarded-Uri", "/api/export")
            .header("X-Session-Token", &other_token)
            .send()
    };
    for _ in 0..5 {
        assert_eq!(ask().await.unwrap().status(), 200);
    }
    let (status, v) = status_json(ask().await.unwrap()).await;
    assert_documented("GET", "/auth/forward", status, &v);
    assert_eq!((status, v["reason"].as_str()), (403, Some("limit_reached")), "{v}");
    let r = stack
        .http
        .get(stack.url(&format!("/_bridge/v1/identities/{other}/usage/exports")))
        .bearer_auth(BRIDGE_API_TOKEN);
    assert_eq!(r.send().await.unwrap().json::<Value>().await.unwrap()["used"], 5);
}
