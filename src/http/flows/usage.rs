//! Asking an identity's usage counter (`http::counter`, binding `USAGE`):
//! the worker reads the identity's record, works out the meter's limit and
//! window from `PLANS` at read time, and the counter decides and counts.

use worker::{Method, Request, RequestInit};

use crate::entitlements::feature::effective;
use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::flows::record::stored;
use crate::identity::IdentityId;
use crate::runtime::response::status_and_text;
use crate::usage::ledger::{Ask, Balance};
use crate::usage::window::window;

/// The counter's answer: its status (200, 402 or 409) and JSON body.
pub struct Counted {
    pub status: u16,
    pub body: String,
}

impl Counted {
    /// The balance in the answer (`None` for a 409).
    pub fn balance(&self) -> Option<Balance> {
        serde_json::from_str(&self.body).ok()
    }
}

/// The meter `name` of `PLANS`, or a 404 that does not echo it.
pub fn known_meter(cx: &Cx<'_>, name: &str) -> Result<(), ApiError> {
    match cx.config.plans.meter(name) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("unknown_meter", "no meter of that name in PLANS")),
    }
}

/// Consumes `amount` units of `meter` for `identity` (0: reads the
/// balance), under `idempotency_key` when given.
pub async fn ask_counter(
    cx: &Cx<'_>,
    identity: &IdentityId,
    meter: &str,
    amount: u64,
    idempotency_key: Option<String>,
) -> Result<Counted, ApiError> {
    known_meter(cx, meter)?;
    let definition = cx.config.plans.meter(meter).ok_or_else(|| ApiError::internal("the meter vanished"))?;
    let record = stored(cx, &cx.store(), identity).await?;
    let now = effective(&record, &cx.config.plans, cx.now);
    let ask = Ask {
        identity: identity.clone(),
        meter: meter.to_owned(),
        amount,
        limit: cx.config.plans.limit_in_effect(&now, meter),
        window: window(definition.reset, now.current_period_end, cx.now),
        idempotency_key,
        billed_as: definition.stripe_event_name.clone(),
        customer: now.stripe_customer_id.clone(),
        now: cx.now,
    };
    let body = serde_json::to_string(&ask).map_err(|e| ApiError::internal(format!("unserialisable ask: {e}")))?;
    let unavailable =
        |what: &str| ApiError::unavailable("usage_unavailable", format!("the usage counter {what}; retry"));
    let stub = cx
        .env
        .durable_object("USAGE")
        .map_err(|_| ApiError::config("USAGE: the Durable Object binding is missing (see wrangler.toml)"))?
        .id_from_name(identity.as_str())
        .and_then(|id| id.get_stub())
        .map_err(|_| unavailable("cannot be reached"))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let req = Request::new_with_init("https://usage-counter/ask", &init).map_err(|_| unavailable("cannot be asked"))?;
    let answer = stub.fetch_with_request(req).await.map_err(|_| unavailable("did not answer"))?;
    let (status, body) = status_and_text(answer).await.map_err(|_| unavailable("answer was cut off"))?;
    match status {
        200 | 402 | 409 => Ok(Counted { status, body }),
        _ => Err(unavailable("failed")),
    }
}
