//! Shared helpers of the `kratos_*` integration tests: starting the
//! emulator, a JSON client, and a scripted web hook receiver.
//!
//! Included by each test file with `#[path]`; compiled alone it has no tests.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing;
use axum::Router;
use ksb_emulators::kratos::{self, HookOptions, KratosEmulator, KratosOptions};
use ksb_emulators::server::{serve, Running};
use serde_json::{json, Value};

/// An emulator with a short hook backoff.
pub async fn start(admin_token: Option<&str>) -> KratosEmulator {
    let options = KratosOptions {
        admin_token: admin_token.map(str::to_string),
        hooks: HookOptions { retry_backoff: Duration::from_millis(10), ..HookOptions::default() },
        ..KratosOptions::default()
    };
    kratos::start(options).await.expect("emulator starts")
}

/// Sends `method url` with an optional JSON body and headers; returns the
/// status and the body as JSON (`Null` when empty).
pub async fn call(method: reqwest::Method, url: &str, body: Option<Value>, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body read");
    let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, json)
}

pub async fn get(url: &str) -> (u16, Value) {
    call(reqwest::Method::GET, url, None, &[]).await
}

pub async fn post(url: &str, body: Value) -> (u16, Value) {
    call(reqwest::Method::POST, url, Some(body), &[]).await
}

pub async fn patch(url: &str, body: Value) -> (u16, Value) {
    call(reqwest::Method::PATCH, url, Some(body), &[]).await
}

/// Traits of the shape our tests use.
pub fn traits(email: &str) -> Value {
    json!({ "email": email, "name": { "first": "Ada", "last": "Lovelace" } })
}

/// Creates an identity (with a session) through the control API.
pub async fn seed_identity(k: &KratosEmulator, email: &str) -> (Value, String) {
    let (status, body) =
        post(&format!("{}/_emulator/identities", k.admin_url()), json!({ "traits": traits(email) })).await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"].as_str().expect("token").to_string();
    (body["identity"].clone(), token)
}

/// Points the emulator's hooks somewhere.
pub async fn set_hooks(k: &KratosEmulator, hooks: Value) {
    let (status, body) = post(&format!("{}/_emulator/hooks", k.admin_url()), hooks).await;
    assert_eq!(status, 200, "{body}");
}

/// One scripted answer of the receiver.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub delay: Duration,
}

pub fn reply(status: u16, body: Value) -> Reply {
    Reply { status, body, delay: Duration::ZERO }
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Value,
}

struct ReceiverState {
    script: Mutex<VecDeque<Reply>>,
    fallback: Reply,
    calls: Mutex<Vec<Received>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A tiny hook receiver: answers from `script`, then `fallback` forever.
pub struct Receiver {
    state: Arc<ReceiverState>,
    server: Running,
}

impl Receiver {
    pub async fn start(script: Vec<Reply>, fallback: Reply) -> Receiver {
        let state = Arc::new(ReceiverState {
            script: Mutex::new(script.into()),
            fallback,
            calls: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let router = Router::new().route("/hook", routing::post(receive)).with_state(state.clone());
        let server = serve(router, 0).await.expect("receiver starts");
        Receiver { state, server }
    }

    pub fn url(&self) -> String {
        format!("{}/hook", self.server.url())
    }

    pub fn calls(&self) -> Vec<Received> {
        self.state.calls.lock().unwrap().clone()
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn receive(State(s): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> Response {
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.calls.lock().unwrap().push(Received { headers, body });
    let r = s.script.lock().unwrap().pop_front().unwrap_or_else(|| s.fallback.clone());
    tokio::time::sleep(r.delay).await;
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    let status = StatusCode::from_u16(r.status).unwrap();
    if r.body.is_null() {
        status.into_response()
    } else {
        (status, axum::Json(r.body)).into_response()
    }
}
