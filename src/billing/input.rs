//! The body of `POST /billing/checkout`: `plan`, or `price` (a lookup key
//! or a price id), as a form or as JSON; and which Stripe price it names.
//! Anything the catalogue does not sell is refused here, before Stripe is
//! called, so bad input creates nothing.

use serde::Deserialize;

use crate::entitlements::plans::Plans;
use crate::error::ApiError;

/// What the caller asked to buy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// A plan of `PLANS` by name: its first price.
    Plan(String),
    /// A price by lookup key or id.
    Price(String),
}

/// Why a checkout request was refused (400, or 415 for the media type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// Neither JSON nor a form.
    UnsupportedMediaType,
    /// Not a JSON object with string fields, or a form that does not decode.
    Unreadable,
    /// Neither `plan` nor `price`, or both.
    NeitherOrBoth,
    /// `plan` names no plan of `PLANS`.
    UnknownPlan(String),
    /// The plan has no price (the default plan, typically).
    PlanNotForSale(String),
    /// `price` belongs to no plan of `PLANS`.
    UnknownPrice(String),
}

impl InputError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unreadable => "invalid_body",
            Self::NeitherOrBoth => "plan_or_price_required",
            Self::UnknownPlan(_) => "unknown_plan",
            Self::PlanNotForSale(_) => "plan_not_for_sale",
            Self::UnknownPrice(_) => "unknown_price",
        }
    }

    /// What to fix, in words.
    pub fn message(&self) -> String {
        match self {
            Self::UnsupportedMediaType => "send application/x-www-form-urlencoded or application/json".to_owned(),
            Self::Unreadable => "the body is not a form or a JSON object of strings".to_owned(),
            Self::NeitherOrBoth => "give exactly one of `plan` and `price`".to_owned(),
            // What the caller sent is not quoted (it may be an email
            // address, and the message is logged); a plan of PLANS is.
            Self::UnknownPlan(p) => format!("`plan` ({} characters) names no plan of PLANS", p.chars().count()),
            Self::PlanNotForSale(p) => format!("the plan \"{p}\" has no price to buy"),
            Self::UnknownPrice(p) => format!("`price` ({} characters) buys no plan of PLANS", p.chars().count()),
        }
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        let status = if e == InputError::UnsupportedMediaType { 415 } else { 400 };
        ApiError::new(status, e.code(), e.message())
    }
}

#[derive(Deserialize)]
struct JsonBody {
    #[serde(default)]
    plan: Option<String>,
    #[serde(default)]
    price: Option<String>,
}

/// Reads the body by its `Content-Type` (a form when none is given, as
/// HTML forms and `curl -d` send). Fields other than `plan` and `price` are
/// ignored (a page may add its own); blank values count as absent.
pub fn parse_checkout_body(content_type: Option<&str>, body: &[u8]) -> Result<Wanted, InputError> {
    let media = content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let (plan, price) = match media.as_str() {
        "application/json" => {
            let b: JsonBody = serde_json::from_slice(body).map_err(|_| InputError::Unreadable)?;
            (b.plan, b.price)
        }
        "" | "application/x-www-form-urlencoded" => {
            let pairs = decode_form(body).ok_or(InputError::Unreadable)?;
            let take = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            (take("plan"), take("price"))
        }
        _ => return Err(InputError::UnsupportedMediaType),
    };
    let present = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    match (present(plan), present(price)) {
        (Some(plan), None) => Ok(Wanted::Plan(plan)),
        (None, Some(price)) => Ok(Wanted::Price(price)),
        _ => Err(InputError::NeitherOrBoth),
    }
}

/// Decodes `application/x-www-form-urlencoded`; `None` for bad escapes or
/// text that is not UTF-8.
fn decode_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A price as `PLANS` lists it: a Stripe price id or a lookup key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceRef {
    /// `price_...`: used as is.
    Id(String),
    /// A lookup key: the shell finds its active price.
    LookupKey(String),
}

impl PriceRef {
    /// How `PLANS` means `entry`: a `price_` id, else a lookup key.
    pub fn of(entry: &str) -> PriceRef {
        match entry.starts_with("price_") {
            true => PriceRef::Id(entry.to_owned()),
            false => PriceRef::LookupKey(entry.to_owned()),
        }
    }
}

/// Which price to check out, as far as `PLANS` alone can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceChoice {
    /// A price `PLANS` lists, for the plan named.
    Listed { plan: String, price: PriceRef },
    /// A price id `PLANS` does not list itself: the shell reads it from
    /// Stripe, and it is sold only if its lookup key is listed.
    UnlistedId(String),
}

