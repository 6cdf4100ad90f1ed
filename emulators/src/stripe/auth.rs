//! `Authorization: Bearer <secret key>` checking, with Stripe's messages
//! (a wrong key is never echoed whole).

use axum::http::HeaderMap;

use super::errors::ApiError;

/// Accepts the request only with the configured key.
pub(crate) fn authorize(headers: &HeaderMap, api_key: &str) -> Result<(), ApiError> {
    let provided = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match provided {
        None => Err(ApiError::unauthorized(
            "You did not provide an API key. You need to provide your API key in the Authorization header, \
             using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication \
             for details, or we can help at https://support.stripe.com/."
                .to_string(),
        )),
        Some(key) if key == api_key => Ok(()),
        Some(key) => Err(ApiError::unauthorized(format!("Invalid API Key provided: {}", mask(key)))),
    }
}

/// `sk_test_****...abcd`: the well-known prefix and, for long keys, the last 4 characters.
pub(crate) fn mask(key: &str) -> String {
    let prefix = ["sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"]
        .into_iter()
        .find(|p| key.starts_with(p))
        .unwrap_or("");
    let rest: Vec<char> = key[prefix.len()..].chars().collect();
    let shown = if rest.len() >= 16 { 4 } else { 0 };
    let stars = "*".repeat(rest.len() - shown);
    let tail: String = rest[rest.len() - shown..].iter().collect();
    format!("{prefix}{stars}{tail}")
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_all_but_prefix_and_tail() {
        assert_eq!(mask("sk_test_abcdefghijklmnopqrstuvwx"), "sk_test_********************uvwx");
        assert_eq!(mask("sk_test_short"), "sk_test_*****");
        assert_eq!(mask("whatever"), "********");
    }
}
