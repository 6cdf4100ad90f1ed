//! The counter's decisions. One Durable Object per identity holds that
//! identity's counts and applies these functions to its storage between
//! two awaits, so each decision and its write are one step: whether an
//! amount fits, what the consumer is answered, when a replayed
//! `Idempotency-Key` is the same request, and how consumed units become
//! Stripe meter events exactly once.

use serde::{Deserialize, Serialize};

use super::meter::{Limit, MAX_UNITS};
use super::window::Window;
use crate::identity::IdentityId;

/// The longest `Idempotency-Key` taken (Stripe's own limit).
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// How long a consumer's `Idempotency-Key` is remembered (as Stripe does).
pub const REPLAY_SECS: i64 = 86_400;

/// Stripe takes meter events up to 35 days old; a batch older than this is
/// reported with this age (its identifier still dedupes it).
const OLDEST_REPORT_SECS: i64 = 34 * 86_400;

/// The longest wait between two attempts to report a batch.
const MAX_RETRY_SECS: i64 = 3_600;

/// What the worker asks an identity's counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    pub identity: IdentityId,
    pub meter: String,
    /// Units to consume; 0 reads the balance.
    pub amount: u64,
    /// The identity's limit now (its plan's, read by the worker).
    pub limit: Limit,
    pub window: Window,
    pub idempotency_key: Option<String>,
    /// The Stripe event name the units are billed under, for a billed meter.
    pub billed_as: Option<String>,
    /// The identity's Stripe customer, when it has one: billed units wait
    /// for it.
    pub customer: Option<String>,
    /// Unix seconds.
    pub now: i64,
}

/// What a consumer is answered (200 when allowed, 402 when not), and what
/// `GET` answers (`allowed`: whether one more unit fits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub allowed: bool,
    pub meter: String,
    pub used: u64,
    pub limit: Limit,
    /// `None` (`null`) for an unlimited meter.
    pub remaining: Option<u64>,
    pub resets_at: i64,
    /// `limit_reached` when refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Billed meters, on `GET`: units Stripe acknowledged, all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<u64>,
    /// Billed meters, on `GET`: units consumed and not yet acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreported: Option<u64>,
}

/// The one reason a consumption is refused.
pub const LIMIT_REACHED: &str = "limit_reached";

/// Why an amount is not a valid request (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountError {
    /// Not a whole number from 1 to `MAX_UNITS`.
    Invalid,
}

/// The amount of a consume request's body: `{"amount": n}`, `{}` or no
/// body at all for 1.
pub fn amount_of(body: &[u8]) -> Result<u64, AmountError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(1);
    }
    let body: serde_json::Value = serde_json::from_slice(body).map_err(|_| AmountError::Invalid)?;
    let fields = body.as_object().ok_or(AmountError::Invalid)?;
    if fields.keys().any(|k| k != "amount") {
        return Err(AmountError::Invalid);
    }
    match fields.get("amount") {
        None => Ok(1),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_UNITS).contains(&n) => Ok(n),
            _ => Err(AmountError::Invalid),
        },
    }
}

/// Whether an `Idempotency-Key` is one the counter keeps: 1 to 255
/// printable ASCII characters.
pub fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY && key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
}

/// What a replayed key must ask again to be the same request: the same
/// meter and amount.
pub fn fingerprint(meter: &str, amount: u64) -> String {
    format!("{meter}:{amount}")
}

/// `used` after consuming `amount` within `limit`, or `None` when it does
/// not fit (nothing is consumed then: all or nothing).
pub fn consume(used: u64, amount: u64, limit: Limit) -> Option<u64> {
    let after = used.checked_add(amount)?;
    match limit {
        Limit::Unlimited => Some(after),
        Limit::Units(n) if after <= n => Some(after),
        Limit::Units(_) => None,
    }
}

/// The balance of a meter at `used`, as a consumer is answered:
/// `consumed` says whether this request consumed.
pub fn balance(ask: &Ask, used: u64, consumed: bool) -> Balance {
    let remaining = ask.limit.remaining(used);
    let allowed = match ask.amount {
        0 => remaining.is_none_or(|r| r > 0),
        _ => consumed,
    };
    Balance {
        allowed,
        meter: ask.meter.clone(),
        used,
        limit: ask.limit,
        remaining,
        resets_at: ask.window.resets_at,
        reason: (ask.amount > 0 && !consumed).then(|| LIMIT_REACHED.to_owned()),
        reported: None,
        unreported: None,
    }
}

/// The status a consumer is answered with.
pub fn status_of(b: &Balance) -> u16 {
    if b.reason.is_some() {
        402
    } else {
        200
    }
}

/// The `identifier` of the meter event that reports a batch of units: the
/// identity, the counter's epoch (made once when its storage is new, so a
/// counter that starts again never reuses an identifier Stripe still
/// remembers) and the batch's first unit's sequence number. A retry of the
/// batch sends the same identifier, and Stripe counts it once.
pub fn identifier(identity: &IdentityId, epoch: &str, first_seq: i64) -> String {
    format!("ksb_{identity}_{epoch}_{first_seq}")
}

