//! Request ids: the one id that ties a request's log lines to its answer
//! (`X-Request-Id`). Cloudflare's `cf-ray` when the request has one (so the
//! id matches the platform's own logs), else a random one (`wrangler dev`,
//! the cron).

use worker::Request;

/// A random id of 16 hex digits (also the reconciliation lease's holder).
pub fn random() -> String {
    let mut bytes = [0u8; 8];
    // crypto.getRandomValues does not fail for 8 bytes; were it to, a fixed
    // id only makes lines harder to tell apart.
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

/// The request's id: its `cf-ray` (when it is a plausible ray id), else a new one.
pub fn of(req: &Request) -> String {
    req.headers()
        .get("cf-ray")
        .ok()
        .flatten()
        .filter(|ray| !ray.is_empty() && ray.len() <= 64 && ray.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .unwrap_or_else(random)
}
