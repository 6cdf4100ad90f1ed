//! End to end: the app-side kit in `examples/`, each run as a reader would
//! run it, against the worker under `wrangler dev` with its emulators:
//! `examples/ts-client` (a TypeScript backend whose client is generated from
//! `docs/openapi.json` and type-checked against it, then run) and
//! `examples/service-binding` (an app Worker that reaches the bridge through
//! a Service Binding, each under its own `wrangler dev`, sharing a dev
//! registry). The proxies of `examples/proxies` are in
//! `tests/e2e_examples_proxies.rs`.

mod common;

use common::calls::User;
use common::stack::ExtraWorker;
use common::stack::*;
use reqwest::Method;
use serde_json::{json, Value};

/// The spec's plans with an `exports` meter: 2 a period on free, 100 on pro.
const METERED_PLANS: &str = r#"{
  "default_plan": "free",
  "meters": { "exports": { "reset": "billing_period" } },
  "plans": {
    "free":       { "rank": 0, "features": ["basic_feature"], "limits": { "exports": 2 } },
    "pro":        { "rank": 1, "features": ["basic_feature", "premium_feature"], "prices": ["pro_monthly", "pro_yearly"],
                    "limits": { "exports": 100 } },
    "enterprise": { "rank": 2, "features": ["*"], "prices": ["enterprise_monthly"], "limits": { "exports": "unlimited" } }
  },
  "past_due_features": ["basic_feature"],
  "trial": { "days": 14, "plan": "pro" }
}"#;

/// Subscribes the user to pro; the record comes from a sync (webhooks are
/// held back, so none races the example).
async fn upgrade_to_pro(stack: &Stack, user: &User) {
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let form = [("customer", user.customer.as_str()), ("items[0][price]", "price_pro_monthly")];
    stack.stripe_api(Method::POST, "/v1/subscriptions", &form).await;
    assert_eq!(stack.sync(&user.id).await.plan, "pro");
}

/// `examples/ts-client/run.sh` for one user: generates the types from
/// `docs/openapi.json`, type-checks, bundles and runs the example; answers
/// the JSON it printed last.
async fn run_ts_client(stack: &Stack, user: &User) -> Value {
    let out = tempdir("ts-client");
    // Not std's: the emulators answer on this test's runtime.
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(common::basics::repo_root().join("examples/ts-client/run.sh"))
        .env("OUT", &out)
        .env("BRIDGE_URL", &stack.bridge_base)
        .env("BRIDGE_API_TOKEN", BRIDGE_API_TOKEN)
        .env("IDENTITY_ID", &user.id)
        .env("SESSION_TOKEN", &user.token)
        .env("EXPORTS", "3")
        .kill_on_drop(true);
    let ran = cmd.output().await.expect("run examples/ts-client/run.sh");
    let stdout = String::from_utf8_lossy(&ran.stdout);
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "examples/ts-client/run.sh failed:\n{stderr}\n{stdout}");
    let _ = std::fs::remove_dir_all(&out);
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("the example printed no JSON ({e}):\n{stdout}\n{stderr}"))
}

