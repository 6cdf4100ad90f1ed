//! Admin identities API: create, get, list, delete, 404s, conflicts, paging,
//! and admin token enforcement.

#[path = "kratos_support.rs"]
mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::*;

#[tokio::test]
async fn create_get_list_and_delete_an_identity() {
    let k = start(None).await;
    let admin = k.admin_url();
    let body = json!({
        "schema_id": "default",
        "traits": traits("Ada@Example.com"),
        "metadata_public": { "plan": "free" }
    });
    let (status, created) = post(&format!("{admin}/admin/identities"), body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(created["schema_id"], "default");
    assert_eq!(created["schema_url"], format!("{}/schemas/ZGVmYXVsdA", k.public_url()));
    assert_eq!(created["state"], "active");
    assert_eq!(created["traits"]["name"]["first"], "Ada");
    assert_eq!(created["metadata_public"]["plan"], "free");
    assert_eq!(created["metadata_admin"], Value::Null);
    assert!(created.as_object().unwrap().contains_key("metadata_admin"));
    assert_eq!(created["organization_id"], Value::Null);
    assert_eq!(created["verifiable_addresses"][0]["value"], "ada@example.com");
    assert_eq!(created["verifiable_addresses"][0]["via"], "email");
    assert_eq!(created["verifiable_addresses"][0]["verified"], false);
    assert_eq!(created["recovery_addresses"][0]["value"], "ada@example.com");
    for field in ["created_at", "updated_at", "state_changed_at"] {
        assert!(created[field].as_str().unwrap().ends_with('Z'), "{field}");
    }

    let (status, got) = get(&format!("{admin}/admin/identities/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got, created);

    let (status, found) = get(&format!("{admin}/admin/identities?credentials_identifier=ADA%40example.COM")).await;
    assert_eq!(status, 200);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], id.as_str());
    let (_, none) = get(&format!("{admin}/admin/identities?credentials_identifier=ad%40example.com")).await;
    assert_eq!(none, json!([]), "exact match only");

    let (status, _) = call(Method::DELETE, &format!("{admin}/admin/identities/{id}"), None, &[]).await;
    assert_eq!(status, 204);
    let (status, err) = get(&format!("{admin}/admin/identities/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        err,
        json!({"error": {"code": 404, "status": "Not Found", "reason": "Unable to locate the resource", "message": "Unable to locate the resource"}})
    );
    let (status, err) = call(Method::DELETE, &format!("{admin}/admin/identities/{id}"), None, &[]).await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], 404);
    k.shutdown().await;
}

#[tokio::test]
async fn invalid_and_duplicate_identities_are_refused() {
    let k = start(None).await;
    let url = format!("{}/admin/identities", k.admin_url());
    let (status, err) = post(&url, json!({"schema_id": "default", "traits": {"email": "not-an-email"}})).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["status"], "Bad Request");
    let (status, _) = post(&url, json!({"schema_id": "other", "traits": traits("a@x.io")})).await;
    assert_eq!(status, 400);
    let (status, _) = post(&url, json!({"schema_id": "default", "traits": traits("a@x.io"), "state": "zombie"})).await;
    assert_eq!(status, 400);
    let (status, _) = call(Method::POST, &url, None, &[("content-type", "application/json")]).await;
    assert_eq!(status, 400);
    let (status, _) = post(&url, json!({"schema_id": "default", "traits": traits("a@x.io")})).await;
    assert_eq!(status, 201);
    let (status, err) = post(&url, json!({"schema_id": "default", "traits": traits("A@X.io")})).await;
    assert_eq!(status, 409);
    assert_eq!(err["error"]["code"], 409);
    let (_, all) = get(&url).await;
    assert_eq!(all.as_array().unwrap().len(), 1, "refused bodies change nothing");
    k.shutdown().await;
}

#[tokio::test]
async fn listing_pages_with_page_size_and_page_token() {
    let k = start(None).await;
    let admin = k.admin_url();
    for n in 0..5 {
        seed_identity(&k, &format!("user{n}@example.com")).await;
    }
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    let mut url = format!("{admin}/admin/identities?page_size=2");
    loop {
        let resp = client.get(&url).send().await.unwrap();
        let link = resp.headers().get("link").map(|v| v.to_str().unwrap().to_string());
        let page: Vec<Value> = resp.json().await.unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        let next = link.and_then(|l| {
            l.split(',')
                .find(|p| p.contains("rel=\"next\""))
                .map(|p| p.trim().trim_start_matches('<').split('>').next().unwrap().to_string())
        });
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5, "every identity exactly once");
    let (status, _) = get(&format!("{admin}/admin/identities?page_size=0")).await;
    assert_eq!(status, 400);
    let (status, _) = get(&format!("{admin}/admin/identities?page_token=zz")).await;
    assert_eq!(status, 400);
    k.shutdown().await;
}

