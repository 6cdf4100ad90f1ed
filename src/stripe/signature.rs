//! Stripe webhook signatures (`Stripe-Signature`), modelled on stripe-go's
//! `webhook/client.go`: parse the header, recompute HMAC-SHA256 over
//! `"{t}.{raw body}"` with every configured endpoint secret, accept when any
//! `v1` matches any secret, and bound the timestamp on both sides.
//!
//! Every failure is one named [`SignatureError`]; none of them carries the
//! header, the body or a secret, so they are safe to log and to answer with.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::constant_time_eq;

type HmacSha256 = Hmac<Sha256>;

/// How far (seconds) a signed timestamp may be from now, in either direction,
/// before the event is refused; Stripe's libraries default to 300 s.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Length of an HMAC-SHA256 tag, the only valid `v1` length.
const TAG_LEN: usize = 32;

/// Why a webhook request was refused. One variant per failure so that callers
/// (and operators reading logs) can tell a misconfigured secret from a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `Stripe-Signature` header, or an empty one.
    MissingHeader,
    /// The header has no `t=`, an unparsable or repeated `t`, or a pair
    /// without `=`.
    MalformedHeader,
    /// The header carries no (valid hex, 32-byte) `v1` signature.
    NoSignatures,
    /// No `v1` matches the body under any configured secret.
    NoMatchingSignature,
    /// The signature is authentic but older than the tolerance (a replay or a
    /// long-delayed delivery).
    TimestampTooOld,
    /// The signature is authentic but dated further in the future than the
    /// tolerance (a clock problem on one side).
    TimestampInFuture,
}

impl SignatureError {
    /// A stable machine-readable code for error answers and logs.
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingHeader => "signature_missing",
            Self::MalformedHeader => "signature_malformed",
            Self::NoSignatures => "signature_no_v1",
            Self::NoMatchingSignature => "signature_mismatch",
            Self::TimestampTooOld => "timestamp_too_old",
            Self::TimestampInFuture => "timestamp_in_future",
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingHeader => "No stripe-signature header value was provided",
            Self::MalformedHeader => "Unable to extract timestamp and signatures from header",
            Self::NoSignatures => "No signatures found with expected scheme v1",
            Self::NoMatchingSignature => "No signatures found matching the expected signature for payload",
            Self::TimestampTooOld => "Timestamp outside the tolerance zone (too old)",
            Self::TimestampInFuture => "Timestamp outside the tolerance zone (in the future)",
        })
    }
}

impl std::error::Error for SignatureError {}

/// An unverifiable webhook is the sender's fault: 400, nothing read or written.
impl From<SignatureError> for crate::error::ApiError {
    fn from(e: SignatureError) -> Self {
        crate::error::ApiError::bad_request(e.code(), e.to_string())
    }
}

/// A parsed `Stripe-Signature` header: the signed timestamp and EVERY `v1`
/// signature (Stripe sends several while an endpoint secret is being rolled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// `t`: unix seconds at which Stripe signed the payload.
    pub timestamp: i64,
    /// Decoded `v1` tags, in header order.
    pub v1: Vec<[u8; TAG_LEN]>,
}

impl SignatureHeader {
    /// Parses `t=...,v1=...,v1=...,v0=...`. Whitespace around pairs, keys and
    /// values is tolerated and empty pairs (a trailing comma) are skipped;
    /// `v0` and unknown keys are ignored. A `v1` that is not 64 hex digits is
    /// skipped like stripe-go does (it could never match); if none is left the
    /// result is [`SignatureError::NoSignatures`]. A missing, unparsable or
    /// repeated `t`, or a non-empty pair without `=`, is
    /// [`SignatureError::MalformedHeader`].
    pub fn parse(header: &str) -> Result<SignatureHeader, SignatureError> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for pair in header.split(',') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (key, value) = pair.split_once('=').ok_or(SignatureError::MalformedHeader)?;
            let value = value.trim();
            match key.trim() {
                "t" => {
                    let t = value.parse::<i64>().map_err(|_| SignatureError::MalformedHeader)?;
                    if timestamp.replace(t).is_some() {
                        return Err(SignatureError::MalformedHeader);
                    }
                }
                "v1" => {
                    let mut tag = [0u8; TAG_LEN];
                    if hex::decode_to_slice(value, &mut tag).is_ok() {
                        v1.push(tag);
                    }
                }
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::MalformedHeader)?;
        if v1.is_empty() {
            return Err(SignatureError::NoSignatures);
        }
        Ok(SignatureHeader { timestamp, v1 })
    }
}

