//! Injected faults: the next N matching API calls answer 500 or hang; the
//! controls are never affected.

#[path = "kratos_support.rs"]
mod support;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use support::*;

#[tokio::test]
async fn the_next_n_matching_calls_answer_kratos_500() {
    let k = start(None).await;
    let (identity, token) = seed_identity(&k, "f@example.com").await;
    let url = format!("{}/admin/identities/{}", k.admin_url(), identity["id"].as_str().unwrap());
    let faults = format!("{}/_emulator/faults", k.admin_url());
    let (status, _) =
        post(&faults, json!({"count": 2, "kind": "500", "path_prefix": "/admin/identities", "method": "PATCH"})).await;
    assert_eq!(status, 200);

    let (status, _) = get(&url).await;
    assert_eq!(status, 200, "GET does not match a PATCH fault");
    let add = json!([{"op": "add", "path": "/metadata_admin", "value": {"k": 1}}]);
    for _ in 0..2 {
        let (status, err) = patch(&url, add.clone()).await;
        assert_eq!(status, 500);
        assert_eq!(err["error"]["code"], 500);
        assert_eq!(err["error"]["status"], "Internal Server Error");
    }
    let (_, unchanged) = get(&url).await;
    assert_eq!(unchanged["metadata_admin"], Value::Null, "a faulted call changes nothing");
    let (status, _) = patch(&url, add).await;
    assert_eq!(status, 200, "the fault is used up");

    // Faults reach the public API too, and DELETE clears pending ones.
    post(&faults, json!({"count": 5, "kind": "500", "path_prefix": "/sessions"})).await;
    let whoami = format!("{}/sessions/whoami", k.public_url());
    let (status, _) = call(Method::GET, &whoami, None, &[("x-session-token", &token)]).await;
    assert_eq!(status, 500);
    let (status, _) = get(&format!("{}/_emulator/state", k.admin_url())).await;
    assert_eq!(status, 200, "controls are never faulted");
    let (status, _) = call(Method::DELETE, &faults, None, &[]).await;
    assert_eq!(status, 204);
    let (status, _) = call(Method::GET, &whoami, None, &[("x-session-token", &token)]).await;
    assert_eq!(status, 200);
    k.shutdown().await;
}

#[tokio::test]
async fn a_hang_fault_holds_the_answer_back() {
    let k = start(Some("pat")).await;
    let faults = format!("{}/_emulator/faults", k.admin_url());
    post(&faults, json!({"count": 1, "kind": "hang", "hang_ms": 5000, "path_prefix": "/admin/"})).await;
    let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let url = format!("{}/admin/identities", k.admin_url());
    let started = Instant::now();
    let err = client.get(&url).bearer_auth("pat").send().await.expect_err("the call hangs");
    assert!(err.is_timeout());
    assert!(started.elapsed() >= Duration::from_millis(300));
    let (status, _) = call(Method::GET, &url, None, &[("authorization", "Bearer pat")]).await;
    assert_eq!(status, 200, "only one call hung");

    post(&faults, json!({"kind": "hang", "hang_ms": 200})).await;
    let started = Instant::now();
    let (status, _) = call(Method::GET, &url, None, &[("authorization", "Bearer pat")]).await;
    assert_eq!(status, 200, "after the hang the call is served");
    assert!(started.elapsed() >= Duration::from_millis(200));
    let (status, _) = post(&faults, json!({"kind": "teapot"})).await;
    assert_eq!(status, 400);
    // Shutdown is not held up by a call still hanging.
    post(&faults, json!({"kind": "hang", "hang_ms": 60000})).await;
    let hung =
        tokio::spawn(
            async move { reqwest::Client::new().get(url).bearer_auth("pat").send().await.map(|r| r.status()) },
        );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), k.shutdown()).await.expect("shutdown does not wait for the hang");
    assert!(started.elapsed() < Duration::from_secs(5));
    let _ = hung.await;
}
