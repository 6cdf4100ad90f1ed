//! Shorthands for the calls a test makes to a running [`Stack`]: the
//! emulators' controls and APIs (their state stays JSON), and the worker's
//! API, whose answers are read as the product's own types.

use kratos_stripe_bridge::entitlements::record::Entitlement;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::basics::status_json;
use super::openapi::assert_documented;
use super::stack::{Stack, BRIDGE_API_TOKEN, KRATOS_ADMIN_TOKEN, STRIPE_KEY};

/// The emulators.
impl Stack {
    pub fn kratos_admin(&self, path: &str) -> String {
        format!("{}{path}", self.kratos.admin_url())
    }

    pub fn stripe_url(&self, path: &str) -> String {
        format!("{}{path}", self.stripe.url())
    }

    /// A request to a control endpoint of an emulator.
    pub async fn control(&self, method: Method, url: String, body: Value) -> Value {
        let r = self.http.request(method, &url).json(&body).send().await.expect("emulator control");
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(json!(null));
        assert!(status.is_success(), "{url} answered {status}: {v}");
        v
    }

    /// Runs a Kratos registration flow (identity stored, then the hook fired
    /// with Kratos' retries). Answers the flow's JSON.
    pub async fn register(&self, email: &str, first: &str, last: &str) -> Value {
        let traits = json!({"email": email, "name": {"first": first, "last": last}});
        self.control(Method::POST, self.kratos_admin("/_emulator/flows/registration"), json!({"traits": traits})).await
    }

    /// A call to the Kratos admin API with the admin token.
    pub async fn kratos_admin_call(&self, method: Method, path: &str) -> (u16, Value) {
        let r = self.http.request(method, self.kratos_admin(path)).bearer_auth(KRATOS_ADMIN_TOKEN).send().await;
        status_json(r.expect("Kratos admin API")).await
    }

    /// The identity as the Kratos admin API has it (with metadata_admin).
    pub async fn kratos_identity(&self, id: &str) -> (u16, Value) {
        self.kratos_admin_call(Method::GET, &format!("/admin/identities/{id}")).await
    }

    /// Everything the Stripe emulator holds.
    pub async fn stripe_state(&self) -> Value {
        let r = self.http.get(self.stripe_url("/_emulator/state")).send().await.expect("stripe state");
        r.json().await.expect("stripe state JSON")
    }

    /// The Stripe emulator's customers whose metadata names `identity_id`.
    pub async fn customers_of(&self, identity_id: &str) -> Vec<Value> {
        let state = self.stripe_state().await;
        state["customers"]
            .as_array()
            .expect("customers")
            .iter()
            .filter(|c| c["metadata"]["olympus_identity_id"] == identity_id && c["deleted"] != true)
            .cloned()
            .collect()
    }

    /// A Stripe API call with the emulator's key (as the app or a test would).
    pub async fn stripe_api(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Value {
        let mut r = self.http.request(method.clone(), self.stripe_url(path)).bearer_auth(STRIPE_KEY);
        if method == Method::GET {
            r = r.query(form);
        } else {
            r = r.form(form);
        }
        let (status, v) = status_json(r.send().await.expect("Stripe API")).await;
        assert!((200..300).contains(&status), "Stripe {path} answered {status}: {v}");
        v
    }

    pub async fn stripe_control(&self, path: &str, body: Value) -> Value {
        self.control(Method::POST, self.stripe_url(path), body).await
    }
}

/// The worker.
impl Stack {
    /// A call with the server-to-server token; any answer, as JSON.
    /// A call with the server-to-server token; the answer must be one
    /// `docs/openapi.json` describes.
    pub async fn api(&self, method: Method, path: &str) -> (u16, Value) {
        let r = self.http.request(method.clone(), self.bridge_url(path)).bearer_auth(BRIDGE_API_TOKEN).send().await;
        let (status, v) = status_json(r.expect("API")).await;
        assert_documented(method.as_str(), path, status, &v);
        (status, v)
    }

    /// A call with the server-to-server token that must answer 200 with a `T`.
    pub async fn api_answer<T: DeserializeOwned>(&self, method: Method, path: &str) -> T {
        let (status, v) = self.api(method, path).await;
        assert_eq!(status, 200, "{path}: {v}");
        serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{path} answered an unexpected body ({e}): {v}"))
    }

    /// The worker's entitlement record for an identity (`GET .../entitlements`).
    pub async fn entitlement(&self, identity_id: &str) -> Entitlement {
        self.api_answer(Method::GET, &format!("/v1/identities/{identity_id}/entitlements")).await
    }

    /// Syncs an identity from Stripe (`POST .../sync`): the record it answers.
    pub async fn sync(&self, identity_id: &str) -> Entitlement {
        self.api_answer(Method::POST, &format!("/v1/identities/{identity_id}/sync")).await
    }
}
