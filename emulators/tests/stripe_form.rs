//! Stripe's bracket form encoding, as the parser reads it and as the API
//! applies it end to end.

mod stripe_support;

use ksb_emulators::stripe::form::{decode, parse, FormError};
use serde_json::json;
use stripe_support::started;

#[test]
fn nested_metadata_arrays_and_appends() {
    let parsed = parse(
        "mode=subscription&line_items[0][price]=price_a&line_items[0][quantity]=2&line_items[1][price]=price_b\
         &subscription_data[metadata][identity_id]=abc&subscription_data[trial_period_days]=14\
         &expand[]=customer&expand[]=subscription&metadata[note]=hi+there%21",
    )
    .unwrap();
    assert_eq!(
        parsed,
        json!({
            "mode": "subscription",
            "line_items": [{"price": "price_a", "quantity": "2"}, {"price": "price_b"}],
            "subscription_data": {"metadata": {"identity_id": "abc"}, "trial_period_days": "14"},
            "expand": ["customer", "subscription"],
            "metadata": {"note": "hi there!"}
        })
    );
}

#[test]
fn indices_with_gaps_keep_their_keys_and_order_does_not_matter() {
    assert_eq!(parse("metadata[7]=x&metadata[12]=y").unwrap(), json!({"metadata": {"7": "x", "12": "y"}}));
    assert_eq!(
        parse("items[1][price]=b&items[0][price]=a").unwrap(),
        json!({"items": [{"price": "a"}, {"price": "b"}]})
    );
}

#[test]
fn percent_decoding_handles_utf8_and_reserved_characters() {
    assert_eq!(decode("a%40b.c%26d%3De"), "a@b.c&d=e");
    assert_eq!(decode("caf%C3%A9+ok"), "café ok");
    assert_eq!(parse("metadata%5Bk%5D=v").unwrap(), json!({"metadata": {"k": "v"}}));
    assert_eq!(parse("").unwrap(), json!({}));
}

#[test]
fn malformed_keys_and_conflicts_are_errors() {
    assert!(matches!(parse("metadata[a=1"), Err(FormError::MalformedKey(_))));
    assert!(matches!(parse("[a]=1"), Err(FormError::MalformedKey(_))));
    assert!(matches!(parse("a=1&a[b]=2"), Err(FormError::Conflict(_))));
}

#[tokio::test]
async fn the_api_applies_nested_parameters() {
    let (_stripe, api) = started().await;
    let customer =
        api.create_customer("email=ann%2Btag%40example.com&metadata[identity_id]=id%201&metadata[plan]=free").await;
    assert_eq!(customer["email"], "ann+tag@example.com");
    assert_eq!(customer["metadata"], json!({"identity_id": "id 1", "plan": "free"}));

    let session = api
        .post(
            "/v1/checkout/sessions",
            &format!(
                "mode=subscription&customer={}&line_items[0][price]=price_pro_yearly&line_items[0][quantity]=3\
                 &subscription_data[metadata][identity_id]=id%201&success_url=http%3A%2F%2Fapp%2Fok",
                customer["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(session.body["amount_total"], 45000);
    assert_eq!(session.body["success_url"], "http://app/ok");

    let id = session.body["id"].as_str().unwrap();
    let done = api.control(&format!("/_emulator/checkout/sessions/{id}/complete"), json!({})).await;
    assert_eq!(done.body["subscription"]["metadata"], json!({"identity_id": "id 1"}));
    assert_eq!(done.body["subscription"]["items"]["data"][0]["quantity"], 3);
}

#[tokio::test]
async fn a_malformed_body_is_a_400_that_changes_nothing() {
    let (_stripe, api) = started().await;
    let answer = api.post("/v1/customers", "metadata[a=1").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["error"]["type"], "invalid_request_error");
    assert_eq!(api.state().await["customers"], json!([]));
}
