//! The shipped Kratos configuration agrees with what the bridge serves and
//! with the body the emulator (and the end-to-end tests) send.

use std::collections::BTreeSet;

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect(path)
}

/// The top-level fields the jsonnet template produces.
fn jsonnet_fields(src: &str) -> BTreeSet<String> {
    src.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//"))
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim().to_string()))
        .filter(|k| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !k.is_empty())
        .collect()
}

#[test]
fn the_jsonnet_body_is_the_one_the_bridge_and_emulator_use() {
    let fields = jsonnet_fields(&read("kratos/stripe-bridge.jsonnet"));
    let expected: BTreeSet<String> = ["identity", "flow_id", "flow_type"].iter().map(|s| s.to_string()).collect();
    assert_eq!(fields, expected);
    let emulator = read("emulators/src/kratos/hooks.rs");
    assert!(
        emulator.contains(r#"json!({ "identity": public_identity, "flow_id": flow_id, "flow_type": "browser" })"#),
        "the Kratos emulator must send the jsonnet's body"
    );
}

#[test]
fn the_shipped_hooks_point_at_the_bridge_routes_without_parse() {
    let full = read("kratos/kratos.stripe-bridge.yml");
    let yml: String = full.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n");
    assert_eq!(yml.matches("url: https://billing.example.com/hooks/kratos/registration").count(), 3);
    assert_eq!(yml.matches("url: https://billing.example.com/hooks/kratos/settings").count(), 1);
    assert_eq!(yml.matches("parse: false").count(), 4, "a parsing hook would send the nil UUID");
    assert!(!yml.contains("parse: true"));
    assert_eq!(yml.matches("value: Bearer REPLACE_WITH_KRATOS_WEBHOOK_SECRET").count(), 4);
}
