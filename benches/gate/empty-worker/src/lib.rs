//! The gate benchmark's empty workers-rs worker: every request gets the same
//! 200 with a small JSON body and the bridge's two headers (content-type,
//! cache-control), built the way the bridge builds its answers. Nothing is
//! read from the request, the env or KV, so what it costs is the workers-rs /
//! wasm-bindgen / workerd floor under any request.
//!
//! Built twice: as is (logs nothing), and with the feature `log-line`,
//! which writes one JSON line per request of the bridge's shape and length
//! with `console.log`, as the bridge writes one per request: the
//! like-for-like floor for the bridge's figures.

use worker::{event, Context, Env, Headers, Request, Response, Result};

#[cfg(feature = "log-line")]
fn log_line() {
    use std::cell::Cell;
    thread_local! {
        static NEXT: Cell<u64> = const { Cell::new(0x5eed) };
    }
    let id = NEXT.with(|n| {
        n.set(n.get().wrapping_add(1));
        n.get()
    });
    let line = format!(
        r#"{{"at":"request","request_id":"{id:016x}","route":"GET /v1/identities/{{id}}/features/{{feature}}","status":200,"outcome":"ok","duration_ms":0}}"#
    );
    worker::web_sys::console::log_1(&line.into());
}

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    #[cfg(feature = "log-line")]
    log_line();
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(r#"{"ok":true}"#)?.with_status(200).with_headers(headers))
}
