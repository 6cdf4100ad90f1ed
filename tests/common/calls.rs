//! Shorthands for the calls a test makes to a running [`Stack`]: the
//! emulators' controls and APIs (their state stays JSON), and the worker's
//! API, whose answers are read as the product's own types.

use kratos_stripe_bridge::entitlements::record::Entitlement;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::basics::status_json;
use super::openapi::assert_documented;
use super::stack::{Stack, BRIDGE_API_TOKEN, KRATOS_ADMIN_TOKEN, STRIPE_KEY};

/// A signed-up user: their Kratos identity, the Stripe customer the
/// registration hook made for it, and a session token to act as them.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub customer: String,
    pub token: String,
}

/// One delivery attempt of the Stripe emulator's webhook outbox.
#[derive(Clone, Debug, Deserialize)]
pub struct Delivery {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub attempt: u32,
    /// The worker's status, when it answered.
    pub status: Option<u16>,
    /// A 2xx answer.
    pub ok: bool,
}

/// Which emulator a hold parks calls in.
#[derive(Clone, Copy, Debug)]
pub enum Upstream {
    Stripe,
    /// The Kratos admin API.
    KratosAdmin,
    /// Kratos' public API (`/sessions/whoami`).
    KratosPublic,
}

/// When a held call is served: once released (it sees the state then), or
/// at once with only its answer held (an old read that lands late).
#[derive(Clone, Copy, Debug)]
pub enum Serve {
    OnRelease,
    OnArrival,
}

/// A call parked in an emulator until the test releases it
/// (`/_emulator/holds`): the way a test makes an interleaving certain.
pub struct Hold {
    controls: String,
    name: String,
}

/// Reads `v` as a `T`, or fails naming `what`: an emulator answer of another
/// shape must never read as "nothing".
fn read_as<T: DeserializeOwned>(what: &str, v: Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{what} has an unexpected shape ({e}): {v}"))
}

/// The emulators.
impl Stack {
    /// Signs a user up through Kratos' registration flow, whose hook must
    /// have succeeded (so the user has a Stripe customer).
    pub async fn user(&self, email: &str) -> User {
        let flow = self.register(email, "Ada", "Lovelace").await;
        assert_eq!(flow["hook"]["ok"], true, "the registration hook failed: {flow}");
        let id: String = read_as("the flow's identity id", flow["identity"]["id"].clone());
        let token: String = read_as("the flow's session token", flow["session_token"].clone());
        let customers = self.customers_of(&id).await;
        assert_eq!(customers.len(), 1, "one customer per identity: {customers:?}");
        let customer: String = read_as("the customer's id", customers[0]["id"].clone());
        User { id, customer, token }
    }

    /// Creates an identity in Kratos without firing any hook (an identity
    /// made by the admin API or an import); answers its id.
    pub async fn identity_without_hook(&self, email: &str, metadata_admin: Value) -> String {
        let traits = json!({"email": email, "name": {"first": "Ada", "last": "Lovelace"}});
        let body = json!({"traits": traits, "metadata_admin": metadata_admin});
        let v = self.control(Method::POST, self.kratos_admin("/_emulator/identities"), body).await;
        read_as("the created identity's id", v["identity"]["id"].clone())
    }

    /// Every webhook delivery attempt so far, oldest first.
    pub async fn deliveries(&self) -> Vec<Delivery> {
        let r = self.http.get(self.stripe_url("/_emulator/deliveries")).send().await.expect("the deliveries");
        read_as("/_emulator/deliveries", r.json().await.expect("deliveries JSON"))
    }

    /// The delivery attempts that were not answered 2xx.
    pub async fn failed_deliveries(&self) -> Vec<Delivery> {
        self.deliveries().await.into_iter().filter(|d| !d.ok).collect()
    }

    /// The Checkout Sessions the Stripe emulator holds.
    pub async fn checkout_sessions(&self) -> Vec<Value> {
        read_as("the emulator's checkout_sessions", self.stripe_state().await["checkout_sessions"].clone())
    }

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

/// Holds: races the test writes down as sequences.
impl Stack {
    /// Parks the next `method` call under `path_prefix` that reaches
    /// `upstream` until [`Stack::release`] (or 60 s).
    pub async fn hold(&self, upstream: Upstream, name: &str, method: &str, path_prefix: &str, serve: Serve) -> Hold {
        // Both Kratos listeners share one emulator; its controls are on the admin one.
        let controls = match upstream {
            Upstream::Stripe => self.stripe.url(),
            Upstream::KratosAdmin | Upstream::KratosPublic => self.kratos.admin_url(),
        };
        let serve = match serve {
            Serve::OnRelease => "on_release",
            Serve::OnArrival => "on_arrival",
        };
        let body =
            json!({"name": name, "method": method, "path_prefix": path_prefix, "serve": serve, "timeout_ms": 60_000});
        self.control(Method::POST, format!("{controls}/_emulator/holds"), body).await;
        Hold { controls, name: name.to_string() }
    }

    /// Waits until the held call arrived; fails the test when it does not
    /// within 20 s (the interleaving the test is about did not happen).
    pub async fn arrived(&self, hold: &Hold) {
        let url = format!("{}/_emulator/holds/{}/arrived", hold.controls, hold.name);
        let r = self.http.post(url).json(&json!({"timeout_ms": 20_000})).send().await.expect("the hold's control");
        let (status, v) = status_json(r).await;
        assert_eq!(status, 200, "no call reached the hold {:?}: {v}", hold.name);
    }

    /// Lets the held call go on; it must have arrived.
    pub async fn release(&self, hold: &Hold) {
        let url = format!("{}/_emulator/holds/{}/release", hold.controls, hold.name);
        let v = self.control(Method::POST, url, json!({})).await;
        assert_eq!(v["arrived"], true, "the hold {:?} was released before any call reached it", hold.name);
    }

    /// What happened to the held call: `arrived`, `released`, `answered`.
    pub async fn hold_state(&self, hold: &Hold) -> Value {
        self.control(Method::GET, format!("{}/_emulator/holds/{}", hold.controls, hold.name), json!(null)).await
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
