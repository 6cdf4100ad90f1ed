//! Named holds: a test parks the next API call that matches a rule until it
//! releases it, and can wait until that call arrived. This turns a race
//! into a sequence the test writes down ("A reads, then B runs to the end,
//! then A goes on") and lets it assert that the interleaving happened,
//! where a sleep could only make it likely.
//!
//! Both emulators serve the same controls:
//! - `POST /_emulator/holds` `{"name", "path_prefix", "method", "serve"}`
//!   arms a hold for the next matching call. `serve` is `"on_release"` (the
//!   call runs once released, so it sees the state then) or `"on_arrival"`
//!   (it runs at once, so its answer shows the state when it arrived, and
//!   leaves once released: an old read arriving after a newer one).
//! - `POST /_emulator/holds/{name}/arrived` `{"timeout_ms"}` waits until the
//!   call arrived: 200 `{"arrived": true}`, or 408 when it did not.
//! - `POST /_emulator/holds/{name}/release` lets it go; answers whether it
//!   had arrived.
//! - `GET /_emulator/holds/{name}` shows `arrived`, `released`, `answered`.
//!
//! A hold is released by itself after `timeout_ms` (default 30 s), so a
//! test that fails before releasing it never blocks the emulator.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

/// When a held call is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Serve {
    /// Once released: it sees the state at release.
    OnRelease,
    /// At once; only its answer waits for the release.
    OnArrival,
}

/// What a hold waits for, and what happened to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    arrived: bool,
    released: bool,
    answered: bool,
}

#[derive(Debug)]
struct Hold {
    method: Option<Method>,
    path_prefix: Option<String>,
    serve: Serve,
    timeout: Duration,
    /// Taken by a call (a hold parks one call only).
    taken: bool,
    progress: watch::Sender<Progress>,
}

/// The holds of one emulator, by name.
#[derive(Debug, Default)]
pub struct Holds {
    holds: Mutex<BTreeMap<String, Hold>>,
}

/// The call a hold parked: the middleware serves it as [`Serve`] says.
#[derive(Debug)]
pub struct Held {
    pub serve: Serve,
    timeout: Duration,
    progress: watch::Sender<Progress>,
}

impl Held {
    /// Resolves once the test released the call (or the hold timed out).
    pub async fn released(&self) {
        let mut rx = self.progress.subscribe();
        let _ = tokio::time::timeout(self.timeout, rx.wait_for(|p| p.released)).await;
    }

    /// Records that the call's answer left.
    pub fn answered(&self) {
        self.progress.send_modify(|p| p.answered = true);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArmBody {
    name: String,
    path_prefix: Option<String>,
    method: Option<String>,
    serve: Option<Serve>,
    timeout_ms: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WaitBody {
    timeout_ms: Option<u64>,
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(json!({"error": {"message": message}}))).into_response()
}

impl Holds {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Hold>> {
        self.holds.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The first armed hold this call matches, now taken by it; it counts
    /// as arrived from here.
    pub fn take(&self, method: &Method, path: &str) -> Option<Held> {
        let mut holds = self.lock();
        let hold = holds.values_mut().find(|h| {
            !h.taken
                && h.method.as_ref().is_none_or(|m| m == method)
                && h.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
        })?;
        hold.taken = true;
        hold.progress.send_modify(|p| p.arrived = true);
        Some(Held { serve: hold.serve, timeout: hold.timeout, progress: hold.progress.clone() })
    }

    fn progress(&self, name: &str) -> Option<watch::Sender<Progress>> {
        self.lock().get(name).map(|h| h.progress.clone())
    }

    fn arm(&self, body: &Bytes) -> Response {
        let body: ArmBody = match serde_json::from_slice(body) {
            Ok(b) => b,
            Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("Invalid hold: {e}")),
        };
        let method = match body.method.map(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes())) {
            Some(Err(_)) => return refuse(StatusCode::BAD_REQUEST, "Invalid `method`.".into()),
            Some(Ok(m)) => Some(m),
            None => None,
        };
        let mut holds = self.lock();
        if holds.contains_key(&body.name) {
            return refuse(StatusCode::CONFLICT, format!("A hold named {:?} exists.", body.name));
        }
        let hold = Hold {
            method,
            path_prefix: body.path_prefix,
            serve: body.serve.unwrap_or(Serve::OnRelease),
            timeout: Duration::from_millis(body.timeout_ms.unwrap_or(30_000)),
            taken: false,
            progress: watch::Sender::new(Progress::default()),
        };
        holds.insert(body.name.clone(), hold);
        Json(json!({"name": body.name})).into_response()
    }

    async fn wait_arrived(&self, name: &str, body: &Bytes) -> Response {
        let body: WaitBody = if body.iter().all(u8::is_ascii_whitespace) {
            WaitBody::default()
        } else {
            match serde_json::from_slice(body) {
                Ok(b) => b,
                Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("Invalid body: {e}")),
            }
        };
        let Some(progress) = self.progress(name) else {
            return refuse(StatusCode::NOT_FOUND, format!("No hold named {name:?}."));
        };
        let mut rx = progress.subscribe();
        let timeout = Duration::from_millis(body.timeout_ms.unwrap_or(10_000));
        let arrived = tokio::time::timeout(timeout, rx.wait_for(|p| p.arrived)).await.is_ok_and(|r| r.is_ok());
        if arrived {
            Json(json!({"arrived": true})).into_response()
        } else {
            refuse(StatusCode::REQUEST_TIMEOUT, format!("No call reached the hold {name:?} in {timeout:?}."))
        }
    }

