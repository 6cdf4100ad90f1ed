//! Stripe event parsing (src/stripe/event.rs).
//!
//! Input: a webhook body. Checks that parsing never panics, and that a body
//! it accepts is JSON (but for what serde_json skips unchecked) whose `id`, `type`, `livemode`, `created` and
//! `data.object.id` are what the signal reports; that the kind round-trips
//! through its string; that a customer id is never empty and an identity
//! hint is always a valid identity id.
#![no_main]

use kratos_stripe_bridge::identity::IdentityId;
use kratos_stripe_bridge::stripe::event::{parse_event, EventKind};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// What serde_json refuses in a `Value` but skips in a field it ignores.
const LENIENT: [&str; 3] = ["number out of range", "lone leading surrogate", "unexpected end of hex escape"];

fuzz_target!(|data: &[u8]| {
    let Ok(signal) = parse_event(data) else { return };
    // serde_json skips the fields it ignores more leniently than it builds
    // a `Value`: it does not check their UTF-8 (so compare with the lossy
    // text; the fields read are valid UTF-8), nor whether a number fits an
    // f64 or a `\u` escape is a whole character. Only those may differ.
    let text = String::from_utf8_lossy(data);
    let doc: Value = match serde_json::from_str(&text) {
        Ok(doc) => doc,
        Err(e) => {
            let m = e.to_string();
            assert!(LENIENT.iter().any(|l| m.starts_with(l)), "parse_event accepted a body that is not JSON: {m}");
            return;
        }
    };
    assert_eq!(doc["id"].as_str(), Some(signal.id.as_str()));
    assert_eq!(doc["type"].as_str(), Some(signal.kind.as_str()));
    assert_eq!(doc["livemode"].as_bool(), Some(signal.livemode));
    assert_eq!(doc["created"].as_i64(), Some(signal.created));
    assert_eq!(doc["data"]["object"]["id"].as_str(), signal.object_id.as_deref());
    assert_eq!(EventKind::parse(signal.kind.as_str()), signal.kind);
    assert_eq!(signal.kind.triggers_sync(), !matches!(signal.kind, EventKind::Other(_)));
    if let Some(c) = &signal.customer_id {
        assert!(!c.is_empty());
    }
    if let Some(hint) = &signal.identity_hint {
        assert_eq!(IdentityId::parse(hint.as_str()).as_ref(), Ok(hint));
    }
});
