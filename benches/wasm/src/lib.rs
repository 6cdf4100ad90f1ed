//! The webhook benchmark's workloads, exported as plain `extern "C"`
//! functions so that a Node script (`run.mjs`) can time them in wasm without
//! wasm-bindgen glue, and called directly by `src/bin/native.rs` so that the
//! same code is timed natively too.
//!
//! The event is `fixture-event.json`: a `customer.subscription.updated` event
//! whose `data.object` is the subscription of Stripe's own OpenAPI fixtures
//! (`tests/fixtures/stripe_subscription.json`) with an `olympus_identity_id`
//! in its metadata, serialised compactly with sorted keys (4,424 bytes). It
//! is byte for byte the body that the native benchmark `benches/webhook.rs`
//! builds with serde_json, and the secrets, timestamps and subscription-list
//! page are the same too, so the two print comparable figures. It is
//! embedded, signed and parsed inside the module; nothing crosses the JS
//! boundary per iteration.
//!
//! Every `run_*` performs its operation `iterations` times and returns how
//! many succeeded (so the work cannot be optimised away; the callers check
//! that it equals `iterations`).

use std::hint::black_box;
use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use kratos_stripe_bridge::stripe::event::parse_event;
use kratos_stripe_bridge::stripe::signature::{self, WebhookSecrets, DEFAULT_TOLERANCE_SECS};
use kratos_stripe_bridge::stripe::subscription::parse_subscription_list;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The event body, byte for byte what Stripe would POST (the file's trailing
/// newline excluded).
pub const EVENT_BODY: &str = include_str!("../fixture-event.json");
/// The endpoint secret the event is signed with.
pub const SECRET: &str = "whsec_benchmark_current_secret_0123456789";
/// The previous secret, configured first during a rotation.
pub const OLD_SECRET: &str = "whsec_benchmark_previous_secret_987654321";
/// "Now" for `verify`.
pub const NOW: i64 = 1_764_000_000;
/// `t` of the signature (five seconds before `NOW`, also the event's `created`).
pub const TIMESTAMP: i64 = NOW - 5;

/// Everything the workloads share, built once by [`setup`].
pub struct Fixture {
    pub body: &'static [u8],
    /// `Stripe-Signature: t=...,v1=...`.
    pub header: String,
    /// `SECRET` alone.
    pub secrets: WebhookSecrets,
    /// `OLD_SECRET,SECRET`: a rotation, the header matches the second.
    pub rotated: WebhookSecrets,
    /// `GET /v1/subscriptions` page holding the event's subscription.
    pub subscription_list: Vec<u8>,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn build() -> Fixture {
    let text = EVENT_BODY.trim_end();
    let body = text.as_bytes();
    let header = signature::sign(SECRET, TIMESTAMP, body);
    let secrets = WebhookSecrets::parse(SECRET).expect("secret");
    let rotated = WebhookSecrets::parse(&format!("{OLD_SECRET},{SECRET}")).expect("secrets");
    // The subscription is the event's data.object; cut it out verbatim and
    // wrap it as serde_json writes the list page (sorted keys).
    let open = r#""data":{"object":"#;
    let start = text.find(open).expect("data.object") + open.len();
    let end = text.find(r#","previous_attributes":"#).expect("previous_attributes");
    let subscription_list =
        format!(r#"{{"data":[{}],"has_more":false,"object":"list","url":"/v1/subscriptions"}}"#, &text[start..end])
            .into_bytes();
    Fixture { body, header, secrets, rotated, subscription_list }
}

/// The shared fixture (built on first use).
pub fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(build)
}

/// Builds the fixture and checks that every workload succeeds on it once.
/// Returns the event body's length in bytes, or 0 if a workload fails
/// (a failed workload would time an error path, not the real one).
#[no_mangle]
pub extern "C" fn setup() -> u32 {
    let f = fixture();
    let ok = OPS.iter().all(|op| (op.run)(1) == 1)
        && parse_event(f.body).is_ok_and(|e| e.customer_id.is_some() && e.identity_hint.is_some());
    if ok {
        f.body.len() as u32
    } else {
        0
    }
}

/// Length of the `GET /v1/subscriptions` page used by `run_parse_subscriptions`.
#[no_mangle]
pub extern "C" fn subscription_list_len() -> u32 {
    fixture().subscription_list.len() as u32
}

fn verify_with(secrets: &WebhookSecrets) -> bool {
    let f = fixture();
    signature::verify(
        Some(black_box(f.header.as_str())),
        black_box(f.body),
        secrets,
        black_box(NOW),
        DEFAULT_TOLERANCE_SECS,
    ) == Ok(TIMESTAMP)
}

/// Baseline: bare HMAC-SHA256 of `"{t}.{body}"`, keyed on each call (as
/// `benches/webhook.rs` does): the cryptographic floor under `verify`.
/// (`verify` itself keeps the keyed state, so it can come out a little
/// below this floor: the key setup is two of the ~72 compressions.)
#[no_mangle]
pub extern "C" fn run_hmac(iterations: u32) -> u32 {
    let f = fixture();
    let mut n = 0u32;
    for _ in 0..iterations {
        let mut mac = HmacSha256::new_from_slice(black_box(SECRET).as_bytes()).expect("any key length");
        mac.update(TIMESTAMP.to_string().as_bytes());
        mac.update(b".");
        mac.update(black_box(f.body));
        let tag = black_box(mac.finalize().into_bytes());
        n += u32::from(tag.len() == 32);
    }
    n
}

/// `stripe::signature::verify` with one secret: header parsing, hex
/// decoding, the HMAC, the constant-time comparison, the timestamp bounds.
#[no_mangle]
pub extern "C" fn run_verify(iterations: u32) -> u32 {
    let secrets = &fixture().secrets;
    (0..iterations).map(|_| u32::from(black_box(verify_with(secrets)))).sum()
}

/// `verify` during a rotation: two secrets, the header signed by the second
/// (two HMACs per call).
#[no_mangle]
pub extern "C" fn run_verify_rotated(iterations: u32) -> u32 {
    let secrets = &fixture().rotated;
    (0..iterations).map(|_| u32::from(black_box(verify_with(secrets)))).sum()
}

fn json_value(bytes: &[u8], iterations: u32) -> u32 {
    let mut n = 0u32;
    for _ in 0..iterations {
        let v = serde_json::from_slice::<serde_json::Value>(black_box(bytes));
        n += u32::from(black_box(v).is_ok());
    }
    n
}

/// Baseline: `serde_json::from_slice::<serde_json::Value>` of the event, the
/// naive full parse that builds every node.
#[no_mangle]
pub extern "C" fn run_json_value(iterations: u32) -> u32 {
    json_value(fixture().body, iterations)
}

/// `stripe::event::parse_event` of the event (the signal: id, type,
/// livemode, customer, identity hint).
#[no_mangle]
pub extern "C" fn run_parse(iterations: u32) -> u32 {
    let f = fixture();
    let mut n = 0u32;
    for _ in 0..iterations {
        let r = parse_event(black_box(f.body));
        n += u32::from(black_box(r).is_ok());
    }
    n
}

/// Baseline: `serde_json::Value` of the subscription-list page.
#[no_mangle]
pub extern "C" fn run_json_value_list(iterations: u32) -> u32 {
    json_value(&fixture().subscription_list, iterations)
}

/// `stripe::subscription::parse_subscription_list` of a one-subscription
/// page (the same subscription), what the re-read after a signal parses.
#[no_mangle]
pub extern "C" fn run_parse_subscriptions(iterations: u32) -> u32 {
    let f = fixture();
    let mut n = 0u32;
    for _ in 0..iterations {
        let r = parse_subscription_list(black_box(&f.subscription_list));
        n += u32::from(black_box(r).is_ok_and(|p| p.data.len() == 1));
    }
    n
}

/// The pure core of one webhook request, measured as one operation:
/// `verify` (one secret), then `parse_event`.
#[no_mangle]
pub extern "C" fn run_verify_parse(iterations: u32) -> u32 {
    let f = fixture();
    let mut n = 0u32;
    for _ in 0..iterations {
        let ok = verify_with(&f.secrets) && black_box(parse_event(black_box(f.body))).is_ok();
        n += u32::from(ok);
    }
    n
}

/// One workload: its name, its function, and the baseline it is compared with.
pub struct Op {
    pub name: &'static str,
    pub run: extern "C" fn(u32) -> u32,
    pub baseline: Option<&'static str>,
}

/// Every workload, in the order the tables print them (the same names and
/// order as `OPS` in `run.mjs`, and the rows of `benches/webhook.rs`).
pub const OPS: [Op; 8] = [
    Op { name: "hmac_sha256", run: run_hmac, baseline: None },
    Op { name: "verify", run: run_verify, baseline: Some("hmac_sha256") },
    Op { name: "verify_2_secrets", run: run_verify_rotated, baseline: Some("hmac_sha256") },
    Op { name: "json_value_event", run: run_json_value, baseline: None },
    Op { name: "parse_event", run: run_parse, baseline: Some("json_value_event") },
    Op { name: "json_value_list", run: run_json_value_list, baseline: None },
    Op { name: "parse_subscription_list", run: run_parse_subscriptions, baseline: Some("json_value_list") },
    Op { name: "verify+parse_event", run: run_verify_parse, baseline: Some("hmac_sha256") },
];
