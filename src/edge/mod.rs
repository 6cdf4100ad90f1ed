//! Edge gate mode (`ORIGIN_URL`): the worker in front of the app. Requests
//! that match no route of the bridge are forwarded to the origin, gated by
//! `GATE_ROUTES`. Pure: the rules, the path they are matched on, and what
//! the origin is told; the shell (`http::edge`) forwards.

pub mod path;
pub mod rules;

/// The headers through which the origin learns who is signed in. A client
/// may never set them: they are removed from every forwarded request, gated
/// or not, before the bridge sets them for a signed-in user.
pub const IDENTITY_HEADERS: [&str; 3] = ["x-identity-id", "x-plan", "x-access"];