/// The price `wanted` names; refused unless it buys a plan of `PLANS`.
pub fn choose_price(wanted: &Wanted, plans: &Plans) -> Result<PriceChoice, InputError> {
    match wanted {
        Wanted::Plan(name) => {
            let plan = plans.plan(name).ok_or_else(|| InputError::UnknownPlan(name.clone()))?;
            let first = plan.prices.first().ok_or_else(|| InputError::PlanNotForSale(name.clone()))?;
            Ok(PriceChoice::Listed { plan: name.clone(), price: PriceRef::of(first) })
        }
        Wanted::Price(price) => match plans.plan_for_price(price, Some(price)) {
            Some(plan) => Ok(PriceChoice::Listed { plan: plan.to_owned(), price: PriceRef::of(price) }),
            None if price.starts_with("price_") => Ok(PriceChoice::UnlistedId(price.clone())),
            None => Err(InputError::UnknownPrice(price.clone())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlements::plans::tests::example as plans;

    fn form(body: &str) -> Result<Wanted, InputError> {
        parse_checkout_body(Some("application/x-www-form-urlencoded"), body.as_bytes())
    }

    #[test]
    fn reads_plan_or_price_from_a_form_or_json() {
        assert_eq!(form("plan=pro"), Ok(Wanted::Plan("pro".into())));
        assert_eq!(form("csrf=x&price=pro%5Fmonthly"), Ok(Wanted::Price("pro_monthly".into())));
        assert_eq!(parse_checkout_body(None, b"plan=pro"), Ok(Wanted::Plan("pro".into())), "curl -d");
        let json = |b: &str| parse_checkout_body(Some("application/json; charset=utf-8"), b.as_bytes());
        assert_eq!(json(r#"{"price":"price_123"}"#), Ok(Wanted::Price("price_123".into())));
        assert_eq!(json(r#"{"plan":"  pro "}"#), Ok(Wanted::Plan("pro".into())));
    }

    #[test]
    fn refuses_what_is_not_one_plan_or_one_price() {
        assert_eq!(form(""), Err(InputError::NeitherOrBoth));
        assert_eq!(form("plan=pro&price=pro_monthly"), Err(InputError::NeitherOrBoth));
        assert_eq!(form("plan=+"), Err(InputError::NeitherOrBoth));
        assert_eq!(form("plan=%ZZ"), Err(InputError::Unreadable));
        assert_eq!(form("plan=%FF"), Err(InputError::Unreadable), "not UTF-8");
        let json = |b: &str| parse_checkout_body(Some("application/json"), b.as_bytes());
        assert_eq!(json(r#"{"plan": 3}"#), Err(InputError::Unreadable));
        assert_eq!(json("[1]"), Err(InputError::Unreadable));
        assert_eq!(
            parse_checkout_body(Some("multipart/form-data; boundary=x"), b""),
            Err(InputError::UnsupportedMediaType)
        );
        let e: ApiError = InputError::UnsupportedMediaType.into();
        assert_eq!(e.status, 415);
        let e: ApiError = InputError::UnknownPlan("gold".into()).into();
        assert_eq!((e.status, e.code), (400, "unknown_plan"));
        for e in [InputError::UnknownPlan("ada@example.com".into()), InputError::UnknownPrice("ada@example.com".into())]
        {
            assert!(!e.message().contains("ada"), "what the caller sent is never quoted: {}", e.message());
        }
    }

    #[test]
    fn only_prices_of_the_catalogue_are_sold() {
        let p = plans();
        let listed = |plan: &str, key: &str| {
            Ok(PriceChoice::Listed { plan: plan.into(), price: PriceRef::LookupKey(key.into()) })
        };
        assert_eq!(choose_price(&Wanted::Plan("pro".into()), &p), listed("pro", "pro_monthly"), "its first price");
        assert_eq!(choose_price(&Wanted::Price("pro_yearly".into()), &p), listed("pro", "pro_yearly"));
        assert_eq!(choose_price(&Wanted::Plan("gold".into()), &p), Err(InputError::UnknownPlan("gold".into())));
        assert_eq!(choose_price(&Wanted::Plan("free".into()), &p), Err(InputError::PlanNotForSale("free".into())));
        assert_eq!(
            choose_price(&Wanted::Price("cheap_monthly".into()), &p),
            Err(InputError::UnknownPrice("cheap_monthly".into()))
        );
        assert_eq!(choose_price(&Wanted::Price("price_9".into()), &p), Ok(PriceChoice::UnlistedId("price_9".into())));
        let with_ids = Plans::parse(
            r#"{"default_plan":"free","plans":{"free":{"rank":0},"pro":{"rank":1,"prices":["price_abc"]}}}"#,
        )
        .unwrap();
        assert_eq!(
            choose_price(&Wanted::Plan("pro".into()), &with_ids),
            Ok(PriceChoice::Listed { plan: "pro".into(), price: PriceRef::Id("price_abc".into()) })
        );
    }
}
