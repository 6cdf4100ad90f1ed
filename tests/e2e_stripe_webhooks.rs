//! End to end: the Stripe emulator sends a subscription's whole life to the
//! worker, duplicated and shuffled, and the worker's KV state must end equal
//! to what Stripe holds; forged, stale and mixed-mode events change nothing;
//! a Stripe outage during processing is repaired by redelivery.

mod common;

use common::basics::{status_json, unix_now};
use common::calls::{Serve, Upstream};
use common::stack::*;
use kratos_stripe_bridge::entitlements::feature::{FeatureDecision, Reason};
use kratos_stripe_bridge::entitlements::record::{Access, Entitlement, EntitlementStatus};
use kratos_stripe_bridge::stripe::signature::sign;
use kratos_stripe_bridge::stripe::subscription::SubscriptionStatus;
use reqwest::Method;
use serde_json::{json, Value};

/// Registers an identity (linked to a customer by the registration hook).
async fn customer_for(stack: &Stack, email: &str) -> (String, String) {
    let flow = stack.register(email, "Sub", "Scriber").await;
    assert_eq!(flow["hook"]["ok"], true, "{flow}");
    let id = flow["identity"]["id"].as_str().unwrap().to_string();
    let cus = stack.customers_of(&id).await[0]["id"].as_str().unwrap().to_string();
    (id, cus)
}

/// The app sends the user to Checkout; the user pays.
async fn checkout(stack: &Stack, identity: &str, customer: &str, price: &str) -> Value {
    let session = stack
        .stripe_api(
            Method::POST,
            "/v1/checkout/sessions",
            &[
                ("mode", "subscription"),
                ("customer", customer),
                ("client_reference_id", identity),
                ("line_items[0][price]", price),
                ("line_items[0][quantity]", "1"),
                ("success_url", "http://127.0.0.1:9/ok"),
                ("cancel_url", "http://127.0.0.1:9/cancel"),
                ("subscription_data[metadata][olympus_identity_id]", identity),
            ],
        )
        .await;
    let cs = session["id"].as_str().unwrap();
    let done = stack.stripe_control(&format!("/_emulator/checkout/sessions/{cs}/complete"), json!({})).await;
    done["subscription"].clone()
}

async fn manual_delivery(stack: &Stack) {
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
}

/// Delivers every queued event in the given order, each twice; all must be
/// acknowledged.
async fn flush(stack: &Stack, order: &str, seed: u64) -> Value {
    let results =
        stack.stripe_control("/_emulator/events/flush", json!({"order": order, "seed": seed, "duplicate": true})).await;
    let failed = stack.failed_deliveries().await;
    assert!(failed.is_empty(), "failed deliveries: {failed:?}\n{}", stack.wrangler_log());
    results
}

/// The subscription as Stripe holds it now.
async fn stripe_subscription(stack: &Stack, id: &str) -> Value {
    let state = stack.stripe_state().await;
    state["subscriptions"].as_array().unwrap().iter().find(|s| s["id"] == id).cloned().expect("the subscription")
}

/// The worker's record must say what Stripe says now.
async fn assert_matches_stripe(stack: &Stack, identity: &str, sub_id: &str) -> Entitlement {
    let sub = stripe_subscription(stack, sub_id).await;
    let e = stack.entitlement(identity).await;
    assert_eq!(e.status.as_str(), sub["status"], "record {e:?}\nstripe {sub}");
    assert_eq!(e.subscription_id.as_deref(), sub["id"].as_str(), "{e:?}");
    assert_eq!(Some(e.cancel_at_period_end), sub["cancel_at_period_end"].as_bool(), "{e:?}");
    assert_eq!(e.current_period_end, sub["items"]["data"][0]["current_period_end"].as_i64(), "{e:?}\n{sub}");
    e
}

/// The worker's decision on `feature` for an identity (`GET .../features/{feature}`).
async fn feature(stack: &Stack, identity: &str, feature: &str) -> FeatureDecision {
    stack.api_answer(Method::GET, &format!("/v1/identities/{identity}/features/{feature}")).await
}

