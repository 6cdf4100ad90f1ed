//! End to end: the signed-in user's gate (`GET /gate/{feature}`): answers
//! by session, never another identity's, browsers redirected, sessions
//! cached for `SESSION_CACHE_TTL` and revocable within it, Kratos down a
//! 503; and cookie-authenticated changes refused from another site.

mod common;

use std::time::Duration;

use common::basics::status_json;
use common::calls::{Serve, Upstream, User};
use common::stack::*;
use kratos_stripe_bridge::entitlements::feature::{FeatureDecision, Reason};
use reqwest::Method;
use serde_json::json;

/// Subscribes the customer to pro; the record comes from a sync (webhooks
/// are held back, so none races the checks).
async fn subscribe_pro(stack: &Stack, id: &str, cus: &str) {
    stack.stripe_control("/_emulator/delivery", json!({"mode": "manual"})).await;
    let form = [("customer", cus), ("items[0][price]", "price_pro_monthly")];
    stack.stripe_api(Method::POST, "/v1/subscriptions", &form).await;
    assert_eq!(stack.sync(id).await.plan, "pro");
}

async fn gate(stack: &Stack, feature: &str, token: Option<&str>) -> reqwest::Response {
    let mut r = stack.http.get(stack.url(&format!("/gate/{feature}")));
    if let Some(t) = token {
        r = r.header("X-Session-Token", t);
    }
    r.send().await.expect("GET /gate")
}

