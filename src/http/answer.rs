//! The one place an answer leaves the bridge: a handler's result becomes
//! the runtime's response (an error its JSON answer), with its request id,
//! and the request's one log line is written.

use worker::wasm_bindgen::JsValue;

use super::log::{Level, Line};
use super::respond::{self, Browsers, Reply};
use crate::error::ApiError;

/// The log name of requests forwarded in edge gate mode.
pub const EDGE_ROUTE: &str = "edge";

/// Turns a handler's result into the response, with its `X-Request-Id`,
/// logging one line for it: the request id, the route's name (never an id
/// or a query), the status, the outcome (`ok` or the error's code), the
/// duration, and for a failure its message and what an upstream said.
/// `browsers` is what a signed-in user's route tells browsers (`Vary:
/// Origin`, and CORS for `APP_URL`'s origin), denials and errors included.
pub fn answer(
    route: &str,
    request_id: &str,
    result: Result<Reply, ApiError>,
    duration_ms: u64,
    browsers: Browsers,
) -> Result<JsValue, ApiError> {
    let line = Line::new("request", request_id).field("route", route);
    let (reply, line) = match result {
        Ok(r) => {
            let status = r.status();
            (r, line.field("status", &status).field("outcome", "ok"))
        }
        Err(e) => {
            let line = line
                .field("status", &e.status)
                .field("outcome", e.code)
                .field("error", e.code)
                .field("message", &e.message)
                .field("upstream", &e.upstream);
            (respond::error(&e), line.level(Level::of_status(e.status)))
        }
    };
    line.field("duration_ms", &duration_ms).write();
    let reply = match browsers {
        Browsers::Nothing => reply,
        session_route => reply.for_browsers(session_route),
    };
    reply
        .into_raw(request_id)
        .map(Into::into)
        .map_err(|e| ApiError::internal(format!("cannot build the answer: {e:?}")))
}

/// The log line of a request the origin answered (its answer untouched:
/// no `X-Request-Id`; the id is here).
pub fn log_forwarded(request_id: &str, status: u16, duration_ms: u64) {
    Line::new("request", request_id)
        .field("route", EDGE_ROUTE)
        .field("status", &status)
        .field("outcome", "forwarded")
        .field("duration_ms", &duration_ms)
        .write();
}

/// The bridge's answer to a forward that failed (the origin unreachable or
/// too slow), logged.
pub fn forward_failed(request_id: &str, e: ApiError, duration_ms: u64) -> Result<JsValue, ApiError> {
    answer(EDGE_ROUTE, request_id, Err(e), duration_ms, Browsers::Nothing)
}
