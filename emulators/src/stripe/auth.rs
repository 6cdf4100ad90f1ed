//! API key checking: `Authorization: Bearer <secret key>`, or HTTP Basic
//! auth with the key as the user name and no password (`curl -u sk_test_...:`,
//! as Stripe's docs use it). Stripe's messages; a wrong key is never echoed whole.

use axum::http::HeaderMap;

use super::errors::ApiError;

/// Accepts the request only with the configured key.
pub(crate) fn authorize(headers: &HeaderMap, api_key: &str) -> Result<(), ApiError> {
    let provided = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(presented_key)
        .filter(|v| !v.is_empty());
    match provided {
        None => Err(ApiError::unauthorized(
            "You did not provide an API key. You need to provide your API key in the Authorization header, \
             using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication \
             for details, or we can help at https://support.stripe.com/."
                .to_string(),
        )),
        Some(key) if key == api_key => Ok(()),
        Some(key) => Err(ApiError::unauthorized(format!("Invalid API Key provided: {}", mask(&key)))),
    }
}

/// The key an `Authorization` value presents: the Bearer token, or the user
/// name of Basic credentials (the password is not used; Stripe asks for none).
/// Basic credentials that are not base64 of `user:password` present themselves
/// as they are, so they fail as an invalid key.
fn presented_key(value: &str) -> Option<String> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_string());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64_decode(rest).and_then(|bytes| String::from_utf8(bytes).ok());
    Some(match decoded {
        Some(pair) => pair.split_once(':').map_or(pair.as_str(), |(user, _password)| user).to_string(),
        None => rest.to_string(),
    })
}

/// Standard base64 (padding optional); `None` for anything else.
fn base64_decode(input: &str) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let data = input.trim_end_matches('=').as_bytes();
    if input.len() - data.len() > 2 || data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= sextet(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
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
    use super::{base64_decode, mask, presented_key};

    #[test]
    fn decodes_base64_with_or_without_padding() {
        assert_eq!(base64_decode("c2tfdGVzdF9lbXVsYXRvcjo=").unwrap(), b"sk_test_emulator:");
        assert_eq!(base64_decode("c2tfdGVzdF9lbXVsYXRvcjo").unwrap(), b"sk_test_emulator:");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("a*==").is_none());
    }

    #[test]
    fn reads_bearer_tokens_and_basic_user_names() {
        assert_eq!(presented_key("Bearer sk_test_1").as_deref(), Some("sk_test_1"));
        assert_eq!(presented_key("bearer  sk_test_1 ").as_deref(), Some("sk_test_1"));
        assert_eq!(presented_key("Basic c2tfdGVzdF9lbXVsYXRvcjo=").as_deref(), Some("sk_test_emulator"));
        assert_eq!(presented_key("Basic c2tfdGVzdF9lbXVsYXRvcg==").as_deref(), Some("sk_test_emulator"));
        assert_eq!(presented_key("Basic !!").as_deref(), Some("!!"));
        assert_eq!(presented_key("Digest x"), None);
        assert_eq!(presented_key("sk_test_1"), None);
    }

    #[test]
    fn masks_all_but_prefix_and_tail() {
        assert_eq!(mask("sk_test_abcdefghijklmnopqrstuvwx"), "sk_test_********************uvwx");
        assert_eq!(mask("sk_test_short"), "sk_test_*****");
        assert_eq!(mask("whatever"), "********");
    }
}
