//! The shipped wrangler.toml is a working configuration: its `PLANS` is the
//! spec's example and parses, and it names the binding the worker opens.

use kratos_stripe_bridge::entitlements::plans::{Plans, EXAMPLE_PLANS};

fn wrangler_toml() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wrangler.toml")).unwrap()
}

#[test]
fn the_default_plans_parse_and_are_the_spec_example() {
    let toml = wrangler_toml();
    let plans = toml.split("PLANS = '''").nth(1).and_then(|rest| rest.split("'''").next()).expect("PLANS = '''...'''");
    Plans::parse(plans).expect("wrangler.toml's PLANS parses");
    let shipped: serde_json::Value = serde_json::from_str(plans).unwrap();
    let example: serde_json::Value = serde_json::from_str(EXAMPLE_PLANS).unwrap();
    assert_eq!(shipped, example);
}

#[test]
fn the_build_and_the_kv_binding_are_configured() {
    let toml = wrangler_toml();
    assert!(toml.contains(r#"main = "build/index.js""#));
    assert!(toml.contains(r#"command = "bash scripts/build.sh""#));
    assert!(toml.contains(r#"binding = "BILLING_KV""#));
    assert!(!toml.contains("sk_test_") && !toml.contains("whsec_"), "no secret in wrangler.toml");
}

#[test]
fn a_cron_runs_the_reconciliation_walk() {
    let toml = wrangler_toml();
    let triggers = toml.split("[triggers]").nth(1).expect("a [triggers] table");
    let crons = triggers.lines().find(|l| l.trim_start().starts_with("crons")).expect("crons = [...]");
    assert!(crons.contains("\"*/5 * * * *\""), "{crons}");
}

#[test]
fn the_usage_counter_is_bound_with_its_sqlite_migration() {
    let toml = wrangler_toml();
    let binding = toml.split("[[durable_objects.bindings]]").nth(1).expect("a Durable Object binding");
    assert!(binding.contains(r#"name = "USAGE""#) && binding.contains(r#"class_name = "UsageCounter""#), "{binding}");
    let migration = toml.split("[[migrations]]").nth(1).expect("a migration");
    assert!(
        migration.contains(r#"new_sqlite_classes = ["UsageCounter"]"#),
        "SQL storage needs a SQLite class: {migration}"
    );
}