async fn decision(r: reqwest::Response) -> (u16, FeatureDecision) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gate_answers_for_the_signed_in_identity_only() {
    let stack = Stack::start().await;
    let User { id: pro_id, customer: pro_cus, token: pro_token } = stack.user("pro@example.com").await;
    let User { token: free_token, .. } = stack.user("free@example.com").await;
    subscribe_pro(&stack, &pro_id, &pro_cus).await;

    let (status, d) = decision(gate(&stack, "premium_feature", Some(&pro_token)).await).await;
    assert_eq!((status, d.allowed, d.plan.as_str(), d.reason), (200, true, "pro", Reason::Included), "{d:?}");
    let (status, d) = decision(gate(&stack, "premium_feature", Some(&free_token)).await).await;
    assert_eq!((status, d.allowed, d.plan.as_str(), d.reason), (402, false, "free", Reason::NoSubscription), "{d:?}");
    let (status, d) = decision(gate(&stack, "basic_feature", Some(&free_token)).await).await;
    assert_eq!((status, d.allowed), (200, true));

    // A browser that may not is sent to the pricing page.
    let browser = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = browser
        .get(stack.url("/gate/premium_feature"))
        .header("X-Session-Token", &free_token)
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], PRICING_URL);

    // Each session sees its own record.
    let (_, mine) = status_json(
        stack.http.get(stack.url("/me/entitlements")).header("X-Session-Token", &free_token).send().await.unwrap(),
    )
    .await;
    assert_eq!((mine["plan"].as_str(), mine["identity_id"] == pro_id.as_str()), (Some("free"), false), "{mine}");
    assert_eq!(stack.entitlement(&pro_id).await.plan, "pro", "while the other identity is pro");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_unknown_or_wrong_credential_passes_the_gate() {
    let stack = Stack::start().await;
    let User { token, .. } = stack.user("creds@example.com").await;
    for (what, r) in [
        ("no session", gate(&stack, "basic_feature", None).await),
        ("an unknown token", gate(&stack, "basic_feature", Some("ory_st_unknown")).await),
        (
            "the API token in place of a session",
            stack.http.get(stack.url("/gate/basic_feature")).bearer_auth(BRIDGE_API_TOKEN).send().await.unwrap(),
        ),
        (
            "an unknown session cookie",
            stack
                .http
                .get(stack.url("/gate/basic_feature"))
                .header("Cookie", "ory_kratos_session=forged")
                .send()
                .await
                .unwrap(),
        ),
    ] {
        let (status, body) = status_json(r).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "{what}: {body}");
    }
    assert_eq!(gate(&stack, "basic_feature", Some(&token)).await.status(), 200);
    let log = stack
        .log_when("five /gate request lines", |l| l.matches(r#""route":"GET /gate/{feature}""#).count() >= 5)
        .await;
    for secret in [token.as_str(), "ory_st_unknown", "forged", BRIDGE_API_TOKEN] {
        assert!(!worker_lines(&log).into_iter().any(|l| l.contains(secret)), "{secret} logged");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_session_stops_working_within_the_session_cache_ttl() {
    let stack = Stack::start_with(StackOptions::default().var("SESSION_CACHE_TTL", "1")).await;
    let User { id, token, .. } = stack.user("revoked@example.com").await;
    assert_eq!(gate(&stack, "basic_feature", Some(&token)).await.status(), 200);
    let (status, body) = stack.kratos_admin_call(Method::DELETE, &format!("/admin/identities/{id}/sessions")).await;
    assert!((200..300).contains(&status), "revoke: {status} {body}");
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(gate(&stack, "basic_feature", Some(&token)).await.status(), 401, "past the TTL");
}

/// How many `/sessions/whoami` calls the Kratos emulator has answered.
async fn whoami_calls(stack: &Stack) -> u64 {
    let state = stack.control(Method::GET, stack.kratos_admin("/_emulator/state"), json!(null)).await;
    state["whoami_calls"].as_u64().expect("whoami_calls")
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_with_one_new_session_ask_kratos_once() {
    let stack = Stack::start_with(StackOptions::default().var("SESSION_CACHE_TTL", "60")).await;
    let User { token, .. } = stack.user("crowd@example.com").await;
    // The first whoami is held at Kratos until the other nine are in flight.
    let asked = stack.hold(Upstream::KratosPublic, "first-whoami", "GET", "/sessions/whoami", Serve::OnRelease).await;
    let before = whoami_calls(&stack).await;
    let first = gate(&stack, "basic_feature", Some(&token));
    let others = async {
        stack.arrived(&asked).await;
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..9 {
            let (http, url, token) = (stack.http.clone(), stack.url("/gate/basic_feature"), token.clone());
            set.spawn(async move { http.get(url).header("X-Session-Token", token).send().await.map(|r| r.status()) });
        }
        // They wait for the first one's answer: none is answered while it
        // is held (an answer now would come from elsewhere than coalescing).
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert!(set.try_join_next().is_none(), "a request was answered while the first whoami was held");
        stack.release(&asked).await;
        set.join_all().await
    };
    let (first, others) = tokio::join!(first, others);
    assert_eq!(first.status(), 200);
    assert!(others.iter().all(|r| r.as_ref().is_ok_and(|s| s.as_u16() == 200)), "{others:?}");
    assert_eq!(whoami_calls(&stack).await - before, 1, "one whoami for ten concurrent requests");
}

/// A request whose first steps ran inside the runtime's call (http/eager.rs)
/// must still be woken by its upstream deadline: Kratos hanging past it is a
/// 504 at the deadline (8 s), not an answer when Kratos wakes up (12 s).
#[tokio::test(flavor = "multi_thread")]
async fn kratos_hanging_past_the_deadline_is_a_504_at_the_deadline() {
    let stack = Stack::start().await;
    let User { token, .. } = stack.user("stalled@example.com").await;
    // Held until the test releases it (or 60 s): only the worker's own
    // deadline can answer before that.
    let stall = stack.hold(Upstream::KratosPublic, "whoami", "GET", "/sessions/whoami", Serve::OnRelease).await;
    let started = std::time::Instant::now();
    let (status, body) = status_json(gate(&stack, "basic_feature", Some(&token)).await).await;
    let took = started.elapsed();
    assert_eq!((status, body["error"]["code"].as_str()), (504, Some("upstream_timeout")), "{body}");
    assert!(took >= Duration::from_secs(7) && took < Duration::from_secs(40), "answered after {took:?}");
    let held = stack.hold_state(&stall).await;
    assert_eq!((held["arrived"].as_bool(), held["released"].as_bool()), (Some(true), Some(false)), "{held}");
    stack.release(&stall).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_session_needs_no_kratos_and_a_new_one_is_a_503_while_kratos_is_down() {
    let stack = Stack::start_with(StackOptions::default().var("SESSION_CACHE_TTL", "60")).await;
    let User { token: cached, .. } = stack.user("cached@example.com").await;
    let User { token: fresh, .. } = stack.user("fresh@example.com").await;
    assert_eq!(gate(&stack, "basic_feature", Some(&cached)).await.status(), 200);
    stack
        .control(
            Method::POST,
            stack.kratos_admin("/_emulator/faults"),
            json!({"count": 50, "kind": "500", "path_prefix": "/sessions/whoami"}),
        )
        .await;
    assert_eq!(gate(&stack, "basic_feature", Some(&cached)).await.status(), 200, "answered from the cache");
    let (status, body) = status_json(gate(&stack, "basic_feature", Some(&fresh)).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("kratos_unavailable")), "{body}");
    assert_eq!(body["error"]["upstream"]["service"], "kratos", "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn account_deletion_with_a_cookie_is_refused_from_another_site() {
    let stack = Stack::start().await;
    let User { id, token, .. } = stack.user("csrf@example.com").await;
    let delete = |headers: Vec<(&'static str, &'static str)>| {
        let mut r = stack.http.delete(stack.url("/me")).header("X-Session-Token", token.as_str());
        for (k, v) in headers {
            r = r.header(k, v);
        }
        r.send()
    };
    for headers in [vec![("Origin", "https://evil.example")], vec![("Sec-Fetch-Site", "cross-site")]] {
        let (status, body) = status_json(delete(headers.clone()).await.unwrap()).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("cross_site_request")), "{headers:?}: {body}");
    }
    assert_eq!(stack.kratos_identity(&id).await.0, 200, "nothing was deleted");
    // From the app's own origin (APP_URL), the same request goes through.
    let (status, report) =
        status_json(delete(vec![("Origin", "http://127.0.0.1:9"), ("Sec-Fetch-Site", "same-site")]).await.unwrap())
            .await;
    assert_eq!((status, report["identity_deleted"].as_bool()), (200, Some(true)), "{report}");
}

/// The app's pages call the session routes from `APP_URL`'s origin with the
/// cookie: that origin, and only it, gets CORS with credentials, on every
/// answer (denials and errors included) and on preflights.
#[tokio::test(flavor = "multi_thread")]
async fn the_apps_origin_and_only_it_may_read_the_session_routes_from_a_browser() {
    use common::openapi::assert_documented;
    let stack = Stack::start().await;
    let User { token, .. } = stack.user("cors@example.com").await;
    let app = "http://127.0.0.1:9"; // APP_URL's origin
    let header = |r: &reqwest::Response, name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let granted = |r: &reqwest::Response| {
        (header(r, "access-control-allow-origin"), header(r, "access-control-allow-credentials"), header(r, "vary"))
    };
    let yes = (Some(app.to_owned()), Some("true".to_owned()), Some("Origin".to_owned()));

    // Preflights: the route's methods and the headers asked, for the app only.
    for (path, method) in [
        ("/billing/checkout", "POST"),
        ("/billing/portal", "POST"),
        ("/me", "DELETE"),
        ("/me/entitlements", "GET"),
        ("/gate/premium_feature", "GET"),
    ] {
        let preflight = |origin: &'static str| {
            stack
                .http
                .request(Method::OPTIONS, stack.url(path))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", method)
                .header("Access-Control-Request-Headers", "content-type,x-session-token")
                .send()
        };
        let r = preflight(app).await.unwrap();
        assert_eq!(r.status(), 204, "{path}");
        assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some(app), "{path}");
        assert_eq!(header(&r, "access-control-allow-credentials").as_deref(), Some("true"), "{path}");
        assert_eq!(header(&r, "access-control-allow-methods").as_deref(), Some(method), "{path}");
        let allowed = header(&r, "access-control-allow-headers").unwrap_or_default();
        assert!(allowed.contains("content-type") && allowed.contains("x-session-token"), "{path}: {allowed}");
        assert!(header(&r, "vary").unwrap_or_default().contains("Origin"), "{path}");
        assert_documented("OPTIONS", path, 204, &serde_json::Value::Null);
        for other in ["https://evil.example", "null", "http://127.0.0.1:8"] {
            let r = preflight(other).await.unwrap();
            assert_eq!((r.status().as_u16(), header(&r, "access-control-allow-origin")), (403, None), "{path} {other}");
            let (status, body) = status_json(r).await;
            assert_eq!(body["error"]["code"], "cors_origin_not_allowed", "{path} {other}");
            assert_documented("OPTIONS", path, status, &body);
        }
    }

    // Every answer to the app carries the grant: allowed, denied, unauthenticated.
    let get = |path: &str, token: Option<&str>, origin: &str| {
        let mut r = stack.http.get(stack.url(path)).header("Origin", origin);
        if let Some(t) = token {
            r = r.header("X-Session-Token", t);
        }
        r.send()
    };
    let r = get("/me/entitlements", Some(&token), app).await.unwrap();
    assert_eq!((r.status().as_u16(), granted(&r)), (200, yes.clone()));
    let r = get("/gate/premium_feature", Some(&token), app).await.unwrap();
    assert_eq!((r.status().as_u16(), granted(&r)), (402, yes.clone()), "a denial the page must read");
    let r = get("/gate/basic_feature", None, app).await.unwrap();
    assert_eq!((r.status().as_u16(), granted(&r)), (401, yes.clone()), "an error the page must read");
    let r = stack
        .http
        .post(stack.url("/billing/checkout"))
        .header("Origin", app)
        .header("X-Session-Token", &token)
        .json(&json!({"plan": "pro"}))
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), granted(&r)), (200, yes.clone()), "a JSON POST from the app");
    // Another origin, or none: nothing granted, and the answer varies by origin.
    for origin in ["https://evil.example", "null"] {
        let r = get("/me/entitlements", Some(&token), origin).await.unwrap();
        assert_eq!(granted(&r), (None, None, Some("Origin".to_owned())), "{origin}");
    }
    // Server-to-server routes are not for browsers at all.
    let r = stack.http.get(stack.url("/healthz")).header("Origin", app).send().await.unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None);
}
