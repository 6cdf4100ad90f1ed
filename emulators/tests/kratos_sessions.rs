//! `/sessions/whoami` on the public listener: cookie, session token, 401s.

#[path = "kratos_support.rs"]
mod support;

use reqwest::Method;
use serde_json::json;
use support::*;

#[tokio::test]
async fn whoami_accepts_the_session_cookie_and_the_session_token() {
    let k = start(None).await;
    let (identity, token) = seed_identity(&k, "who@example.com").await;
    let id = identity["id"].as_str().unwrap();
    let url = format!("{}/admin/identities/{id}", k.admin_url());
    let (status, _) = patch(
        &url,
        json!([
            {"op": "add", "path": "/metadata_admin", "value": {"stripe_customer_id": "cus_9"}},
            {"op": "add", "path": "/metadata_public", "value": {"plan": "pro"}}
        ]),
    )
    .await;
    assert_eq!(status, 200);

    let whoami = format!("{}/sessions/whoami", k.public_url());
    let cookie = format!("csrf_token=abc; ory_kratos_session={token}; theme=dark");
    let (status, by_cookie) = call(Method::GET, &whoami, None, &[("cookie", &cookie)]).await;
    assert_eq!(status, 200, "{by_cookie}");
    let (status, by_token) = call(Method::GET, &whoami, None, &[("x-session-token", &token)]).await;
    assert_eq!(status, 200);
    assert_eq!(by_cookie, by_token);

    let s = by_token;
    assert_eq!(s["active"], true);
    assert_eq!(s["authenticator_assurance_level"], "aal1");
    assert_eq!(s["authentication_methods"][0]["method"], "password");
    assert_eq!(s["id"].as_str().unwrap().len(), 36);
    for field in ["expires_at", "authenticated_at", "issued_at"] {
        assert!(s[field].is_string(), "{field}");
    }
    assert!(s["devices"].is_array());
    assert_eq!(s["identity"]["id"], id);
    assert_eq!(s["identity"]["traits"]["email"], "who@example.com");
    assert_eq!(s["identity"]["metadata_public"]["plan"], "pro");
    let ident = s["identity"].as_object().unwrap();
    assert!(!ident.contains_key("metadata_admin"), "whoami never shows metadata_admin");
    assert!(!ident.contains_key("credentials"));
    k.shutdown().await;
}

#[tokio::test]
async fn whoami_answers_401_without_valid_credentials() {
    let k = start(None).await;
    let whoami = format!("{}/sessions/whoami", k.public_url());
    let expected = json!({"error": {
        "code": 401, "status": "Unauthorized",
        "reason": "No valid session credentials found in the request.",
        "message": "The request could not be authorized"
    }});
    let (status, err) = call(Method::GET, &whoami, None, &[]).await;
    assert_eq!((status, err), (401, expected.clone()));
    let (status, _) = call(Method::GET, &whoami, None, &[("x-session-token", "ory_st_nope")]).await;
    assert_eq!(status, 401);
    let (status, _) = call(Method::GET, &whoami, None, &[("cookie", "ory_kratos_session=nope")]).await;
    assert_eq!(status, 401);
    let (_, token) = seed_identity(&k, "x@example.com").await;
    let (status, _) = call(Method::GET, &whoami, None, &[("cookie", &format!("other_cookie={token}"))]).await;
    assert_eq!(status, 401, "only the session cookie counts");
    let (_, state) = get(&format!("{}/_emulator/state", k.admin_url())).await;
    assert_eq!(state["whoami_calls"], 4, "every answered call is counted, 401s too");
    k.shutdown().await;
}

#[tokio::test]
async fn deleting_an_identity_ends_its_sessions() {
    let k = start(None).await;
    let (identity, token) = seed_identity(&k, "gone@example.com").await;
    let id = identity["id"].as_str().unwrap();
    let (status, extra) = post(&format!("{}/_emulator/sessions", k.admin_url()), json!({"identity_id": id})).await;
    assert_eq!(status, 200);
    let second = extra["session_token"].as_str().unwrap().to_string();
    assert_ne!(second, token);
    let whoami = format!("{}/sessions/whoami", k.public_url());
    let (status, _) = call(Method::GET, &whoami, None, &[("x-session-token", &second)]).await;
    assert_eq!(status, 200);

    let (status, _) = call(Method::DELETE, &format!("{}/admin/identities/{id}", k.admin_url()), None, &[]).await;
    assert_eq!(status, 204);
    for t in [&token, &second] {
        let (status, _) = call(Method::GET, &whoami, None, &[("x-session-token", t)]).await;
        assert_eq!(status, 401);
    }
    let (status, _) = post(&format!("{}/_emulator/sessions", k.admin_url()), json!({"identity_id": id})).await;
    assert_eq!(status, 404);
    let (_, state) = get(&format!("{}/_emulator/state", k.admin_url())).await;
    assert_eq!(state["sessions"], json!([]));
    k.shutdown().await;
}

#[tokio::test]
async fn an_inactive_identity_has_no_valid_session() {
    let k = start(None).await;
    let (identity, token) = seed_identity(&k, "off@example.com").await;
    let url = format!("{}/admin/identities/{}", k.admin_url(), identity["id"].as_str().unwrap());
    let (status, _) = patch(&url, json!([{"op": "replace", "path": "/state", "value": "inactive"}])).await;
    assert_eq!(status, 200);
    let whoami = format!("{}/sessions/whoami", k.public_url());
    let (status, _) = call(Method::GET, &whoami, None, &[("x-session-token", &token)]).await;
    assert_eq!(status, 401);
    k.shutdown().await;
}
