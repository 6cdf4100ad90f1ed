//! Registration/settings web hooks: body, auth header, order relative to
//! persistence, retries, parse mode, and re-firing.

#[path = "kratos_support.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post as post_route;
use axum::{Json, Router};
use ksb_emulators::kratos::KratosEmulator;
use ksb_emulators::server::serve;
use reqwest::Method;
use serde_json::{json, Value};
use support::*;

const NIL: &str = "00000000-0000-0000-0000-000000000000";

async fn register(k: &KratosEmulator, email: &str) -> (u16, Value) {
    post(&format!("{}/_emulator/flows/registration", k.admin_url()), json!({"traits": traits(email)})).await
}

async fn state(k: &KratosEmulator) -> Value {
    get(&format!("{}/_emulator/state", k.admin_url())).await.1
}

/// What a [`LookupReceiver`] saw: the hook body, two headers, and the
/// identity as the admin API showed it while the hook was being handled.
#[derive(Clone)]
struct Seen {
    body: Value,
    authorization: Option<String>,
    content_type: Option<String>,
    admin_status: u16,
    admin_identity: Value,
}

/// A receiver that, while handling the hook, looks the identity up through
/// the admin API (as the worker does), to observe persistence order.
struct LookupReceiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    server: ksb_emulators::server::Running,
}

