//! `Stripe-Signature` parsing and verification (src/stripe/signature.rs).
//!
//! Input: the header value, a newline, then the raw body. Checks that
//! parsing and verifying never panic and that the verifier accepts only what
//! the secret signed: whenever `verify` says yes, one of the header's `v1`
//! tags is the HMAC of `"{t}.{body}"` under the secret and `t` is within the
//! tolerance; a header freshly signed for the body is accepted under the
//! secret and refused under any other.
#![no_main]

use std::sync::OnceLock;

use kratos_stripe_bridge::stripe::signature::{sign, verify, SignatureError, SignatureHeader, WebhookSecrets};
use libfuzzer_sys::fuzz_target;

/// The secret the seed corpus is signed with.
const SECRET: &str = "whsec_fuzz";
/// The time the seed corpus is signed at; verification runs at this `now`.
const NOW: i64 = 1_700_000_000;
const TOLERANCE: i64 = 300;

/// The secret alone, another secret alone, and both (a rotation).
fn secrets() -> &'static [WebhookSecrets; 3] {
    static SECRETS: OnceLock<[WebhookSecrets; 3]> = OnceLock::new();
    SECRETS.get_or_init(|| {
        [SECRET, "whsec_other", "whsec_other, whsec_fuzz"].map(|s| WebhookSecrets::parse(s).expect("valid secrets"))
    })
}

/// The `v1` value `sign` would put in a header for `body` at `t`.
fn expected_v1(secret: &str, t: i64, body: &[u8]) -> String {
    let signed = sign(secret, t, body);
    signed.split_once(",v1=").expect("sign writes t=..,v1=..").1.to_owned()
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let Ok(header) = std::str::from_utf8(&data[..split]) else { return };
    let body = data.get(split + 1..).unwrap_or(&[]);
    let [secrets, other, both] = secrets();

    let parsed = SignatureHeader::parse(header);
    if let Ok(p) = &parsed {
        assert!(!p.v1.is_empty(), "a parsed header always has a v1");
    }
    match verify(Some(header), body, secrets, NOW, TOLERANCE) {
        Ok(t) => {
            let p = parsed.expect("verify accepted a header that does not parse");
            assert_eq!(p.timestamp, t);
            assert!(NOW.abs_diff(t) <= TOLERANCE as u64, "accepted a timestamp outside the tolerance");
            let want = expected_v1(SECRET, t, body);
            assert!(
                p.v1.iter().any(|tag| hex_lower(tag) == want),
                "verify accepted a header none of whose v1 was computed with the secret"
            );
        }
        Err(SignatureError::MissingHeader) => assert!(header.trim().is_empty()),
        Err(e) => {
            // Every other refusal comes from the header's shape or content,
            // never from the body alone: an error of parsing must agree.
            if let Err(pe) = parsed {
                assert_eq!(e, pe, "verify and parse disagree on why the header is bad");
            }
        }
    }

    // A header signed now for this body verifies, under this secret only.
    let t = NOW - i64::from(data.first().copied().unwrap_or(0));
    let genuine = sign(SECRET, t, body);
    assert_eq!(verify(Some(&genuine), body, secrets, NOW, TOLERANCE), Ok(t));
    assert_eq!(verify(Some(&genuine), body, other, NOW, TOLERANCE), Err(SignatureError::NoMatchingSignature));
    // Rotation: a list holding the secret accepts it too.
    assert_eq!(verify(Some(&genuine), body, both, NOW, TOLERANCE), Ok(t));
});

fn hex_lower(tag: &[u8; 32]) -> String {
    tag.iter().map(|b| format!("{b:02x}")).collect()
}
