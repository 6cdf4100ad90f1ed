//! End to end, driven through the Kratos emulator's hook firing: exactly one
//! Stripe customer per identity, linked both ways, kept in sync, and removed
//! cleanly by account deletion.

mod common;

use common::basics::status_json;
use common::stack::*;
use ksb_emulators::kratos::HookOptions;
use reqwest::Method;
use serde_json::{json, Value};

/// Fires the registration or settings hook for an existing identity.
async fn fire_hook(stack: &Stack, flow: &str, identity_id: &str, times: u32, concurrent: bool) -> Value {
    stack
        .control(
            Method::POST,
            stack.kratos_admin("/_emulator/hooks/fire"),
            json!({"flow": flow, "identity_id": identity_id, "times": times, "concurrent": concurrent}),
        )
        .await
}

fn final_status(hook: &Value) -> u64 {
    hook["attempts"].as_array().and_then(|a| a.last()).and_then(|a| a["status"].as_u64()).unwrap_or(0)
}

async fn assert_linked_once(stack: &Stack, identity_id: &str, email: &str) -> String {
    let customers = stack.customers_of(identity_id).await;
    assert_eq!(customers.len(), 1, "exactly one customer: {customers:?}");
    let customer = &customers[0];
    assert_eq!(customer["email"], email);
    let cus = customer["id"].as_str().unwrap().to_string();
    let (status, identity) = stack.kratos_identity(identity_id).await;
    assert_eq!(status, 200);
    assert_eq!(identity["metadata_admin"]["stripe_customer_id"], cus.as_str(), "{identity}");
    cus
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_creates_one_customer_and_links_both_ways() {
    let stack = Stack::start().await;
    let flow = stack.register("ada@example.com", "Ada", "Lovelace").await;
    assert_eq!(flow["hook"]["ok"], true, "{flow}");
    let id = flow["identity"]["id"].as_str().unwrap().to_string();
    let answer = &flow["hook"]["attempts"][0]["body"];
    let cus = assert_linked_once(&stack, &id, "ada@example.com").await;
    assert_eq!(answer["stripe_customer_id"], cus.as_str());

    let customers = stack.customers_of(&id).await;
    assert_eq!(customers[0]["name"], "Ada Lovelace");
    assert_eq!(customers[0]["metadata"]["olympus_identity_id"], id.as_str());

    // A call after the link exists (a replayed flow) changes nothing.
    let again = fire_hook(&stack, "registration", &id, 1, false).await;
    assert_eq!(final_status(&again[0]), 200, "{again}");
    assert_eq!(again[0]["attempts"][0]["body"]["customer_created"], false);
    assert_linked_once(&stack, &id, "ada@example.com").await;
    // The identity's record names its customer before any subscription.
    let e = stack.entitlement(&id).await;
    assert_eq!((e.plan.as_str(), e.stripe_customer_id.as_deref()), ("free", Some(cus.as_str())), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_duplicates_and_retries_end_with_one_customer_and_other_metadata_kept() {
    let stack = Stack::start().await;
    let id = stack.identity_without_hook("grace@example.com", json!({"support_tier": "gold", "crm": {"id": 7}})).await;
    let results = fire_hook(&stack, "registration", &id, 6, true).await;
    for r in results.as_array().unwrap() {
        assert_eq!(r["ok"], true, "every duplicate ends well: {r}");
    }
    let cus = assert_linked_once(&stack, &id, "grace@example.com").await;
    let (_, identity) = stack.kratos_identity(&id).await;
    assert_eq!(
        identity["metadata_admin"],
        json!({"support_tier": "gold", "crm": {"id": 7}, "stripe_customer_id": cus}),
        "other metadata_admin keys are kept"
    );
}

/// Stripe saves a 500 raised while executing under the Idempotency-Key and
/// replays it for 24 h to every retry with that key. The customer's key is
/// fixed per identity, so the hook looks for the customer the failed call
/// may have made and creates it under a fresh key only when there is none:
/// Kratos' retries end with exactly one customer, whether or not the failed
/// call made one.
#[tokio::test(flavor = "multi_thread")]
async fn a_500_saved_under_the_customers_key_does_not_block_the_identity() {
    let stack = Stack::start().await;
    for (email, executed) in [("saved-none@example.com", false), ("saved-made@example.com", true)] {
        let fault =
            json!({"count": 1, "kind": "500", "saved": true, "executed": executed, "path_prefix": "/v1/customers"});
        stack.stripe_control("/_emulator/faults", fault).await;
        let flow = stack.register(email, "Saved", "Failure").await;
        let attempts = flow["hook"]["attempts"].as_array().cloned().unwrap_or_default();
        assert_eq!(flow["hook"]["ok"], true, "{email}: a retry recovers: {flow}");
        assert!(attempts.len() >= 2, "{email}: the first attempt met the 500: {flow}");
        let id = flow["identity"]["id"].as_str().unwrap().to_string();
        let cus = assert_linked_once(&stack, &id, email).await;
        assert_eq!(stack.entitlement(&id).await.stripe_customer_id.as_deref(), Some(cus.as_str()), "{email}");
        let state = stack.stripe_state().await;
        let with_email = state["customers"].as_array().unwrap().iter().filter(|c| c["email"] == email).count();
        assert_eq!(with_email, 1, "{email}: never a second customer");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stripe_outage_during_registration_is_repaired_by_kratos_retries() {
    let stack = Stack::start().await;
    stack.stripe_control("/_emulator/faults", json!({"count": 2, "kind": "500", "path_prefix": "/v1/customers"})).await;
    let flow = stack.register("outage@example.com", "Out", "Age").await;
    let attempts = flow["hook"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "Kratos retried: {flow}");
    assert!(attempts[0]["status"].as_u64().unwrap() >= 500, "a Stripe failure is a 5xx: {flow}");
    assert_eq!(final_status(&flow["hook"]), 200, "{flow}");
    let id = flow["identity"]["id"].as_str().unwrap();
    assert_linked_once(&stack, id, "outage@example.com").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kratos_outage_is_a_5xx_and_the_retry_completes_the_link() {
    let stack = Stack::start().await;
    let id = stack.identity_without_hook("kat@example.com", Value::Null).await;
    stack
        .control(
            Method::POST,
            stack.kratos_admin("/_emulator/faults"),
            json!({"count": 1, "kind": "500", "path_prefix": "/admin/identities", "method": "PATCH"}),
        )
        .await;
    let results = fire_hook(&stack, "registration", &id, 1, false).await;
    let attempts = results[0]["attempts"].as_array().unwrap();
    assert!(attempts[0]["status"].as_u64().unwrap() >= 500, "{results}");
    assert_eq!(final_status(&results[0]), 200, "{results}");
    assert_linked_once(&stack, &id, "kat@example.com").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_changes_reach_the_customer() {
    let stack = Stack::start().await;
    let flow = stack.register("old@example.com", "Old", "Name").await;
    let id = flow["identity"]["id"].as_str().unwrap().to_string();
    let settings = stack
        .control(
            Method::POST,
            stack.kratos_admin("/_emulator/flows/settings"),
            json!({"identity_id": id, "traits": {"email": "new@example.com", "name": {"first": "New", "last": "Name"}}}),
        )
        .await;
    assert_eq!(final_status(&settings["hook"]), 200, "{settings}");
    assert_eq!(settings["hook"]["attempts"][0]["body"]["customer_updated"], true);
    let customers = stack.customers_of(&id).await;
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0]["email"], "new@example.com");
    assert_eq!(customers[0]["name"], "New Name");

    // An identity without a customer gets one on the way.
    let other = stack.identity_without_hook("late@example.com", Value::Null).await;
    let r = fire_hook(&stack, "settings", &other, 1, false).await;
    assert_eq!(final_status(&r[0]), 200, "{r}");
    assert_linked_once(&stack, &other, "late@example.com").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hooks_refuse_bad_callers_and_bad_bodies_and_create_nothing() {
    let stack = Stack::start().await;
    let url = stack.url("/hooks/kratos/registration");
    let body =
        json!({"identity": {"id": "5b0e8f0e-8c1a-4a43-9b55-4a8f3c1f2a10", "traits": {"email": "x@example.com"}}});

    let r = stack.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = stack.http.post(&url).bearer_auth("wrong").json(&body).send().await.unwrap();
    let (status, v) = status_json(r).await;
    assert_eq!((status, v["error"]["code"].as_str()), (401, Some("unauthorized")));

    let cases = [
        ("{not json", "invalid_json"),
        (r#"{"flow_id": "x"}"#, "missing_identity"),
        (r#"{"identity": {"traits": {"email": "x@example.com"}}}"#, "missing_identity_id"),
        (r#"{"identity": {"id": "5b0e8f0e-8c1a-4a43-9b55-4a8f3c1f2a10", "traits": {}}}"#, "missing_email"),
    ];
    for (bad, code) in cases {
        let r = stack.http.post(&url).bearer_auth(KRATOS_WEBHOOK_SECRET).body(bad).send().await.unwrap();
        let (status, v) = status_json(r).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert_eq!(v["error"]["code"], code, "{bad}: {v}");
    }
    let state = stack.stripe_state().await;
    assert_eq!(state["customers"].as_array().unwrap().len(), 0, "nothing was created");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parsing_hook_is_refused_with_the_configuration_to_use() {
    let stack = Stack::start_with(StackOptions {
        kratos_hooks: HookOptions { parse: true, ..HookOptions::default() },
        ..StackOptions::default()
    })
    .await;
    let flow = stack.register("parse@example.com", "Par", "Se").await;
    let answer = &flow["hook"]["attempts"][0];
    assert_eq!(answer["status"], 400, "{flow}");
    assert_eq!(answer["body"]["error"]["code"], "nil_identity");
    assert!(answer["body"]["error"]["message"].as_str().unwrap().contains("response.parse"), "{flow}");
    assert_eq!(stack.stripe_state().await["customers"].as_array().unwrap().len(), 0);
}

/// A Stripe that refuses for good (here: a revoked key) is a 502 whose answer
/// and log name Stripe's own words, never a bare "Stripe answered 401".
#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_stripe_refusal_names_its_cause_in_the_answer_and_the_log() {
    let revoked = "sk_test_revoked_bridge_key";
    let stack = Stack::start_with(StackOptions::default().var("STRIPE_SECRET_KEY", revoked)).await;
    let flow = stack.register("refused@example.com", "Re", "Fused").await;
    let answer = &flow["hook"]["attempts"][0];
    assert_eq!(answer["status"], 502, "{flow}");
    let error = &answer["body"]["error"];
    assert_eq!(error["code"], "stripe_auth", "{error}");
    assert!(error["message"].as_str().unwrap().contains("POST /v1/customers with 401"), "{error}");
    let upstream = &error["upstream"];
    assert_eq!((upstream["service"].as_str(), upstream["status"].as_u64()), (Some("stripe"), Some(401)), "{error}");
    assert_eq!(upstream["type"], "invalid_request_error", "{error}");
    assert!(upstream["message"].as_str().unwrap().starts_with("Invalid API Key provided"), "{error}");
    assert_eq!(stack.stripe_state().await["customers"].as_array().unwrap().len(), 0);

    let log = stack
        .log_when("the stripe_auth line", |l| l.contains(r#""error":"stripe_auth""#) && l.contains(r#""upstream":{"#))
        .await;
    let line =
        log.lines().find(|l| l.contains(r#""at":"request""#) && l.contains("stripe_auth")).expect("a request log line");
    assert!(
        line.contains(r#""route":"POST /hooks/kratos/registration""#) && line.contains(r#""status":502"#),
        "{line}"
    );
    assert!(line.contains("Invalid API Key provided"), "{line}");
    // The worker's own lines (wrangler's banner lists the test's vars).
    let lines = worker_lines(&log);
    assert!(!lines.is_empty());
    for l in lines {
        assert!(!l.contains(revoked) && !l.contains("refused@example.com"), "no key or email in the log: {l}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_that_read_stripe_before_a_deletion_does_not_bring_the_record_back() {
    let stack = Stack::start().await;
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let flow = stack.register("late-sync@example.com", "Late", "Sync").await;
    let id = flow["identity"]["id"].as_str().unwrap().to_string();
    let cus = assert_linked_once(&stack, &id, "late-sync@example.com").await;
    stack
        .stripe_api(Method::POST, "/v1/subscriptions", &[("customer", &cus), ("items[0][price]", "price_pro_monthly")])
        .await;
    // The event's sync reads Stripe while it is active, and its answer
    // arrives 4 s later: after the whole deletion ran.
    let slow = json!({"count": 1, "kind": "slow", "hang_ms": 4000, "path_prefix": "/v1/subscriptions"});
    stack.stripe_control("/_emulator/faults", slow).await;
    let flush = {
        let (http, url) = (stack.http.clone(), stack.stripe_url("/_emulator/events/flush"));
        tokio::spawn(async move { http.post(url).json(&json!({"order": "created"})).send().await.unwrap().status() })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let faults = stack.control(Method::GET, stack.stripe_url("/_emulator/faults"), json!(null)).await;
        if faults["pending"] == 0 {
            break; // the event's read is the one being held
        }
        assert!(std::time::Instant::now() < deadline, "the event's sync never read Stripe: {faults}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, report) = stack.api(Method::DELETE, &format!("/v1/identities/{id}")).await;
    assert_eq!((status, report["identity_deleted"].as_bool()), (200, Some(true)), "{report}");
    assert!(flush.await.unwrap().is_success());
    let e = stack.entitlement(&id).await;
    assert_eq!(
        (e.plan.as_str(), e.stripe_customer_id.as_deref()),
        ("free", None),
        "the deleted identity stays forgotten: {e:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn account_deletion_cancels_billing_deletes_the_identity_and_forgets_it() {
    let stack = Stack::start().await;
    let flow = stack.register("leaving@example.com", "Lea", "Ving").await;
    let id = flow["identity"]["id"].as_str().unwrap().to_string();
    let cus = assert_linked_once(&stack, &id, "leaving@example.com").await;
    let sub = stack
        .stripe_api(Method::POST, "/v1/subscriptions", &[("customer", &cus), ("items[0][price]", "price_pro_monthly")])
        .await;
    let e = stack.sync(&id).await;
    assert_eq!(e.plan, "pro", "{e:?}");

    let (status, report) = stack.api(Method::DELETE, &format!("/v1/identities/{id}")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["canceled_subscriptions"], json!([sub["id"]]));
    assert_eq!(report["identity_deleted"], true);
    assert_eq!(report["customer_deleted"], false, "the customer is kept unless configured");

    let state = stack.stripe_state().await;
    let stored = state["subscriptions"].as_array().unwrap().iter().find(|s| s["id"] == sub["id"]).unwrap();
    assert_eq!(stored["status"], "canceled");
    assert_eq!(stack.kratos_identity(&id).await.0, 404);
    let e = stack.entitlement(&id).await;
    assert_eq!((e.plan.as_str(), e.stripe_customer_id.as_deref()), ("free", None), "KV is clean: {e:?}");

    // A repeated deletion is harmless.
    let (status, again) = stack.api(Method::DELETE, &format!("/v1/identities/{id}")).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["canceled_subscriptions"], json!([]));
    assert_eq!(again["identity_deleted"], false);
}

/// Kratos reads ids in any case: so does every route, as the one identity
/// (its lower-case id), so that a deletion by an upper-case id leaves no
/// half of the identity behind for a late webhook to write back.
#[tokio::test(flavor = "multi_thread")]
async fn an_upper_case_id_is_the_same_identity_on_every_route() {
    let stack = Stack::start().await;
    let flow = stack.register("upper@example.com", "Up", "Per").await;
    let id = flow["identity"]["id"].as_str().unwrap().to_string();
    let upper = id.to_ascii_uppercase();
    assert_ne!(id, upper);
    let cus = assert_linked_once(&stack, &id, "upper@example.com").await;
    stack
        .stripe_api(Method::POST, "/v1/subscriptions", &[("customer", &cus), ("items[0][price]", "price_pro_monthly")])
        .await;
    let e = stack.sync(&upper).await;
    assert_eq!((e.identity_id.as_str(), e.plan.as_str()), (id.as_str(), "pro"), "{e:?}");
    assert_eq!(stack.entitlement(&id).await.plan, "pro", "one record for both spellings");

    // Deleted by its upper-case id, with the cancellation's events held.
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let (status, report) = stack.api(Method::DELETE, &format!("/v1/identities/{upper}")).await;
    assert_eq!((status, report["identity_deleted"].as_bool()), (200, Some(true)), "{report}");
    assert_eq!(report["canceled_subscriptions"].as_array().map(Vec::len), Some(1), "{report}");
    let flushed = stack.stripe_control("/_emulator/events/flush", json!({"order": "created"})).await;
    assert!(flushed.to_string().contains("customer.subscription.deleted"), "the cancellation was delivered: {flushed}");
    // Nothing of the identity is left, and the late event wrote nothing back.
    for spelling in [&id, &upper] {
        let e = stack.entitlement(spelling).await;
        assert_eq!((e.plan.as_str(), e.stripe_customer_id.as_deref()), ("free", None), "{spelling}: {e:?}");
        let (status, v) = stack.api(Method::POST, &format!("/v1/identities/{spelling}/sync")).await;
        assert_eq!((status, v["error"]["code"].as_str()), (404, Some("identity_deleted")), "{spelling}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn users_delete_their_own_account_with_their_session() {
    let stack = Stack::start_with(StackOptions::default().var("DELETE_STRIPE_CUSTOMER", "true")).await;
    let flow = stack.register("self@example.com", "Self", "Service").await;
    let id = flow["identity"]["id"].as_str().unwrap().to_string();
    let token = flow["session_token"].as_str().unwrap().to_string();
    let cus = assert_linked_once(&stack, &id, "self@example.com").await;

    let r = stack.http.delete(stack.url("/me")).send().await.unwrap();
    assert_eq!(r.status(), 401, "no session, no deletion");
    let r = stack.http.delete(stack.url("/me")).header("X-Session-Token", &token).send().await.unwrap();
    let (status, report) = status_json(r).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["identity_id"], id.as_str());
    assert_eq!(report["customer_deleted"], true);
    assert_eq!(stack.kratos_identity(&id).await.0, 404);
    let state = stack.stripe_state().await;
    let c = state["customers"].as_array().unwrap().iter().find(|c| c["id"] == cus.as_str()).unwrap();
    assert_eq!(c["deleted"], true, "{c}");
    // The session died with the identity.
    let r = stack.http.delete(stack.url("/me")).header("X-Session-Token", &token).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_refuses_bad_tokens_and_bad_ids() {
    let stack = Stack::start().await;
    let r = stack.http.get(stack.url("/v1/identities/5b0e8f0e-8c1a-4a43-9b55-4a8f3c1f2a10/entitlements")).send().await;
    assert_eq!(r.unwrap().status(), 401);
    let (status, v) = stack.api(Method::DELETE, "/v1/identities/not-a-uuid").await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_identity_id")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_that_fails_midway_is_completed_by_a_retry() {
    let stack = Stack::start().await;
    let flow = stack.register("halfway@example.com", "Half", "Way").await;
    let id = flow["identity"]["id"].as_str().unwrap().to_string();
    let cus = assert_linked_once(&stack, &id, "halfway@example.com").await;
    let sub = stack
        .stripe_api(Method::POST, "/v1/subscriptions", &[("customer", &cus), ("items[0][price]", "price_pro_monthly")])
        .await;
    stack
        .control(
            Method::POST,
            stack.kratos_admin("/_emulator/faults"),
            json!({"count": 1, "kind": "500", "path_prefix": "/admin/identities", "method": "DELETE"}),
        )
        .await;

    let (status, v) = stack.api(Method::DELETE, &format!("/v1/identities/{id}")).await;
    assert!(status >= 500, "Kratos failed: the caller must retry ({status} {v})");
    assert_eq!(stack.kratos_identity(&id).await.0, 200, "the identity is still there");

    let (status, report) = stack.api(Method::DELETE, &format!("/v1/identities/{id}")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["stripe_customer_id"], cus.as_str(), "the retry still found the customer");
    assert_eq!(report["canceled_subscriptions"], json!([]), "already canceled by the first call");
    assert_eq!(report["identity_deleted"], true);
    let state = stack.stripe_state().await;
    let stored = state["subscriptions"].as_array().unwrap().iter().find(|s| s["id"] == sub["id"]).unwrap();
    assert_eq!(stored["status"], "canceled");
    assert_eq!(stack.kratos_identity(&id).await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_name_ids_and_outcomes_but_never_emails_or_secrets() {
    let stack = Stack::start().await;
    let flow = stack.register("private.person@example.com", "Private", "Person").await;
    let id = flow["identity"]["id"].as_str().unwrap().to_string();
    fire_hook(&stack, "settings", &id, 1, false).await;
    let log = stack.log_when("two kratos_hook lines", |l| l.matches(r#""at":"kratos_hook""#).count() >= 2).await;
    let hook_lines: Vec<&str> = log.lines().filter(|l| l.contains(r#""at":"kratos_hook""#)).collect();
    assert!(hook_lines.len() >= 2, "one structured line per hook call:\n{log}");
    assert!(hook_lines.iter().all(|l| l.contains(&id) && l.contains("duration_ms")), "{hook_lines:?}");
    // Everything printed once the worker served: wrangler's bindings table
    // before it lists the vars, secrets included, as a developer set them.
    // The worker's first own line marks where serving began; the part
    // searched must hold the hook lines, so a change in wrangler's output
    // cannot turn this into a search of nothing.
    let served = &log[log.find(r#"{"at":""#).expect("a line of the worker's own")..];
    assert!(served.matches(r#""at":"kratos_hook""#).count() >= 2, "the searched part holds the hook lines:\n{served}");
    let after_bindings = served;
    assert!(!after_bindings.contains("@example.com"), "an email address reached the logs:\n{after_bindings}");
    for secret in [KRATOS_WEBHOOK_SECRET, STRIPE_KEY, BRIDGE_API_TOKEN, KRATOS_ADMIN_TOKEN] {
        assert!(!after_bindings.contains(secret), "a secret reached the logs");
    }
}
