//! A small origin server for edge gate mode's tests, on a free loopback
//! port: every request is answered with what arrived (method, path, query,
//! headers, body length), except `/redirect` (a 302 with two cookies, which
//! must reach the client unfollowed) and `/slow` (answered after 40 s, past
//! the worker's 30 s origin deadline).

use axum::body::{to_bytes, Body};
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

/// A running origin; it stops with the test's runtime.
pub struct Origin {
    pub url: String,
}

async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    if uri.path() == "/redirect" {
        return Response::builder()
            .status(StatusCode::FOUND)
            .header("location", "/elsewhere")
            .header("set-cookie", "a=1; Path=/")
            .header("set-cookie", "b=2; Path=/")
            .body(Body::empty())
            .unwrap();
    }
    if uri.path() == "/slow" {
        tokio::time::sleep(std::time::Duration::from_secs(40)).await;
    }
    let bytes = to_bytes(body, 64 * 1024 * 1024).await.unwrap_or_default();
    let mut seen = Map::new();
    for (k, v) in &headers {
        seen.insert(k.as_str().to_owned(), Value::from(v.to_str().unwrap_or("")));
    }
    let sum: u64 = bytes.iter().map(|b| u64::from(*b)).sum();
    let answer = json!({
        "method": method.as_str(), "path": uri.path(), "query": uri.query(),
        "headers": seen, "body_len": bytes.len(), "body_sum": sum,
    });
    (StatusCode::IM_A_TEAPOT, [("x-origin", "yes")], answer.to_string()).into_response()
}

impl Origin {
    pub async fn start() -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the origin");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(|req: Request<Body>| async move {
            let (parts, body) = req.into_parts();
            echo(parts.method, parts.uri, parts.headers, body).await
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Origin { url }
    }
}
