//! kratos-stripe-bridge: a Cloudflare Worker linking Ory Kratos identities to
//! Stripe customers and keeping each identity's plan state in Workers KV.
//!
//! The crate is a pure core and a thin shell. Everything outside `http` and
//! `runtime` is plain Rust with no `worker` types: functions of their inputs
//! (the current time is always passed in), unit-tested natively. `http` is
//! the shell that only the wasm build compiles: routing, KV, outbound fetch,
//! secrets; `runtime` is the one room that calls the JavaScript runtime
//! directly (its `first_poll` is pure).
//!
//! The core, by concern: `identity` (ids and link key names), `kratos`,
//! `stripe`, `link` (where the two meet), `entitlements` (plan decisions),
//! `billing` (what a checkout buys and where it goes), `reconcile` (the walk
//! over Stripe customers), `edge` (edge gate mode's rules and readings),
//! `web` (the route table, CORS, cross-site rules, the gate's answers),
//! `store` (the KV layout, the isolate's TTL caches), `usage` (metered
//! limits: meters, windows, the counter's decisions), `gateway` (forward
//! auth, signed assertions, Hydra's token hook), `health` (the deep health
//! check's judgements), `config`, `error`,
//! `upstream` (what both API clients share) and `secret`.

pub mod billing;
pub mod config;
pub mod edge;
pub mod entitlements;
pub mod error;
pub mod gateway;
pub mod health;
pub mod identity;
pub mod kratos;
pub mod link;
pub mod reconcile;
pub mod runtime;
pub mod secret;
pub mod store;
pub mod stripe;
pub mod upstream;
pub mod usage;
pub mod web;

#[cfg(target_arch = "wasm32")]
mod http;