fn tempdir(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ksb-{what}-{}-{}", std::process::id(), common::basics::free_port()));
    std::fs::create_dir_all(&dir).expect("create a temporary folder");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn the_typescript_client_generated_from_the_openapi_document_asks_the_bridge() {
    let stack = Stack::start_with(StackOptions::default().var("PLANS", METERED_PLANS)).await;
    let free = stack.user("ts-free@example.com").await;
    let pro = stack.user("ts-pro@example.com").await;
    upgrade_to_pro(&stack, &pro).await;

    // Free: no premium reports, by the API token or by the user's own
    // session; 2 exports, the third refused with nothing consumed; a retry
    // of the first (same Idempotency-Key) answered as the first time.
    let printed = run_ts_client(&stack, &free).await;
    assert_eq!(
        printed["reports"],
        json!({"status": 402, "body": {"upgrade": true, "plan": "free", "reason": "no_subscription"}}),
        "{printed}"
    );
    assert_eq!(printed["session"], json!({"status": 402, "body": {"upgrade": true, "reason": "no_subscription"}}));
    assert_eq!(printed["signedOut"], json!({"status": 401, "body": {"login": true}}), "a bad session is no session");
    let exports: Vec<(u64, u64)> = printed["exports"]
        .as_array()
        .expect("exports")
        .iter()
        .map(|e| (e["status"].as_u64().unwrap(), e["body"]["used"].as_u64().unwrap()))
        .collect();
    assert_eq!(exports, [(201, 1), (201, 2), (402, 2)], "{printed}");
    assert_eq!(printed["exports"][2]["body"]["limit"], 2);
    assert_eq!(printed["retry"], printed["exports"][0], "a retried export is answered as the first time");
    assert_eq!((printed["balance"]["used"].as_u64(), printed["balance"]["remaining"].as_u64()), (Some(2), Some(0)));
    // What the example printed is what the bridge holds.
    let (status, v) = stack.api(Method::GET, &format!("/v1/identities/{}/usage/exports", free.id)).await;
    assert_eq!((status, v["used"].as_u64()), (200, Some(2)), "{v}");

    // Pro: the reports, the session's gate open, 3 exports of 100.
    let printed = run_ts_client(&stack, &pro).await;
    assert_eq!(printed["reports"]["status"], 200, "{printed}");
    assert_eq!(printed["reports"]["body"]["plan"], "pro");
    assert_eq!(printed["session"], json!({"status": 200, "body": {"plan": "pro"}}));
    let used: Vec<u64> =
        printed["exports"].as_array().unwrap().iter().map(|e| e["body"]["used"].as_u64().unwrap()).collect();
    assert_eq!(used, [1, 2, 3], "{printed}");
    assert_eq!(
        (
            printed["balance"]["used"].as_u64(),
            printed["balance"]["limit"].as_u64(),
            printed["balance"]["remaining"].as_u64()
        ),
        (Some(3), Some(100), Some(97)),
        "{printed}"
    );
}

/// The app Worker's answer to `path` (with `headers`), as JSON.
async fn ask_app(stack: &Stack, app: &ExtraWorker, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut r = stack.http.get(format!("{}{path}", app.url));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let r = r.send().await.unwrap_or_else(|e| panic!("GET {path} from the app worker: {e}\n{}", app.log()));
    common::basics::status_json(r).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_worker_asks_the_bridge_through_its_service_binding() {
    // The bridge registered as the example's `service = "kratos-stripe-bridge"`,
    // in a dev registry of this stack's own; the example's wrangler.toml as it is.
    let options = StackOptions { service_name: Some("kratos-stripe-bridge".into()), ..StackOptions::default() };
    let stack = Stack::start_with(options).await;
    let free = stack.user("binding-free@example.com").await;
    let pro = stack.user("binding-pro@example.com").await;
    upgrade_to_pro(&stack, &pro).await;
    let config = common::basics::repo_root().join("examples/service-binding/wrangler.toml");
    let app = stack.start_worker(&config, &[("BRIDGE_API_TOKEN", BRIDGE_API_TOKEN)]).await;

    // The dashboard, decided by the bridge's /gate with the user's session.
    let (status, free_dash) = ask_app(&stack, &app, "/dashboard", &[("X-Session-Token", &free.token)]).await;
    assert_eq!(status, 200, "{free_dash}\n{}", app.log());
    assert_eq!(
        (&free_dash["premium"], &free_dash["plan"], &free_dash["reason"]),
        (&json!(false), &json!("free"), &json!("no_subscription")),
        "{free_dash}"
    );
    let (status, pro_dash) = ask_app(&stack, &app, "/dashboard", &[("X-Session-Token", &pro.token)]).await;
    assert_eq!((status, &pro_dash["premium"], &pro_dash["plan"]), (200, &json!(true), &json!("pro")), "{pro_dash}");
    let (status, anonymous) = ask_app(&stack, &app, "/dashboard", &[]).await;
    assert_eq!((status, &anonymous["login"]), (401, &json!(true)), "{anonymous}");

    // The server-side check, with the app worker's own API token.
    let (status, v) = ask_app(&stack, &app, &format!("/internal/identities/{}/premium", free.id), &[]).await;
    assert_eq!((status, &v["allowed"], &v["plan"]), (200, &json!(false), &json!("free")), "{v}\n{}", app.log());
    let (status, v) = ask_app(&stack, &app, &format!("/internal/identities/{}/premium", pro.id), &[]).await;
    assert_eq!(
        (status, &v["allowed"], &v["plan"], &v["reason"]),
        (200, &json!(true), &json!("pro"), &json!("included"))
    );

    // Each answer came from the bridge: its log has the request the app
    // named (the bridge's X-Request-Id), on the route the app asked.
    for (answer, route) in [
        (&free_dash, "GET /gate/{feature}"),
        (&pro_dash, "GET /gate/{feature}"),
        (&anonymous, "GET /gate/{feature}"),
        (&v, "GET /v1/identities/{id}/features/{feature}"),
    ] {
        let id = answer["bridge_request_id"].as_str().unwrap_or_else(|| panic!("no bridge request id: {answer}"));
        let line = format!(r#""request_id":"{id}""#);
        let log = stack.log_when(&format!("the request {id}"), |l| l.contains(&line)).await;
        let lines = worker_lines(&log);
        let found = lines.iter().find(|l| l.contains(&line)).unwrap();
        assert!(found.contains(&format!(r#""route":"{route}""#)), "{found}");
    }
}
