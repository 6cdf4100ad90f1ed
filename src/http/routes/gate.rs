//! `GET /gate/{feature}`: may the signed-in user use `feature`? 200 with the
//! decision, 402 with it when not, or for a browser a 303 to `PRICING_URL`.
//! The session and the record come from the isolate's caches when fresh,
//! so a cached check makes no call to Kratos, and KV at most once per TTL.
//! Edge gate mode's feature rules answer a denial the same way
//! ([`decide_feature`]).

use worker::Request;

use crate::entitlements::feature::{check, FeatureDecision};
use crate::entitlements::record::Entitlement;
use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::flows::record::stored;
use crate::http::headers::header;
use crate::http::respond::{self, Reply};
use crate::identity::IdentityId;
use crate::web::gate::{gate_answer, GateAnswer};

/// A feature decided for a caller: allowed, or the answer that refuses it.
pub enum Decided {
    Allowed(FeatureDecision),
    /// 402 with the decision, or the pricing page for a browser.
    Refused(Reply),
}

/// `feature` decided on `record` for a caller who accepts `accept`.
pub fn decide_feature(
    cx: &Cx<'_>,
    record: &Entitlement,
    feature: &str,
    accept: Option<&str>,
) -> Result<Decided, ApiError> {
    Ok(match gate_answer(check(record, feature, &cx.config.plans, cx.now), accept) {
        GateAnswer::Allowed(d) => Decided::Allowed(d),
        GateAnswer::Denied(d) => Decided::Refused(respond::json(402, &d)?),
        GateAnswer::ToPricing => Decided::Refused(respond::see_other(cx.config.pricing_url.get()?)),
    })
}

/// `GET /gate/{feature}`.
pub async fn gate_feature(cx: &Cx<'_>, req: &Request, identity: &IdentityId, feature: &str) -> Result<Reply, ApiError> {
    let record = stored(cx, &cx.store(), identity).await?;
    match decide_feature(cx, &record, feature, header(req, "accept").as_deref())? {
        Decided::Allowed(d) => respond::json(200, &d),
        Decided::Refused(reply) => Ok(reply),
    }
}
