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

// ---------------------------------------------------------------------------
// Ecosystem conventions: .dev.vars.example, [observability], [env.production].

use std::collections::BTreeSet;

use kratos_stripe_bridge::config::SETTINGS;

fn repo_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parsed_wrangler_toml() -> toml::Table {
    wrangler_toml().parse().expect("wrangler.toml is valid TOML")
}

/// The settings the worker reads that are secrets: by the names' convention
/// (`*_SECRET*`, `*_TOKEN`, `*_KEY`), which the list in wrangler.toml's
/// "Secrets (never here)" comment must equal (checked below).
fn secrets() -> BTreeSet<&'static str> {
    SETTINGS.iter().copied().filter(|n| n.contains("SECRET") || n.ends_with("_TOKEN") || n.ends_with("_KEY")).collect()
}

/// `.dev.vars.example`: every `NAME=value` line, active or commented out
/// (`# NAME=value`), as (name, value, active).
fn dev_vars_example() -> Vec<(String, String, bool)> {
    repo_file(".dev.vars.example")
        .lines()
        .filter_map(|line| {
            let (active, rest) = match line.strip_prefix("# ") {
                Some(rest) => (false, rest),
                None => (true, line),
            };
            let (name, value) = rest.split_once('=')?;
            let is_name =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !is_name {
                assert!(!active, ".dev.vars.example: an active line that is not NAME=value: {line}");
                return None;
            }
            Some((name.to_string(), value.to_string(), active))
        })
        .collect()
}

/// scripts/dev.sh's local defaults: its `default_NAME=value` lines.
fn dev_sh_defaults() -> BTreeSet<(String, String)> {
    repo_file("scripts/dev.sh")
        .lines()
        .filter_map(|l| l.strip_prefix("default_")?.split_once('='))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn dev_vars_example_names_every_secret_and_nothing_the_worker_does_not_read() {
    let example = dev_vars_example();
    let names: BTreeSet<&str> = example.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names.len(), example.len(), "a name twice in .dev.vars.example: {example:?}");
    for name in &names {
        assert!(
            SETTINGS.contains(name),
            ".dev.vars.example sets {name}, which the worker does not read (config::SETTINGS)"
        );
    }
    for secret in secrets() {
        assert!(names.contains(secret), "the worker reads the secret {secret}: add it to .dev.vars.example");
    }
    // What scripts/dev.sh itself reads from .dev.vars is there too.
    let dev_sh = repo_file("scripts/dev.sh");
    for read in dev_sh.split("dev_var ").skip(1).filter_map(|rest| rest.split_whitespace().next()) {
        let read: String =
            read.chars().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_').collect();
        if read.is_empty() {
            continue; // dev_var "$name": the defaults' loop, checked below
        }
        assert!(
            names.contains(read.as_str()),
            "scripts/dev.sh reads {read} from .dev.vars: add it to .dev.vars.example"
        );
    }
}

#[test]
fn dev_vars_example_active_values_are_the_dev_scripts_defaults() {
    let active: BTreeSet<(String, String)> =
        dev_vars_example().into_iter().filter(|(_, _, active)| *active).map(|(n, v, _)| (n, v)).collect();
    let defaults = dev_sh_defaults();
    assert!(!defaults.is_empty(), "scripts/dev.sh has default_NAME=value lines");
    assert_eq!(active, defaults, "a plain copy of .dev.vars.example must change nothing in scripts/dev.sh");
    for (name, _) in &defaults {
        assert!(dev_sh_uses_default(name), "scripts/dev.sh defines default_{name} but its loop does not name {name}");
    }
}

fn dev_sh_uses_default(name: &str) -> bool {
    repo_file("scripts/dev.sh")
        .lines()
        .any(|l| l.starts_with("for name in ") && l.split_whitespace().any(|w| w.trim_end_matches(';') == name))
}

#[test]
fn dev_vars_is_ignored_and_its_example_is_not() {
    let ignore = repo_file(".gitignore");
    let lines: Vec<&str> = ignore.lines().map(str::trim).collect();
    assert!(lines.contains(&".dev.vars"), ".gitignore ignores .dev.vars");
    assert!(lines.contains(&"!.dev.vars.example"), ".gitignore keeps .dev.vars.example");
    // No real secret in the example: the emulators' local values and placeholders.
    for (name, value, _) in dev_vars_example() {
        assert!(!value.contains("_live_"), "{name}: no live key in .dev.vars.example");
    }
}

