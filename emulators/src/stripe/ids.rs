//! Identifiers, randomness and timestamps that look like Stripe's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fills `buf` with random bytes; falls back to a time-seeded generator in
/// the (never observed) case the OS source fails, since ids need only be unique.
fn random_bytes(buf: &mut [u8]) {
    if getrandom::fill(buf).is_ok() {
        return;
    }
    static FALLBACK: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let mut x = nanos ^ FALLBACK.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    for b in buf.iter_mut() {
        x = splitmix(x);
        *b = x as u8;
    }
}

/// One step of SplitMix64, also used for the deterministic flush shuffle.
pub(crate) fn splitmix(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` random characters from `[0-9A-Za-z]`.
pub(crate) fn random_alphanumeric(n: usize) -> String {
    let mut buf = vec![0u8; n];
    random_bytes(&mut buf);
    buf.iter().map(|b| ALPHANUMERIC[(*b as usize) % ALPHANUMERIC.len()] as char).collect()
}

/// A fresh id such as `cus_QXg1o8vcGmoR32`.
pub(crate) fn new_id(prefix: &str, random_len: usize) -> String {
    format!("{prefix}{}", random_alphanumeric(random_len))
}

/// Eight upper-case hex characters, like a customer's `invoice_prefix`.
pub(crate) fn invoice_prefix() -> String {
    let mut buf = [0u8; 4];
    random_bytes(&mut buf);
    hex::encode_upper(buf)
}

/// A random UUID (version 4) in its usual hyphenated form: the kind of
/// meter event identifier Stripe recommends, used when a caller sends none.
pub(crate) fn uuid() -> String {
    let mut b = [0u8; 16];
    random_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Unix seconds of the real clock (the account's clock is [`super::clock::Clock`]).
pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