/// Why `STRIPE_WEBHOOK_SECRET` could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookSecretsError {
    /// The value holds no secret once split on commas and trimmed.
    Empty,
}

impl fmt::Display for WebhookSecretsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("holds no secret; expected one or more whsec_... values, comma-separated"),
        }
    }
}

impl std::error::Error for WebhookSecretsError {}

/// The endpoint secrets accepted at once (old and new during a rotation),
/// kept as ready-keyed HMAC states so each request skips the key setup.
/// `Debug` shows only how many there are.
#[derive(Clone)]
pub struct WebhookSecrets {
    keyed: Vec<HmacSha256>,
}

impl WebhookSecrets {
    /// Parses the comma-separated `STRIPE_WEBHOOK_SECRET` value: each entry is
    /// trimmed, empty entries are skipped, and at least one must remain. The
    /// whole `whsec_...` string is the HMAC key, as in Stripe's libraries.
    pub fn parse(value: &str) -> Result<WebhookSecrets, WebhookSecretsError> {
        let keyed: Vec<HmacSha256> =
            value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| keyed_mac(s.as_bytes())).collect();
        if keyed.is_empty() {
            return Err(WebhookSecretsError::Empty);
        }
        Ok(WebhookSecrets { keyed })
    }

    /// How many secrets are configured.
    pub fn len(&self) -> usize {
        self.keyed.len()
    }

    /// Always false for a parsed value; present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.keyed.is_empty()
    }
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSecrets").field("count", &self.keyed.len()).finish()
    }
}

fn keyed_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    }
}

