//! The Kratos web hook body (src/kratos/hook.rs).
//!
//! Input: a hook body. Checks that parsing never panics, and that what it
//! accepts is JSON with an `identity` object whose id is a valid, non-nil
//! identity id and whose email is trimmed, has exactly one `@` with text on
//! both sides and no whitespace; a name, when read, is non-empty and trimmed.
#![no_main]

use kratos_stripe_bridge::identity::IdentityId;
use kratos_stripe_bridge::kratos::hook::{parse_hook, HookError};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_hook(data);
    let doc = serde_json::from_slice::<Value>(data);
    assert_eq!(doc.is_err(), parsed == Err(HookError::InvalidJson), "JSON errors are exactly InvalidJson");
    let Ok(hook) = parsed else { return };
    let doc = doc.expect("checked above");
    assert_eq!(doc["identity"]["id"].as_str(), Some(hook.id.as_str()));
    assert_eq!(IdentityId::parse(hook.id.as_str()).as_ref(), Ok(&hook.id));
    let email = &hook.email;
    assert_eq!(email.trim(), email);
    assert_eq!(email.matches('@').count(), 1);
    assert!(!email.starts_with('@') && !email.ends_with('@'));
    assert!(!email.chars().any(|c| c.is_whitespace() || c.is_control()));
    assert_eq!(doc["identity"]["traits"]["email"].as_str().map(str::trim), Some(email.as_str()));
    if let Some(name) = &hook.name {
        assert!(!name.is_empty());
        assert_eq!(name.trim(), name);
    }
});
