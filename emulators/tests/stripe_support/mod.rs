//! Helpers shared by the Stripe emulator tests: a form-speaking client and a
//! tiny webhook receiver.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use ksb_emulators::server::{serve, Running};
use ksb_emulators::stripe::{start, StripeEmulator, StripeOptions};
use serde_json::Value;
use sha2::Sha256;

pub const KEY: &str = "sk_test_emulator";

/// An answer: status, JSON body and headers.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

/// Talks to one emulator with the test key.
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Api {
        Api { base, http: reqwest::Client::new() }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("emulator reachable");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body, headers }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base)).bearer_auth(KEY)).await
    }

    pub async fn post(&self, path: &str, form: &str) -> Answer {
        self.send(self.form(reqwest::Method::POST, path, form)).await
    }

    pub async fn post_idem(&self, path: &str, form: &str, key: &str) -> Answer {
        self.send(self.form(reqwest::Method::POST, path, form).header("Idempotency-Key", key)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.http.delete(format!("{}{path}", self.base)).bearer_auth(KEY)).await
    }

    fn form(&self, method: reqwest::Method, path: &str, form: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.to_string())
    }

    /// A `/_emulator/...` control call with a JSON body.
    pub async fn control(&self, path: &str, json: Value) -> Answer {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&json)).await
    }

    pub async fn state(&self) -> Value {
        self.send(self.http.get(format!("{}/_emulator/state", self.base))).await.body
    }

    pub async fn deliveries(&self) -> Vec<Value> {
        let body = self.send(self.http.get(format!("{}/_emulator/deliveries", self.base))).await.body;
        body.as_array().cloned().unwrap_or_default()
    }

    /// Event types in the log, oldest first.
    pub async fn event_types(&self) -> Vec<String> {
        let state = self.state().await;
        state["events"]
            .as_array()
            .map(|events| events.iter().map(|e| e["type"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    }

    pub async fn create_customer(&self, form: &str) -> Value {
        let answer = self.post("/v1/customers", form).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }

    pub async fn create_subscription(&self, customer: &str, extra: &str) -> Value {
        let form = format!("customer={customer}&items[0][price]=price_pro_monthly{extra}");
        let answer = self.post("/v1/subscriptions", &form).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }
}

/// An emulator with default options and a client for it.
pub async fn started() -> (StripeEmulator, Api) {
    started_with(StripeOptions::default()).await
}

pub async fn started_with(options: StripeOptions) -> (StripeEmulator, Api) {
    let emulator = start(options).await.expect("emulator starts");
    let api = Api::new(emulator.url());
    (emulator, api)
}

/// One webhook POST as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn event(&self) -> Value {
        serde_json::from_slice(&self.body).expect("event JSON")
    }
}

#[derive(Clone)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

/// A webhook endpoint that records every delivery and answers a settable status.
pub struct Receiver {
    running: Running,
    state: ReceiverState,
}

async fn receive(State(state): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    state.received.lock().unwrap().push(Received { headers, body });
    StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap()
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = ReceiverState { received: Arc::default(), status: Arc::new(AtomicU16::new(200)) };
        let router = Router::new().route("/hook", post(receive)).with_state(state.clone());
        let running = serve(router, 0).await.expect("receiver starts");
        Receiver { running, state }
    }

    pub fn url(&self) -> String {
        format!("{}/hook", self.running.url())
    }

    pub fn answer_with(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) until at least `n` deliveries arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..250 {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {n} deliveries, got {}", self.received().len());
    }
}

/// Verifies a `Stripe-Signature` header the way Stripe's libraries do.
pub fn signature_valid(header: &str, body: &[u8], secret: &str) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = Some(t.to_string()),
            Some(("v1", s)) => signatures.push(s.to_string()),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    signatures.contains(&expected)
}

/// Runs `tests/official_client/{script}` with node from the repository root
/// (where `node_modules` is) and reads its output as JSON.
pub async fn run_node(script: &str, args: &[&str], packages: &[&str]) -> Value {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for package in packages {
        assert!(
            repo.join("node_modules").join(package).join("package.json").exists(),
            "the npm package {package} is missing: run `npm ci` at the repository root ({}) first",
            repo.display()
        );
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/official_client").join(script);
    let output = tokio::process::Command::new("node")
        .arg(&path)
        .args(args)
        .current_dir(&repo)
        .output()
        .await
        .expect("run node (it must be on PATH)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "node {script} failed: {}\nstdout: {stdout}\nstderr: {stderr}", output.status);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}
