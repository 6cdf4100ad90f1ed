//! Building answers: JSON bodies, redirects and the spec's error shape.
//!
//! A handler's answer stays a Rust value ([`Reply`]) until the router adds
//! its request id and hands it to the runtime in one go
//! ([`Reply::into_raw`]). The runtime calls are what an answer costs at the
//! edge (each crosses from wasm to JS), so a JSON answer is made from a
//! response init built once per isolate and status: three calls, where
//! building headers and a `worker::Response` took eleven.

use std::cell::RefCell;

use serde::Serialize;
use worker::wasm_bindgen::JsValue;
use worker::web_sys::{Headers, Response, ResponseInit};

use crate::error::ApiError;

/// An answer of the bridge's own: its status and JSON body, or a redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    status: u16,
    body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    /// `application/json`, as given.
    Json(String),
    /// No body; `Location` is this URL.
    Redirect(String),
}

/// The header a reply carries its request id in.
const REQUEST_ID: &str = "x-request-id";

thread_local! {
    /// One response init per status seen, with the JSON answers' headers:
    /// the runtime copies them into each response it builds from one.
    static JSON_INITS: RefCell<Vec<(u16, ResponseInit)>> = const { RefCell::new(Vec::new()) };
}

fn json_init(status: u16) -> Result<ResponseInit, JsValue> {
    JSON_INITS.with(|inits| {
        if let Some((_, init)) = inits.borrow().iter().find(|(s, _)| *s == status) {
            return Ok(init.clone());
        }
        let headers = Headers::new()?;
        headers.set("content-type", "application/json")?;
        headers.set("cache-control", "no-store")?;
        let init = ResponseInit::new();
        init.set_status(status);
        init.set_headers(&headers);
        inits.borrow_mut().push((status, init.clone()));
        Ok(init)
    })
}

impl Reply {
    /// The status the reply answers with.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The runtime's response for this reply, with its `X-Request-Id`.
    pub fn into_raw(self, request_id: &str) -> Result<Response, JsValue> {
        match self.body {
            Body::Json(body) => {
                let response = Response::new_with_opt_str_and_init(Some(&body), &json_init(self.status)?)?;
                response.headers().set(REQUEST_ID, request_id)?;
                Ok(response)
            }
            Body::Redirect(url) => {
                // Built here, not with Response.redirect(), whose headers are immutable.
                let headers = Headers::new()?;
                headers.set("location", &url)?;
                headers.set("cache-control", "no-store")?;
                headers.set(REQUEST_ID, request_id)?;
                let init = ResponseInit::new();
                init.set_status(self.status);
                init.set_headers(&headers);
                Response::new_with_opt_str_and_init(None, &init)
            }
        }
    }
}

/// A JSON document kept as text (e.g. the OpenAPI document), answered as is.
pub fn json_text(body: &str) -> Result<Reply, ApiError> {
    Ok(Reply { status: 200, body: Body::Json(body.to_owned()) })
}

/// A JSON answer with the given status.
pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Reply, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| ApiError::internal(format!("unserialisable answer: {e}")))?;
    Ok(Reply { status, body: Body::Json(body) })
}

/// A `303 See Other` to `url`: a configured URL (validated when the
/// configuration is parsed) or one Stripe answered.
pub fn see_other(url: &str) -> Reply {
    Reply { status: 303, body: Body::Redirect(url.to_owned()) }
}

/// The spec's error answer: `{"error": {"code", "message", "upstream"?}}`.
/// The one place an [`ApiError`] becomes a reply.
pub fn error(e: &ApiError) -> Reply {
    Reply { status: e.status, body: Body::Json(e.to_json()) }
}
