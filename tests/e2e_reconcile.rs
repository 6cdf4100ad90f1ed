//! End to end: the reconciliation walk (`POST /v1/admin/backfill`, the cron
//! through `wrangler dev --test-scheduled`, `GET /v1/admin/reconciliation`)
//! against the emulators: orphans linked by email or reported, duplicates
//! reported without touching the identity, a lost webhook repaired once the
//! record is stale, a long walk resumed across steps and a 429, overlapping
//! steps refused, a deleted identity's customer reported and canceled.

mod common;

use std::time::{Duration, Instant};

use common::calls::{Serve, Upstream, User};
use common::stack::*;
use kratos_stripe_bridge::entitlements::record::Entitlement;
use reqwest::Method;
use serde_json::{json, Value};

/// One step now: the walk's state after it.
async fn backfill(stack: &Stack) -> Value {
    let (status, v) = stack.api(Method::POST, "/v1/admin/backfill").await;
    assert_eq!(status, 200, "{v}\n{}", stack.wrangler_log());
    v
}

async fn customer(stack: &Stack, form: &[(&str, &str)]) -> String {
    stack.stripe_api(Method::POST, "/v1/customers", form).await["id"].as_str().unwrap().to_string()
}

fn orphan_reason(state: &Value, customer: &str) -> Option<String> {
    state["orphans"].as_array()?.iter().find(|o| o["customer_id"] == customer)?["reason"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread")]
async fn orphans_are_linked_by_email_or_reported_and_duplicates_never_touch_the_identity() {
    // Every record stale: each linked customer's identity is checked.
    let stack = Stack::start_with(StackOptions::default().var("RECONCILE_STALE_AFTER", "0")).await;
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    // An identity whose hook never ran (its email verified), and a customer
    // made by hand with its email.
    let made = stack
        .control(
            Method::POST,
            stack.kratos_admin("/_emulator/identities"),
            json!({"traits": {"email": "by-hand@example.com", "name": {"first": "By", "last": "Hand"}}, "verified": true}),
        )
        .await;
    let by_hand_id = made["identity"]["id"].as_str().unwrap().to_string();
    let by_hand = customer(&stack, &[("email", "by-hand@example.com")]).await;
    // Someone registered with a paying customer's address and never verified
    // it (their hook failed, too): the customer must never reach them.
    let squatter = stack
        .control(
            Method::POST,
            stack.kratos_admin("/_emulator/identities"),
            json!({"traits": {"email": "payer@example.com", "name": {"first": "Not", "last": "Payer"}}}),
        )
        .await;
    let squatter_id = squatter["identity"]["id"].as_str().unwrap().to_string();
    assert_eq!(squatter["identity"]["verifiable_addresses"][0]["verified"], false);
    let payer = customer(&stack, &[("email", "payer@example.com")]).await;
    let form = [("customer", payer.as_str()), ("items[0][price]", "price_pro_monthly")];
    stack.stripe_api(Method::POST, "/v1/subscriptions", &form).await;
    // A customer nobody signs in as, one whose email belongs to an identity
    // that has its own customer, and a second customer claiming a user.
    let nobody = customer(&stack, &[("email", "nobody@example.com")]).await;
    let User { id: user_id, customer: user_customer, .. } = stack.user("user@example.com").await;
    let same_email = customer(&stack, &[("email", "user@example.com")]).await;
    let duplicate = customer(&stack, &[("metadata[olympus_identity_id]", &user_id)]).await;
    // A user deleted in Kratos behind the bridge's back, with a subscription.
    let User { id: gone_id, customer: gone_customer, .. } = stack.user("gone@example.com").await;
    let form = [("customer", gone_customer.as_str()), ("items[0][price]", "price_pro_monthly")];
    let gone_sub = stack.stripe_api(Method::POST, "/v1/subscriptions", &form).await["id"].as_str().unwrap().to_string();
    let (status, _) = stack.kratos_admin_call(Method::DELETE, &format!("/admin/identities/{gone_id}")).await;
    assert_eq!(status, 204);

    let state = backfill(&stack).await;
    assert_eq!(state["complete"], true, "one page: the walk is done: {state}");
    assert_eq!(orphan_reason(&state, &nobody).as_deref(), Some("no_identity_metadata"), "{state}");
    assert_eq!(orphan_reason(&state, &same_email).as_deref(), Some("ambiguous_email"), "{state}");
    assert_eq!(orphan_reason(&state, &by_hand), None, "linked, not reported: {state}");
    assert_eq!(orphan_reason(&state, &payer).as_deref(), Some("unverified_email"), "{state}");
    let e = stack.entitlement(&squatter_id).await;
    assert_eq!((e.plan.as_str(), e.stripe_customer_id.as_deref()), ("free", None), "not the payer's plan: {e:?}");
    let (_, identity) = stack.kratos_identity(&squatter_id).await;
    assert_eq!(identity["metadata_admin"], Value::Null, "not linked in Kratos");
    let claimed = stack.stripe_api(Method::GET, &format!("/v1/customers/{payer}"), &[]).await;
    assert_eq!(claimed["metadata"]["olympus_identity_id"], Value::Null, "not linked in Stripe: {claimed}");
    assert_eq!(state["duplicates"], json!([{"identity_id": user_id, "customer_ids": [user_customer, duplicate]}]));
    let run = &state["last_run"];
    assert_eq!(
        (run["linked"].as_u64(), run["errors"].as_u64(), run["stopped"].as_str()),
        (Some(1), Some(0), Some("walk_complete"))
    );

    // The customer made by hand is linked as the registration hook links.
    let linked = stack.customers_of(&by_hand_id).await;
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0]["id"], by_hand.as_str());
    let (_, identity) = stack.kratos_identity(&by_hand_id).await;
    assert_eq!(identity["metadata_admin"]["stripe_customer_id"], by_hand.as_str());
    assert_eq!(stack.entitlement(&by_hand_id).await.stripe_customer_id.as_deref(), Some(by_hand.as_str()));
    // The duplicate changed nothing of the user's.
    assert_eq!(stack.entitlement(&user_id).await.stripe_customer_id.as_deref(), Some(user_customer.as_str()));
    // Its identity is gone: reported, and (RECONCILE_CANCEL_ORPHANS off) not canceled.
    assert_eq!(orphan_reason(&state, &gone_customer).as_deref(), Some("identity_missing"), "{state}");
    let sub = stack.stripe_api(Method::GET, &format!("/v1/subscriptions/{gone_sub}"), &[]).await;
    assert_eq!(sub["status"], "active");

    let (status, shown) = stack.api(Method::GET, "/v1/admin/reconciliation").await;
    assert_eq!((status, &shown), (200, &state));
    // Nothing of an email reaches the log.
    let log = stack.log_when("a reconcile_step line", |l| l.contains(r#""at":"reconcile_step""#)).await;
    for email in ["by-hand@example.com", "nobody@example.com", "user@example.com"] {
        assert!(!worker_lines(&log).into_iter().any(|l| l.contains(email)), "{email} logged");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cron_repairs_a_lost_webhook_once_the_record_is_stale() {
    let mut stack = Stack::start_with(StackOptions::default().var("RECONCILE_STALE_AFTER", "3600")).await;
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let User { id, customer: cus, .. } = stack.user("lost@example.com").await;
    // The subscription's webhooks are never delivered.
    let form = [("customer", cus.as_str()), ("items[0][price]", "price_pro_monthly")];
    stack.stripe_api(Method::POST, "/v1/subscriptions", &form).await;
    let fresh = backfill(&stack).await;
    assert_eq!(fresh["last_run"]["refreshed"], 0, "fresh records cost no Stripe read: {fresh}");
    assert_eq!(stack.entitlement(&id).await.plan, "free");

    // An hour and a minute later (the worker's clock, TEST_CLOCK_OFFSET):
    // the record is stale, and the cron repairs it.
    stack.restart_worker_with(&[("TEST_CLOCK_OFFSET", "3660")]).await;
    let r = stack.http.get(stack.url("/__scheduled?cron=*/5+*+*+*+*")).send().await.unwrap();
    assert!(r.status().is_success(), "the cron fired: {}", r.status());
    let deadline = Instant::now() + Duration::from_secs(10);
    while stack.entitlement(&id).await.plan != "pro" {
        assert!(Instant::now() < deadline, "not repaired\n{}", stack.wrangler_log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, state) = stack.api(Method::GET, "/v1/admin/reconciliation").await;
    assert_eq!(state["last_run"]["refreshed"], 1, "{state}");
    let (walked, synced) = (stack.entitlement(&id).await, stack.sync(&id).await);
    assert_eq!(Entitlement { synced_at: 0, ..walked }, Entitlement { synced_at: 0, ..synced }, "a sync agrees");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_walk_resumes_where_it_stopped_and_a_429_keeps_the_cursor() {
    let stack = Stack::start_with(StackOptions::default().var("RECONCILE_PAGES_PER_RUN", "1")).await;
    let mut made = Vec::new();
    for _ in 0..230 {
        made.push(customer(&stack, &[("description", "made by hand")]).await);
    }
    let first = backfill(&stack).await;
    assert_eq!((first["complete"].as_bool(), first["last_run"]["scanned"].as_u64()), (Some(false), Some(100)));
    let cursor = first["cursor"].clone();

    stack.stripe_control("/_emulator/faults", json!({"count": 1, "kind": "429", "path_prefix": "/v1/customers"})).await;
    let limited = backfill(&stack).await;
    assert_eq!(limited["last_run"]["stopped"], "rate_limited", "{limited}");
    assert_eq!((limited["cursor"].clone(), limited["last_run"]["scanned"].as_u64()), (cursor, Some(0)));

    let mut scanned = first["last_run"]["scanned"].as_u64().unwrap();
    let mut state = limited;
    for _ in 0..3 {
        state = backfill(&stack).await;
        scanned += state["last_run"]["scanned"].as_u64().unwrap();
        if state["complete"] == true {
            break;
        }
    }
    assert_eq!(state["complete"], true, "{state}");
    assert_eq!(scanned, 230, "every customer once");
    let orphans: Vec<&str> =
        state["orphans"].as_array().unwrap().iter().map(|o| o["customer_id"].as_str().unwrap()).collect();
    assert_eq!(orphans.len(), 230);
    assert!(made.iter().all(|c| orphans.contains(&c.as_str())));
    // A complete walk starts over.
    let again = backfill(&stack).await;
    assert_eq!((again["complete"].as_bool(), again["last_run"]["scanned"].as_u64()), (Some(false), Some(100)));
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_steps_never_both_walk() {
    let stack = Stack::start().await;
    customer(&stack, &[("email", "one@example.com")]).await;
    // The first step's page is held until the second step was answered.
    let page = stack.hold(Upstream::Stripe, "first-page", "GET", "/v1/customers", Serve::OnArrival).await;
    let first = stack.api(Method::POST, "/v1/admin/backfill");
    let second = async {
        stack.arrived(&page).await;
        let second = stack.api(Method::POST, "/v1/admin/backfill").await;
        stack.release(&page).await;
        second
    };
    let ((a, first), (b, second)) = tokio::join!(first, second);
    assert_eq!((a, b), (200, 409), "{first} {second}");
    assert_eq!(second["error"]["code"], "reconcile_busy");
    assert_eq!(first["last_run"]["scanned"], 1);
    // Once the first is done, a step runs again.
    assert_eq!(backfill(&stack).await["last_run"]["scanned"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_identitys_subscriptions_are_canceled_when_configured() {
    let options = StackOptions::default().var("RECONCILE_CANCEL_ORPHANS", "true").var("RECONCILE_STALE_AFTER", "0");
    let stack = Stack::start_with(options).await;
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let User { id, customer: cus, .. } = stack.user("cancel@example.com").await;
    let form = [("customer", cus.as_str()), ("items[0][price]", "price_pro_monthly")];
    let sub = stack.stripe_api(Method::POST, "/v1/subscriptions", &form).await["id"].as_str().unwrap().to_string();
    let (status, _) = stack.kratos_admin_call(Method::DELETE, &format!("/admin/identities/{id}")).await;
    assert_eq!(status, 204);
    let state = backfill(&stack).await;
    assert_eq!(orphan_reason(&state, &cus).as_deref(), Some("identity_missing"), "{state}");
    assert_eq!(state["last_run"]["canceled"], 1);
    let sub = stack.stripe_api(Method::GET, &format!("/v1/subscriptions/{sub}"), &[]).await;
    assert_eq!(sub["status"], "canceled");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_outage_ends_the_step_without_skipping_anyone() {
    let stack = Stack::start_with(StackOptions::default().var("RECONCILE_STALE_AFTER", "0")).await;
    let User { id, .. } = stack.user("outage@example.com").await;
    let fault = json!({"count": 20, "kind": "500", "path_prefix": "/admin/identities"});
    stack.control(Method::POST, stack.kratos_admin("/_emulator/faults"), fault).await;
    let stopped = backfill(&stack).await;
    assert_eq!(stopped["last_run"]["stopped"], "unavailable", "{stopped}");
    assert_eq!((stopped["cursor"].clone(), stopped["last_run"]["scanned"].as_u64()), (Value::Null, Some(0)));
    stack.control(Method::DELETE, stack.kratos_admin("/_emulator/faults"), json!({})).await;
    let done = backfill(&stack).await;
    assert_eq!((done["complete"].as_bool(), done["last_run"]["refreshed"].as_u64()), (Some(true), Some(1)), "{done}");
    assert_eq!(
        stack.entitlement(&id).await.stripe_customer_id,
        stack.customers_of(&id).await[0]["id"].as_str().map(str::to_owned)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_walk_costs_one_list_page_per_100_customers_plus_one_read_per_stale_one() {
    // Every linked record stale: each costs one subscription read.
    let options = StackOptions::default().var("RECONCILE_PAGES_PER_RUN", "100").var("RECONCILE_STALE_AFTER", "0");
    let stack = Stack::start_with(options).await;
    const HAND_MADE: usize = 2_000;
    const USERS: usize = 20;
    for n in 0..HAND_MADE {
        customer(&stack, &[("description", &format!("imported {n}"))]).await;
    }
    for n in 0..USERS {
        stack.user(&format!("scale{n}@example.com")).await;
    }
    stack.control(Method::DELETE, stack.stripe_url("/_emulator/requests"), json!({})).await;
    let state = backfill(&stack).await;
    let calls = stack.control(Method::GET, stack.stripe_url("/_emulator/requests"), json!({})).await;
    let total = (HAND_MADE + USERS) as u64;
    let pages = calls["by_route"]["GET /v1/customers"].as_u64().unwrap_or(0);
    let reads = calls["by_route"]["GET /v1/subscriptions"].as_u64().unwrap_or(0);
    let all = calls["total"].as_u64().unwrap_or(0);
    println!(
        "walk over {total} customers ({USERS} linked and stale): {all} Stripe calls = {pages} list pages + {reads} \
         subscription reads, {:.4} per customer",
        all as f64 / total as f64
    );
    assert_eq!((state["complete"].as_bool(), state["last_run"]["scanned"].as_u64()), (Some(true), Some(total)));
    assert_eq!(pages, total.div_ceil(100), "one list page per 100 customers: {calls}");
    assert_eq!(reads, USERS as u64, "one subscription read per stale customer: {calls}");
    assert_eq!(all, pages + reads, "nothing else: {calls}");
}