/// The record's status for a subscription in `status`.
fn subscription(status: SubscriptionStatus) -> EntitlementStatus {
    EntitlementStatus::Subscription(status)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_life_delivered_duplicated_and_shuffled_ends_as_stripe_holds_it() {
    let stack = Stack::start().await;
    manual_delivery(&stack).await;
    let (id, cus) = customer_for(&stack, "life@example.com").await;

    let sub = checkout(&stack, &id, &cus, "price_pro_monthly").await;
    let sub_id = sub["id"].as_str().unwrap().to_string();
    flush(&stack, "shuffle", 7).await;
    let e = assert_matches_stripe(&stack, &id, &sub_id).await;
    assert_eq!((e.plan.as_str(), e.access), ("pro", Access::Full), "{e:?}");
    assert_eq!(e.features, ["basic_feature", "premium_feature"]);
    assert_eq!(e.stripe_customer_id.as_deref(), Some(cus.as_str()));

    stack.stripe_control(&format!("/_emulator/subscriptions/{sub_id}/status"), json!({"status": "past_due"})).await;
    flush(&stack, "reverse", 0).await;
    let e = assert_matches_stripe(&stack, &id, &sub_id).await;
    assert_eq!((e.plan.as_str(), e.access), ("pro", Access::Limited), "{e:?}");
    assert_eq!(e.features, ["basic_feature"]);
    let gate = feature(&stack, &id, "premium_feature").await;
    assert_eq!((gate.allowed, gate.reason), (false, Reason::PastDueLimited), "{gate:?}");

    stack.stripe_control(&format!("/_emulator/subscriptions/{sub_id}/status"), json!({"status": "active"})).await;
    flush(&stack, "shuffle", 3).await;
    let e = assert_matches_stripe(&stack, &id, &sub_id).await;
    assert_eq!(e.access, Access::Full);

    stack.stripe_api(Method::POST, &format!("/v1/subscriptions/{sub_id}"), &[("cancel_at_period_end", "true")]).await;
    flush(&stack, "shuffle", 11).await;
    let e = assert_matches_stripe(&stack, &id, &sub_id).await;
    assert_eq!((e.cancel_at_period_end, e.access), (true, Access::Full), "{e:?}");
    let gate = feature(&stack, &id, "premium_feature").await;
    assert!(gate.allowed, "access lasts until the period ends: {gate:?}");

    stack.stripe_control(&format!("/_emulator/subscriptions/{sub_id}/end_period"), json!({})).await;
    flush(&stack, "reverse", 0).await;
    let e = assert_matches_stripe(&stack, &id, &sub_id).await;
    assert_eq!(
        (e.status, e.plan.as_str(), e.access),
        (subscription(SubscriptionStatus::Canceled), "free", Access::None)
    );
    let gate = feature(&stack, &id, "premium_feature").await;
    assert!(!gate.allowed, "{gate:?}");

    // One structured line per processed event, with no email address.
    let log = stack.log_when("the duplicate event's line", |l| l.contains(r#""outcome":"duplicate""#)).await;
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(r#""at":"stripe_webhook""#)).collect();
    assert!(lines.iter().any(|l| l.contains(r#""outcome":"synced""#) && l.contains(&cus)), "{log}");
    assert!(lines.iter().any(|l| l.contains(r#""outcome":"duplicate""#)), "duplicates are acknowledged: {log}");
    assert!(lines.iter().all(|l| l.contains("event_id") && l.contains("duration_ms") && !l.contains('@')), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_life_delivered_at_once_in_any_order_converges() {
    for (order, seed) in [("reverse", 0), ("shuffle", 1), ("shuffle", 42)] {
        let stack = Stack::start().await;
        manual_delivery(&stack).await;
        let (id, cus) = customer_for(&stack, "burst@example.com").await;
        let sub = checkout(&stack, &id, &cus, "price_enterprise_monthly").await;
        let sub_id = sub["id"].as_str().unwrap();
        for status in ["past_due", "active"] {
            stack.stripe_control(&format!("/_emulator/subscriptions/{sub_id}/status"), json!({"status": status})).await;
        }
        stack
            .stripe_api(Method::POST, &format!("/v1/subscriptions/{sub_id}"), &[("cancel_at_period_end", "true")])
            .await;
        flush(&stack, order, seed).await;
        let e = assert_matches_stripe(&stack, &id, sub_id).await;
        assert_eq!((e.plan.as_str(), e.access), ("enterprise", Access::Full), "{order} {seed}: {e:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stripe_outage_during_processing_is_repaired_by_redelivery() {
    let stack = Stack::start().await;
    manual_delivery(&stack).await;
    let (id, cus) = customer_for(&stack, "fault@example.com").await;
    let sub = checkout(&stack, &id, &cus, "price_pro_yearly").await;
    stack
        .stripe_control("/_emulator/faults", json!({"count": 3, "kind": "500", "path_prefix": "/v1/subscriptions"}))
        .await;
    stack.stripe_control("/_emulator/events/flush", json!({"order": "created"})).await;
    let failed = stack.failed_deliveries().await;
    assert!(!failed.is_empty(), "the outage made deliveries fail");
    for d in &failed {
        assert!(d.status.is_some_and(|s| s >= 500), "a Stripe outage is answered 5xx: {d:?}");
    }
    stack.stripe_control("/_emulator/events/retry_failed", json!({})).await;
    let e = assert_matches_stripe(&stack, &id, sub["id"].as_str().unwrap()).await;
    assert_eq!(e.plan, "pro");
}

/// Signs `body` as Stripe would, with the deployment's secret.
fn signed(secret: &str, t: i64, body: &str) -> String {
    sign(secret, t, body.as_bytes())
}

async fn post_event(stack: &Stack, header: Option<String>, body: &str) -> (u16, Value) {
    let mut r = stack.http.post(stack.url("/webhooks/stripe")).body(body.to_string());
    if let Some(h) = header {
        r = r.header("Stripe-Signature", h);
    }
    status_json(r.send().await.unwrap()).await
}

fn event(id: &str, kind: &str, customer: &str, livemode: bool) -> String {
    json!({
        "id": id, "object": "event", "api_version": "2025-03-31.basil", "created": unix_now(), "livemode": livemode,
        "type": kind, "pending_webhooks": 1, "request": {"id": null, "idempotency_key": null},
        "data": {"object": {"id": "sub_forged", "object": "subscription", "customer": customer, "status": "active", "metadata": {}}}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn unverified_or_mixed_mode_events_change_nothing() {
    let stack = Stack::start().await;
    manual_delivery(&stack).await; // only the events this test sends arrive
    let (id, cus) = customer_for(&stack, "forge@example.com").await;
    // Stripe really holds an active pro subscription, so any processed
    // event would move the identity to pro.
    stack
        .stripe_api(Method::POST, "/v1/subscriptions", &[("customer", &cus), ("items[0][price]", "price_pro_monthly")])
        .await;
    let before = stack.entitlement(&id).await;
    assert_eq!(before.plan, "free");

    let body = event("evt_forged_1", "customer.subscription.updated", &cus, false);
    let t = unix_now();
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "signature_missing"),
        (Some("garbage".into()), "signature_malformed"),
        (Some(signed("whsec_wrong", t, &body)), "signature_mismatch"),
        (Some(signed(STRIPE_WEBHOOK_SECRET, t - 301, &body)), "timestamp_too_old"),
        (Some(signed(STRIPE_WEBHOOK_SECRET, t + 3600, &body)), "timestamp_in_future"),
        (Some(signed(STRIPE_WEBHOOK_SECRET, t, &body.replace("active", "trialing"))), "signature_mismatch"),
    ];
    for (header, code) in cases {
        let (status, v) = post_event(&stack, header, &body).await;
        assert_eq!((status, v["error"]["code"].as_str()), (400, Some(code)), "{v}");
    }
    let live = event("evt_live_1", "customer.subscription.updated", &cus, true);
    let (status, v) = post_event(&stack, Some(signed(STRIPE_WEBHOOK_SECRET, t, &live)), &live).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("livemode_mismatch")), "{v}");
    let after = stack.entitlement(&id).await;
    assert_eq!(after.plan, "free", "nothing was processed: {after:?}");

    let huge = "x".repeat(300 * 1024);
    let (status, _) = post_event(&stack, Some(signed(STRIPE_WEBHOOK_SECRET, t, &huge)), &huge).await;
    assert_eq!(status, 413);

    // The same event, properly signed: processed once, then acknowledged as a duplicate.
    let (status, v) = post_event(&stack, Some(signed(STRIPE_WEBHOOK_SECRET, t, &body)), &body).await;
    assert_eq!((status, v["outcome"].as_str()), (200, Some("synced")), "{v}");
    assert_eq!(stack.entitlement(&id).await.plan, "pro");
    let (status, v) = post_event(&stack, Some(signed(STRIPE_WEBHOOK_SECRET, t, &body)), &body).await;
    assert_eq!((status, v["outcome"].as_str()), (200, Some("duplicate")), "{v}");

    let other = event("evt_other_1", "charge.refunded", &cus, false);
    let (status, v) = post_event(&stack, Some(signed(STRIPE_WEBHOOK_SECRET, t, &other)), &other).await;
    assert_eq!((status, v["outcome"].as_str()), (200, Some("ignored")), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rotated_secrets_are_all_accepted() {
    let stack = Stack::start_with(
        StackOptions::default().var("STRIPE_WEBHOOK_SECRET", &format!("whsec_old_one,{STRIPE_WEBHOOK_SECRET}")),
    )
    .await;
    let (_, cus) = customer_for(&stack, "rotate@example.com").await;
    let t = unix_now();
    for (i, secret) in ["whsec_old_one", STRIPE_WEBHOOK_SECRET].iter().enumerate() {
        let body = event(&format!("evt_rot_{i}"), "customer.updated", &cus, false);
        let (status, v) = post_event(&stack, Some(signed(secret, t, &body)), &body).await;
        assert_eq!(status, 200, "{secret}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plan_can_be_mirrored_into_kratos_metadata_public() {
    let stack = Stack::start_with(StackOptions::default().var("KRATOS_SYNC_PLAN", "true")).await;
    let (id, cus) = customer_for(&stack, "mirror@example.com").await;
    let sub = checkout(&stack, &id, &cus, "price_pro_monthly").await;
    let e = stack.sync(&id).await;
    assert_eq!(e.plan, "pro", "{e:?}");
    let (_, identity) = stack.kratos_identity(&id).await;
    assert_eq!(identity["metadata_public"]["plan"], "pro", "{identity}");
    assert_eq!(identity["metadata_admin"]["stripe_customer_id"], cus.as_str(), "{identity}");
    assert!(sub["id"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_stripe_is_cut_off_and_answered_with_a_retryable_5xx() {
    let stack = Stack::start().await;
    manual_delivery(&stack).await;
    let (id, cus) = customer_for(&stack, "hang@example.com").await;
    let sub = checkout(&stack, &id, &cus, "price_pro_monthly").await;
    stack
        .stripe_control(
            "/_emulator/faults",
            json!({"count": 1, "kind": "hang", "hang_ms": 20000, "path_prefix": "/v1/subscriptions"}),
        )
        .await;
    let started = std::time::Instant::now();
    stack.stripe_control("/_emulator/events/flush", json!({"order": "created"})).await;
    let failed = stack.failed_deliveries().await;
    assert_eq!(failed.len(), 1, "only the delivery that met the hang failed: {failed:?}");
    assert_eq!(failed[0].status, Some(504), "{failed:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(19), "the worker did not wait for the hang to end");
    stack.stripe_control("/_emulator/events/retry_failed", json!({})).await;
    let e = assert_matches_stripe(&stack, &id, sub["id"].as_str().unwrap()).await;
    assert_eq!(e.plan, "pro");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_stripe_read_that_lands_last_never_replaces_a_newer_one() {
    let stack = Stack::start().await;
    manual_delivery(&stack).await;
    let (id, cus) = customer_for(&stack, "overlap@example.com").await;
    let sub = checkout(&stack, &id, &cus, "price_pro_monthly").await;
    let sub_id = sub["id"].as_str().unwrap().to_string();
    flush(&stack, "created", 0).await;
    assert_eq!(stack.entitlement(&id).await.status, subscription(SubscriptionStatus::Active));

    // Event A reads the subscriptions while they are active, but Stripe's
    // answer is held until event B was processed...
    let read = stack.hold(Upstream::Stripe, "a-reads", "GET", "/v1/subscriptions", Serve::OnArrival).await;
    let t = unix_now();
    let body_a = event("evt_overlap_a", "customer.subscription.updated", &cus, false);
    let body_b = event("evt_overlap_b", "customer.subscription.updated", &cus, false);
    let slow_a = post_event(&stack, Some(signed(STRIPE_WEBHOOK_SECRET, t, &body_a)), &body_a);
    // ...while the payment fails and event B, read later, is processed at once.
    let fast_b = async {
        stack.arrived(&read).await;
        stack.stripe_control(&format!("/_emulator/subscriptions/{sub_id}/status"), json!({"status": "past_due"})).await;
        let b = post_event(&stack, Some(signed(STRIPE_WEBHOOK_SECRET, t, &body_b)), &body_b).await;
        stack.release(&read).await;
        b
    };
    let ((status_a, a), (status_b, b)) = tokio::join!(slow_a, fast_b);
    assert_eq!((status_a, status_b), (200, 200), "{a} {b}");

    // A finished last with the older read: the record still says what Stripe says.
    let e = assert_matches_stripe(&stack, &id, &sub_id).await;
    assert_eq!((e.status, e.access), (subscription(SubscriptionStatus::PastDue), Access::Limited), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_price_missing_from_plans_grants_nothing_and_is_logged() {
    let mut options = StackOptions::default();
    options.stripe.prices.push(ksb_emulators::stripe::PriceSeed::new("price_legacy", "legacy_monthly", 900, "month"));
    let stack = Stack::start_with(options).await;
    let (id, cus) = customer_for(&stack, "legacy@example.com").await;
    stack
        .stripe_api(Method::POST, "/v1/subscriptions", &[("customer", &cus), ("items[0][price]", "price_legacy")])
        .await;
    let e = stack.sync(&id).await;
    assert_eq!(
        (e.plan.as_str(), e.access, e.status),
        ("free", Access::None, subscription(SubscriptionStatus::Active)),
        "{e:?}"
    );
    let log = stack.log_when("the unmapped_price line", |l| l.contains(r#""at":"unmapped_price""#)).await;
    assert!(log.lines().any(|l| l.contains(r#""at":"unmapped_price""#) && l.contains("legacy_monthly")), "{log}");
}

/// A duplicate customer naming an identity (made by a Stripe that ignored an
/// `Idempotency-Key`, or by hand in the dashboard) must never take over that
/// identity's record: the identity's own customer stays authoritative.
#[tokio::test(flavor = "multi_thread")]
async fn events_of_a_duplicate_customer_never_touch_the_identitys_record() {
    let stack = Stack::start().await;
    manual_delivery(&stack).await;
    let (id, cus) = customer_for(&stack, "dup@example.com").await;
    flush(&stack, "created", 0).await;

    let dup = stack
        .stripe_api(
            Method::POST,
            "/v1/customers",
            &[("email", "dup@example.com"), ("metadata[olympus_identity_id]", id.as_str())],
        )
        .await;
    let dup_id = dup["id"].as_str().unwrap().to_string();
    checkout(&stack, &id, &dup_id, "price_pro_monthly").await;
    flush(&stack, "shuffle", 5).await;

    let e = stack.entitlement(&id).await;
    assert_eq!(e.stripe_customer_id.as_deref(), Some(cus.as_str()), "the duplicate took over: {e:?}");
    assert_eq!(e.plan, "free", "{e:?}");
    let (_, identity) = stack.kratos_identity(&id).await;
    assert_eq!(identity["metadata_admin"]["stripe_customer_id"], cus.as_str());
    // A sync reads the identity's own customer, which still has no subscription.
    let synced = stack.sync(&id).await;
    assert_eq!(
        (synced.stripe_customer_id.as_deref(), synced.plan.as_str()),
        (Some(cus.as_str()), "free"),
        "{synced:?}"
    );
}

/// A record that has expired since it was stored says why at read time: a
/// trial that ended with no event since is denied as `trial_ended`.
#[tokio::test(flavor = "multi_thread")]
async fn a_trial_that_ended_since_the_last_event_is_denied_as_trial_ended() {
    const DAY: i64 = 86_400;
    let mut stack = Stack::start().await;
    let (id, cus) = customer_for(&stack, "trial-ends@example.com").await;
    let trial_end = (unix_now() + DAY).to_string();
    let form =
        [("customer", cus.as_str()), ("items[0][price]", "price_pro_monthly"), ("trial_end", trial_end.as_str())];
    stack.stripe_api(Method::POST, "/v1/subscriptions", &form).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while stack.entitlement(&id).await.status != subscription(SubscriptionStatus::Trialing) {
        assert!(std::time::Instant::now() < deadline, "the trial never reached the record");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(feature(&stack, &id, "premium_feature").await.allowed);
    manual_delivery(&stack).await;

    // Two days later, with no event since: the worker's clock moved on
    // (TEST_CLOCK_OFFSET), the stored record did not.
    stack.restart_worker_with(&[("TEST_CLOCK_OFFSET", &(2 * DAY).to_string())]).await;
    let gate = feature(&stack, &id, "premium_feature").await;
    assert_eq!((gate.allowed, gate.reason, gate.plan.as_str()), (false, Reason::TrialEnded, "free"), "{gate:?}");
    assert!(feature(&stack, &id, "basic_feature").await.allowed, "the default plan still applies");
}
