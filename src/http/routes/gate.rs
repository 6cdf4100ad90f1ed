//! `GET /gate/{feature}`: may the signed-in user use `feature`? 200 with the
//! decision, 402 with it when not, or for a browser a 303 to `PRICING_URL`.
//! The session and the record come from the isolate's caches when fresh,
//! so a cached check makes no call to Kratos, and KV at most once per TTL.

use worker::Request;

use super::identities::stored;
use crate::entitlements::feature::check;
use crate::error::ApiError;
use crate::gate::{gate_answer, GateAnswer};
use crate::http::context::Cx;
use crate::http::headers::header;
use crate::http::respond::{self, Reply};
use crate::identity::IdentityId;

pub async fn handle(cx: &Cx<'_>, req: &Request, identity: &IdentityId, feature: &str) -> Result<Reply, ApiError> {
    let e = stored(cx, &cx.store(), identity).await?;
    let accept = header(req, "accept");
    match gate_answer(check(&e, feature, &cx.config.plans, cx.now), accept.as_deref()) {
        GateAnswer::Allowed(d) => respond::json(200, &d),
        GateAnswer::Denied(d) => respond::json(402, &d),
        GateAnswer::ToPricing => Ok(respond::see_other(cx.config.pricing_url.get()?)),
    }
}