#[test]
fn wrangler_toml_lists_every_secret_and_sets_none() {
    let toml = wrangler_toml();
    let comment: String = toml
        .split("# Secrets (never here):")
        .nth(1)
        .expect("a '# Secrets (never here):' comment")
        .lines()
        .take_while(|l| l.starts_with('#') || l.starts_with(' '))
        .collect::<Vec<_>>()
        .join(" ");
    let comment = comment.split("`npx").next().unwrap();
    let listed: BTreeSet<&str> = comment
        .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .filter(|w| w.len() > 3 && w.contains('_'))
        .collect();
    assert_eq!(listed, secrets(), "wrangler.toml's secrets comment and the secrets the worker reads differ");
    let table = parsed_wrangler_toml();
    let vars = table["vars"].as_table().expect("[vars]");
    for secret in secrets() {
        assert!(!vars.contains_key(secret), "{secret} is a secret: never in wrangler.toml [vars]");
    }
    for name in vars.keys() {
        assert!(SETTINGS.contains(&name.as_str()), "[vars] sets {name}, which the worker does not read");
    }
}

#[test]
fn workers_logs_are_on_with_a_sampling_rate() {
    let table = parsed_wrangler_toml();
    let o = table.get("observability").and_then(|o| o.as_table()).expect("an [observability] table");
    assert_eq!(o.get("enabled").and_then(|v| v.as_bool()), Some(true), "{o:?}");
    let rate = o.get("head_sampling_rate").and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)));
    assert!(rate.is_some_and(|r| r > 0.0 && r <= 1.0), "head_sampling_rate in (0, 1]: {o:?}");
}

/// The commented `[env.production]` block, uncommented: from its
/// `# [env.production]` line to the end of the file, each line's leading
/// `# ` (or a lone `#`) removed; a `# # ...` line stays a comment.
fn production_block() -> String {
    let toml = wrangler_toml();
    let start = toml.find("\n# [env.production]\n").expect("a commented '# [env.production]' block") + 1;
    toml[start..]
        .lines()
        .map(|l| {
            if l == "#" {
                ""
            } else {
                l.strip_prefix("# ").unwrap_or_else(|| panic!("the [env.production] block runs to the end: {l:?}"))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_commented_production_environment_uncommented_is_valid_and_complete() {
    // Uncommented in place: the whole file with it parses.
    let whole = format!("{}\n{}\n", wrangler_toml(), production_block());
    let table: toml::Table = whole.parse().expect("wrangler.toml with [env.production] uncommented is valid TOML");
    let prod = table["env"]["production"].as_table().expect("[env.production]");

    // What environments do not inherit (wrangler: vars, kv_namespaces,
    // durable_objects, ...) is repeated there, whatever the top level has.
    for key in ["vars", "kv_namespaces", "durable_objects"] {
        assert!(table.contains_key(key), "top level has {key}");
        assert!(prod.contains_key(key), "[env.production] must repeat {key}: environments do not inherit it");
    }
    let kv = prod["kv_namespaces"].as_array().unwrap();
    assert!(kv.iter().any(|b| b["binding"].as_str() == Some("BILLING_KV") && b.get("id").is_some()), "{kv:?}");
    assert_eq!(prod["durable_objects"]["bindings"], table["durable_objects"]["bindings"], "the same USAGE binding");
    assert!(prod.contains_key("routes") || prod.contains_key("route"), "a route or custom domain");
    // The cron and the migrations are inherited: repeating them would fork them.
    for key in ["triggers", "migrations"] {
        assert!(
            table.contains_key(key) && !prod.contains_key(key),
            "{key}: inherited from the top level, not repeated"
        );
    }

    let vars = prod["vars"].as_table().unwrap();
    assert_eq!(vars.get("ENVIRONMENT").and_then(|v| v.as_str()), Some("production"));
    for name in table["vars"].as_table().unwrap().keys() {
        assert!(vars.contains_key(name), "[env.production.vars] lacks {name} (vars are not inherited)");
    }
    for name in vars.keys() {
        assert!(SETTINGS.contains(&name.as_str()), "[env.production.vars] sets {name}, which the worker does not read");
        assert!(!secrets().contains(name.as_str()), "{name} is a secret: wrangler secret put --env production");
    }
    for name in ["KRATOS_ADMIN_URL", "KRATOS_PUBLIC_URL", "APP_URL", "PRICING_URL"] {
        let v = vars[name].as_str().unwrap();
        assert!(v.starts_with("https://") && !v.contains("127.0.0.1"), "{name} = {v}: a real https URL in production");
    }
    Plans::parse(vars["PLANS"].as_str().unwrap()).expect("production PLANS parses");
    let block = production_block();
    assert!(!block.contains("sk_test_") && !block.contains("sk_live_") && !block.contains("whsec_"), "no secret in it");
}
