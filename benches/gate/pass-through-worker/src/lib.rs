//! The edge benchmark's workers-rs pass-through worker: every request goes
//! to `ORIGIN_URL` with its method, path, query, headers and body, and the
//! origin's answer comes back (redirects not followed). Nothing is gated,
//! checked or logged, so what it costs over the origin is the workers-rs /
//! wasm-bindgen / workerd floor under forwarding one request.

use worker::{event, Context, Env, Fetch, Request, RequestInit, RequestRedirect, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let origin = env.var("ORIGIN_URL")?.to_string();
    let url = req.url()?;
    let mut target = format!("{origin}{}", url.path());
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let mut init = RequestInit::new();
    init.with_method(req.method()).with_headers(req.headers().clone()).with_redirect(RequestRedirect::Manual);
    if let Some(body) = req.inner().body() {
        init.with_body(Some(body.into()));
    }
    Fetch::Request(Request::new_with_init(&target, &init)?).send().await
}
