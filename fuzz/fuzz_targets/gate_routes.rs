//! `GATE_ROUTES` parsing and rule lookup (src/edge/rules.rs) with the spec's
//! example `PLANS`.
//!
//! Input: a request path, a newline, then a `GATE_ROUTES` value. Checks that
//! parsing and matching never panic; that a feature a rule asks for is one
//! some plan grants; that the answer for a normalised path is the answer
//! for its normalisation again; and that an empty list gates nothing.
#![no_main]

use std::sync::OnceLock;

use kratos_stripe_bridge::edge::path::normalize;
use kratos_stripe_bridge::edge::rules::{Case, GateRoutes, Need};
use kratos_stripe_bridge::entitlements::plans::{grants, Plans, EXAMPLE_PLANS};
use libfuzzer_sys::fuzz_target;

fn plans() -> &'static Plans {
    static PLANS: OnceLock<Plans> = OnceLock::new();
    PLANS.get_or_init(|| Plans::parse(EXAMPLE_PLANS).expect("the example PLANS parse"))
}

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let Ok(raw_path) = std::str::from_utf8(&data[..split]) else { return };
    let Some(Ok(json)) = data.get(split + 1..).map(std::str::from_utf8) else { return };
    let plans = plans();
    let Ok(routes) = GateRoutes::parse(json, plans) else { return };
    let Ok(path) = normalize(raw_path) else { return };
    for method in METHODS {
        for case in [Case::Exact, Case::Ignored] {
            match routes.need(method, &path, case) {
                Some(Need::Feature(f)) => {
                    assert!(plans.iter().any(|(_, p)| grants(&p.features, f)), "no plan grants {f}");
                }
                Some(Need::Session) | None => {}
            }
            let again = normalize(&path).expect("a normalised path normalises");
            assert_eq!(routes.need(method, &again, case), routes.need(method, &path, case));
        }
        // What one reading asks, every reading together asks too.
        let all = routes.requirement(&[method], [path.as_str(), path.to_ascii_uppercase().as_str()]);
        if let Some(Need::Feature(f)) = routes.need(method, &path, Case::Exact) {
            assert!(all.is_some_and(|r| r.features.contains(f)), "{f} lost in the union");
        }
    }
    // Every rule covers something; an empty list covers nothing.
    if routes.is_empty() {
        assert!(METHODS.iter().all(|m| routes.need(m, &path, Case::Ignored).is_none()));
    }
});
