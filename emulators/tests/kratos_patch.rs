//! `PATCH /admin/identities/{id}`: strict, atomic JSON Patch under Kratos'
//! rules (allowed ops, refused paths).

#[path = "kratos_support.rs"]
mod support;

use serde_json::{json, Value};
use support::*;

async fn identity_url(k: &ksb_emulators::kratos::KratosEmulator) -> String {
    let (identity, _) = seed_identity(k, "p@example.com").await;
    format!("{}/admin/identities/{}", k.admin_url(), identity["id"].as_str().unwrap())
}

#[tokio::test]
async fn add_whole_metadata_admin_when_null_then_add_a_key_keeps_the_others() {
    let k = start(None).await;
    let url = identity_url(&k).await;
    let (_, before) = get(&url).await;
    assert_eq!(before["metadata_admin"], Value::Null);

    let (status, after) =
        patch(&url, json!([{"op": "add", "path": "/metadata_admin", "value": {"stripe_customer_id": "cus_1"}}])).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["metadata_admin"], json!({"stripe_customer_id": "cus_1"}));
    assert_ne!(after["updated_at"], before["updated_at"], "updated_at moves on patch");
    assert_eq!(after["created_at"], before["created_at"]);
    assert_eq!(after["id"], before["id"]);

    let (status, after) =
        patch(&url, json!([{"op": "add", "path": "/metadata_admin/plan_synced", "value": true}])).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["metadata_admin"], json!({"stripe_customer_id": "cus_1", "plan_synced": true}));

    let (status, after) =
        patch(&url, json!([{"op": "replace", "path": "/metadata_admin/stripe_customer_id", "value": "cus_2"}])).await;
    assert_eq!(status, 200);
    assert_eq!(after["metadata_admin"]["stripe_customer_id"], "cus_2");
    let (_, stored) = get(&url).await;
    assert_eq!(stored, after, "the answer is what is stored");
    k.shutdown().await;
}

#[tokio::test]
async fn add_below_a_null_parent_fails_with_kratos_400() {
    let k = start(None).await;
    let url = identity_url(&k).await;
    let (_, before) = get(&url).await;
    let (status, err) =
        patch(&url, json!([{"op": "add", "path": "/metadata_admin/stripe_customer_id", "value": "cus_1"}])).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], 400);
    assert_eq!(err["error"]["status"], "Bad Request");
    assert!(err["error"]["message"].as_str().unwrap().contains("/metadata_admin/stripe_customer_id"), "{err}");
    let (_, after) = get(&url).await;
    assert_eq!(after, before);
    let (status, _) = patch(&url, json!([{"op": "replace", "path": "/metadata_public/plan", "value": "pro"}])).await;
    assert_eq!(status, 400, "replace of a missing member fails");
    k.shutdown().await;
}

#[tokio::test]
async fn a_patch_is_all_or_nothing() {
    let k = start(None).await;
    let url = identity_url(&k).await;
    let (_, before) = get(&url).await;
    let (status, _) = patch(
        &url,
        json!([
            {"op": "add", "path": "/metadata_public", "value": {"plan": "pro"}},
            {"op": "add", "path": "/traits/name/first", "value": "Grace"},
            {"op": "remove", "path": "/metadata_admin/missing"}
        ]),
    )
    .await;
    assert_eq!(status, 400);
    let (_, after) = get(&url).await;
    assert_eq!(after, before, "the first two operations were not kept");
    k.shutdown().await;
}

#[tokio::test]
async fn test_move_and_copy_are_refused_like_kratos_does() {
    let k = start(None).await;
    let url = identity_url(&k).await;
    let (_, before) = get(&url).await;
    for op in [
        json!({"op": "test", "path": "/metadata_admin", "value": null}),
        json!({"op": "copy", "from": "/traits/email", "path": "/metadata_public"}),
        json!({"op": "move", "from": "/metadata_public", "path": "/metadata_admin"}),
    ] {
        let (status, err) =
            patch(&url, json!([op.clone(), {"op": "add", "path": "/metadata_admin", "value": {"x": 1}}])).await;
        assert_eq!(status, 400, "{op}");
        let kind = op["op"].as_str().unwrap();
        assert_eq!(err["error"]["message"], format!("unsupported operation: {kind}"));
    }
    let (_, after) = get(&url).await;
    assert_eq!(after, before);
    k.shutdown().await;
}

#[tokio::test]
async fn refused_paths_answer_400_and_change_nothing() {
    let k = start(None).await;
    let url = identity_url(&k).await;
    let (_, before) = get(&url).await;
    for path in ["/id", "/stateChangedAt", "/state_changed_at", "/credentials", "/credentials/password/identifiers"] {
        let (status, err) = patch(&url, json!([{"op": "replace", "path": path, "value": "x"}])).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(err["error"]["message"], format!("patch includes denied path: {path}"));
        assert_eq!(err["error"]["reason"], "An error occured when applying the JSON patch");
    }
    let (_, after) = get(&url).await;
    assert_eq!(after, before);
    k.shutdown().await;
}

#[tokio::test]
async fn patched_identity_must_stay_valid_and_state_changes_are_tracked() {
    let k = start(None).await;
    let url = identity_url(&k).await;
    let (_, before) = get(&url).await;
    let (status, _) = patch(&url, json!([{"op": "replace", "path": "/traits/email", "value": "nope"}])).await;
    assert_eq!(status, 400);
    let (status, _) = patch(&url, json!([{"op": "replace", "path": "/state", "value": "gone"}])).await;
    assert_eq!(status, 400);
    let (status, _) = patch(&url, json!({"op": "add"})).await;
    assert_eq!(status, 400, "a patch must be an array");
    let (status, after) = patch(&url, json!([{"op": "replace", "path": "/state", "value": "inactive"}])).await;
    assert_eq!(status, 200);
    assert_eq!(after["state"], "inactive");
    assert_ne!(after["state_changed_at"], before["state_changed_at"]);
    let (status, after) =
        patch(&url, json!([{"op": "replace", "path": "/traits/email", "value": "new@example.com"}])).await;
    assert_eq!(status, 200);
    assert_eq!(after["verifiable_addresses"][0]["value"], "new@example.com");
    assert_eq!(after["recovery_addresses"][0]["value"], "new@example.com");

    let missing = format!("{}/admin/identities/00000000-0000-4000-8000-000000000000", k.admin_url());
    let (status, _) = patch(&missing, json!([{"op": "add", "path": "/metadata_admin", "value": {}}])).await;
    assert_eq!(status, 404);
    k.shutdown().await;
}
