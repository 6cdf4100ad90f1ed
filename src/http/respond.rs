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

use crate::cors::{Preflight, MAX_AGE_SECS};
use crate::error::ApiError;

/// An answer of the bridge's own: its status and JSON body, or a redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    status: u16,
    body: Body,
    /// What browsers are told about reading it from another origin.
    browsers: Browsers,
    /// Headers beside the body's own (a preflight's grants).
    headers: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    /// `application/json`, as given.
    Json(String),
    /// No body; `Location` is this URL.
    Redirect(String),
    /// No body at all (a preflight's 204).
    Empty,
}

/// What an answer tells browsers about cross-origin reads (`crate::cors`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Browsers {
    /// Not a signed-in user's route: nothing.
    #[default]
    Nothing,
    /// A signed-in user's route: `Vary: Origin`, and for `APP_URL`'s origin
    /// (`Some`) the credentialed grant.
    SessionRoute(Option<String>),
}

/// The header a reply carries its request id in.
const REQUEST_ID: &str = "x-request-id";

thread_local! {
    /// One response init per status seen (and per `Vary: Origin` or not),
    /// with the JSON answers' headers: the runtime copies them into each
    /// response it builds from one.
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

/// Sets the headers that grant `origin` a credentialed read.
fn grant(headers: &Headers, origin: &str) -> Result<(), JsValue> {
    headers.set("access-control-allow-origin", origin)?;
    headers.set("access-control-allow-credentials", "true")?;
    headers.set("access-control-expose-headers", "X-Request-Id")
}

impl Reply {
    fn new(status: u16, body: Body) -> Reply {
        Reply { status, body, browsers: Browsers::Nothing, headers: Vec::new() }
    }

    /// The status the reply answers with.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The same reply, telling browsers `browsers`.
    pub fn for_browsers(self, browsers: Browsers) -> Reply {
        Reply { browsers, ..self }
    }

    /// The runtime's response for this reply, with its `X-Request-Id`.
    pub fn into_raw(self, request_id: &str) -> Result<Response, JsValue> {
        let vary_origin = self.browsers != Browsers::Nothing;
        let response = match self.body {
            Body::Json(body) => {
                let response = Response::new_with_opt_str_and_init(Some(&body), &json_init(self.status, vary_origin)?)?;
                response.headers().set(REQUEST_ID, request_id)?;
                response
            }
            Body::Redirect(_) | Body::Empty => {
                // Built here, not with Response.redirect(), whose headers are immutable.
                let headers = Headers::new()?;
                if let Body::Redirect(url) = &self.body {
                    headers.set("location", url)?;
                }
                headers.set("cache-control", "no-store")?;
                headers.set(REQUEST_ID, request_id)?;
                if vary_origin {
                    headers.set("vary", "Origin")?;
                }
                let init = ResponseInit::new();
                init.set_status(self.status);
                init.set_headers(&headers);
                Response::new_with_opt_str_and_init(None, &init)?
            }
        };
        if let Browsers::SessionRoute(Some(origin)) = &self.browsers {
            grant(&response.headers(), origin)?;
        }
        for (name, value) in &self.headers {
            response.headers().set(name, value)?;
        }
        Ok(response)
    }
}

/// A JSON document kept as text (e.g. the OpenAPI document), answered as is.
pub fn json_text(body: &str) -> Result<Reply, ApiError> {
    Ok(Reply::new(200, Body::Json(body.to_owned())))
}

/// A JSON answer with the given status.
pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Reply, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| ApiError::internal(format!("unserialisable answer: {e}")))?;
    Ok(Reply::new(status, Body::Json(body)))
}

/// A `303 See Other` to `url`: a configured URL (validated when the
/// configuration is parsed) or one Stripe answered.
pub fn see_other(url: &str) -> Reply {
    Reply::new(303, Body::Redirect(url.to_owned()))
}

/// The spec's error answer: `{"error": {"code", "message", "upstream"?}}`.
/// The one place an [`ApiError`] becomes a reply.
pub fn error(e: &ApiError) -> Reply {
    Reply::new(e.status, Body::Json(e.to_json()))
}

/// The answer to a CORS preflight (`crate::cors::preflight`): 204 with the
/// grants, or 403 for an origin that is not `APP_URL`'s. Either way the
/// answer varies with the origin and what was asked.
pub fn preflight(decision: Preflight) -> Reply {
    match decision {
        Preflight::Granted { origin, methods, headers } => {
            let mut reply = Reply::new(204, Body::Empty).for_browsers(Browsers::SessionRoute(Some(origin)));
            reply.headers = vec![
                ("access-control-allow-methods", methods),
                ("access-control-allow-headers", headers),
                ("access-control-max-age", MAX_AGE_SECS.to_string()),
                ("vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers".to_owned()),
            ];
            reply
        }
        Preflight::Refused => error(&ApiError::new(
            403,
            "cors_origin_not_allowed",
            "only APP_URL's origin may call this route from a browser",
        ))
        .for_browsers(Browsers::SessionRoute(None)),
    }
}