impl LookupReceiver {
    async fn start(admin: String) -> LookupReceiver {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let handler = |State((seen, admin)): State<(Arc<Mutex<Vec<Seen>>>, String)>,
                       headers: axum::http::HeaderMap,
                       Json(body): Json<Value>| async move {
            let id = body["identity"]["id"].as_str().unwrap_or_default().to_string();
            let (admin_status, admin_identity) = get(&format!("{admin}/admin/identities/{id}")).await;
            let h = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_string());
            let entry = Seen {
                body,
                authorization: h("authorization"),
                content_type: h("content-type"),
                admin_status,
                admin_identity,
            };
            seen.lock().unwrap().push(entry);
            Json(json!({"ok": true}))
        };
        let router = Router::new().route("/hook", post_route(handler)).with_state((seen.clone(), admin));
        LookupReceiver { seen, server: serve(router, 0).await.unwrap() }
    }

    fn url(&self) -> String {
        format!("{}/hook", self.server.url())
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A loopback URL nothing listens on.
async fn closed_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn registration_persists_then_fires_the_hook_with_body_and_auth_header() {
    let k = start(None).await;
    let receiver = LookupReceiver::start(k.admin_url()).await;
    set_hooks(
        &k,
        json!({
            "registration_url": receiver.url(),
            "auth": {"name": "Authorization", "value": "Bearer s3cret"}
        }),
    )
    .await;

    let (status, outcome) = register(&k, "new@example.com").await;
    assert_eq!(status, 200, "{outcome}");
    let id = outcome["identity"]["id"].as_str().unwrap();
    assert_ne!(id, NIL);
    assert_eq!(outcome["hook"]["ok"], true);
    assert_eq!(outcome["hook"]["attempts"], json!([{"status": 200, "body": {"ok": true}}]));
    assert_eq!(outcome["error"], Value::Null);

    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    let Seen { body, authorization, content_type, admin_status, .. } = &seen[0];
    assert_eq!(authorization.as_deref(), Some("Bearer s3cret"));
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(*admin_status, 200, "the identity exists when the hook fires");
    assert_eq!(body["identity"]["id"], id);
    assert_eq!(body["identity"]["traits"]["email"], "new@example.com");
    assert_eq!(body["flow_type"], "browser");
    assert_eq!(body["flow_id"].as_str().unwrap().len(), 36);
    let ident = body["identity"].as_object().unwrap();
    assert!(!ident.contains_key("metadata_admin"));
    assert!(!ident.contains_key("credentials"));
    assert!(ident.contains_key("metadata_public"));

    let token = outcome["session_token"].as_str().unwrap();
    let (status, session) =
        call(Method::GET, &format!("{}/sessions/whoami", k.public_url()), None, &[("x-session-token", token)]).await;
    assert_eq!(status, 200);
    assert_eq!(session["identity"]["id"], id);

    let log = state(&k).await["hook_calls"].clone();
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["flow"], "registration");
    assert_eq!(log[0]["status"], 200);
    assert!(!log.to_string().contains("s3cret"), "the hook secret is never exposed");
    k.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_retried_up_to_three_attempts() {
    let k = start(None).await;
    let r = Receiver::start(vec![reply(500, json!({"e": 1})), reply(503, Value::Null)], reply(200, json!({}))).await;
    set_hooks(&k, json!({"registration_url": r.url()})).await;
    let (_, outcome) = register(&k, "retry@example.com").await;
    let attempts = outcome["hook"]["attempts"].as_array().unwrap();
    assert_eq!(
        attempts.iter().map(|a| a["status"].clone()).collect::<Vec<_>>(),
        vec![json!(500), json!(503), json!(200)]
    );
    assert_eq!(outcome["hook"]["ok"], true);
    assert!(outcome["session_token"].is_string());
    assert_eq!(r.calls().len(), 3);
    let bodies: Vec<Value> = r.calls().into_iter().map(|c| c.body).collect();
    assert!(bodies.iter().all(|b| *b == bodies[0]), "every attempt sends the same body");
    assert_eq!(state(&k).await["hook_calls"].as_array().unwrap().len(), 3);
    k.shutdown().await;
}

#[tokio::test]
async fn client_errors_are_not_retried_and_the_identity_stays() {
    let k = start(None).await;
    let r = Receiver::start(vec![], reply(400, json!({"messages": []}))).await;
    set_hooks(&k, json!({"registration_url": r.url()})).await;
    let (_, outcome) = register(&k, "bad@example.com").await;
    assert_eq!(outcome["hook"]["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(outcome["hook"]["ok"], false);
    assert_eq!(r.calls().len(), 1);
    assert!(outcome["identity"]["id"].is_string(), "without parse the identity was persisted before the hook");
    assert_eq!(outcome["session_token"], Value::Null);
    assert_eq!(outcome["error"]["error"]["code"], 400);
    assert_eq!(state(&k).await["identities"].as_array().unwrap().len(), 1);
    k.shutdown().await;
}

#[tokio::test]
async fn a_hook_that_keeps_failing_gets_exactly_three_attempts() {
    let k = start(None).await;
    let r = Receiver::start(vec![], reply(500, Value::Null)).await;
    set_hooks(&k, json!({"registration_url": r.url()})).await;
    let (_, outcome) = register(&k, "down@example.com").await;
    assert_eq!(outcome["hook"]["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(outcome["hook"]["ok"], false);
    assert_eq!(r.calls().len(), 3);

    // Timeouts and refused connections are retried too.
    let slow = Receiver::start(vec![], Reply { status: 200, body: json!({}), delay: Duration::from_millis(500) }).await;
    set_hooks(&k, json!({"registration_url": slow.url(), "timeout_ms": 100})).await;
    let (_, outcome) = register(&k, "slow@example.com").await;
    assert_eq!(outcome["hook"]["attempts"], json!([{"error": "timeout"}, {"error": "timeout"}, {"error": "timeout"}]));
    set_hooks(&k, json!({"registration_url": closed_url().await, "timeout_ms": 1000})).await;
    let (_, outcome) = register(&k, "closed@example.com").await;
    assert_eq!(outcome["hook"]["attempts"], json!([{"error": "connect"}, {"error": "connect"}, {"error": "connect"}]));
    k.shutdown().await;
}

#[tokio::test]
async fn parse_mode_fires_before_persisting_with_the_nil_uuid_and_aborts_on_failure() {
    let k = start(None).await;
    let failing = Receiver::start(vec![], reply(500, Value::Null)).await;
    set_hooks(&k, json!({"registration_url": failing.url(), "parse": true})).await;
    let (status, outcome) = register(&k, "parse@example.com").await;
    assert_eq!(status, 200);
    assert_eq!(failing.calls().len(), 3);
    assert_eq!(failing.calls()[0].body["identity"]["id"], NIL);
    assert_eq!(failing.calls()[0].body["identity"]["traits"]["email"], "parse@example.com");
    assert_eq!(outcome["identity"], Value::Null);
    assert_eq!(outcome["session_token"], Value::Null);
    assert_eq!(outcome["hook"]["ok"], false);
    assert!(outcome["error"].is_object());
    assert_eq!(state(&k).await["identities"], json!([]), "nothing persisted");

    let refusing = Receiver::start(vec![], reply(400, json!({"messages": [{"instance_ptr": "#/traits/email"}]}))).await;
    set_hooks(&k, json!({"registration_url": refusing.url(), "parse": true})).await;
    let (_, outcome) = register(&k, "parse@example.com").await;
    assert_eq!(refusing.calls().len(), 1);
    assert_eq!(outcome["identity"], Value::Null);
    assert_eq!(state(&k).await["identities"], json!([]));
    k.shutdown().await;
}

#[tokio::test]
async fn parse_mode_answer_may_set_metadata_before_persisting() {
    let k = start(None).await;
    let answer =
        json!({"identity": {"metadata_public": {"plan": "free"}, "metadata_admin": {"stripe_customer_id": "cus_7"}}});
    let r = Receiver::start(vec![], reply(200, answer)).await;
    set_hooks(&k, json!({"registration_url": r.url(), "parse": true})).await;
    let (_, outcome) = register(&k, "meta@example.com").await;
    assert_eq!(outcome["hook"]["ok"], true);
    let id = outcome["identity"]["id"].as_str().unwrap();
    assert_ne!(id, NIL);
    let (_, stored) = get(&format!("{}/admin/identities/{id}", k.admin_url())).await;
    assert_eq!(stored["metadata_public"], json!({"plan": "free"}));
    assert_eq!(stored["metadata_admin"], json!({"stripe_customer_id": "cus_7"}));
    assert_eq!(stored["traits"]["email"], "meta@example.com");
    assert!(outcome["session_token"].is_string());

    let no_change = Receiver::start(vec![], reply(204, Value::Null)).await;
    set_hooks(&k, json!({"registration_url": no_change.url(), "parse": true})).await;
    let (_, outcome) = register(&k, "plain@example.com").await;
    assert_eq!(outcome["identity"]["metadata_admin"], Value::Null);
    assert!(outcome["identity"]["id"].is_string());
    k.shutdown().await;
}

#[tokio::test]
async fn settings_flow_applies_traits_then_fires_the_settings_hook() {
    let k = start(None).await;
    let (identity, _) = seed_identity(&k, "old@example.com").await;
    let id = identity["id"].as_str().unwrap();
    let reg = Receiver::start(vec![], reply(200, json!({}))).await;
    let set = LookupReceiver::start(k.admin_url()).await;
    set_hooks(&k, json!({"registration_url": reg.url(), "settings_url": set.url(), "auth": {"name": "Authorization", "value": "Bearer k1"}})).await;
    let new_traits = json!({"email": "new@example.com", "name": {"first": "Ada", "last": "Byron"}});
    let (status, outcome) =
        post(&format!("{}/_emulator/flows/settings", k.admin_url()), json!({"identity_id": id, "traits": new_traits}))
            .await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["hook"]["ok"], true);
    assert_eq!(reg.calls().len(), 0, "only the settings hook fires");
    let seen = set.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer k1"));
    assert_eq!(seen[0].body["identity"]["id"], id);
    assert_eq!(seen[0].body["identity"]["traits"], new_traits);
    assert_eq!(seen[0].admin_identity["traits"], new_traits, "the change is stored before the hook fires");
    let (_, stored) = get(&format!("{}/admin/identities/{id}", k.admin_url())).await;
    assert_eq!(stored["traits"], new_traits);
    assert_eq!(stored["verifiable_addresses"][0]["value"], "new@example.com");

    // In parse mode a failing settings hook leaves the identity untouched.
    let failing = Receiver::start(vec![], reply(500, Value::Null)).await;
    set_hooks(&k, json!({"settings_url": failing.url(), "parse": true})).await;
    let (_, outcome) = post(
        &format!("{}/_emulator/flows/settings", k.admin_url()),
        json!({"identity_id": id, "traits": traits("third@example.com")}),
    )
    .await;
    assert_eq!(outcome["identity"], Value::Null);
    assert_eq!(failing.calls()[0].body["identity"]["id"], id, "settings hooks carry the real id");
    let (_, after) = get(&format!("{}/admin/identities/{id}", k.admin_url())).await;
    assert_eq!(after["traits"], new_traits);

    let (status, _) = post(
        &format!("{}/_emulator/flows/settings", k.admin_url()),
        json!({"identity_id": NIL, "traits": traits("x@example.com")}),
    )
    .await;
    assert_eq!(status, 404);
    k.shutdown().await;
}

#[tokio::test]
async fn fire_replays_the_hook_concurrently_with_one_flow_id() {
    let k = start(None).await;
    let (identity, _) = seed_identity(&k, "dup@example.com").await;
    let id = identity["id"].as_str().unwrap();
    let r = Receiver::start(vec![], Reply { status: 200, body: json!({}), delay: Duration::from_millis(300) }).await;
    set_hooks(&k, json!({"registration_url": r.url()})).await;
    let fire = format!("{}/_emulator/hooks/fire", k.admin_url());
    let started = Instant::now();
    let (status, results) =
        post(&fire, json!({"flow": "registration", "identity_id": id, "times": 5, "concurrent": true})).await;
    assert_eq!(status, 200, "{results}");
    assert!(started.elapsed() < Duration::from_millis(1200), "deliveries overlapped");
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|h| h["ok"] == true && h["attempts"].as_array().unwrap().len() == 1));
    assert!(r.max_in_flight() > 1);
    let calls = r.calls();
    assert_eq!(calls.len(), 5);
    assert!(calls.iter().all(|c| c.body == calls[0].body), "one flow replayed: same body");
    assert_eq!(calls[0].body["identity"]["id"], id);

    let seq = Receiver::start(vec![reply(500, Value::Null)], reply(200, json!({}))).await;
    set_hooks(&k, json!({"settings_url": seq.url()})).await;
    let (_, results) = post(&fire, json!({"flow": "settings", "identity_id": id, "times": 2})).await;
    assert_eq!(results[0]["attempts"].as_array().unwrap().len(), 2, "each firing retries on its own");
    assert_eq!(results[1]["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(seq.max_in_flight(), 1);

    let (status, _) = post(&fire, json!({"flow": "registration", "identity_id": id})).await;
    assert_eq!(status, 400, "no registration hook configured any more");
    let (status, _) = post(&fire, json!({"flow": "settings", "identity_id": NIL})).await;
    assert_eq!(status, 404);
    let (status, _) = post(&fire, json!({"flow": "login", "identity_id": id})).await;
    assert_eq!(status, 400);
    k.shutdown().await;
}

#[tokio::test]
async fn registration_without_a_hook_signs_the_user_in_and_duplicates_conflict() {
    let k = start(None).await;
    let (status, outcome) = register(&k, "solo@example.com").await;
    assert_eq!(status, 200);
    assert_eq!(outcome["hook"], Value::Null);
    assert!(outcome["session_token"].as_str().unwrap().starts_with("ory_st_"));
    let (status, err) = register(&k, "SOLO@example.com").await;
    assert_eq!(status, 409);
    assert_eq!(err["error"]["code"], 409);
    let (status, _) =
        post(&format!("{}/_emulator/flows/registration", k.admin_url()), json!({"traits": {"email": "x"}})).await;
    assert_eq!(status, 400);
    k.shutdown().await;
}

#[tokio::test]
async fn the_flow_answer_shows_what_the_receiver_wrote_back() {
    let k = start(None).await;
    // A receiver that links the identity the way the worker does.
    let handler = |State(admin): State<String>, Json(body): Json<Value>| async move {
        let id = body["identity"]["id"].as_str().unwrap_or_default().to_string();
        let ops = json!([{"op": "add", "path": "/metadata_admin", "value": {"stripe_customer_id": "cus_42"}}]);
        let (status, _) = patch(&format!("{admin}/admin/identities/{id}"), ops).await;
        axum::http::StatusCode::from_u16(if status == 200 { 200 } else { 500 }).unwrap()
    };
    let router = Router::new().route("/hook", post_route(handler)).with_state(k.admin_url());
    let receiver = serve(router, 0).await.unwrap();
    set_hooks(&k, json!({"registration_url": format!("{}/hook", receiver.url())})).await;
    let (_, outcome) = register(&k, "linked@example.com").await;
    assert_eq!(outcome["hook"]["ok"], true);
    assert_eq!(outcome["identity"]["metadata_admin"], json!({"stripe_customer_id": "cus_42"}));
    k.shutdown().await;
}
