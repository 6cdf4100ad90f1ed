//! kratos-stripe-bridge: a Cloudflare Worker linking Ory Kratos identities to
//! Stripe customers and keeping each identity's plan state in Workers KV.
//!
//! The crate is a pure core and a thin shell. Everything outside `http` is
//! plain Rust with no `worker` types: functions of their inputs (the current
//! time is always passed in), unit-tested natively. `http` is the shell that
//! only the wasm build compiles: routing, KV, outbound fetch, secrets.
//!
//! The core, by concern: `identity` (ids and link key names), `stripe`,
//! `billing` (what a checkout buys and where it goes), `reconcile` (the walk
//! over Stripe customers),
//! `kratos`, `link` (where the two meet), `entitlements` (plan decisions),
//! `gate` (the signed-in user's answers, cross-site rules), `cache`,
//! `store` (the KV layout), `route` (the route table), `config`, `error`,
//! `upstream` (what both API clients share), `secret`, and `runtime` (the one
//! room that calls the JavaScript runtime directly; its `first_poll` is pure).

pub mod billing;
pub mod cache;
pub mod config;
pub mod cors;
pub mod edge;
pub mod entitlements;
pub mod error;
pub mod gate;
pub mod identity;
pub mod kratos;
pub mod link;
pub mod reconcile;
pub mod route;
pub mod runtime;
pub mod secret;
pub mod store;
pub mod stripe;
pub mod upstream;

#[cfg(target_arch = "wasm32")]
mod http;
