//! End to end: edge gate mode. The worker stands in front of a small origin
//! the test starts: ungated paths are forwarded as they came (method, query,
//! headers, a large body, the origin's redirects and cookies unfollowed),
//! gated paths need a session or a feature, identity headers are the
//! bridge's alone, path tricks are refused, and the bridge's own routes move
//! under `BRIDGE_PATH_PREFIX`.

mod common;

use common::basics::status_json;
use common::calls::User;
use common::origin::Origin;
use common::stack::*;
use reqwest::Method;
use serde_json::{json, Value};

const RULES: &str = r#"[
  {"path": "/app/reports/*", "feature": "premium_feature"},
  {"path": "/api/export", "methods": ["POST"], "feature": "basic_feature"},
  {"path": "/api/items/*", "methods": ["GET", "DELETE"], "feature": "premium_feature"},
  {"path": "/app/*", "session": "required"}
]"#;
const LOGIN_URL: &str = "http://127.0.0.1:9/login";

async fn edge_stack(origin: &Origin) -> Stack {
    let options = StackOptions { bridge_prefix: "/_bridge".into(), ..StackOptions::default() }
        .var("BRIDGE_PATH_PREFIX", "/_bridge")
        .var("ORIGIN_URL", &origin.url)
        .var("GATE_ROUTES", RULES)
        .var("LOGIN_URL", LOGIN_URL)
        // Every gated request asks Kratos, so a revoked session ends at once.
        .var("SESSION_CACHE_TTL", "0");
    Stack::start_with(options).await
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// What the origin saw (it answers 418 with it), or the worker's own answer.
async fn call(stack: &Stack, method: Method, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut r = no_redirects().request(method, stack.url(path));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    status_json(r.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn ungated_requests_reach_the_origin_as_they_came() {
    let origin = Origin::start().await;
    let stack = edge_stack(&origin).await;
    let body = vec![7u8; 3 * 1024 * 1024];
    let r = no_redirects()
        .put(stack.url("/public/upload?x=1&y=%20z"))
        .header("x-custom", "kept")
        .header("x-identity-id", "spoofed")
        .header("X-Plan", "enterprise")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-origin"], "yes", "the origin's own headers come back");
    let (status, seen) = status_json(r).await;
    assert_eq!(status, 418, "the origin's status, unchanged: {seen}");
    assert_eq!(
        (seen["method"].as_str(), seen["path"].as_str(), seen["query"].as_str()),
        (Some("PUT"), Some("/public/upload"), Some("x=1&y=%20z"))
    );
    assert_eq!(seen["headers"]["x-custom"], "kept");
    assert_eq!(seen["headers"]["x-identity-id"], Value::Null, "spoofed identity headers are removed: {seen}");
    assert_eq!(seen["headers"]["x-plan"], Value::Null);
    assert_eq!(
        (seen["body_len"].as_u64(), seen["body_sum"].as_u64()),
        (Some(body.len() as u64), Some(7 * body.len() as u64))
    );

    // Redirects and cookies of the origin reach the client unfollowed.
    let r = no_redirects().get(stack.url("/redirect")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (302, "/elsewhere"));
    let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; Path=/"]);

    // The bridge's own routes live under the prefix; the app's /healthz is the app's.
    let (status, health) = call(&stack, Method::GET, "/_bridge/healthz", &[]).await;
    assert_eq!((status, health["ok"].as_bool()), (200, Some(true)), "{health}");
    let (status, seen) = call(&stack, Method::GET, "/healthz", &[]).await;
    assert_eq!((status, seen["path"].as_str()), (418, Some("/healthz")));
    let (status, seen) = call(&stack, Method::GET, "/v1/identities/x/entitlements", &[]).await;
    assert_eq!((status, seen["path"].as_str()), (418, Some("/v1/identities/x/entitlements")), "the app's own /v1");
    // Each forwarded request is logged with the origin's status once it answered.
    // (The log is written as each settles: wait for all of them.)
    let forwarded = |log: &str, status: &str| {
        log.lines().filter(|l| l.contains(r#""outcome":"forwarded""#) && l.contains(status)).count()
    };
    let log = stack
        .log_when("the forwarded requests' lines", |log| {
            forwarded(log, r#""status":418"#) >= 3 && forwarded(log, r#""status":302"#) >= 1
        })
        .await;
    assert!(forwarded(&log, r#""status":418"#) >= 3 && forwarded(&log, r#""status":302"#) >= 1, "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn gated_paths_need_a_session_or_a_feature() {
    let origin = Origin::start().await;
    let stack = edge_stack(&origin).await;
    let User { token, id, .. } = stack.user("edge@example.com").await;

    // No session: a browser goes to the login page, an API client gets 401.
    let r = no_redirects().get(stack.url("/app/home?tab=1")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&format!("{LOGIN_URL}?return_to=")), "{location}");
    assert!(location.contains("%2Fapp%2Fhome%3Ftab%3D1"), "{location}");
    let (status, body) = call(&stack, Method::GET, "/app/home", &[]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "{body}");

    // A session: forwarded with who it is, whatever the client claimed.
    let auth = [
        ("x-session-token", token.as_str()),
        ("x-identity-id", "0e000000-0000-4000-8000-000000000000"),
        ("x-access", "full"),
    ];
    let (status, seen) = call(&stack, Method::GET, "/app/home", &auth).await;
    assert_eq!(status, 418, "{seen}");
    assert_eq!(
        (
            seen["headers"]["x-identity-id"].as_str(),
            seen["headers"]["x-plan"].as_str(),
            seen["headers"]["x-access"].as_str()
        ),
        (Some(id.as_str()), Some("free"), Some("none"))
    );

    // A feature the plan lacks: 402 for API clients, the pricing page for browsers.
    let (status, d) = call(&stack, Method::GET, "/app/reports/q3", &auth[..1]).await;
    assert_eq!((status, d["reason"].as_str()), (402, Some("no_subscription")), "{d}");
    let (status, _) = call(&stack, Method::GET, "/app/reports/q3", &[auth[0], ("accept", "text/html")]).await;
    assert_eq!(status, 303);
    // A rule for one method only: POST needs the (free) feature, GET is ungated.
    let (status, seen) = call(&stack, Method::POST, "/api/export", &auth[..1]).await;
    assert_eq!((status, seen["headers"]["x-identity-id"].as_str()), (418, Some(id.as_str())));
    let (status, seen) = call(&stack, Method::GET, "/api/export", &[]).await;
    assert_eq!((status, seen["headers"]["x-identity-id"].clone()), (418, Value::Null));

    // Once subscribed, the reports are the user's.
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let (_, identity) = stack.kratos_identity(&id).await;
    let cus = identity["metadata_admin"]["stripe_customer_id"].as_str().unwrap().to_string();
    assert_eq!(stack.customers_of(&id).await[0]["id"], cus.as_str());
    let form = [("customer", cus.as_str()), ("items[0][price]", "price_pro_monthly")];
    stack.stripe_api(Method::POST, "/v1/subscriptions", &form).await;
    assert_eq!(stack.sync(&id).await.plan, "pro");
    assert_eq!(stack.entitlement(&id).await.plan, "pro", "through the prefixed API");
    let (status, seen) = call(&stack, Method::GET, "/app/reports/q3", &auth[..1]).await;
    let told = (seen["headers"]["x-plan"].as_str(), seen["headers"]["x-access"].as_str());
    assert_eq!((status, told), (418, (Some("pro"), Some("full"))));

    // A revoked session is no session.
    let (status, _) = stack.kratos_admin_call(Method::DELETE, &format!("/admin/identities/{id}/sessions")).await;
    assert!((200..300).contains(&status));
    assert_eq!(call(&stack, Method::GET, "/app/home", &auth[..1]).await.0, 401);
    let edge_lines = |log: &str| {
        worker_lines(log)
            .into_iter()
            .filter(|l| l.starts_with(r#"{"at":"request""#) && l.contains(r#""route":"edge""#))
            .count()
    };
    let log = stack.log_when("five edge request lines", |log| edge_lines(log) >= 5).await;
    assert!(edge_lines(&log) >= 5, "one line per gated or forwarded request: {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_origin_an_unknown_path_is_still_a_json_404() {
    let stack = Stack::start().await;
    let (status, body) = call(&stack, Method::GET, "/app/home", &[]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn path_tricks_cannot_slip_past_a_rule() {
    let origin = Origin::start().await;
    let stack = edge_stack(&origin).await;
    for path in
        ["//app/reports/x", "/app/%72eports/x", "/app/reports/x/", "/public/../app/reports/x", "/app/./reports/x"]
    {
        let (status, body) = call(&stack, Method::GET, path, &[]).await;
        assert_eq!(status, 401, "{path} is gated: {body}");
    }
    for path in ["/app%2Freports/x", "/app/reports%5Cx"] {
        let (status, body) = call(&stack, Method::GET, path, &[]).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("path_encoded_separator")), "{path}: {body}");
    }
    // The origin receives the normalised path it was matched on.
    let (status, seen) = call(&stack, Method::GET, "//public//a/./b/", &[]).await;
    assert_eq!((status, seen["path"].as_str()), (418, Some("/public/a/b")));
}

/// The deadline on the origin (30 s) holds: a slow origin is a 504 then,
/// not an answer when it finally comes (40 s).
#[tokio::test(flavor = "multi_thread")]
async fn an_origin_slower_than_the_deadline_is_a_504_at_the_deadline() {
    let origin = Origin::start().await;
    let stack = edge_stack(&origin).await;
    let started = std::time::Instant::now();
    let (status, body) = call(&stack, Method::GET, "/slow", &[]).await;
    let took = started.elapsed();
    assert_eq!((status, body["error"]["code"].as_str()), (504, Some("origin_timeout")), "{body}");
    assert!(took.as_secs() >= 29 && took.as_secs() < 38, "answered after {took:?}");
    // Logged when the deadline settled it, with its duration.
    let log = stack.log_when("the origin_timeout line", |l| l.contains(r#""outcome":"origin_timeout""#)).await;
    let line = worker_lines(&log).into_iter().find(|l| l.contains(r#""outcome":"origin_timeout""#)).unwrap();
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!((v["route"].as_str(), v["status"].as_u64()), (Some("edge"), Some(504)), "{line}");
    assert!(v["duration_ms"].as_u64().is_some_and(|ms| ms >= 29_000), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_origin_that_is_down_is_a_502_and_kratos_down_never_lets_a_gated_request_through() {
    let origin = Origin { url: format!("http://127.0.0.1:{}", common::basics::free_port()) };
    let stack = edge_stack(&origin).await;
    let (status, body) = call(&stack, Method::GET, "/public", &[]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (502, Some("origin_unreachable")), "{body}");
    let unreachable = |log: &str| {
        log.lines().any(|l| l.contains(r#""route":"edge""#) && l.contains(r#""outcome":"origin_unreachable""#))
    };
    let log = stack.log_when("the origin_unreachable line", unreachable).await;
    assert!(unreachable(&log), "the 502 is logged: {log}");
    let fault = json!({"count": 50, "kind": "500", "path_prefix": "/sessions/whoami"});
    stack.control(Method::POST, stack.kratos_admin("/_emulator/faults"), fault).await;
    let (status, body) = call(&stack, Method::GET, "/app/home", &[("x-session-token", "ory_st_whatever")]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("kratos_unavailable")), "{body}");
}

/// Express and ASP.NET Core route without case; Tomcat, Jetty and Spring
/// drop `;` parameters (`..;` included): a path an origin would serve from
/// a gated path is gated as that path, and the origin receives the path as
/// it was sent (normalised), so that whichever way it reads it, the rules
/// were met for that reading.
#[tokio::test(flavor = "multi_thread")]
async fn paths_are_gated_however_leniently_the_origin_reads_them() {
    let origin = Origin::start().await;
    let stack = edge_stack(&origin).await;
    for path in ["/APP/REPORTS/x", "/App/Reports/x", "/APP/home"] {
        let (status, body) = call(&stack, Method::GET, path, &[]).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "{path}: {body}");
    }
    let User { token, .. } = stack.user("lenient@example.com").await;
    let free = [("x-session-token", token.as_str())];
    for path in [
        "/app/reports;v=1/q3",
        "/app;jsessionid=1/reports/q3",
        "/app/reports%3Bv=1/q3",
        "/public/..;/app/reports/q3",
        "/App/Reports;x=1/q3",
    ] {
        let (status, d) = call(&stack, Method::GET, path, &free).await;
        assert_eq!((status, d["reason"].as_str()), (402, Some("no_subscription")), "{path}: {d}");
    }
    // Ungated, whatever the spelling: the origin gets the path as sent.
    let (status, seen) = call(&stack, Method::GET, "/Public;v=1/x", &[]).await;
    assert_eq!((status, seen["path"].as_str()), (418, Some("/Public;v=1/x")), "{seen}");
    // A reading that climbs above the root is no path at all.
    let (status, body) = call(&stack, Method::GET, "/..;/app/reports/q3", &[]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("path_above_root")), "{body}");
}

/// Rack, WSGI and CGI read `X_Plan` as `X-Plan` (`HTTP_X_PLAN`): a client
/// may not set an identity header under any spelling.
#[tokio::test(flavor = "multi_thread")]
async fn identity_headers_are_removed_under_every_spelling() {
    let origin = Origin::start().await;
    let stack = edge_stack(&origin).await;
    let spoofed = [
        ("X_Identity_Id", "0e000000-0000-4000-8000-000000000000"),
        ("x_plan", "enterprise"),
        ("X_ACCESS", "full"),
        ("x-identity_id", "0e000000-0000-4000-8000-000000000001"),
        ("x-custom_header", "kept"),
    ];
    let canonical = |name: &str| name.to_ascii_lowercase().replace('_', "-");
    let identity_like = |seen: &Value| -> Vec<String> {
        let names = seen["headers"].as_object().expect("the origin's echo of headers");
        names
            .keys()
            .filter(|k| ["x-identity-id", "x-plan", "x-access"].contains(&canonical(k).as_str()))
            .map(|k| format!("{k}: {}", names[k]))
            .collect()
    };
    let (status, seen) = call(&stack, Method::GET, "/public", &spoofed).await;
    assert_eq!(status, 418, "{seen}");
    assert_eq!(seen["headers"]["x-custom_header"], "kept", "other underscore names pass: {seen}");
    assert_eq!(identity_like(&seen), Vec::<String>::new(), "ungated: {seen}");

    let User { token, id, .. } = stack.user("spelling@example.com").await;
    let mut gated = vec![("x-session-token", token.as_str())];
    gated.extend_from_slice(&spoofed);
    let (status, seen) = call(&stack, Method::GET, "/app/home", &gated).await;
    assert_eq!(status, 418, "{seen}");
    let mut told = identity_like(&seen);
    told.sort();
    assert_eq!(told, ["x-access: \"none\"".to_string(), format!("x-identity-id: \"{id}\""), "x-plan: \"free\"".into()]);
}

/// Every framework answers HEAD with its GET handler, and Rails, Laravel,
/// Symfony, Express and ASP.NET Core dispatch a POST as the method an
/// override header or a `_method` field names.
#[tokio::test(flavor = "multi_thread")]
async fn methods_are_judged_as_frameworks_dispatch_them() {
    let origin = Origin::start().await;
    let stack = edge_stack(&origin).await;
    // The rule names GET: HEAD is GET's handler.
    let r = no_redirects().head(stack.url("/api/items/1")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "HEAD is gated as GET");
    let User { token, .. } = stack.user("methods@example.com").await;
    let free = ("x-session-token", token.as_str());
    for header in ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "x_http_method_override"] {
        let (status, d) = call(&stack, Method::POST, "/api/items/1", &[free, (header, "DELETE")]).await;
        assert_eq!((status, d["reason"].as_str()), (402, Some("no_subscription")), "{header}: {d}");
    }
    // A form or JSON POST may carry `_method` (the body is streamed, never
    // read): it is judged as every method.
    for content_type in ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json"] {
        let (status, d) = call(&stack, Method::POST, "/api/items/1", &[free, ("content-type", content_type)]).await;
        assert_eq!((status, d["reason"].as_str()), (402, Some("no_subscription")), "{content_type}: {d}");
    }
    let (status, d) = call(&stack, Method::POST, "/api/items/1?_method=DELETE", &[free]).await;
    assert_eq!(status, 402, "`_method` in the query: {d}");
    // A plain POST is the POST the rule does not name: forwarded.
    let (status, seen) =
        call(&stack, Method::POST, "/api/items/1", &[free, ("content-type", "application/octet-stream")]).await;
    assert_eq!((status, seen["method"].as_str()), (418, Some("POST")), "{seen}");
}

/// A bad `GATE_ROUTES` is a configuration error on the paths it would have
/// gated, never a 404 that sends an operator looking for a missing page,
/// and never a forward.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_gate_routes_is_a_configuration_error_on_every_path() {
    let origin = Origin::start().await;
    for bad in
        [r#"[{"path": "/app/reports/*", "feature": "premium_feature""#, r#"[{"path": "", "session": "required"}]"#]
    {
        let options = StackOptions { expect_unhealthy: true, ..StackOptions::default() }
            .var("ORIGIN_URL", &origin.url)
            .var("GATE_ROUTES", bad);
        let stack = Stack::start_with(options).await;
        for path in ["/app/reports/x", "/public"] {
            let (status, body) = call(&stack, Method::GET, path, &[]).await;
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert_eq!((status, body["error"]["code"].as_str()), (500, Some("invalid_config")), "{path}: {body}");
            assert!(message.starts_with("GATE_ROUTES: "), "{path}: {body}");
        }
    }
}
