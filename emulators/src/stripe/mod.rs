//! A stateful, in-memory fake of the Stripe API on the real wire format
//! (form-encoded requests, Stripe's JSON objects and errors, signed webhook
//! events), plus `/_emulator/...` controls that tests use to play the paying
//! customer, the passage of time, failing networks and webhook disorder.
//!
//! Choices where Stripe's behaviour had to be pinned down:
//! - Injected `500`/`hang` faults model failures *before* execution: they
//!   hold an `Idempotency-Key` as "in flight" while hanging (so a concurrent
//!   retry gets 409) but save nothing, and answer `Stripe-Should-Retry: true`;
//!   a retry with the same key then executes. Errors raised by an endpoint
//!   that started executing (e.g. `resource_missing`) are saved and replayed;
//!   validation errors (`parameter_missing`, `parameter_unknown`, ...) are not.
//!   A `500` fault armed with `"saved": true` is one raised while executing
//!   (after running the endpoint, with `"executed": true`): saved under the
//!   key and replayed to every retry with it (`Idempotent-Replayed: true`),
//!   as Stripe does for 24 hours.
//! - A `slow` fault serves the call when it arrives but sends the answer
//!   only after `hang_ms`: an old read that arrives after a newer one.
//! - Besides the next `count` calls, faults can hit a share of every call:
//!   `{"rate": 0.2, "kinds": ["500", "429", "hang"], "seed": 7}` fails each
//!   matching call with that probability, drawn from SplitMix64 seeded with
//!   `seed`, so the same seed and the same sequence of calls fail the same
//!   calls. Counted rules are consumed first. `GET /_emulator/faults` answers
//!   what is armed and how many faults of each kind were injected so far
//!   (`{"pending", "rate", "injected": {"500": n, ...}, "injected_total"}`);
//!   `DELETE` disarms everything but keeps the counts.
//! - `expand[]` paths are checked before anything executes against what the
//!   route answers: a field Stripe cannot expand (or walk through) is a 400
//!   "This property cannot be expanded (path)." on `expand[n]`; embedded
//!   objects such as `data.items.data.price` are accepted as the no-op they
//!   are; the few Stripe can expand but the emulator does not model
//!   (`customer.subscriptions`, checkout `line_items`, ...) are refused with a
//!   note instead of being ignored. Ids along a path expand at each level.
//! - Metadata is held to Stripe's limits (50 keys once merged, keys of 40
//!   and values of 500 characters); an API key is accepted as a Bearer token
//!   or as the user name of HTTP Basic auth (`curl -u sk_test_...:`).
//! - Canceling an already canceled subscription answers 404
//!   `resource_missing` "No such subscription", as Stripe does.
//! - Search (customers and subscriptions) matches an object as it was
//!   `search_lag` ago and returns its current state. Queries are Stripe's
//!   language as far as exact matches go: `field:'value'`,
//!   `metadata['key']:'value'`, `-` negation, `AND`/`OR`/whitespace (never
//!   `AND` with `OR`), at most 10 clauses; customers by `email`, `name`,
//!   `phone`, subscriptions by `status`, both by metadata. Anything else is
//!   a 400 on `query`.
//! - Checkout Sessions never expire by themselves (the emulator keeps no
//!   timers): `POST /v1/checkout/sessions/{id}/expire` or the `expire`
//!   control does it, emitting `checkout.session.expired`. `expires_at` at
//!   creation is checked (30 minutes to 24 hours ahead, default 24 hours) and
//!   echoed, and is left unchanged by expiring. Only an `open` session can be
//!   expired or completed; anything else is a 400 `invalid_request_error`.
//! - Billing meters and v1 meter events: a meter's `event_name` belongs to
//!   one active meter at a time (a second is a 400 on `event_name`). A
//!   meter event is checked on arrival (its meter's payload keys, or
//!   `stripe_customer_id` and `value` when no meter has the name; a
//!   whole-number value, negative allowed; a `timestamp` at most 35 days
//!   back and 5 minutes ahead of the account's clock) and then, as Stripe
//!   does asynchronously, matched to a meter and a customer: an unknown
//!   customer, a missing or deactivated meter is still a 200 but counts
//!   towards nothing (`/_emulator/meter_events` says why). A reused
//!   `identifier` is refused as Stripe refuses it: 400
//!   `invalid_request_error` "An event already exists with identifier X."
//!   with `Stripe-Should-Retry: false`; the emulator never forgets an
//!   identifier (Stripe keeps them at least 24 hours). `event_time_window`
//!   and summaries' `value_grouping_window` are refused as not modelled.
//!   Meters emit no events.
//! - The account has its own clock (`POST /_emulator/clock`), which every
//!   `created`, period and time check reads; only webhook signatures use the
//!   real time, since receivers check them against theirs.
//!
//! API routes: `/v1/customers` (`GET|POST`, `/search`, `/{id}` `GET|POST|DELETE`),
//! `GET /v1/prices`, `/v1/prices/{id}`, `/v1/products/{id}`, `/v1/subscriptions`
//! (`GET|POST`, `/search`, `/{id}` `GET|POST|DELETE`), `POST /v1/checkout/sessions`,
//! `GET /v1/checkout/sessions/{id}`, `POST /v1/checkout/sessions/{id}/expire`,
//! `POST /v1/billing_portal/sessions`, `GET /v1/events`, `/v1/events/{id}`,
//! `/v1/invoices/{id}`, `/v1/billing/meters` (`GET|POST`, `/{id}` `GET|POST`,
//! `/{id}/deactivate`, `/{id}/reactivate`, `GET /{id}/event_summaries`),
//! `POST /v1/billing/meter_events`.
//!
//! Controls (JSON, no auth, never faulted): `POST /_emulator/webhook`,
//! `/delivery`, `/events/flush`, `/events/retry_failed`, `GET /deliveries`,
//! `POST|GET|DELETE /faults`, `POST /checkout/sessions/{id}/complete`,
//! `/checkout/sessions/{id}/expire` (as if its `expires_at` had passed),
//! `/subscriptions/{id}/status`, `/subscriptions/{id}/end_period`,
//! `GET /_emulator/state`, `GET|DELETE /_emulator/requests` (the `/v1` calls
//! served so far, as `{"total": N, "by_route": {"GET /v1/customers/{id}": 2}}`
//! by method and route pattern; `DELETE` zeroes them; controls and hosted
//! pages are not counted), `GET /_emulator/meter_events` (every meter event
//! taken in with `counted` and the `reason` it was not, and the counted
//! `totals` by customer and event name), `GET|POST /_emulator/clock`
//! (`{"advance_seconds": N}` moves the account's time forward). Hosted pages:
//! `/checkout/{id}` (a Pay button that completes the session and redirects
//! to `success_url`; an expired or complete session shows a notice and
//! refuses payment) and `/portal/{id}`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use ksb_emulators::stripe::{start, StripeOptions};
//! let stripe = start(StripeOptions::default()).await?;
//! // point STRIPE_API_BASE at stripe.url(), use key "sk_test_emulator"
//! stripe.shutdown().await;
//! # Ok(()) }
//! ```

