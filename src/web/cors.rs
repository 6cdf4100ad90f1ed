//! CORS for the signed-in user's routes (spec: "Signed-in user"): the app's
//! pages call the bridge from `APP_URL`'s origin with the session cookie
//! (`fetch(..., {credentials: "include"})`), so that origin, and only it,
//! is granted credentialed answers; every other origin (`null` included) is
//! granted nothing. Pure: the shell passes the request's headers and the
//! configured `APP_URL`.

use crate::web::site::origin_of;

/// The request headers a page may send to a session route: the session
/// token and the body's type (the others a page sends are safelisted).
pub const ALLOWED_HEADERS: [&str; 2] = ["content-type", "x-session-token"];

/// How long a browser may reuse a granted preflight, in seconds.
pub const MAX_AGE_SECS: u32 = 600;

/// The origin a session route's answer grants: the request's `Origin` when
/// it is `APP_URL`'s origin (scheme, host and port, in any case), else none.
pub fn granted_origin(request_origin: Option<&str>, app_url: Option<&str>) -> Option<String> {
    let asked = request_origin.map(str::trim).filter(|o| !o.is_empty() && *o != "null")?;
    let app = origin_of(app_url?)?;
    let asked = asked.to_ascii_lowercase();
    (origin_of(&asked).as_deref() == Some(asked.as_str()) && asked == app).then_some(app)
}

/// The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`)
/// on a session route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preflight {
    /// 204 granting `origin` the route's `methods` and the `headers` asked
    /// for that a page may send (comma-separated, lower case).
    Granted { origin: String, methods: String, headers: String },
    /// 403: not `APP_URL`'s origin.
    Refused,
}

/// Decides a preflight for a route answering `methods`.
pub fn preflight(
    request_origin: Option<&str>,
    app_url: Option<&str>,
    asked_headers: Option<&str>,
    methods: &[&str],
) -> Preflight {
    let Some(origin) = granted_origin(request_origin, app_url) else { return Preflight::Refused };
    let mut headers: Vec<String> = Vec::new();
    for h in asked_headers.unwrap_or_default().split(',').map(|h| h.trim().to_ascii_lowercase()) {
        if ALLOWED_HEADERS.contains(&h.as_str()) && !headers.contains(&h) {
            headers.push(h);
        }
    }
    Preflight::Granted { origin, methods: methods.join(", "), headers: headers.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: Option<&str> = Some("https://app.example.com/dashboard");

    #[test]
    fn only_the_apps_origin_is_granted() {
        assert_eq!(granted_origin(Some("https://app.example.com"), APP).as_deref(), Some("https://app.example.com"));
        assert_eq!(granted_origin(Some("https://APP.example.com"), APP).as_deref(), Some("https://app.example.com"));
        for other in [
            "https://evil.example",
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://app.example.com.evil.example",
            "https://app.example.com/path",
            "null",
            "",
        ] {
            assert_eq!(granted_origin(Some(other), APP), None, "{other}");
        }
        assert_eq!(granted_origin(None, APP), None, "no Origin: not a cross-origin call");
        assert_eq!(granted_origin(Some("https://app.example.com"), None), None, "no APP_URL: nobody");
    }

    #[test]
    fn a_preflight_grants_the_routes_methods_and_the_headers_a_page_may_send() {
        let p =
            preflight(Some("https://app.example.com"), APP, Some("Content-Type, X-Session-Token, X-Evil"), &["POST"]);
        assert_eq!(
            p,
            Preflight::Granted {
                origin: "https://app.example.com".into(),
                methods: "POST".into(),
                headers: "content-type, x-session-token".into()
            }
        );
        let p = preflight(Some("https://app.example.com"), APP, None, &["GET", "DELETE"]);
        assert!(
            matches!(p, Preflight::Granted { ref methods, ref headers, .. } if methods == "GET, DELETE" && headers.is_empty())
        );
        assert_eq!(preflight(Some("https://evil.example"), APP, Some("content-type"), &["POST"]), Preflight::Refused);
        assert_eq!(preflight(Some("null"), APP, None, &["POST"]), Preflight::Refused);
    }
}
