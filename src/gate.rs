//! What the signed-in user's gate answers, and which browser requests may
//! change something with a cookie. Pure functions of request headers and
//! decisions, so the rules are unit-tested natively.

use crate::entitlements::feature::FeatureDecision;

/// How `GET /gate/{feature}` answers a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateAnswer {
    /// 200 with the decision.
    Allowed(FeatureDecision),
    /// 402 with the decision (API clients).
    Denied(FeatureDecision),
    /// 303 to `PRICING_URL` (browsers).
    ToPricing,
}

/// Whether the caller is a browser asking for a page (`Accept` names
/// `text/html`), which is sent a redirect instead of JSON.
pub fn wants_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.split(',').any(|t| t.trim().to_ascii_lowercase().starts_with("text/html")))
}

/// The gate's answer for `decision`, by what the caller accepts.
pub fn gate_answer(decision: FeatureDecision, accept: Option<&str>) -> GateAnswer {
    match (decision.allowed, wants_html(accept)) {
        (true, _) => GateAnswer::Allowed(decision),
        (false, true) => GateAnswer::ToPricing,
        (false, false) => GateAnswer::Denied(decision),
    }
}

/// The origin (`scheme://host[:port]`) of a URL, lower-cased.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    Some(format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// The headers that tell where a browser request comes from.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSite<'a> {
    /// `Sec-Fetch-Site`: `same-origin`, `same-site`, `cross-site` or `none`.
    pub sec_fetch_site: Option<&'a str>,
    /// `Origin`.
    pub origin: Option<&'a str>,
}

/// Whether a cookie-authenticated change must be refused as a cross-site
/// request (as Go's `net/http.CrossOriginProtection`): an `Origin` that is
/// neither the worker's own nor one of `trusted` (the app's) is refused;
/// without an `Origin`, `Sec-Fetch-Site: cross-site` is. Requests with
/// neither header (servers, curl) pass: they carry no ambient cookie.
pub fn is_cross_site(site: RequestSite<'_>, own_origin: &str, trusted: &[&str]) -> bool {
    match site.origin.map(str::trim).filter(|o| !o.is_empty() && *o != "null") {
        Some(origin) => {
            let origin = origin.to_ascii_lowercase();
            origin != own_origin && !trusted.contains(&origin.as_str())
        }
        None if site.origin.is_some() => true,
        None => site.sec_fetch_site.is_some_and(|s| s.trim().eq_ignore_ascii_case("cross-site")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlements::feature::Reason;
    use crate::entitlements::record::EntitlementStatus;

    fn decision(allowed: bool) -> FeatureDecision {
        let reason = if allowed { Reason::Included } else { Reason::NotInPlan };
        FeatureDecision { allowed, plan: "free".into(), status: EntitlementStatus::None, reason }
    }

    #[test]
    fn browsers_are_redirected_and_api_clients_get_json() {
        assert!(wants_html(Some("text/html,application/xhtml+xml,*/*;q=0.8")));
        assert!(wants_html(Some("application/json, Text/HTML")));
        assert!(!wants_html(Some("application/json")));
        assert!(!wants_html(Some("*/*")));
        assert!(!wants_html(None));
        assert_eq!(gate_answer(decision(true), Some("text/html")), GateAnswer::Allowed(decision(true)));
        assert_eq!(gate_answer(decision(false), Some("text/html")), GateAnswer::ToPricing);
        assert_eq!(gate_answer(decision(false), None), GateAnswer::Denied(decision(false)));
    }

    #[test]
    fn origins() {
        assert_eq!(origin_of("https://App.Example.com/billing?x=1").as_deref(), Some("https://app.example.com"));
        assert_eq!(origin_of("http://127.0.0.1:8787").as_deref(), Some("http://127.0.0.1:8787"));
        assert_eq!(origin_of("nope"), None);
    }

    #[test]
    fn cross_site_changes_are_refused_and_servers_pass() {
        let own = "https://billing.example.com";
        let app = ["https://app.example.com"];
        let site = |sec_fetch_site, origin| RequestSite { sec_fetch_site, origin };
        assert!(!is_cross_site(site(None, None), own, &app), "curl, servers");
        assert!(!is_cross_site(site(Some("same-origin"), Some(own)), own, &app));
        assert!(!is_cross_site(site(Some("same-site"), Some("https://app.example.com")), own, &app));
        assert!(!is_cross_site(site(Some("cross-site"), Some("https://APP.example.com")), own, &app), "trusted");
        assert!(is_cross_site(site(Some("cross-site"), Some("https://evil.example")), own, &app));
        assert!(is_cross_site(site(None, Some("https://evil.example")), own, &app));
        assert!(is_cross_site(site(Some("cross-site"), None), own, &app));
        assert!(is_cross_site(site(None, Some("null")), own, &app), "an opaque origin is not trusted");
        assert!(!is_cross_site(site(Some("none"), None), own, &app), "typed in the address bar");
    }
}
