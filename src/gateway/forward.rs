//! `/auth/forward`: which request a proxy (Traefik `ForwardAuth`, Caddy
//! `forward_auth`, nginx `auth_request`, Oathkeeper's `remote`) asks about.
//! The original method and URI come from `X-Forwarded-Method` and
//! `X-Forwarded-Uri` (Traefik, Caddy, Oathkeeper) or `X-Original-Method` and
//! `X-Original-URI` (nginx, as its documentation's example names them).

/// The request a proxy asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// Upper case.
    pub method: String,
    /// The raw path, as the proxy sent it.
    pub path: String,
    /// The query with its `?`, or empty.
    pub query: String,
    /// The original URL (`proto://host` + URI when the proxy names them,
    /// else the URI alone), for a browser's `return_to`.
    pub url: String,
}

/// Why the request asked about cannot be read (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskedError {
    /// Neither `X-Forwarded-Uri` nor `X-Original-URI`.
    NoUri,
    /// A URI that is neither a path nor an absolute URL.
    BadUri,
    /// A method that is not one token (e.g. two joined by a comma).
    BadMethod,
    /// `X-Forwarded-*` and `X-Original-*` name different requests: one of
    /// them came from the client through the proxy, and the worker cannot
    /// tell which one the proxy set.
    Conflict,
}

impl AskedError {
    /// The stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NoUri => "forwarded_uri_missing",
            Self::BadUri => "forwarded_uri_invalid",
            Self::BadMethod => "forwarded_method_invalid",
            Self::Conflict => "forwarded_headers_conflict",
        }
    }

    /// What to fix.
    pub fn message(self) -> &'static str {
        match self {
            Self::NoUri => "send the original URI as X-Forwarded-Uri (Traefik, Caddy) or X-Original-URI (nginx)",
            Self::BadUri => "the original URI must be a path (/app/x?y=1) or an absolute URL",
            Self::BadMethod => "the original method must be one HTTP method",
            Self::Conflict => {
                "X-Forwarded-Method/-Uri and X-Original-Method/-URI differ: the proxy must set one pair and drop the client's"
            }
        }
    }
}

/// The headers a proxy sends about the original request.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProxyHeaders<'a> {
    pub forwarded_method: Option<&'a str>,
    pub original_method: Option<&'a str>,
    pub forwarded_uri: Option<&'a str>,
    pub original_uri: Option<&'a str>,
    pub forwarded_proto: Option<&'a str>,
    pub forwarded_host: Option<&'a str>,
}

