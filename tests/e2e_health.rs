//! End to end: the wasm worker under `wrangler dev` answers `/healthz`, and a
//! bad `PLANS` is a clear error everywhere, never a silent default.

mod common;

use common::basics::status_json;
use common::stack::*;

#[tokio::test(flavor = "multi_thread")]
async fn healthz_reports_a_good_configuration_without_secrets() {
    let stack = Stack::start().await;
    let r = stack.http.get(stack.url("/healthz")).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/json");
    let (status, body) = status_json(r).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["environment"], "test");
    assert_eq!(body["kv"], "ok", "one KV read answered");
    assert_eq!(body["plans"], serde_json::json!(["enterprise", "free", "pro"]));
    let text = body.to_string();
    for secret in [STRIPE_KEY, STRIPE_WEBHOOK_SECRET, KRATOS_WEBHOOK_SECRET, BRIDGE_API_TOKEN, KRATOS_ADMIN_TOKEN] {
        assert!(!text.contains(secret), "healthz shows a secret: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_plans_value_is_a_clear_error_on_every_route() {
    let bad = r#"{"default_plan": "gold", "plans": {"free": {"rank": 0, "features": []}}}"#;
    let stack =
        Stack::start_with(StackOptions { expect_unhealthy: true, ..StackOptions::default() }.var("PLANS", bad)).await;

    let (status, body) = status_json(stack.http.get(stack.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["ok"], false);
    assert_eq!(body["problems"][0]["setting"], "PLANS");
    assert!(body["problems"][0]["message"].as_str().unwrap().contains("gold"), "{body}");

    let r = stack.http.post(stack.url("/webhooks/stripe")).body("{}").send().await.unwrap();
    let (status, body) = status_json(r).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "invalid_config");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("PLANS: "), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_route_is_a_json_404() {
    let stack = Stack::start().await;
    let (status, body) = status_json(stack.http.get(stack.url("/nope")).send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
}

/// Every POST route caps its body as the webhook does: an oversized body is
/// a 413 and changes nothing, even on a route that takes no body.
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_is_refused_on_every_post_route_and_changes_nothing() {
    let stack = Stack::start().await;
    let id = "3b0c3f2e-8f1a-4c55-9d1e-7a2b4c6d8e90";
    let huge = vec![b'x'; 2 * 1024 * 1024];
    for path in [format!("/v1/identities/{id}/trial"), format!("/v1/identities/{id}/sync")] {
        let r = stack.http.post(stack.url(&path)).bearer_auth(BRIDGE_API_TOKEN).body(huge.clone()).send().await;
        let (status, body) = status_json(r.unwrap()).await;
        assert_eq!((status, body["error"]["code"].as_str()), (413, Some("body_too_large")), "{path}: {body}");
    }
    let r = stack.http.post(stack.url(&format!("/v1/identities/{id}/trial"))).bearer_auth(BRIDGE_API_TOKEN);
    let (status, body) = status_json(r.send().await.unwrap()).await;
    assert_eq!(status, 201, "the refused call started no trial, so this one does: {body}");
}

/// A chunked upload names no length: it is refused (413) as soon as more
/// than the cap arrived, while the client is still sending, on every POST
/// route (the webhook before its signature is checked), and changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_upload_is_refused_as_soon_as_it_passes_the_cap() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = Stack::start().await;
    let id = "3b0c3f2e-8f1a-4c55-9d1e-7a2b4c6d8e91";
    let addr = stack.worker_url.trim_start_matches("http://").to_string();
    let (api, hook) = (format!("Bearer {BRIDGE_API_TOKEN}"), format!("Bearer {KRATOS_WEBHOOK_SECRET}"));
    let mut open = Vec::new();
    for (path, authorization) in [
        ("/webhooks/stripe".to_string(), ""),
        ("/hooks/kratos/registration".to_string(), hook.as_str()),
        (format!("/v1/identities/{id}/trial"), api.as_str()),
    ] {
        let conn = tokio::net::TcpStream::connect(&addr).await.expect("connect to the worker");
        let mut head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\n");
        if !authorization.is_empty() {
            head.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        head.push_str("Content-Type: application/json\r\n\r\n");
        let (mut read, mut write) = conn.into_split();
        // 4 MiB in 64 KiB chunks, sixteen times the cap, never finished.
        let upload = tokio::spawn(async move {
            let chunk = vec![b' '; 64 * 1024];
            write.write_all(head.as_bytes()).await?;
            for _ in 0..64 {
                write.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
                write.write_all(&chunk).await?;
                write.write_all(b"\r\n").await?;
            }
            std::future::pending::<()>().await;
            Ok::<(), std::io::Error>(())
        });
        let mut answer = Vec::new();
        let within = std::time::Duration::from_secs(20);
        let read_answer = async {
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&answer).contains("body_too_large") {
                match read.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                }
            }
        };
        let outcome = tokio::time::timeout(within, read_answer).await;
        let text = String::from_utf8_lossy(&answer).to_string();
        assert!(outcome.is_ok(), "{path}: no answer within {within:?} while the upload went on: {text:?}");
        // wrangler dev's proxy (not there in production) sometimes reports
        // an answer given before the upload ended as its worker restarting;
        // the worker's own log line below says what it answered.
        assert!(text.starts_with("HTTP/1.1 413") || dev_proxy_restart(&text), "{path}: {text}");
        // Left open: wrangler dev's proxy reports a broken upload as a
        // worker restart and holds the next requests (not so in production).
        open.push((upload, read));
        let route = format!(r#""route":"POST {}""#, path.replace(id, "{id}"));
        let refused = |log: &str| {
            log.lines().any(|l| l.contains(&route) && l.contains(r#""status":413,"outcome":"body_too_large""#))
        };
        assert!(refused(&stack.log_when("the 413 line", refused).await), "{path}: the worker answered 413");
    }
    // wrangler dev's proxy may hold requests for a moment after it saw an
    // unfinished upload; a request it refuses never reached the worker.
    let trial = format!("/v1/identities/{id}/trial");
    let (mut status, mut body) = (0, serde_json::Value::Null);
    for _ in 0..50 {
        let r = stack.http.post(stack.url(&trial)).bearer_auth(BRIDGE_API_TOKEN).send().await.unwrap();
        (status, body) = status_json(r).await;
        if !(status == 503 && body.as_str().is_some_and(dev_proxy_restart)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, 201, "the refused upload started no trial, so this call does: {body}");
    drop(open);
}

/// wrangler dev's own answer for a request its proxy could not pass on.
fn dev_proxy_restart(text: &str) -> bool {
    text.contains("Your worker restarted mid-request")
}

/// `/openapi.json` serves the repository's document, and the routes a
/// client reaches without Kratos or Stripe answer as it describes,
/// errors included (the other binaries check every API answer they get).
#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_is_served_and_describes_the_answers() {
    let stack = Stack::start().await;
    let (status, served) = status_json(stack.http.get(stack.url("/openapi.json")).send().await.unwrap()).await;
    assert_eq!((status, &served), (200, common::openapi::document()));
    assert_eq!(served["openapi"], "3.1.0");

    let id = "3b0c3f2e-8f1a-4c55-9d1e-7a2b4c6d8e90";
    let get = |path: String, token: Option<&'static str>| {
        let mut r = stack.http.get(stack.url(&path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move { (path, status_json(r.send().await.unwrap()).await) }
    };
    for (path, (status, body)) in [
        get("/healthz".into(), None).await,
        get(format!("/v1/identities/{id}/entitlements"), Some(BRIDGE_API_TOKEN)).await,
        get(format!("/v1/identities/{id}/features/premium_feature"), Some(BRIDGE_API_TOKEN)).await,
        get(format!("/v1/identities/{id}/entitlements"), None).await,
        get("/v1/identities/not-a-uuid/entitlements".into(), Some(BRIDGE_API_TOKEN)).await,
        get("/me/entitlements".into(), None).await,
        get("/gate/premium_feature".into(), None).await,
    ] {
        common::openapi::assert_documented("GET", &path, status, &body);
    }
    let r = stack.http.post(stack.url("/webhooks/stripe")).body("{}").send().await.unwrap();
    let (status, body) = status_json(r).await;
    assert_eq!(status, 400, "{body}");
    common::openapi::assert_documented("POST", "/webhooks/stripe", status, &body);
}

#[test]
fn the_log_check_finds_secrets_credentials_and_emails() {
    for line in [
        format!(r#"{{"at":"request","token":"{BRIDGE_API_TOKEN}"}}"#),
        r#"{"at":"request","cookie":"ory_kratos_session=abc"}"#.to_string(),
        r#"{"at":"x","token":"ory_st_abc"}"#.to_string(),
        r#"{"at":"x","message":"no such customer for ada.l+x@example.co.uk"}"#.to_string(),
    ] {
        assert!(forbidden_in(&line).is_some(), "{line}");
    }
    let clean = r#"{"at":"request","request_id":"3f2a","route":"POST /hooks/kratos/registration","message":"<redacted> is taken @ 5"}"#;
    assert_eq!(forbidden_in(clean), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_names_its_request_id_and_its_log_line_carries_it() {
    let stack = Stack::start().await;
    // Answers of one status share the headers the isolate built once: each
    // still gets its own id, once, beside the JSON headers.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = stack.http.get(stack.url("/healthz")).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h.get_all("x-request-id").iter().count(), 1, "one id per answer: {h:?}");
        assert_eq!(
            (h["content-type"].to_str().unwrap(), h["cache-control"].to_str().unwrap()),
            ("application/json", "no-store")
        );
        ids.push(h["x-request-id"].to_str().unwrap().to_string());
    }
    let id = ids[0].clone();
    assert!(ids.iter().all(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())), "generated ids: {ids:?}");
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "a new id per answer: {ids:?}");
    let ray = "8d1f3c2b9a7e6d5c-AMS";
    let r = stack.http.get(stack.url("/nope")).header("cf-ray", ray).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["x-request-id"].to_str().unwrap()), (404, ray), "cf-ray when present");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut log = stack.wrangler_log();
    while !log.contains(ray) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        log = stack.wrangler_log();
    }
    let line = log.lines().find(|l| l.contains(&format!(r#""request_id":"{id}""#))).expect("the healthz line");
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(
        (v["route"].as_str(), v["status"].as_u64(), v["outcome"].as_str()),
        (Some("GET /healthz"), Some(200), Some("ok"))
    );
    assert!(v["duration_ms"].is_u64());
    let line = log.lines().find(|l| l.contains(ray)).unwrap();
    assert!(line.contains(r#""outcome":"not_found""#), "{line}");
}

/// A panic in a handler (the test hook `TEST_PANIC_ROUTE`) answers the
/// bridge's JSON 500, not the runtime's page, and the worker goes on
/// serving: the module is re-instantiated at the next request.
#[tokio::test(flavor = "multi_thread")]
async fn a_panic_answers_a_json_500_and_the_worker_goes_on() {
    let stack = Stack::start_with(StackOptions::default().var("TEST_PANIC_ROUTE", "true")).await;
    for _ in 0..2 {
        let r = stack.http.get(stack.url("/__test/panic")).send().await.unwrap();
        assert_eq!(r.headers().get("content-type").map(|v| v.to_str().unwrap()), Some("application/json"));
        let (status, body) = status_json(r).await;
        assert_eq!((status, body["error"]["code"].as_str()), (500, Some("internal")), "{body}");
        let (status, health) = status_json(stack.http.get(stack.url("/healthz")).send().await.unwrap()).await;
        assert_eq!((status, health["ok"].as_bool()), (200, Some(true)), "serving again: {health}");
    }
    let panicked = |log: &str| log.contains("GET /__test/panic (TEST_PANIC_ROUTE)");
    assert!(
        panicked(&stack.log_when("the panic line", panicked).await),
        "the panic is logged: {}",
        stack.wrangler_log()
    );
    // Off by default: a 404 like any path the bridge does not answer.
    let plain = Stack::start().await;
    let (status, body) = status_json(plain.http.get(plain.url("/__test/panic")).send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
}

/// The deep check with the API token: every check by name, in order.
async fn deep(stack: &Stack) -> (u16, serde_json::Value) {
    let (status, body) = stack.api(reqwest::Method::GET, "/healthz?deep=1").await;
    let text = body.to_string();
    for secret in [STRIPE_KEY, STRIPE_WEBHOOK_SECRET, KRATOS_WEBHOOK_SECRET, BRIDGE_API_TOKEN, KRATOS_ADMIN_TOKEN] {
        assert!(!text.contains(secret), "the deep check shows a secret: {text}");
    }
    assert!(!text.contains(&stack.kratos.admin_url()) && !text.contains(&stack.stripe.url()), "no URL: {text}");
    (status, body)
}

/// The named check of a deep answer.
fn check<'a>(body: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let checks = body["checks"].as_array().unwrap_or_else(|| panic!("no checks: {body}"));
    checks.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no check {name}: {body}"))
}

fn failing(body: &serde_json::Value) -> Vec<String> {
    let checks = body["checks"].as_array().unwrap();
    checks.iter().filter(|c| c["ok"] != true).map(|c| c["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deep_check_asks_stripe_and_kratos_and_is_green_when_all_is_well() {
    let stack = Stack::start().await;
    let (status, body) = deep(&stack).await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)), "{body}");
    let names: Vec<&str> = body["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "config",
            "kv",
            "stripe_key",
            "stripe_price:enterprise_monthly",
            "stripe_price:pro_monthly",
            "stripe_price:pro_yearly",
            "kratos_admin",
            "kratos_public",
            "usage_binding"
        ]
    );
    // Without the token (or with another), the deep check is refused like
    // every token route; the plain one stays open.
    for token in [None, Some("not-the-token")] {
        let mut r = stack.http.get(stack.url("/healthz?deep=1"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let (status, body) = status_json(r.send().await.unwrap()).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "{body}");
        common::openapi::assert_documented("GET", "/healthz", status, &body);
        assert!(body.get("checks").is_none());
    }
    let (status, body) = status_json(stack.http.get(stack.url("/healthz")).send().await.unwrap()).await;
    assert_eq!((status, body.get("checks")), (200, None), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deep_check_names_a_price_stripe_does_not_have() {
    let mut plans: serde_json::Value = serde_json::from_str(PLANS).unwrap();
    plans["plans"]["pro"]["prices"].as_array_mut().unwrap().push("pro_quarterly".into());
    plans["plans"]["enterprise"]["prices"].as_array_mut().unwrap().push("price_does_not_exist".into());
    let stack = Stack::start_with(StackOptions::default().var("PLANS", &plans.to_string())).await;
    let (status, body) = deep(&stack).await;
    assert_eq!((status, body["ok"].as_bool()), (503, Some(false)), "{body}");
    assert_eq!(failing(&body), ["stripe_price:price_does_not_exist", "stripe_price:pro_quarterly"], "{body}");
    let missing = check(&body, "stripe_price:pro_quarterly")["detail"].as_str().unwrap();
    assert!(missing.contains("no active price with lookup key \"pro_quarterly\""), "{missing}");
    let missing = check(&body, "stripe_price:price_does_not_exist")["detail"].as_str().unwrap();
    assert!(missing.contains("no price \"price_does_not_exist\""), "{missing}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deep_check_names_a_kratos_admin_token_kratos_refuses() {
    let stack = Stack::start_with(StackOptions::default().var("KRATOS_ADMIN_TOKEN", "ory_pat_wrong")).await;
    let (status, body) = deep(&stack).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(failing(&body), ["kratos_admin"], "{body}");
    let detail = check(&body, "kratos_admin")["detail"].as_str().unwrap();
    assert!(detail.contains("401") && detail.contains("KRATOS_ADMIN_TOKEN"), "{detail}");
    assert!(!detail.contains("ory_pat_wrong"), "never the token: {detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deep_check_names_a_live_key_outside_production() {
    let live = "sk_live_e2e_never_shown";
    let options = StackOptions { expect_unhealthy: true, ..StackOptions::default() }.var("STRIPE_SECRET_KEY", live);
    let stack = Stack::start_with(options).await;
    let (status, body) = deep(&stack).await;
    assert_eq!(status, 503, "{body}");
    assert!(!body.to_string().contains(live), "never the key: {body}");
    let key = check(&body, "stripe_key");
    assert!(key["detail"].as_str().unwrap().contains("live-mode key"), "{key}");
    assert_eq!(check(&body, "kratos_admin")["ok"], true, "the rest is still checked: {body}");
    assert_eq!(check(&body, "stripe_price:pro_monthly")["ok"], false, "not checked without a usable key: {body}");
}
