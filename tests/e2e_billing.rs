//! End to end: the signed-in user's Checkout and Billing Portal
//! (`POST /billing/checkout`, `POST /billing/portal`) against the Stripe
//! and Kratos emulators: the identity's own customer, `pending` from the
//! Checkout until Stripe resolves it (completed or abandoned), a
//! subscriber sent to the portal, bad input and cross-site requests
//! refused with nothing created.

mod common;

use common::basics::{status_json, unix_now};
use common::calls::{Serve, Upstream, User};
use common::openapi::assert_documented;
use common::stack::*;
use reqwest::Method;
use serde_json::{json, Value};

/// What a billing call sends besides the session.
enum Body<'a> {
    Form(&'a [(&'a str, &'a str)]),
    Json(Value),
    Empty,
}

/// `POST /billing/{what}` as an API client with a session token (and any
/// extra headers); the answer must be one `docs/openapi.json` describes.
async fn billing(stack: &Stack, what: &str, token: &str, body: Body<'_>, headers: &[(&str, &str)]) -> (u16, Value) {
    let path = format!("/billing/{what}");
    let mut r = stack.http.post(stack.url(&path)).header("X-Session-Token", token);
    r = match body {
        Body::Form(f) => r.form(f),
        Body::Json(v) => r.json(&v),
        Body::Empty => r,
    };
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let (status, v) = status_json(r.send().await.expect("POST /billing")).await;
    assert_documented("POST", &path, status, &v);
    (status, v)
}

async fn checkout(stack: &Stack, token: &str, form: &[(&str, &str)]) -> (u16, Value) {
    billing(stack, "checkout", token, Body::Form(form), &[]).await
}

/// The signed-in user's record, as `GET /me/entitlements` answers it.
async fn mine(stack: &Stack, token: &str) -> Value {
    let r = stack.http.get(stack.url("/me/entitlements")).header("X-Session-Token", token).send().await.unwrap();
    let (status, v) = status_json(r).await;
    assert_eq!(status, 200, "{v}");
    v
}

/// The emulator's id of the Checkout Session behind a URL the worker answered.
async fn session_of(stack: &Stack, url: &str) -> Value {
    let all = stack.checkout_sessions().await;
    all.into_iter().find(|s| s["url"] == url).unwrap_or_else(|| panic!("no session has the url {url}"))
}