/// Seconds to wait before attempt `attempts + 1` of a batch that failed
/// `attempts` times: `base`, twice that, four times ... up to an hour.
pub fn retry_delay(attempts: u32, base: i64) -> i64 {
    base.max(1).saturating_mul(1 << attempts.clamp(1, 13).saturating_sub(1)).min(MAX_RETRY_SECS)
}

/// The `timestamp` a batch consumed at `at` is reported with at `now`:
/// never in the future, never older than Stripe takes.
pub fn report_timestamp(at: i64, now: i64) -> i64 {
    at.min(now).max(now - OLDEST_REPORT_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(amount: u64, limit: Limit) -> Ask {
        Ask {
            identity: IdentityId::parse("9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab").unwrap(),
            meter: "exports".into(),
            amount,
            limit,
            window: Window { key: "m2026-12".into(), resets_at: 1_798_761_600 },
            idempotency_key: None,
            billed_as: None,
            customer: None,
            now: 1_796_225_400,
        }
    }

    #[test]
    fn an_amount_fits_whole_or_not_at_all() {
        assert_eq!(consume(0, 1, Limit::Units(5)), Some(1));
        assert_eq!(consume(4, 1, Limit::Units(5)), Some(5));
        assert_eq!(consume(5, 1, Limit::Units(5)), None);
        assert_eq!(consume(3, 3, Limit::Units(5)), None, "nothing of an amount that does not fit");
        assert_eq!(consume(0, 1, Limit::Units(0)), None, "limit 0: a meter the plan does not name");
        assert_eq!(consume(7, 1, Limit::Units(5)), None, "over the limit after a downgrade");
        assert_eq!(consume(10_000, 5, Limit::Unlimited), Some(10_005));
        assert_eq!(consume(u64::MAX, 1, Limit::Unlimited), None);
    }

    #[test]
    fn the_answer_says_what_is_left_and_why_not() {
        let granted = balance(&ask(2, Limit::Units(5)), 4, true);
        assert_eq!((granted.allowed, granted.remaining, granted.reason.as_deref()), (true, Some(1), None));
        assert_eq!(status_of(&granted), 200);
        let refused = balance(&ask(2, Limit::Units(5)), 4, false);
        assert_eq!((refused.allowed, refused.used, refused.reason.as_deref()), (false, 4, Some("limit_reached")));
        assert_eq!(status_of(&refused), 402);
        let v = serde_json::to_value(&refused).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"allowed": false, "meter": "exports", "used": 4, "limit": 5, "remaining": 1,
                "resets_at": 1_798_761_600, "reason": "limit_reached"})
        );
        let read = balance(&ask(0, Limit::Units(5)), 5, false);
        assert_eq!(
            (read.allowed, read.reason.as_deref(), status_of(&read)),
            (false, None, 200),
            "a read is no refusal"
        );
        let unlimited = balance(&ask(0, Limit::Unlimited), 9, false);
        assert_eq!((unlimited.allowed, unlimited.remaining), (true, None));
        assert_eq!(serde_json::to_value(&unlimited).unwrap()["limit"], "unlimited");
    }

    #[test]
    fn amounts_are_whole_numbers_from_1() {
        assert_eq!(amount_of(b""), Ok(1));
        assert_eq!(amount_of(b" \n"), Ok(1));
        assert_eq!(amount_of(b"{}"), Ok(1));
        assert_eq!(amount_of(br#"{"amount": 3}"#), Ok(3));
        for bad in [
            &br#"{"amount": 0}"#[..],
            br#"{"amount": -1}"#,
            br#"{"amount": 1.5}"#,
            br#"{"amount": "2"}"#,
            b"[1]",
            br#"{"amount": 1, "x": 1}"#,
            br#"{"amount": 1000000000001}"#,
            b"nope",
        ] {
            assert_eq!(amount_of(bad), Err(AmountError::Invalid), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn idempotency_keys_are_printable_and_bounded() {
        assert!(valid_idempotency_key("order-42 export"));
        assert!(!valid_idempotency_key(""));
        assert!(!valid_idempotency_key(&"k".repeat(256)));
        assert!(!valid_idempotency_key("a\nb"));
        assert!(!valid_idempotency_key("é"));
        assert_ne!(fingerprint("exports", 1), fingerprint("exports", 2));
        assert_ne!(fingerprint("exports", 1), fingerprint("api_calls", 1));
    }

    #[test]
    fn a_batch_is_named_once_and_reported_within_stripes_window() {
        let id = IdentityId::parse("9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab").unwrap();
        let a = identifier(&id, "k3x9", 17);
        assert_eq!(a, "ksb_9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab_k3x9_17");
        assert!(a.len() <= 100, "Stripe's identifier limit");
        assert_ne!(a, identifier(&id, "other", 17), "a counter that starts again has a new epoch");
        assert_eq!((retry_delay(1, 2), retry_delay(2, 2), retry_delay(3, 2), retry_delay(30, 2)), (2, 4, 8, 3600));
        assert_eq!((retry_delay(0, 1), retry_delay(4, 1), retry_delay(4, 0)), (1, 8, 8));
        let now = 1_796_225_400;
        assert_eq!(report_timestamp(now - 10, now), now - 10);
        assert_eq!(report_timestamp(now + 10, now), now, "never ahead of now");
        assert_eq!(report_timestamp(now - 40 * 86_400, now), now - 34 * 86_400);
    }
}
