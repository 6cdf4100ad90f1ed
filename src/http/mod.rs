//! The shell: the only code that touches the Workers runtime (`worker`
//! types). It reads configuration, routes requests to handlers, and gives
//! the pure core what it asks for: KV records, Stripe and Kratos answers, the
//! time. Compiled only for wasm32; tested end to end through `wrangler dev`.

mod answer;
mod assertion;
mod auth;
mod body;
mod caches;
mod context;
mod counter;
pub(crate) mod cron;
mod env;
mod flows;
mod headers;
mod kratos_api;
mod kv;
mod log;
mod origin;
mod outbound;
mod request_id;
mod respond;
pub(crate) mod router;
mod routes;
mod runtime_errors;
mod stripe_api;
