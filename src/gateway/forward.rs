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
}

impl AskedError {
    /// The stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NoUri => "forwarded_uri_missing",
            Self::BadUri => "forwarded_uri_invalid",
        }
    }

    /// What to fix.
    pub fn message(self) -> &'static str {
        match self {
            Self::NoUri => "send the original URI as X-Forwarded-Uri (Traefik, Caddy) or X-Original-URI (nginx)",
            Self::BadUri => "the original URI must be a path (/app/x?y=1) or an absolute URL",
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

/// The first of two headers that is set and not blank.
fn pick<'a>(a: Option<&'a str>, b: Option<&'a str>) -> Option<&'a str> {
    a.map(str::trim).filter(|v| !v.is_empty()).or_else(|| b.map(str::trim).filter(|v| !v.is_empty()))
}

/// The request asked about; `own_method` is the auth request's own (Envoy
/// and Traefik's `preserveRequestMethod` send the original method itself).
pub fn asked(own_method: &str, h: ProxyHeaders<'_>) -> Result<Asked, AskedError> {
    let method = pick(h.forwarded_method, h.original_method).unwrap_or(own_method).to_ascii_uppercase();
    let uri = pick(h.forwarded_uri, h.original_uri).ok_or(AskedError::NoUri)?;
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
        let host = pick(h.forwarded_host, None)?;
        let proto = pick(h.forwarded_proto, None).unwrap_or("https");
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
}
