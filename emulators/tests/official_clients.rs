//! The emulators driven by the services' official clients, which nobody here
//! wrote: Stripe's Node client (`stripe`) through the worker's billing calls,
//! webhook verification and typed errors, and Ory's Kratos client
//! (`@ory/kratos-client`) through the admin identity API and `toSession`.
//! Both are pinned in the repository's package.json and installed by
//! `npm ci`; the scripts are in `tests/official_client/` and print what the
//! client parsed as JSON, which these tests check. (Meter events:
//! `stripe_meters.rs`.)

#[path = "kratos_support.rs"]
mod kratos_support;
mod stripe_support;

use ksb_emulators::stripe::StripeOptions;
use serde_json::{json, Value};
use stripe_support::run_node;

#[tokio::test]
async fn stripes_node_client_runs_the_billing_calls_verifies_webhooks_and_types_errors() {
    let secret = "whsec_official_client";
    let options = StripeOptions { webhook_secret: secret.to_string(), ..StripeOptions::default() };
    let (stripe, api) = stripe_support::started_with(options).await;
    let base = stripe.url();
    let seen = run_node("billing.mjs", &[&base, secret], &["stripe"]).await;
    let identity = "2b0c8a4e-5f1d-4c7a-9e3b-7d6f5a4c3b2a";

    let customer = seen["created"]["id"].as_str().unwrap();
    assert_eq!(seen["created"]["object"], "customer");
    assert_eq!(seen["created"]["metadata"], json!({"olympus_identity_id": identity}));
    assert!(seen["createdRequestId"].as_str().unwrap().starts_with("req_"), "{seen}");
    assert_eq!(seen["replayed"], json!({"id": customer, "replayedHeader": "true"}));
    let reused = &seen["reusedKey"];
    assert_eq!((&reused["type"], &reused["rawType"]), (&json!("StripeIdempotencyError"), &json!("idempotency_error")));
    assert_eq!(reused["statusCode"], 400);
    assert_eq!(
        seen["updated"],
        json!({"name": "Node Client B", "metadata": {"olympus_identity_id": identity, "plan": "pro"}})
    );
    assert_eq!(seen["retrieved"], json!({"id": customer, "name": "Node Client B", "deleted": null}));
    assert_eq!(
        seen["byEmail"],
        json!({"object": "list", "ids": [customer], "has_more": false, "url": "/v1/customers"})
    );
    assert_eq!(
        seen["found"],
        json!({"object": "search_result", "ids": [customer], "has_more": false, "next_page": null})
    );
    let paged = seen["paged"].as_array().unwrap();
    assert_eq!(paged.len(), 2, "auto-pagination one by one walks both customers: {paged:?}");
    assert!(paged.contains(&json!(customer)));

    assert_eq!(
        seen["price"],
        json!({"id": "price_pro_monthly", "lookup_key": "pro_monthly", "active": true, "product": "product"})
    );
    let checkout = &seen["checkout"];
    assert_eq!((&checkout["object"], &checkout["status"]), (&json!("checkout.session"), &json!("open")));
    assert_eq!((&checkout["mode"], &checkout["client_reference_id"]), (&json!("subscription"), &json!(identity)));
    assert!(checkout["url"].as_str().unwrap().starts_with(&format!("{base}/checkout/cs_")), "{checkout}");
    assert!(checkout["expires_at"].is_i64());
    let subscription = &seen["subscription"];
    let sub = subscription["id"].as_str().unwrap();
    assert_eq!(seen["afterCheckout"], json!({"status": "complete", "url": null, "subscription": sub}));
    assert_eq!(subscription["status"], "active");
    assert_eq!(subscription["customer"], json!({"id": customer, "object": "customer"}), "expanded");
    assert_eq!(subscription["metadata"], json!({"olympus_identity_id": identity}));
    assert!(subscription["item_period_end"].is_i64(), "{subscription}");
    assert_eq!((&subscription["price"], &subscription["product"]), (&json!("pro_monthly"), &json!("product")));
    assert_eq!(seen["listed"], json!({"ids": [sub], "price": "price_pro_monthly"}));
    assert_eq!(seen["ending"], json!({"cancel_at_period_end": true, "status": "active"}));
    let portal = &seen["portal"];
    assert_eq!((&portal["object"], &portal["customer"]), (&json!("billing_portal.session"), &json!(customer)));
    assert!(portal["url"].as_str().unwrap().starts_with(&format!("{base}/portal/")), "{portal}");
    assert_eq!(seen["canceled"], json!({"status": "canceled"}));
    assert_eq!(
        seen["invoice"],
        json!({"object": "invoice", "status": "paid", "customer": customer, "subscription": sub,
               "metadata": {"olympus_identity_id": identity}, "lines": 1})
    );

    let missing = &seen["missing"];
    assert_eq!((&missing["type"], &missing["statusCode"]), (&json!("StripeInvalidRequestError"), &json!(404)));
    assert_eq!((&missing["code"], &missing["param"]), (&json!("resource_missing"), &json!("id")));
    // stripe-node picks the class by status; Stripe's own type is `rawType`.
    assert_eq!(missing["rawType"], "invalid_request_error", "{missing}");
    assert!(missing["requestId"].as_str().unwrap().starts_with("req_"), "{missing}");
    let unknown = &seen["unknownParameter"];
    assert_eq!((&unknown["type"], &unknown["statusCode"]), (&json!("StripeInvalidRequestError"), &json!(400)));
    assert_eq!((&unknown["code"], &unknown["param"]), (&json!("parameter_unknown"), &json!("colour")));
    assert_eq!(unknown["rawType"], "invalid_request_error", "{unknown}");
    assert_eq!(
        (&seen["wrongKey"]["type"], &seen["wrongKey"]["statusCode"]),
        (&json!("StripeAuthenticationError"), &json!(401))
    );

    // Every event was delivered and passed stripe.webhooks.constructEvent.
    let mut events: Vec<&str> = seen["events"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    let verified = seen["verified"].as_array().unwrap();
    let mut ids: Vec<&str> = verified.iter().map(|e| e["id"].as_str().unwrap()).collect();
    events.sort_unstable();
    ids.sort_unstable();
    assert_eq!(ids, events, "every event, verified once: {verified:?}");
    let types: Vec<&str> = verified.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in [
        "customer.created",
        "customer.updated",
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
    ] {
        assert!(types.contains(&kind), "no verified {kind} in {types:?}");
    }
    assert_eq!(seen["forged"]["type"], "StripeSignatureVerificationError", "{seen}");

    let requests: Value =
        api.http.get(format!("{base}/_emulator/requests")).send().await.unwrap().json().await.unwrap();
    for (route, count) in [
        ("POST /v1/customers", 5),
        ("GET /v1/customers/search", 1),
        ("POST /v1/checkout/sessions", 1),
        ("GET /v1/subscriptions/{id}", 1),
        ("POST /v1/billing_portal/sessions", 1),
        ("DELETE /v1/subscriptions/{id}", 1),
    ] {
        assert_eq!(requests["by_route"][route], count, "{route}: {requests}");
    }
    stripe.shutdown().await;
}

#[tokio::test]
async fn orys_kratos_client_runs_the_admin_api_and_to_session() {
    let admin_token = "ory_pat_official_client";
    let kratos = kratos_support::start(Some(admin_token)).await;
    let (signed_in, token) = kratos_support::seed_identity(&kratos, "signed-in@example.com").await;
    let (admin, public) = (kratos.admin_url(), kratos.public_url());
    let seen = run_node("kratos_admin.mjs", &[&admin, &public, &token, admin_token], &["@ory/kratos-client"]).await;

    let created = &seen["created"]["identity"];
    let id = created["id"].as_str().unwrap();
    assert_eq!(seen["created"]["status"], 201);
    assert_eq!((&created["schema_id"], &created["state"]), (&json!("default"), &json!("active")));
    assert_eq!(created["traits"]["email"], "ory-client@example.com");
    assert_eq!(
        (&created["metadata_public"], &created["external_id"]),
        (&json!({"plan": "free"}), &json!("ory-client-1"))
    );
    assert_eq!(
        created["addresses"],
        json!([{"value": "ory-client@example.com", "verified": false, "via": "email", "status": "pending"}])
    );
    assert_eq!(seen["duplicate"]["status"], 409, "{seen}");
    assert_eq!(seen["duplicate"]["error"]["code"], 409);
    assert_eq!(seen["fetched"], *created);
    assert_eq!(seen["identifiers"], json!(["ory-client@example.com"]));
    assert_eq!(seen["byExternalId"], id);
    assert_eq!(seen["listed"], json!([id]));
    let all = seen["all"].as_array().unwrap();
    assert!(all.len() == 2 && all.contains(&json!(id)) && all.contains(&signed_in["id"]), "{all:?}");
    let patched = &seen["patched"];
    assert_eq!(patched["metadata_admin"], json!({"stripe_customer_id": "cus_ory"}));
    assert_eq!(patched["metadata_public"], json!({"plan": "pro"}));
    assert_eq!(seen["denied"]["status"], 400);
    assert_eq!(seen["denied"]["error"]["message"], "patch includes denied path: /id");

    let session = &seen["session"];
    assert_eq!(session["active"], true);
    assert_eq!(session["identity"], signed_in["id"]);
    assert_eq!((&session["aal"], &session["methods"]), (&json!("aal1"), &json!(["password"])));
    assert_eq!(session["metadata_admin"], Value::Null, "whoami never shows metadata_admin");
    assert_eq!(seen["anonymous"]["status"], 401);
    assert_eq!(seen["anonymous"]["error"]["code"], 401);
    assert_eq!(seen["deleted"], 204);
    assert_eq!(seen["gone"]["status"], 404);
    assert_eq!(seen["gone"]["error"]["code"], 404);
}

#[tokio::test]
async fn orys_kratos_client_runs_the_browser_registration_flow() {
    let kratos = kratos_support::start(None).await;
    let return_to = "http://127.0.0.1:9/app/";
    let browser = json!({"default_return_url": return_to, "registration_ui_url": "http://127.0.0.1:9/registration"});
    let (status, set) = kratos_support::post(&format!("{}/_emulator/browser", kratos.admin_url()), browser).await;
    assert_eq!(status, 200, "{set}");
    let seen = run_node("kratos_browser.mjs", &[&kratos.public_url(), return_to], &["@ory/kratos-client"]).await;

    assert_eq!(seen["forbidden"], json!({"status": 400, "id": "self_service_flow_return_to_forbidden"}));
    let started = &seen["started"];
    assert_eq!(
        (&started["status"], &started["type"], &started["state"]),
        (&json!(200), &json!("browser"), &json!("choose_method"))
    );
    assert_eq!(started["return_to"], return_to);
    assert!(started["action"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/self-service/registration?flow=", kratos.public_url())));
    assert_eq!(started["method"], "POST");
    assert_eq!(
        started["nodes"],
        json!([
            "default:csrf_token:hidden",
            "password:traits.email:email",
            "password:traits.name.first:text",
            "password:traits.name.last:text",
            "password:password:password",
            "password:method:submit"
        ])
    );
    assert_eq!(started["csrf_cookie"], json!(["Path=/", "Max-Age=31536000", "HttpOnly", "SameSite=Lax"]));
    assert_eq!(seen["fetched"]["same_csrf"], true);
    assert_eq!(seen["without_cookie"], json!({"status": 403, "id": "security_csrf_violation"}));
    assert_eq!(seen["forged"], json!({"status": 403, "id": "security_csrf_violation"}));
    assert_eq!(seen["too_short"], json!({"status": 400, "messages": [4000032]}));
    let registered = &seen["registered"];
    assert_eq!((&registered["status"], &registered["email"]), (&json!(200), &json!("browser-client@example.com")));
    assert_eq!(registered["metadata_admin"], Value::Null, "the browser never sees metadata_admin");
    assert_eq!(registered["session_identity"], seen["identity"]);
    assert_eq!(registered["session_cookie"], json!(["Path=/", "Max-Age=86400", "HttpOnly", "SameSite=Lax"]));
    assert_eq!(seen["session"], json!({"active": true, "identity": seen["identity"]}));
}
