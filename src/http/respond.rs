//! Building answers: JSON bodies, redirects and the spec's error shape.
//!
//! A handler's answer stays a Rust value ([`Reply`]) until the router adds
//! its request id and hands it to the runtime in one go
//! ([`Reply::into_raw`], through `runtime::response`).

use serde::Serialize;
use worker::wasm_bindgen::JsValue;

use crate::error::ApiError;
use crate::runtime::response::{self, Raw};
use crate::web::cors::{Preflight, MAX_AGE_SECS};

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

/// What an answer tells browsers about cross-origin reads (`crate::web::cors`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Browsers {
    /// Not a signed-in user's route: nothing.
    #[default]
    Nothing,
    /// A signed-in user's route: `Vary: Origin`, and for `APP_URL`'s origin
    /// (`Some`) the credentialed grant.
    SessionRoute(Option<String>),
}

impl Reply {
    fn new(status: u16, body: Body) -> Reply {
        Reply { status, body, browsers: Browsers::Nothing, headers: Vec::new() }
    }

    /// The status the reply answers with.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The same reply with `headers` besides its own.
    pub fn with_headers(mut self, headers: Vec<(&'static str, String)>) -> Reply {
        self.headers.extend(headers);
        self
    }

    /// The same reply, telling browsers `browsers`.
    pub fn for_browsers(self, browsers: Browsers) -> Reply {
        Reply { browsers, ..self }
    }

    /// The runtime's response for this reply, with its `X-Request-Id`.
    pub fn into_raw(self, request_id: &str) -> Result<Raw, JsValue> {
        let body = match &self.body {
            Body::Json(text) => response::Body::Json(text),
            Body::Redirect(url) => response::Body::Redirect(url),
            Body::Empty => response::Body::Empty,
        };
        let (vary, grant) = match &self.browsers {
            Browsers::Nothing => (false, None),
            Browsers::SessionRoute(origin) => (true, origin.as_deref()),
        };
        response::build(self.status, body, request_id, vary, grant, &self.headers)
    }
}

/// A JSON document kept as text (e.g. the OpenAPI document), answered as is.
pub fn json_text(body: &str) -> Result<Reply, ApiError> {
    Ok(Reply::new(200, Body::Json(body.to_owned())))
}

/// A JSON text made elsewhere (the usage counter's), with its status.
pub fn json_text_with(status: u16, body: String) -> Reply {
    Reply::new(status, Body::Json(body))
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

/// `204 No Content`.
pub fn no_content() -> Reply {
    Reply::new(204, Body::Empty)
}

/// A `302 Found` to `url` (what proxies pass on from `/auth/forward`).
pub fn found(url: &str) -> Reply {
    Reply::new(302, Body::Redirect(url.to_owned()))
}

/// The spec's error answer: `{"error": {"code", "message", "upstream"?}}`.
/// The one place an [`ApiError`] becomes a reply.
pub fn error(e: &ApiError) -> Reply {
    Reply::new(e.status, Body::Json(e.to_json()))
}

/// The answer to a CORS preflight (`crate::web::cors::preflight`): 204 with the
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
