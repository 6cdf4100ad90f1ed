//! Request headers as an origin may read their names. Rack, WSGI, PHP and
//! CGI servers hand an app `HTTP_X_PLAN` for both `X-Plan` and `X_Plan`, so
//! a name is compared in any case and with `_` read as `-`.

/// The headers through which the origin learns who is signed in. A client
/// may never set them, under any spelling: they are removed from every
/// forwarded request, gated or not, before the bridge sets them for a
/// signed-in user.
pub const IDENTITY_HEADERS: [&str; 4] = ["x-identity-id", "x-plan", "x-access", "x-bridge-assertion"];

/// The headers through which Rails, Laravel, Symfony, Express and ASP.NET
/// Core let a request name another method than its own.
pub const METHOD_OVERRIDE_HEADERS: [&str; 3] = ["x-http-method-override", "x-http-method", "x-method-override"];

/// What a request header is to edge gate mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderRole {
    /// One of [`IDENTITY_HEADERS`] under some spelling: removed.
    Identity,
    /// One of [`METHOD_OVERRIDE_HEADERS`]: the request is judged as the
    /// method it names too.
    MethodOverride,
    /// Anything else: forwarded as is.
    Other,
}

/// Whether `name` is `canonical` (lower case, `-`) once case is ignored and
/// `_` is read as `-`.
fn spells(name: &str, canonical: &str) -> bool {
    name.len() == canonical.len()
        && name.bytes().zip(canonical.bytes()).all(|(a, b)| {
            let a = if a == b'_' { b'-' } else { a.to_ascii_lowercase() };
            a == b
        })
}

/// The role of the header named `name`, under any spelling of its name.
pub fn role(name: &str) -> HeaderRole {
    if IDENTITY_HEADERS.iter().any(|h| spells(name, h)) {
        HeaderRole::Identity
    } else if METHOD_OVERRIDE_HEADERS.iter().any(|h| spells(name, h)) {
        HeaderRole::MethodOverride
    } else {
        HeaderRole::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_an_origin_merges_is_recognised() {
        for name in
            ["x-identity-id", "X-Identity-Id", "X_Identity_Id", "x_identity-id", "X-IDENTITY_ID", "x_plan", "X_ACCESS"]
        {
            assert_eq!(role(name), HeaderRole::Identity, "{name}");
        }
        for name in ["X-HTTP-Method-Override", "x_http_method_override", "X-Http-Method", "X_METHOD_OVERRIDE"] {
            assert_eq!(role(name), HeaderRole::MethodOverride, "{name}");
        }
        for name in ["x-identity", "x-identity-idx", "xplan", "x-plans", "x.plan", "content-type", "x-identity-id "] {
            assert_eq!(role(name), HeaderRole::Other, "{name}");
        }
    }
}
