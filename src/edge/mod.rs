//! Edge gate mode (`ORIGIN_URL`): the worker in front of the app. Requests
//! that match no route of the bridge are forwarded to the origin, gated by
//! `GATE_ROUTES`. Pure: the rules, the readings of a request they are
//! matched on (its path, its method, its headers), and what the origin is
//! told; the shell (`http::edge`) forwards.

pub mod headers;
pub mod method;
pub mod path;
pub mod rules;
