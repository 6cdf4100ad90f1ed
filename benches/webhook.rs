//! The webhook hot path, timed natively: signature header parse + verify,
//! event parsing and subscription-list parsing, each beside a baseline (a
//! bare HMAC-SHA256 over the same bytes: the floor; a full
//! `serde_json::Value` parse: the naive way). Prints figures; asserts
//! nothing about time. Run with `cargo bench --bench webhook`.

use std::hint::black_box;
use std::time::Instant;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use kratos_stripe_bridge::stripe::event::parse_event;
use kratos_stripe_bridge::stripe::signature::{sign, verify, WebhookSecrets, DEFAULT_TOLERANCE_SECS};
use kratos_stripe_bridge::stripe::subscription::parse_subscription_list;

const SUBSCRIPTION: &str = include_str!("../tests/fixtures/stripe_subscription.json");
const ITERATIONS: u32 = 20_000;
const RUNS: usize = 5;
const SECRET: &str = "whsec_benchmark_current_secret_0123456789";
const OLD_SECRET: &str = "whsec_benchmark_previous_secret_987654321";
const NOW: i64 = 1_764_000_000;

/// Median ns per iteration of `RUNS` runs of `ITERATIONS` calls.
fn time(mut f: impl FnMut()) -> f64 {
    for _ in 0..ITERATIONS / 10 {
        f();
    }
    let mut runs: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ITERATIONS {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS)
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[RUNS / 2]
}

fn report(name: &str, ns: f64, baseline: Option<(&str, f64)>) {
    let ratio = match baseline {
        Some((base, b)) => format!("  ({:.2}x {base})", ns / b),
        None => String::new(),
    };
    println!("{name:<44} {ns:>10.0} ns/op {:>12.0} ops/s{ratio}", 1e9 / ns);
}

fn main() {
    let mut sub: serde_json::Value = serde_json::from_str(SUBSCRIPTION).expect("fixture");
    sub["metadata"] = serde_json::json!({"olympus_identity_id": "9f1c5e4e-0b7a-4d5e-9a53-2f0c8d1b6a10"});
    let event = serde_json::json!({
        "id": "evt_1Pgc76B7WZ01zgkWwyRHS12y", "object": "event", "api_version": "2025-03-31.basil",
        "created": NOW - 5, "livemode": false, "pending_webhooks": 1,
        "request": {"id": "req_abc123", "idempotency_key": "a1b2c3"},
        "type": "customer.subscription.updated",
        "data": {"object": sub, "previous_attributes": {"cancel_at_period_end": false}}
    });
    let body = serde_json::to_vec(&event).expect("event");
    let list = serde_json::to_vec(&serde_json::json!({
        "object": "list", "data": [sub], "has_more": false, "url": "/v1/subscriptions"
    }))
    .expect("list");
    let t = NOW - 5;
    let header = sign(SECRET, t, &body);
    let one = WebhookSecrets::parse(SECRET).expect("secret");
    let two = WebhookSecrets::parse(&format!("{OLD_SECRET},{SECRET}")).expect("secrets");

    // Sanity: everything benchmarked actually succeeds.
    assert_eq!(verify(Some(&header), &body, &one, NOW, DEFAULT_TOLERANCE_SECS), Ok(t));
    assert_eq!(verify(Some(&header), &body, &two, NOW, DEFAULT_TOLERANCE_SECS), Ok(t));
    assert!(parse_event(&body).expect("event parses").customer_id.is_some());
    assert_eq!(parse_subscription_list(&list).expect("list parses").data.len(), 1);
    // benches/wasm times this very body: its fixture is these bytes (and a final newline).
    assert!(
        body == include_bytes!("wasm/fixture-event.json").trim_ascii_end(),
        "benches/wasm/fixture-event.json differs from the event built here: rewrite it from this body"
    );

    println!(
        "webhook hot path: event {} bytes, list {} bytes, median of {RUNS} runs x {ITERATIONS} iterations",
        body.len(),
        list.len()
    );

    let hmac_floor = time(|| {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(black_box(&body));
        black_box(mac.finalize().into_bytes());
    });
    report("baseline: bare HMAC-SHA256 (t.body)", hmac_floor, None);
    let v1 = time(|| {
        black_box(verify(black_box(Some(&header)), black_box(&body), &one, NOW, DEFAULT_TOLERANCE_SECS)).ok();
    });
    report("parse header + verify, 1 secret", v1, Some(("hmac floor", hmac_floor)));
    let v2 = time(|| {
        black_box(verify(black_box(Some(&header)), black_box(&body), &two, NOW, DEFAULT_TOLERANCE_SECS)).ok();
    });
    report("parse header + verify, 2 secrets (2nd)", v2, Some(("hmac floor", hmac_floor)));

    let naive = time(|| {
        black_box(serde_json::from_slice::<serde_json::Value>(black_box(&body)).ok());
    });
    report("baseline: serde_json::Value of the event", naive, None);
    let ev = time(|| {
        black_box(parse_event(black_box(&body)).ok());
    });
    report("parse_event", ev, Some(("Value parse", naive)));

    let naive_list = time(|| {
        black_box(serde_json::from_slice::<serde_json::Value>(black_box(&list)).ok());
    });
    report("baseline: serde_json::Value of the list", naive_list, None);
    let sl = time(|| {
        black_box(parse_subscription_list(black_box(&list)).ok());
    });
    report("parse_subscription_list (1 item)", sl, Some(("Value parse", naive_list)));

    let total = v1 + ev;
    report("verify + parse_event (per webhook)", total, Some(("hmac floor", hmac_floor)));
}
