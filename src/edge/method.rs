//! The methods an origin may dispatch a request as. Every framework answers
//! `HEAD` with its `GET` handler (status, `Location`, `Set-Cookie` and side
//! effects included); Rails' `Rack::MethodOverride`, Laravel, Symfony,
//! Express' `method-override` and ASP.NET Core dispatch a request as the
//! method an `X-HTTP-Method-Override` (or `X-HTTP-Method`,
//! `X-Method-Override`) header names; and Rails, Laravel and Symfony take
//! a `_method` field of a POST's form (Laravel: any input, JSON included;
//! Symfony and Laravel: the query too). The worker streams bodies to the
//! origin without reading them, so a POST that may carry `_method` is
//! judged as every method.

use super::rules::METHODS;

/// Whether a POST may carry a `_method` field that an origin honours: a
/// form or JSON body, or `_method` in the query.
fn may_carry_method_field(content_type: Option<&str>, query: &str) -> bool {
    let media = content_type.and_then(|t| t.split(';').next()).map(|t| t.trim().to_ascii_lowercase());
    let body = media.as_deref().is_some_and(|m| {
        m == "application/x-www-form-urlencoded"
            || m == "multipart/form-data"
            || m == "application/json"
            || m.ends_with("+json")
    });
    let in_query = query.trim_start_matches('?').split('&').any(|pair| {
        let name = pair.split('=').next().unwrap_or_default().to_ascii_lowercase();
        name == "_method" || name == "%5fmethod"
    });
    body || in_query
}

/// Every method the request may be dispatched as, upper case, without
/// repeats: its own, the ones its override headers name, `GET` for each
/// `HEAD`, and every method for a POST that may carry `_method`.
pub fn readings(method: &str, overrides: &[String], content_type: Option<&str>, query: &str) -> Vec<String> {
    let own = method.to_ascii_uppercase();
    let mut named: Vec<String> = vec![own.clone()];
    for value in overrides {
        named.extend(value.split(',').map(|m| m.trim().to_ascii_uppercase()).filter(|m| !m.is_empty()));
    }
    if own == "POST" && may_carry_method_field(content_type, query) {
        named.extend(METHODS.iter().map(|m| m.to_string()));
    }
    let mut out: Vec<String> = Vec::with_capacity(named.len() + 1);
    for m in named {
        let get = (m == "HEAD").then(|| "GET".to_string());
        for m in std::iter::once(m).chain(get) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(method: &str, overrides: &[&str], content_type: Option<&str>, query: &str) -> Vec<String> {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        readings(method, &overrides, content_type, query)
    }

    #[test]
    fn head_is_read_as_get_too() {
        assert_eq!(read("GET", &[], None, ""), ["GET"]);
        assert_eq!(read("HEAD", &[], None, ""), ["HEAD", "GET"]);
        assert_eq!(read("put", &[], None, ""), ["PUT"]);
    }

    #[test]
    fn an_override_header_adds_the_method_it_names() {
        assert_eq!(read("POST", &["delete"], None, ""), ["POST", "DELETE"]);
        assert_eq!(read("POST", &[" PATCH ", "head"], None, ""), ["POST", "PATCH", "HEAD", "GET"]);
        assert_eq!(read("GET", &["DELETE, PUT"], None, ""), ["GET", "DELETE", "PUT"], "any method, any list");
    }

    #[test]
    fn a_post_that_may_carry_a_method_field_is_every_method() {
        let all = read("POST", &[], Some("application/x-www-form-urlencoded; charset=utf-8"), "");
        assert!(METHODS.iter().all(|m| all.contains(&m.to_string())), "{all:?}");
        assert_eq!(all[0], "POST");
        for ct in
            ["multipart/form-data; boundary=x", "application/json", "application/vnd.api+json", "Application/JSON"]
        {
            assert_eq!(read("POST", &[], Some(ct), "").len(), METHODS.len(), "{ct}");
        }
        assert_eq!(read("POST", &[], None, "?a=1&_method=DELETE").len(), METHODS.len(), "in the query");
        assert_eq!(read("POST", &[], None, "?%5Fmethod=put").len(), METHODS.len());
        assert_eq!(read("POST", &[], Some("text/plain"), "?a=1"), ["POST"]);
        assert_eq!(read("POST", &[], Some("application/octet-stream"), "?my_method=1"), ["POST"]);
        assert_eq!(read("PUT", &[], Some("application/json"), "?_method=GET"), ["PUT"], "only a POST is overridden");
    }
}