fn tag(mut mac: HmacSha256, timestamp: i64, body: &[u8]) -> [u8; TAG_LEN] {
    let mut buf = [0u8; 20];
    mac.update(decimal(timestamp, &mut buf));
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Writes `n` in decimal into `buf` without allocating (an i64 needs at
/// most 20 bytes with its sign) and returns the written part.
fn decimal(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Compares two tags in time independent of where they differ.
fn tags_equal(a: &[u8; TAG_LEN], b: &[u8; TAG_LEN]) -> bool {
    constant_time_eq(a, b)
}

/// Verifies a webhook request and returns its signed timestamp.
///
/// `header` is the raw `Stripe-Signature` value (`None` or blank:
/// [`SignatureError::MissingHeader`]), `body` the raw request bytes (never a
/// re-serialised body). The signature is checked first, against every `v1`
/// and every secret, in constant time per comparison; only an authentic
/// signature is then checked for age, so `TimestampTooOld` /
/// `TimestampInFuture` always mean "genuine, but outside `tolerance_secs`".
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &WebhookSecrets,
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(SignatureError::MissingHeader)?;
    let parsed = SignatureHeader::parse(header)?;
    let mut matched = false;
    for mac in &secrets.keyed {
        let expected = tag(mac.clone(), parsed.timestamp, body);
        for candidate in &parsed.v1 {
            // No early exit: the work done does not depend on which matched.
            matched |= tags_equal(&expected, candidate);
        }
    }
    if !matched {
        return Err(SignatureError::NoMatchingSignature);
    }
    let tolerance = tolerance_secs.max(0);
    if now.saturating_sub(parsed.timestamp) > tolerance {
        return Err(SignatureError::TimestampTooOld);
    }
    if parsed.timestamp.saturating_sub(now) > tolerance {
        return Err(SignatureError::TimestampInFuture);
    }
    Ok(parsed.timestamp)
}

/// Builds the `Stripe-Signature` value Stripe would send for `body` signed
/// with `secret` at `timestamp` (`t=...,v1=...`). For tests, benchmarks and
/// the local Stripe emulator.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let t = tag(keyed_mac(secret.as_bytes()), timestamp, body);
    format!("t={timestamp},v1={}", hex::encode(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","object":"event"}"#;
    const T: i64 = 1_700_000_000;
    // Computed independently: python3 -c 'import hmac,hashlib;
    //   print(hmac.new(b"whsec_test_secret", b"1700000000." + BODY, hashlib.sha256).hexdigest())'
    const SIG_TEST: &str = "0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd";
    // Same, keyed with "whsec_rolled_new".
    const SIG_NEW: &str = "45e9eaef37f18dcf36d33d1d9aec3b4fcc311367a3d9a429e98881b4d7a38fcf";

    fn secrets(v: &str) -> WebhookSecrets {
        WebhookSecrets::parse(v).expect("secrets")
    }

    fn check(header: &str, secret: &str, now: i64) -> Result<i64, SignatureError> {
        verify(Some(header), BODY, &secrets(secret), now, DEFAULT_TOLERANCE_SECS)
    }

    #[test]
    fn sign_matches_an_independently_computed_vector() {
        assert_eq!(sign("whsec_test_secret", T, BODY), format!("t={T},v1={SIG_TEST}"));
        assert_eq!(sign("whsec_rolled_new", T, BODY), format!("t={T},v1={SIG_NEW}"));
    }

    #[test]
    fn accepts_a_valid_signature_and_returns_the_timestamp() {
        let h = format!("t={T},v1={SIG_TEST}");
        assert_eq!(check(&h, "whsec_test_secret", T + 10), Ok(T));
    }

    #[test]
    fn any_of_several_v1_may_match_whatever_its_position() {
        let bogus = "ab".repeat(32);
        for h in [
            format!("t={T},v1={SIG_TEST},v1={bogus}"),
            format!("t={T},v1={bogus},v1={SIG_TEST}"),
            format!("t={T},v1={bogus},v1={SIG_NEW},v1={SIG_TEST},v0={bogus}"),
        ] {
            assert_eq!(check(&h, "whsec_test_secret", T), Ok(T), "{h}");
        }
        let parsed = SignatureHeader::parse(&format!("t={T},v1={bogus},v1={SIG_TEST},v1={SIG_NEW}")).unwrap();
        assert_eq!(parsed.v1.len(), 3);
    }

    #[test]
    fn rotated_secrets_accept_a_header_signed_by_either() {
        let both = "whsec_test_secret, whsec_rolled_new";
        assert_eq!(check(&format!("t={T},v1={SIG_TEST}"), both, T), Ok(T));
        assert_eq!(check(&format!("t={T},v1={SIG_NEW}"), both, T), Ok(T));
        // Stripe's own rolling header: both signatures at once.
        assert_eq!(check(&format!("t={T},v1={SIG_NEW},v1={SIG_TEST}"), "whsec_rolled_new", T), Ok(T));
        // Only the new secret configured: an old-secret header is refused.
        assert_eq!(
            check(&format!("t={T},v1={SIG_TEST}"), "whsec_rolled_new", T),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn a_tampered_body_or_timestamp_is_refused() {
        let s = secrets("whsec_test_secret");
        let h = format!("t={T},v1={SIG_TEST}");
        let tampered = br#"{"id":"evt_2","object":"event"}"#;
        assert_eq!(verify(Some(&h), tampered, &s, T, 300), Err(SignatureError::NoMatchingSignature));
        let shifted = format!("t={},v1={SIG_TEST}", T + 1);
        assert_eq!(verify(Some(&shifted), BODY, &s, T, 300), Err(SignatureError::NoMatchingSignature));
        // A re-serialised body (extra whitespace) is a different payload.
        let spaced = br#"{"id": "evt_1", "object": "event"}"#;
        assert_eq!(verify(Some(&h), spaced, &s, T, 300), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn timestamps_are_bounded_on_both_sides() {
        let h = format!("t={T},v1={SIG_TEST}");
        let sec = "whsec_test_secret";
        assert_eq!(check(&h, sec, T + 300), Ok(T));
        assert_eq!(check(&h, sec, T + 301), Err(SignatureError::TimestampTooOld));
        assert_eq!(check(&h, sec, T - 300), Ok(T));
        assert_eq!(check(&h, sec, T - 301), Err(SignatureError::TimestampInFuture));
        let s = secrets(sec);
        assert_eq!(verify(Some(&h), BODY, &s, T + 1000, 2000), Ok(T));
    }

    #[test]
    fn a_forged_signature_reports_mismatch_not_age() {
        let forged = format!("t=1,v1={}", "00".repeat(32));
        assert_eq!(check(&forged, "whsec_test_secret", T), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let s = secrets("whsec_test_secret");
        assert_eq!(verify(None, BODY, &s, T, 300), Err(SignatureError::MissingHeader));
        assert_eq!(verify(Some(""), BODY, &s, T, 300), Err(SignatureError::MissingHeader));
        assert_eq!(verify(Some("   "), BODY, &s, T, 300), Err(SignatureError::MissingHeader));
        let cases = [
            (format!("v1={SIG_TEST}"), SignatureError::MalformedHeader),
            (format!("t=abc,v1={SIG_TEST}"), SignatureError::MalformedHeader),
            (format!("t=,v1={SIG_TEST}"), SignatureError::MalformedHeader),
            (format!("t={T},t={T},v1={SIG_TEST}"), SignatureError::MalformedHeader),
            ("garbage".to_string(), SignatureError::MalformedHeader),
            (format!("t={T},garbage,v1={SIG_TEST}"), SignatureError::MalformedHeader),
            (format!("t={T}"), SignatureError::NoSignatures),
            (format!("t={T},v0={SIG_TEST}"), SignatureError::NoSignatures),
            (format!("t={T},v1=nothex"), SignatureError::NoSignatures),
            (format!("t={T},v1={}", &SIG_TEST[..62]), SignatureError::NoSignatures),
        ];
        for (h, want) in cases {
            assert_eq!(verify(Some(&h), BODY, &s, T, 300), Err(want), "{h}");
        }
    }

    #[test]
    fn whitespace_unknown_keys_and_bad_v1_entries_are_tolerated() {
        let h = format!(" t = {T} , v1 = {SIG_TEST} , v1=zz, scheme=x,, ");
        assert_eq!(check(&h, "whsec_test_secret", T), Ok(T));
        // Upper-case hex decodes to the same tag.
        let upper = format!("t={T},v1={}", SIG_TEST.to_uppercase());
        assert_eq!(check(&upper, "whsec_test_secret", T), Ok(T));
    }

    #[test]
    fn secrets_are_trimmed_required_and_never_printed() {
        let s = secrets(" whsec_a ,, whsec_b ,");
        assert_eq!(s.len(), 2);
        let shown = format!("{s:?}");
        assert!(!shown.contains("whsec"), "{shown}");
        assert_eq!(WebhookSecrets::parse(" , ,").unwrap_err(), WebhookSecretsError::Empty);
        assert_eq!(WebhookSecrets::parse("").unwrap_err(), WebhookSecretsError::Empty);
        // Trimming matters: the key is the secret without the spaces.
        let h = sign("whsec_a", T, BODY);
        assert_eq!(verify(Some(&h), BODY, &s, T, 300), Ok(T));
    }

    #[test]
    fn timestamps_are_signed_in_plain_decimal() {
        let mut buf = [0u8; 20];
        for n in [0, 7, -7, T, i64::MAX, i64::MIN] {
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }

    #[test]
    fn codes_are_stable_and_distinct() {
        use SignatureError::*;
        let all =
            [MissingHeader, MalformedHeader, NoSignatures, NoMatchingSignature, TimestampTooOld, TimestampInFuture];
        let codes: std::collections::BTreeSet<_> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(NoMatchingSignature.code(), "signature_mismatch");
        assert_eq!(MissingHeader.to_string(), "No stripe-signature header value was provided");
    }
}