/// Delivers every held event once, in creation order; all must be acknowledged.
async fn deliver(stack: &Stack) {
    stack.stripe_control("/_emulator/events/flush", json!({"order": "created"})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkout_is_pending_until_stripe_confirms_it_and_a_subscriber_goes_to_the_portal() {
    let stack = Stack::start().await;
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let User { id, customer: cus, token } = stack.user("buyer@example.com").await;
    deliver(&stack).await;

    let (status, answer) = checkout(&stack, &token, &[("plan", "pro")]).await;
    assert_eq!((status, answer["kind"].as_str()), (200, Some("checkout")), "{answer}");
    let url = answer["url"].as_str().unwrap();
    let session = session_of(&stack, url).await;
    assert_eq!(session["customer"], cus.as_str(), "the identity's own customer: {session}");
    assert_eq!(session["customer_email"], Value::Null, "never customer_email when a customer exists");
    assert_eq!(session["client_reference_id"], id.as_str());
    assert_eq!(session["mode"], "subscription");
    let success = session["success_url"].as_str().unwrap();
    assert!(success.starts_with(APP_URL) && session["cancel_url"].as_str().unwrap().starts_with(APP_URL));
    assert_eq!(stack.customers_of(&id).await.len(), 1, "no second customer");
    let record = mine(&stack, &token).await;
    assert_eq!((record["pending"].as_bool(), record["plan"].as_str()), (Some(true), Some("free")), "{record}");
    assert_eq!(record["pending_checkout"]["session_id"], session["id"]);

    // A second click while the session is open goes back to the same session.
    let (_, again) = checkout(&stack, &token, &[("price", "pro_monthly")]).await;
    assert_eq!(again["url"].as_str(), Some(url), "{again}");
    assert_eq!(stack.checkout_sessions().await.len(), 1, "one session for a double-click");

    // The customer pays; the webhooks resolve the pending record.
    let cs = session["id"].as_str().unwrap();
    stack.stripe_control(&format!("/_emulator/checkout/sessions/{cs}/complete"), json!({})).await;
    deliver(&stack).await;
    let record = mine(&stack, &token).await;
    assert_eq!(
        (record["pending"].as_bool(), record["plan"].as_str(), record["status"].as_str()),
        (Some(false), Some("pro"), Some("active")),
        "{record}"
    );
    let subs = stack.stripe_state().await["subscriptions"].as_array().cloned().unwrap_or_default();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0]["metadata"]["olympus_identity_id"], id.as_str(), "subscription_data metadata");

    // A subscriber checking out again is sent to the portal, not a second subscription.
    let (status, answer) = checkout(&stack, &token, &[("plan", "enterprise")]).await;
    assert_eq!((status, answer["kind"].as_str()), (200, Some("portal")), "{answer}");
    let state = stack.stripe_state().await;
    assert_eq!(
        state["checkout_sessions"].as_array().expect("the emulator's checkout_sessions").len(),
        1,
        "no second Checkout Session"
    );
    let portal = &state["portal_sessions"].as_array().expect("portal sessions")[0];
    assert_eq!((portal["customer"].as_str(), portal["return_url"].as_str()), (Some(cus.as_str()), Some(APP_URL)));

    // The portal itself.
    let (status, answer) = billing(&stack, "portal", &token, Body::Empty, &[]).await;
    assert_eq!((status, answer["kind"].as_str()), (200, Some("portal")), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_checkout_stays_pending_until_its_session_expires() {
    let stack = Stack::start().await;
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let User { id, token, .. } = stack.user("abandon@example.com").await;
    deliver(&stack).await;
    let (_, answer) = checkout(&stack, &token, &[("plan", "pro")]).await;
    let session = session_of(&stack, answer["url"].as_str().unwrap()).await;
    let cs = session["id"].as_str().unwrap();

    // Unrelated events and syncs do not end it: the session may still be paid.
    stack
        .stripe_api(Method::POST, &format!("/v1/customers/{}", session["customer"].as_str().unwrap()), &[("name", "B")])
        .await;
    deliver(&stack).await;
    assert!(stack.sync(&id).await.pending, "still open after a sync");
    assert_eq!(mine(&stack, &token).await["pending"], true);

    // Stripe expires it: checkout.session.expired ends pending.
    stack.stripe_api(Method::POST, &format!("/v1/checkout/sessions/{cs}/expire"), &[]).await;
    deliver(&stack).await;
    let record = mine(&stack, &token).await;
    assert_eq!((record["pending"].as_bool(), record["plan"].as_str()), (Some(false), Some("free")), "{record}");

    // A new checkout then makes a new session (the expired one cannot be paid).
    let (_, again) = checkout(&stack, &token, &[("plan", "pro")]).await;
    assert_ne!(again["url"], answer["url"]);
    assert_eq!(stack.checkout_sessions().await.len(), 2);
    assert_eq!(mine(&stack, &token).await["pending"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn choosing_another_plan_expires_the_open_session_so_only_one_can_be_paid() {
    let stack = Stack::start().await;
    let User { token, .. } = stack.user("switch@example.com").await;
    let (_, pro) = checkout(&stack, &token, &[("plan", "pro")]).await;
    let pro_session = mine(&stack, &token).await["pending_checkout"]["session_id"].clone();
    let (_, enterprise) = checkout(&stack, &token, &[("plan", "enterprise")]).await;
    assert_ne!(pro["url"], enterprise["url"]);
    let all = stack.checkout_sessions().await;
    let status = |id: &Value| all.iter().find(|s| s["id"] == *id).map(|s| s["status"].clone());
    assert_eq!(status(&pro_session), Some(json!("expired")), "the pro session can no longer be paid");
    let record = mine(&stack, &token).await;
    assert_eq!(status(&record["pending_checkout"]["session_id"]), Some(json!("open")));
    assert_eq!(record["pending_checkout"]["price"], "price_enterprise_monthly");
    assert_eq!(all.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_400_with_nothing_created_in_stripe() {
    let stack = Stack::start().await;
    let User { id, token, .. } = stack.user("typo@example.com").await;
    let before = stack.stripe_state().await;
    for (what, body, code) in [
        ("no field", Body::Form(&[]), "plan_or_price_required"),
        ("both", Body::Form(&[("plan", "pro"), ("price", "pro_monthly")]), "plan_or_price_required"),
        ("an unknown plan", Body::Form(&[("plan", "gold")]), "unknown_plan"),
        ("the free plan", Body::Form(&[("plan", "free")]), "plan_not_for_sale"),
        ("an unknown lookup key", Body::Form(&[("price", "cheap_monthly")]), "unknown_price"),
        ("a price id Stripe lacks", Body::Json(json!({"price": "price_nope"})), "unknown_price"),
        ("not a string", Body::Json(json!({"plan": 1})), "invalid_body"),
    ] {
        let (status, v) = billing(&stack, "checkout", &token, body, &[]).await;
        assert_eq!((status, v["error"]["code"].as_str()), (400, Some(code)), "{what}: {v}");
    }
    let after = stack.stripe_state().await;
    assert_eq!(after["checkout_sessions"].as_array().expect("the emulator's checkout_sessions").len(), 0);
    assert_eq!(after["customers"], before["customers"], "no customer created or changed");
    assert_eq!(mine(&stack, &token).await["pending"], false);

    // A price id that buys a plan is accepted, as JSON too.
    let (status, v) = billing(&stack, "checkout", &token, Body::Json(json!({"price": "price_pro_yearly"})), &[]).await;
    assert_eq!((status, v["kind"].as_str()), (200, Some("checkout")), "{v}");
    assert_eq!(stack.entitlement(&id).await.pending_checkout.unwrap().price, "price_pro_yearly");
}

/// What a client sends (a path, a plan or price name) may be an email
/// address: it never reaches the log, whose lines name route patterns,
/// codes and lengths. (Every stack also checks its whole log for emails
/// when it stops; this test first shows the lines it checks are there.)
#[tokio::test(flavor = "multi_thread")]
async fn client_input_never_reaches_the_log() {
    let stack = Stack::start().await;
    let User { token, .. } = stack.user("quiet@example.com").await;
    let email = "ada.lovelace@example.com";
    let r = stack.http.get(stack.url(&format!("/{email}/profile"))).send().await.unwrap();
    let (status, v) = status_json(r).await;
    assert_eq!((status, v["error"]["code"].as_str()), (404, Some("not_found")), "{v}");
    for (field, code) in [("plan", "unknown_plan"), ("price", "unknown_price")] {
        let (status, v) = checkout(&stack, &token, &[(field, email)]).await;
        assert_eq!((status, v["error"]["code"].as_str()), (400, Some(code)), "{field}: {v}");
    }
    let outcomes = [r#""outcome":"not_found""#, r#""outcome":"unknown_plan""#, r#""outcome":"unknown_price""#];
    let lines = |log: &str| -> Vec<String> {
        worker_lines(log)
            .into_iter()
            .filter(|l| l.starts_with(r#"{"at":"request""#) && outcomes.iter().any(|o| l.contains(o)))
            .map(str::to_owned)
            .collect()
    };
    let log = stack.log_when("three refused requests' lines", |log| lines(log).len() >= 3).await;
    let lines = lines(&log);
    assert_eq!(lines.len(), 3, "one line per refused request: {log}");
    for line in &lines {
        assert!(!line.contains("lovelace") && !line.contains('@'), "client input in the log: {line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_identity_without_a_customer_gets_one_at_checkout_and_a_409_at_the_portal() {
    let stack = Stack::start().await;
    // An identity whose registration hook never ran (made in Kratos directly).
    let made = stack
        .control(
            Method::POST,
            stack.kratos_admin("/_emulator/identities"),
            json!({"traits": {"email": "nohook@example.com", "name": {"first": "No", "last": "Hook"}}}),
        )
        .await;
    let id = made["identity"]["id"].as_str().unwrap().to_string();
    let token = made["session_token"].as_str().unwrap().to_string();

    let (status, v) = billing(&stack, "portal", &token, Body::Empty, &[]).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("no_customer")), "{v}");
    assert!(stack.stripe_state().await["portal_sessions"].as_array().is_none_or(Vec::is_empty), "nothing created");

    let (status, v) = checkout(&stack, &token, &[("plan", "pro")]).await;
    assert_eq!(status, 200, "{v}");
    let customers = stack.customers_of(&id).await;
    assert_eq!(customers.len(), 1, "made by the registration hook's get-or-create");
    assert_eq!(customers[0]["email"], "nohook@example.com");
    let (_, identity) = stack.kratos_identity(&id).await;
    assert_eq!(identity["metadata_admin"]["stripe_customer_id"], customers[0]["id"], "linked both ways");
    assert_eq!(session_of(&stack, v["url"].as_str().unwrap()).await["customer"], customers[0]["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn browsers_are_redirected_and_other_sites_refused() {
    let stack = Stack::start().await;
    let User { token, .. } = stack.user("browser@example.com").await;
    for headers in [vec![("Origin", "https://evil.example")], vec![("Sec-Fetch-Site", "cross-site")]] {
        for what in ["checkout", "portal"] {
            let (status, v) = billing(&stack, what, &token, Body::Form(&[("plan", "pro")]), &headers).await;
            assert_eq!((status, v["error"]["code"].as_str()), (403, Some("cross_site_request")), "{what} {headers:?}");
        }
    }
    let state = stack.stripe_state().await;
    assert_eq!(
        state["checkout_sessions"].as_array().expect("the emulator's checkout_sessions").len(),
        0,
        "nothing created"
    );
    let (status, v) = billing(&stack, "checkout", "ory_st_unknown", Body::Form(&[("plan", "pro")]), &[]).await;
    assert_eq!((status, v["error"]["code"].as_str()), (401, Some("unauthorized")));
    let r = stack
        .http
        .post(stack.url("/billing/checkout"))
        .bearer_auth(BRIDGE_API_TOKEN)
        .form(&[("plan", "pro")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "the API token is not a session");

    // A form post from the app's own pages: a 303 to Stripe's page.
    let browser = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = browser
        .post(stack.url("/billing/checkout"))
        .header("X-Session-Token", &token)
        .header("Accept", "text/html,application/xhtml+xml")
        .header("Origin", "http://127.0.0.1:9")
        .form(&[("plan", "pro")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(session_of(&stack, &location).await["status"], "open");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_catalogue_of_price_ids_sells_exactly_those_prices() {
    let plans = r#"{"default_plan": "free", "plans": {
        "free": {"rank": 0, "features": ["basic_feature"]},
        "pro": {"rank": 1, "features": ["basic_feature", "premium_feature"], "prices": ["price_pro_monthly"]}}}"#;
    let stack = Stack::start_with(StackOptions::default().var("PLANS", plans)).await;
    let User { id, token, .. } = stack.user("ids@example.com").await;
    let (status, v) = checkout(&stack, &token, &[("price", "price_pro_yearly")]).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("unknown_price")), "a real price PLANS does not sell");
    assert_eq!(stack.checkout_sessions().await.len(), 0);
    let (status, v) = checkout(&stack, &token, &[("plan", "pro")]).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(stack.entitlement(&id).await.pending_checkout.unwrap().price, "price_pro_monthly");
    // Nothing of the session credential or the email reaches the log.
    let log = stack
        .log_when("two checkout request lines", |l| l.matches(r#""route":"POST /billing/checkout""#).count() >= 2)
        .await;
    let lines: Vec<&str> = worker_lines(&log);
    assert!(lines.iter().any(|l| l.contains("POST /billing/checkout")), "{log}");
    for secret in [token.as_str(), "ids@example.com"] {
        assert!(!lines.iter().any(|l| l.contains(secret)), "{secret} logged");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_clicks_make_one_session() {
    let stack = Stack::start().await;
    let User { token, .. } = stack.user("double@example.com").await;
    let (a, b, c) = tokio::join!(
        checkout(&stack, &token, &[("plan", "pro")]),
        checkout(&stack, &token, &[("plan", "pro")]),
        checkout(&stack, &token, &[("price", "pro_monthly")]),
    );
    for (status, v) in [&a, &b, &c] {
        assert_eq!(*status, 200, "{v}");
    }
    assert_eq!((a.1["url"] == b.1["url"], b.1["url"] == c.1["url"]), (true, true), "{a:?} {b:?} {c:?}");
    assert_eq!(stack.checkout_sessions().await.len(), 1);
}

/// The interleaving behind a flaky CI run, made certain: click B reads the
/// record, then stalls (in its Kratos read, held by the emulator) while
/// click A makes the session and marks the record; B resumes A's session.
#[tokio::test(flavor = "multi_thread")]
async fn a_click_that_read_the_record_before_another_clicks_session_resumes_it() {
    let stack = Stack::start_with(StackOptions::default().var("KRATOS_SYNC_PLAN", "true")).await;
    let User { id, token, .. } = stack.user("stalled@example.com").await;
    let path = format!("/admin/identities/{id}");
    let stall = stack.hold(Upstream::KratosAdmin, "b-reads-kratos", "GET", &path, Serve::OnRelease).await;
    let (second, first) = tokio::join!(checkout(&stack, &token, &[("plan", "pro")]), async {
        stack.arrived(&stall).await;
        let first = checkout(&stack, &token, &[("plan", "pro")]).await;
        stack.release(&stall).await;
        first
    });
    assert_eq!((first.0, second.0), (200, 200), "{first:?} {second:?}");
    assert_eq!(first.1["url"], second.1["url"], "one session for both clicks");
    assert_eq!(stack.checkout_sessions().await.len(), 1);
    let pending = stack.entitlement(&id).await.pending_checkout.expect("still pending");
    assert!(first.1["url"].as_str().unwrap().ends_with(&pending.session_id), "{first:?} {pending:?}");
}

/// A checkout reads the subscriptions (slowly); meanwhile the user subscribes
/// elsewhere and a sync stores it. The checkout acts on the newer record a
/// sync stored, not on its own older read: the subscriber goes to the
/// portal, and no Checkout Session (no second subscription) is made.
#[tokio::test(flavor = "multi_thread")]
async fn a_checkout_acts_on_a_newer_record_a_sync_stored_meanwhile() {
    let stack = Stack::start().await;
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let User { id, customer: cus, token } = stack.user("meanwhile@example.com").await;
    // The checkout's read of the subscriptions is answered as Stripe was
    // when it arrived, and held until the sync below stored its newer read.
    let read = stack.hold(Upstream::Stripe, "checkout-reads", "GET", "/v1/subscriptions", Serve::OnArrival).await;
    let (clicked, synced) = tokio::join!(checkout(&stack, &token, &[("plan", "pro")]), async {
        stack.arrived(&read).await;
        let form = [("customer", cus.as_str()), ("items[0][price]", "price_pro_monthly")];
        stack.stripe_api(Method::POST, "/v1/subscriptions", &form).await;
        let synced = stack.sync(&id).await;
        stack.release(&read).await;
        synced
    });
    assert_eq!(synced.plan, "pro", "the sync read the subscription first: {synced:?}");
    assert_eq!((clicked.0, clicked.1["kind"].as_str()), (200, Some("portal")), "{clicked:?}");
    assert_eq!(stack.checkout_sessions().await.len(), 0, "no Checkout Session: never a second subscription");
    assert_eq!(stack.entitlement(&id).await.plan, "pro");
}

/// Starting the trial rewrites the record: it keeps the record's Stripe-read
/// mark, so a sync that read Stripe before the record the trial was added
/// to (and lands after it) never replaces it with its older read.
#[tokio::test(flavor = "multi_thread")]
async fn a_trial_start_keeps_an_older_stripe_read_from_landing_over_it() {
    let stack = Stack::start().await;
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let User { id, customer: cus, .. } = stack.user("trial-mark@example.com").await;
    let form = [("customer", cus.as_str()), ("items[0][price]", "price_enterprise_monthly")];
    let sub = stack.stripe_api(Method::POST, "/v1/subscriptions", &form).await["id"].as_str().unwrap().to_string();
    assert_eq!(stack.sync(&id).await.plan, "enterprise");
    // Sync A reads the active subscription, but its answer is held...
    let read = stack.hold(Upstream::Stripe, "a-reads", "GET", "/v1/subscriptions", Serve::OnArrival).await;
    let (slow_a, trial) = tokio::join!(stack.sync(&id), async {
        stack.arrived(&read).await;
        // ...while the subscription stops granting, sync B stores that, and the trial starts.
        stack.stripe_control(&format!("/_emulator/subscriptions/{sub}/status"), json!({"status": "unpaid"})).await;
        let b = stack.sync(&id).await;
        let (status, trial) = stack.api(Method::POST, &format!("/v1/identities/{id}/trial")).await;
        stack.release(&read).await;
        (b, status, trial)
    });
    let (b, status, trial) = trial;
    assert_eq!((b.plan.as_str(), status), ("free", 201), "{b:?} {trial}");
    assert_eq!((trial["plan"].as_str(), trial["status"].as_str()), (Some("pro"), Some("trialing")), "{trial}");
    // A landed last with the older read: it must not have replaced the record.
    assert_eq!(slow_a.status.as_str(), "trialing", "A answers the newer record: {slow_a:?}");
    let e = stack.entitlement(&id).await;
    assert_eq!((e.plan.as_str(), e.status.as_str()), ("pro", "trialing"), "the active enterprise read is older: {e:?}");
}

/// Two clicks for different prices at once (two tabs): both read "no last
/// session" and each makes its session, yet the identity is left with one
/// open Checkout Session, and both clicks answer it.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_clicks_for_different_prices_leave_one_open_session() {
    let stack = Stack::start().await;
    let User { id, token, .. } = stack.user("two-tabs@example.com").await;
    // Click A's session is made at once but its answer is held until B made
    // its own, so B runs while A has not yet recorded anything.
    let made = stack.hold(Upstream::Stripe, "a-makes", "POST", "/v1/checkout/sessions", Serve::OnArrival).await;
    let (a, b) = tokio::join!(checkout(&stack, &token, &[("plan", "pro")]), async {
        stack.arrived(&made).await;
        let b = checkout(&stack, &token, &[("plan", "enterprise")]).await;
        stack.release(&made).await;
        b
    });
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    let all = stack.checkout_sessions().await;
    assert_eq!(all.len(), 2, "each click made its own session: {all:?}");
    let open: Vec<&Value> = all.iter().filter(|s| s["status"] == "open").collect();
    assert_eq!(open.len(), 1, "one open session: {all:?}");
    assert_eq!((a.1["url"].as_str(), b.1["url"].as_str()), (open[0]["url"].as_str(), open[0]["url"].as_str()));
    let pending = stack.entitlement(&id).await.pending_checkout.expect("pending on it");
    assert_eq!(Some(pending.session_id.as_str()), open[0]["id"].as_str());
}

/// The app trial as the README promises it: once per identity (the second
/// call is 409 `trial_already_used`, and changes nothing), the trial plan
/// with `trialing` until `trial_end` 14 days on, and over when the record
/// is read after that, with nothing written in between. Every answer is one
/// `/openapi.json` describes.
#[tokio::test(flavor = "multi_thread")]
async fn the_app_trial_is_granted_once_and_ends_when_read_after_its_end() {
    let mut stack = Stack::start().await;
    let User { id, token, .. } = stack.user("trial@example.com").await;
    let trial = format!("/v1/identities/{id}/trial");
    let before = unix_now();
    let (status, started) = stack.api(Method::POST, &trial).await;
    let after = unix_now();
    assert_eq!(status, 201, "{started}");
    assert_eq!(
        (started["plan"].as_str(), started["status"].as_str(), started["access"].as_str()),
        (Some("pro"), Some("trialing"), Some("full")),
        "{started}"
    );
    let trial_end = started["trial_end"].as_i64().expect("trial_end");
    assert!((before + 14 * DAY..=after + 14 * DAY).contains(&trial_end), "trial_end 14 days on: {started}");

    let (status, again) = stack.api(Method::POST, &trial).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("trial_already_used")), "{again}");
    let (_, record) = stack.api(Method::GET, &format!("/v1/identities/{id}/entitlements")).await;
    assert_eq!((record["status"].as_str(), record["trial_end"].as_i64()), (Some("trialing"), Some(trial_end)));
    let (_, premium) = stack.api(Method::GET, &format!("/v1/identities/{id}/features/premium_feature")).await;
    assert_eq!(premium["allowed"], true, "{premium}");
    assert_eq!(mine(&stack, &token).await["plan"], "pro");

    // Fifteen days later (the worker's clock moved on; the stored record
    // did not change): the trial is over when read.
    stack.restart_worker_with(&[("TEST_CLOCK_OFFSET", &(15 * DAY).to_string())]).await;
    let (status, ended) = stack.api(Method::GET, &format!("/v1/identities/{id}/entitlements")).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!((ended["plan"].as_str(), ended["access"].as_str()), (Some("free"), Some("none")), "{ended}");
    assert_ne!(ended["status"], "trialing", "{ended}");
    let (_, premium) = stack.api(Method::GET, &format!("/v1/identities/{id}/features/premium_feature")).await;
    assert_eq!((premium["allowed"].as_bool(), premium["plan"].as_str()), (Some(false), Some("free")), "{premium}");
    let (_, basic) = stack.api(Method::GET, &format!("/v1/identities/{id}/features/basic_feature")).await;
    assert_eq!(basic["allowed"], true, "the default plan's features stay: {basic}");
    assert_eq!(mine(&stack, &token).await["plan"], "free");
    let (status, later) = stack.api(Method::POST, &trial).await;
    assert_eq!((status, later["error"]["code"].as_str()), (409, Some("trial_already_used")), "once, ever: {later}");
}

const DAY: i64 = 86_400;