/// A header's value, unless missing or blank.
fn set(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// The one of two headers naming the same thing that is set. Both set and
/// different is a conflict: a proxy sets one of them, so the other came
/// from the client (nginx passes a client's `X-Forwarded-Uri` beside the
/// `X-Original-URI` it sets), and each reading must decide alike.
fn pick<'a>(a: Option<&'a str>, b: Option<&'a str>) -> Result<Option<&'a str>, AskedError> {
    match (set(a), set(b)) {
        (Some(a), Some(b)) if a != b => Err(AskedError::Conflict),
        (a, b) => Ok(a.or(b)),
    }
}

/// The request asked about; `own_method` is the auth request's own (Envoy
/// and Traefik's `preserveRequestMethod` send the original method itself).
pub fn asked(own_method: &str, h: ProxyHeaders<'_>) -> Result<Asked, AskedError> {
    let method = pick(h.forwarded_method, h.original_method)?.unwrap_or(own_method).to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(AskedError::BadMethod);
    }
    let uri = pick(h.forwarded_uri, h.original_uri)?.ok_or(AskedError::NoUri)?;
    let (origin, target) = match uri.split_once("://") {
        Some((scheme, rest)) if scheme.bytes().all(|b| b.is_ascii_alphabetic()) => {
            let at = rest.find('/').unwrap_or(rest.len());
            (Some(format!("{scheme}://{}", &rest[..at])), if at < rest.len() { &rest[at..] } else { "/" })
        }
        _ => (None, uri),
    };
    if !target.starts_with('/') || target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(AskedError::BadUri);
    }
    let target = target.split('#').next().unwrap_or_default();
    let (path, query) = match target.find('?') {
        Some(i) => (&target[..i], &target[i..]),
        None => (target, ""),
    };
    let origin = origin.or_else(|| {
        let host = set(h.forwarded_host)?;
        let proto = set(h.forwarded_proto).unwrap_or("https");
        Some(format!("{proto}://{host}"))
    });
    let url = format!("{}{target}", origin.unwrap_or_default());
    Ok(Asked { method, path: path.to_owned(), query: query.to_owned(), url })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traefik_and_caddy_send_x_forwarded_and_nginx_x_original() {
        let traefik = ProxyHeaders {
            forwarded_method: Some("post"),
            forwarded_uri: Some("/app/reports/q3?x=1"),
            forwarded_proto: Some("https"),
            forwarded_host: Some("app.example.com"),
            ..ProxyHeaders::default()
        };
        let a = asked("GET", traefik).unwrap();
        assert_eq!((a.method.as_str(), a.path.as_str(), a.query.as_str()), ("POST", "/app/reports/q3", "?x=1"));
        assert_eq!(a.url, "https://app.example.com/app/reports/q3?x=1");
        let nginx = ProxyHeaders {
            original_method: Some("DELETE"),
            original_uri: Some("/api/items/1"),
            ..ProxyHeaders::default()
        };
        let a = asked("GET", nginx).unwrap();
        assert_eq!((a.method.as_str(), a.path.as_str(), a.url.as_str()), ("DELETE", "/api/items/1", "/api/items/1"));
        let envoy = ProxyHeaders { forwarded_uri: Some("/x"), ..ProxyHeaders::default() };
        assert_eq!(asked("put", envoy).unwrap().method, "PUT", "no method header: the request's own");
    }

    #[test]
    fn an_absolute_uri_names_its_origin_and_a_bad_one_is_refused() {
        let abs = ProxyHeaders { forwarded_uri: Some("https://app.example.com/a?b#c"), ..ProxyHeaders::default() };
        let a = asked("GET", abs).unwrap();
        assert_eq!((a.path.as_str(), a.query.as_str(), a.url.as_str()), ("/a", "?b", "https://app.example.com/a?b"));
        assert_eq!(asked("GET", ProxyHeaders::default()), Err(AskedError::NoUri));
        for bad in ["app/x", "/a b", "javascript:alert(1)", "/a\r\nx"] {
            let h = ProxyHeaders { forwarded_uri: Some(bad), ..ProxyHeaders::default() };
            assert_eq!(asked("GET", h), Err(AskedError::BadUri), "{bad:?}");
        }
        assert_eq!(AskedError::NoUri.code(), "forwarded_uri_missing");
    }

    #[test]
    fn two_headers_naming_different_requests_or_two_methods_are_refused() {
        // nginx sets X-Original-URI and passes the client's X-Forwarded-Uri.
        let smuggled = ProxyHeaders {
            forwarded_uri: Some("/public"),
            original_uri: Some("/app/reports/q3"),
            ..ProxyHeaders::default()
        };
        assert_eq!(asked("GET", smuggled), Err(AskedError::Conflict));
        let methods = ProxyHeaders {
            forwarded_method: Some("GET"),
            original_method: Some("POST"),
            forwarded_uri: Some("/x"),
            ..ProxyHeaders::default()
        };
        assert_eq!(asked("GET", methods), Err(AskedError::Conflict));
        let same = ProxyHeaders { forwarded_uri: Some("/x"), original_uri: Some(" /x "), ..ProxyHeaders::default() };
        assert_eq!(asked("GET", same).unwrap().path, "/x", "the same request twice is that request");
        for bad in ["GET, POST", "G T", "GE\tT", "P0ST"] {
            let h = ProxyHeaders { forwarded_method: Some(bad), forwarded_uri: Some("/x"), ..ProxyHeaders::default() };
            assert_eq!(asked("GET", h), Err(AskedError::BadMethod), "{bad:?}");
        }
    }
}
