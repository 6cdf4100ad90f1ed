//! The gate benchmark's empty workers-rs worker: every request gets the same
//! 200 with a small JSON body and the bridge's two headers (content-type,
//! cache-control), built the way the bridge builds its answers. Nothing is
//! read from the request, the env or KV, and nothing is logged, so what it
//! costs is the workers-rs / wasm-bindgen / workerd floor under any request.

use worker::{event, Context, Env, Headers, Request, Response, Result};

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(r#"{"ok":true}"#)?.with_status(200).with_headers(headers))
}
