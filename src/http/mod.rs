//! The shell: the only code that touches the Workers runtime (`worker`
//! types). It reads configuration, routes requests to handlers, and gives
//! the pure core what it asks for: KV records, Stripe and Kratos answers, the
//! time. Compiled only for wasm32; tested end to end through `wrangler dev`.

mod auth;
mod body;
mod caches;
mod context;
mod env;
mod flows;
mod kratos_api;
mod kv;
mod log;
mod respond;
mod router;
mod routes;
mod runtime;
mod stripe_api;
mod upstream;

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    router::handle(req, env).await
}
