//! The runtime's `Response` for an answer of the bridge's own, built in as
//! few runtime calls as possible (each crosses from wasm to JS): a JSON
//! answer is made from a response init built once per isolate and status
//! (its headers copied by the runtime), then its request id is set.

use std::cell::RefCell;

use worker::wasm_bindgen::JsValue;
use worker::web_sys::{Headers, Response, ResponseInit};

/// The runtime's response object, as handlers' answers become.
pub type Raw = Response;

/// What an answer's body is.
pub enum Body<'a> {
    /// `application/json`, as given.
    Json(&'a str),
    /// No body; `Location` is this URL (a redirect).
    Redirect(&'a str),
    /// No body at all (a preflight's 204).
    Empty,
}

/// The header a reply carries its request id in.
const REQUEST_ID: &str = "x-request-id";

thread_local! {
    /// One response init per status seen (and per `Vary: Origin` or not),
    /// with the JSON answers' headers.
    static JSON_INITS: RefCell<Vec<((u16, bool), ResponseInit)>> = const { RefCell::new(Vec::new()) };
}

fn json_init(status: u16, vary_origin: bool) -> Result<ResponseInit, JsValue> {
    JSON_INITS.with(|inits| {
        if let Some((_, init)) = inits.borrow().iter().find(|(k, _)| *k == (status, vary_origin)) {
            return Ok(init.clone());
        }
        let headers = Headers::new()?;
        headers.set("content-type", "application/json")?;
        headers.set("cache-control", "no-store")?;
        if vary_origin {
            headers.set("vary", "Origin")?;
        }
        let init = ResponseInit::new();
        init.set_status(status);
        init.set_headers(&headers);
        inits.borrow_mut().push(((status, vary_origin), init.clone()));
        Ok(init)
    })
}

/// A JSON answer without a request id (the answer to a request the
/// instance could not finish).
pub fn json_error(status: u16, body: &str) -> Result<Raw, JsValue> {
    Response::new_with_opt_str_and_init(Some(body), &json_init(status, false)?)
}

/// The response: `body` with `status`, its `X-Request-Id`, `Vary: Origin`
/// when it depends on the caller's origin, the credentialed CORS grant for
/// `grant_origin`, and `headers` besides.
pub fn build(
    status: u16,
    body: Body<'_>,
    request_id: &str,
    vary_origin: bool,
    grant_origin: Option<&str>,
    headers: &[(&'static str, String)],
) -> Result<Raw, JsValue> {
    let response = match body {
        Body::Json(body) => {
            let response = Response::new_with_opt_str_and_init(Some(body), &json_init(status, vary_origin)?)?;
            response.headers().set(REQUEST_ID, request_id)?;
            response
        }
        Body::Redirect(_) | Body::Empty => {
            // Built here, not with Response.redirect(), whose headers are immutable.
            let h = Headers::new()?;
            if let Body::Redirect(url) = body {
                h.set("location", url)?;
            }
            h.set("cache-control", "no-store")?;
            h.set(REQUEST_ID, request_id)?;
            if vary_origin {
                h.set("vary", "Origin")?;
            }
            let init = ResponseInit::new();
            init.set_status(status);
            init.set_headers(&h);
            Response::new_with_opt_str_and_init(None, &init)?
        }
    };
    if let Some(origin) = grant_origin {
        let h = response.headers();
        h.set("access-control-allow-origin", origin)?;
        h.set("access-control-allow-credentials", "true")?;
        h.set("access-control-expose-headers", "X-Request-Id")?;
    }
    if !headers.is_empty() {
        let h = response.headers();
        for (name, value) in headers {
            h.set(name, value)?;
        }
    }
    Ok(response)
}

/// A response's status and whole body as text, read with the runtime's own
/// `text()` (one promise; workers-rs reads a body through a stream reader).
pub async fn status_and_text(response: worker::Response) -> Result<(u16, String), JsValue> {
    let raw: Response = response.into();
    let status = raw.status();
    let text = worker::wasm_bindgen_futures::JsFuture::from(raw.text()?).await?;
    Ok((status, text.as_string().unwrap_or_default()))
}
