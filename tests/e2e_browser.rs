//! The browser flows in a real browser: Debian's headless Chromium, driven
//! by playwright-core (`tests/browser/flows.mjs`), signs up through the
//! Kratos emulator's browser flow on the example app (`examples/app`, another
//! origin than the worker), reads the plan over CORS with the session cookie,
//! pays in the Stripe emulator's hosted Checkout, opens the Billing Portal,
//! meets the pricing and login redirects, and visits from another site.
//! This file starts the stack and the app for each scenario and checks what
//! the emulators hold afterwards.

mod common;

use common::basics::free_port;
use common::browser::{run_scenario, ExampleApp};
use common::stack::{Stack, StackOptions};
use reqwest::Method;
use serde_json::{json, Value};

/// The stack with the example app: `APP_URL`, `PRICING_URL` and `LOGIN_URL`
/// are the app's pages; Kratos renders registration on the app, writes its
/// session cookie with `same_site`, and lets browsers return to the app and
/// the worker. With `edge`, the app is also the origin behind the worker.
async fn stack_with_app(same_site: &str, edge: bool) -> (Stack, ExampleApp) {
    let app_port = free_port();
    let app_url = format!("http://127.0.0.1:{app_port}");
    let mut options = StackOptions::default()
        .var("APP_URL", &app_url)
        .var("PRICING_URL", &format!("{app_url}/pricing"))
        .var("LOGIN_URL", &format!("{app_url}/login"));
    if edge {
        let rules =
            r#"[{"path": "/app/reports/*", "feature": "premium_feature"}, {"path": "/app/*", "session": "required"}]"#;
        options = options.var("ORIGIN_URL", &app_url).var("GATE_ROUTES", rules);
    }
    let stack = Stack::start_with(options).await;
    let browser = json!({
        "registration_ui_url": format!("{app_url}/registration"),
        "default_return_url": format!("{app_url}/"),
        "allowed_return_urls": [format!("{}/", stack.worker_url)],
        "cookie_same_site": same_site,
    });
    stack.control(Method::POST, stack.kratos_admin("/_emulator/browser"), browser).await;
    let app = ExampleApp::start(app_port, &stack.worker_url, &stack.kratos.public_url()).await;
    (stack, app)
}

fn browser_vars<'a>(stack: &'a Stack, app: &'a ExampleApp, stripe: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("APP_URL", &app.url), ("BRIDGE_URL", &stack.worker_url), ("STRIPE_URL", stripe), ("EMAIL", email)]
}

/// The identity Kratos holds for `email` (exactly one).
async fn identity_by_email(stack: &Stack, email: &str) -> Value {
    let (status, found) = stack
        .kratos_admin_call(
            Method::GET,
            &format!("/admin/identities?credentials_identifier={}", email.replace('@', "%40")),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    let list = found.as_array().expect("a list of identities");
    assert_eq!(list.len(), 1, "one identity for {email}: {found}");
    list[0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_free_user_upgrades_in_the_browser_and_returns_from_the_portal() {
    let (stack, app) = stack_with_app("Lax", false).await;
    let stripe = stack.stripe.url();
    let email = "browser-upgrade@example.com";
    run_scenario("upgrade", "upgrade", &browser_vars(&stack, &app, &stripe, email)).await;

    let identity = identity_by_email(&stack, email).await;
    let id = identity["id"].as_str().expect("an id");
    let customers = stack.customers_of(id).await;
    assert_eq!(customers.len(), 1, "the browser sign-up made one customer: {customers:?}");
    let record = stack.entitlement(id).await;
    assert_eq!((record.plan.as_str(), record.status.as_str()), ("pro", "active"), "{record:?}");
    let sessions = stack.checkout_sessions().await;
    assert_eq!(sessions.len(), 1, "one Checkout Session: {sessions:?}");
    assert_eq!(sessions[0]["customer"], customers[0]["id"], "Checkout used the identity's own customer");
    assert_eq!(sessions[0]["status"], "complete");
}

#[tokio::test(flavor = "multi_thread")]
async fn edge_gate_mode_sends_a_signed_out_browser_to_login_and_back() {
    let (stack, app) = stack_with_app("Lax", true).await;
    let stripe = stack.stripe.url();
    let email = "browser-edge@example.com";
    let summary = run_scenario("edge", "edge", &browser_vars(&stack, &app, &stripe, email)).await;

    let identity = identity_by_email(&stack, email).await;
    assert_eq!(summary["identity"], identity["id"], "the origin was told the signed-up identity");
    assert!(stack.checkout_sessions().await.is_empty(), "no Checkout for a visit");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_sites_page_changes_nothing_even_when_the_cookie_goes_along() {
    let (stack, app) = stack_with_app("None", false).await;
    let stripe = stack.stripe.url();
    let email = "browser-cross-site@example.com";
    let summary = run_scenario("cross_site", "cross_site", &browser_vars(&stack, &app, &stripe, email)).await;
    assert_eq!(summary["refused"], 403, "{summary}");

    let identity = identity_by_email(&stack, email).await;
    let id = identity["id"].as_str().expect("an id");
    assert!(stack.checkout_sessions().await.is_empty(), "no Checkout Session was created");
    let customers = stack.customers_of(id).await;
    assert_eq!(customers.len(), 1, "the customer is still there: {customers:?}");
    let record = stack.entitlement(id).await;
    assert_eq!(record.plan, "free", "{record:?}");
    let state = stack.stripe_state().await;
    let subscriptions = state["subscriptions"].as_array().map_or(0, Vec::len);
    assert_eq!(subscriptions, 0, "no subscription: {}", state["subscriptions"]);
}