    fn release(&self, name: &str) -> Response {
        let Some(progress) = self.progress(name) else {
            return refuse(StatusCode::NOT_FOUND, format!("No hold named {name:?}."));
        };
        progress.send_modify(|p| p.released = true);
        Json(json!({"arrived": progress.borrow().arrived})).into_response()
    }

    fn show(&self, name: &str) -> Response {
        match self.progress(name) {
            None => refuse(StatusCode::NOT_FOUND, format!("No hold named {name:?}.")),
            Some(progress) => {
                let p = *progress.borrow();
                Json(json!({"arrived": p.arrived, "released": p.released, "answered": p.answered})).into_response()
            }
        }
    }
}

/// The hold controls, for an emulator whose router state is `S`.
pub fn routes<S: Clone + Send + Sync + 'static>(holds: Arc<Holds>) -> Router<S> {
    let (arm, wait, release, show) = (holds.clone(), holds.clone(), holds.clone(), holds);
    Router::new()
        .route("/_emulator/holds", post(move |body: Bytes| async move { arm.arm(&body) }))
        .route(
            "/_emulator/holds/{name}/arrived",
            post(move |Path(name): Path<String>, body: Bytes| async move { wait.wait_arrived(&name, &body).await }),
        )
        .route(
            "/_emulator/holds/{name}/release",
            post(move |Path(name): Path<String>| async move { release.release(&name) }),
        )
        .route("/_emulator/holds/{name}", get(move |Path(name): Path<String>| async move { show.show(&name) }))
}

/// Serves `call` as the hold says: after the release, or at once with its
/// answer held until the release.
pub async fn serve<F: std::future::Future<Output = Response>>(held: Held, call: F) -> Response {
    let response = match held.serve {
        Serve::OnRelease => {
            held.released().await;
            call.await
        }
        Serve::OnArrival => {
            let response = call.await;
            held.released().await;
            response
        }
    };
    held.answered();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn armed(holds: &Holds, body: serde_json::Value) {
        let r = holds.arm(&Bytes::from(body.to_string()));
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_hold_parks_one_matching_call_until_released() {
        let holds = Arc::new(Holds::default());
        armed(&holds, json!({"name": "a", "path_prefix": "/v1/subscriptions", "method": "get"}));
        assert!(holds.take(&Method::POST, "/v1/subscriptions").is_none(), "another method");
        assert!(holds.take(&Method::GET, "/v1/customers").is_none(), "another path");
        let held = holds.take(&Method::GET, "/v1/subscriptions?customer=cus_1").expect("the call is held");
        assert!(holds.take(&Method::GET, "/v1/subscriptions").is_none(), "one call per hold");
        assert_eq!(holds.wait_arrived("a", &Bytes::new()).await.status(), StatusCode::OK);
        let served = tokio::spawn(serve(held, async { StatusCode::NO_CONTENT.into_response() }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!served.is_finished(), "held until released");
        assert_eq!(holds.release("a").status(), StatusCode::OK);
        assert_eq!(served.await.unwrap().status(), StatusCode::NO_CONTENT);
        assert!(holds.progress("a").unwrap().borrow().answered);
    }

    #[tokio::test]
    async fn waiting_for_a_call_that_never_comes_is_a_408_and_names_are_unique() {
        let holds = Holds::default();
        armed(&holds, json!({"name": "b"}));
        let r = holds.wait_arrived("b", &Bytes::from(r#"{"timeout_ms": 20}"#)).await;
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(holds.arm(&Bytes::from(r#"{"name": "b"}"#)).status(), StatusCode::CONFLICT);
        assert_eq!(holds.release("nope").status(), StatusCode::NOT_FOUND);
        assert_eq!(holds.arm(&Bytes::from(r#"{"name": "c", "serve": "later"}"#)).status(), StatusCode::BAD_REQUEST);
    }
}