mod app;
mod auth;
mod clock;
mod controls;
mod delivery;
mod errors;
mod expand;
mod faults;
pub mod form;
mod idempotency;
mod ids;
mod list;
mod ops;
mod options;
mod outbox;
mod pages;
mod params;
mod pipeline;
mod requests;
mod resources;
mod routes;
mod search;
mod state;
mod webhooks;

use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::Router;

pub use options::{PriceSeed, StripeOptions};
pub use webhooks::{sign, signature_header};

use crate::server::{serve, Running};
use app::App;

/// A running emulator; stops when dropped or on [`StripeEmulator::shutdown`].
pub struct StripeEmulator {
    running: Running,
    app: App,
}

/// Binds the emulator on `127.0.0.1:options.port` and starts serving.
pub async fn start(options: StripeOptions) -> std::io::Result<StripeEmulator> {
    let app = App::new(&options);
    let running = serve(build(app.clone()), options.port).await?;
    app.lock().base_url = Some(running.url());
    Ok(StripeEmulator { running, app })
}

/// The emulator's router without binding a port (hosted-page URLs then use
/// `http://127.0.0.1` as their base).
pub fn router(options: StripeOptions) -> Router {
    build(App::new(&options))
}

fn build(app: App) -> Router {
    Router::new()
        .merge(routes::api_router(app.clone()))
        .merge(controls::control_router())
        .merge(crate::holds::routes(app.holds.clone()))
        .merge(pages::page_router())
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "not found").into_response() })
        .layer(from_fn_with_state(app.clone(), outbox::outbox_layer))
        .with_state(app)
}

impl StripeEmulator {
    /// `http://127.0.0.1:PORT`, with no trailing slash: the `STRIPE_API_BASE`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The bound loopback address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.addr()
    }

    /// Points webhook deliveries at `url` (same as `POST /_emulator/webhook`).
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.app.lock().webhook.url = url;
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}