#[tokio::test]
async fn admin_token_is_required_when_configured() {
    let k = start(Some("ory_pat_secret")).await;
    let admin = k.admin_url();
    let url = format!("{admin}/admin/identities");
    let (status, err) = get(&url).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["code"], 401);
    assert_eq!(err["error"]["status"], "Unauthorized");
    let (status, _) = call(Method::GET, &url, None, &[("authorization", "Bearer wrong")]).await;
    assert_eq!(status, 401);
    let (status, _) = call(Method::GET, &url, None, &[("authorization", "ory_pat_secret")]).await;
    assert_eq!(status, 401, "the Bearer scheme is required");
    let (status, list) = call(Method::GET, &url, None, &[("authorization", "Bearer ory_pat_secret")]).await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([]));
    // Controls are never behind the token; the public API has no admin auth.
    let (_, token) = seed_identity(&k, "t@example.com").await;
    let (status, _) =
        call(Method::GET, &format!("{}/sessions/whoami", k.public_url()), None, &[("x-session-token", &token)]).await;
    assert_eq!(status, 200);
    k.shutdown().await;
}

#[tokio::test]
async fn ids_filter_returns_only_the_named_identities() {
    let k = start(None).await;
    let (a, _) = seed_identity(&k, "a@example.com").await;
    seed_identity(&k, "b@example.com").await;
    let (c, _) = seed_identity(&k, "c@example.com").await;
    let url = format!(
        "{}/admin/identities?ids={}&ids={}",
        k.admin_url(),
        a["id"].as_str().unwrap(),
        c["id"].as_str().unwrap()
    );
    let (status, found) = get(&url).await;
    assert_eq!(status, 200);
    let mut emails: Vec<&str> =
        found.as_array().unwrap().iter().map(|i| i["traits"]["email"].as_str().unwrap()).collect();
    emails.sort();
    assert_eq!(emails, vec!["a@example.com", "c@example.com"]);
    k.shutdown().await;
}

/// Kratos reads ids in any case, and an address is verified only once its
/// verification flow completed (the emulator's `verify` control), and no
/// longer after the email changed.
#[tokio::test]
async fn ids_in_any_case_and_verification_of_the_email_address() {
    let k = start(None).await;
    let admin = k.admin_url();
    let (_, created) = post(
        &format!("{admin}/admin/identities"),
        json!({"schema_id": "default", "traits": traits("vera@example.com")}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    let (status, got) = get(&format!("{admin}/admin/identities/{}", id.to_ascii_uppercase())).await;
    assert_eq!((status, got["id"].as_str()), (200, Some(id.as_str())), "an upper-case id is the same identity");
    assert_eq!(got["verifiable_addresses"][0]["verified"], false);

    let (status, verified) = post(&format!("{admin}/_emulator/identities/{id}/verify"), json!({})).await;
    assert_eq!(status, 200, "{verified}");
    let address = &verified["verifiable_addresses"][0];
    assert_eq!(
        (address["verified"].as_bool(), address["status"].as_str()),
        (Some(true), Some("completed")),
        "{address}"
    );
    assert!(address["verified_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{address}");
    let (_, got) = get(&format!("{admin}/admin/identities/{id}")).await;
    assert_eq!(got["verifiable_addresses"][0]["verified"], true, "kept");

    let patch = json!([{"op": "replace", "path": "/traits/email", "value": "vera.new@example.com"}]);
    let (status, changed) = call(Method::PATCH, &format!("{admin}/admin/identities/{id}"), Some(patch), &[]).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["verifiable_addresses"][0]["value"], "vera.new@example.com");
    assert_eq!(changed["verifiable_addresses"][0]["verified"], false, "a new address is not verified");
    let (status, _) =
        post(&format!("{admin}/_emulator/identities/00000000-0000-4000-8000-000000000000/verify"), json!({})).await;
    assert_eq!(status, 404);
}
