//! Request ids: the one id that ties a request's log lines to its answer
//! (`X-Request-Id`). Cloudflare's `cf-ray` when the request has one (so the
//! id matches the platform's own logs), else a random one (`wrangler dev`,
//! the cron).

use std::cell::Cell;

use worker::Request;

use super::headers::header;

thread_local! {
    /// The isolate's next id, from a random start: ids need to be unique,
    /// not secret, so one call to `crypto.getRandomValues` per isolate
    /// serves all of its requests.
    static NEXT: Cell<u64> = Cell::new(random_start());
}

fn random_start() -> u64 {
    let mut bytes = [0u8; 8];
    // crypto.getRandomValues does not fail for 8 bytes; were it to, ids
    // would still be unique within the isolate.
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// SplitMix64's output function: a bijection of u64, so distinct counters
/// give distinct ids, and consecutive ones look unrelated in the logs.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A random-looking id of 16 hex digits, unique within the isolate (also
/// the reconciliation lease's holder).
pub fn random() -> String {
    let n = NEXT.with(|next| {
        let n = next.get();
        next.set(n.wrapping_add(1));
        n
    });
    format!("{:016x}", mix(n))
}

/// The request's id: its `cf-ray` (when it is a plausible ray id), else a new one.
pub fn of(req: &Request) -> String {
    header(req, "cf-ray")
        .filter(|ray| !ray.is_empty() && ray.len() <= 64 && ray.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .unwrap_or_else(random)
}
