//! Which browser requests may change something with a cookie: a page of
//! another site must not (CSRF). Pure functions of request headers, so the
//! rule is unit-tested natively.

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
