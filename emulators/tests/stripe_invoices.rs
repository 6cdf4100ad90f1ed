//! Invoices as API version 2025-03-31.basil shapes them: the subscription is
//! named under `parent.subscription_details` with a snapshot of its
//! metadata, and there is no top-level `subscription` field.

mod stripe_support;

use serde_json::{json, Value};
use stripe_support::{started, Api};

/// The `data.object` of every event of `kind`, oldest first.
async fn invoices_in_events(api: &Api, kind: &str) -> Vec<Value> {
    let state = api.state().await;
    state["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .map(|e| e["data"]["object"].clone())
        .collect()
}

fn assert_basil_parent(invoice: &Value, subscription: &str, metadata: Value) {
    assert_eq!(invoice["object"], "invoice");
    assert!(invoice.get("subscription").is_none(), "no top-level subscription: {invoice}");
    assert!(invoice.get("subscription_details").is_none(), "no top-level subscription_details: {invoice}");
    let parent = &invoice["parent"];
    assert_eq!(parent["type"], "subscription_details");
    assert_eq!(parent["quote_details"], Value::Null);
    assert_eq!(parent["subscription_details"]["subscription"], subscription);
    assert_eq!(parent["subscription_details"]["metadata"], metadata);
}

#[tokio::test]
async fn invoices_carry_the_subscription_and_its_metadata_under_parent() {
    let (_stripe, api) = started().await;
    let customer = api.create_customer("email=inv%40example.com").await;
    let sub = api
        .create_subscription(customer["id"].as_str().unwrap(), "&metadata[identity_id]=id-1&metadata[plan]=pro")
        .await;
    let sub_id = sub["id"].as_str().unwrap();
    let first = json!({"identity_id": "id-1", "plan": "pro"});

    let retrieved = api.get(&format!("/v1/invoices/{}", sub["latest_invoice"].as_str().unwrap())).await;
    assert_eq!(retrieved.status, 200, "{}", retrieved.body);
    assert_basil_parent(&retrieved.body, sub_id, first.clone());
    let paid = invoices_in_events(&api, "invoice.paid").await;
    assert_eq!(paid.len(), 1);
    assert_basil_parent(&paid[0], sub_id, first.clone());
    assert_eq!(paid[0]["lines"]["data"][0]["parent"]["subscription_item_details"]["subscription"], sub_id);

    // A later invoice snapshots the metadata as it is then; the first keeps its own.
    let updated = api.post(&format!("/v1/subscriptions/{sub_id}"), "metadata[plan]=&metadata[team]=t1").await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let second = json!({"identity_id": "id-1", "team": "t1"});
    let failed = api.control(&format!("/_emulator/subscriptions/{sub_id}/status"), json!({"status": "past_due"})).await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    let failed = invoices_in_events(&api, "invoice.payment_failed").await;
    assert_eq!(failed.len(), 1);
    assert_basil_parent(&failed[0], sub_id, second.clone());

    let renewed = api.control(&format!("/_emulator/subscriptions/{sub_id}/end_period"), json!({})).await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let paid = invoices_in_events(&api, "invoice.paid").await;
    assert_eq!(paid.len(), 2);
    assert_basil_parent(&paid[1], sub_id, second);

    let again = api.get(&format!("/v1/invoices/{}", sub["latest_invoice"].as_str().unwrap())).await.body;
    assert_basil_parent(&again, sub_id, first);
    for invoice in api.state().await["invoices"].as_array().unwrap() {
        assert!(invoice.get("subscription").is_none(), "{invoice}");
    }
}

#[tokio::test]
async fn a_subscription_without_metadata_gives_an_empty_object() {
    let (_stripe, api) = started().await;
    let customer = api.create_customer("").await;
    let sub = api.create_subscription(customer["id"].as_str().unwrap(), "").await;
    let invoice = api.get(&format!("/v1/invoices/{}", sub["latest_invoice"].as_str().unwrap())).await.body;
    assert_basil_parent(&invoice, sub["id"].as_str().unwrap(), json!({}));
}
