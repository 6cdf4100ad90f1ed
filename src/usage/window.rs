//! Which window of a meter a moment falls in: the count that `reset`
//! starts again from 0 at `resets_at`. A window is named by a key, so the
//! counts of two windows never mix, whichever request reaches the counter
//! first.

use serde::{Deserialize, Serialize};

use super::meter::Reset;

const DAY: i64 = 86_400;

/// One window of a meter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Names the window among the meter's: `d<start>`, `m<yyyy-mm>` or
    /// `p<period end>`.
    pub key: String,
    /// When the next window starts (unix seconds).
    pub resets_at: i64,
}

/// The window `now` falls in for a meter that resets with `reset`, for an
/// identity whose record's current period ends at `period_end`. A period
/// that has ended (a lapsed subscription, a lost renewal webhook) is no
/// window: calendar months count until a current one is known.
pub fn window(reset: Reset, period_end: Option<i64>, now: i64) -> Window {
    match reset {
        Reset::Day => {
            let start = now - now.rem_euclid(DAY);
            Window { key: format!("d{start}"), resets_at: start + DAY }
        }
        Reset::BillingPeriod => match period_end {
            Some(end) if end > now => Window { key: format!("p{end}"), resets_at: end },
            _ => month(now),
        },
        Reset::Month => month(now),
    }
}

fn month(now: i64) -> Window {
    let (y, m, _) = civil_from_days(now.div_euclid(DAY));
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Window { key: format!("m{y:04}-{m:02}"), resets_at: days_from_civil(ny, nm, 1) * DAY }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (`civil_from_days`, the inverse of the above).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-02T15:30:00Z.
    const NOW: i64 = 1_796_225_400;

    #[test]
    fn days_and_months_are_utc_calendar_windows() {
        let d = window(Reset::Day, None, NOW);
        assert_eq!(d, Window { key: "d1796169600".into(), resets_at: 1_796_256_000 }, "2026-12-03T00:00Z");
        assert_eq!(window(Reset::Day, None, 1_796_255_999).key, d.key, "the last second of the day");
        assert_ne!(window(Reset::Day, None, 1_796_256_000).key, d.key);
        let m = window(Reset::Month, None, NOW);
        assert_eq!(m, Window { key: "m2026-12".into(), resets_at: 1_798_761_600 }, "2027-01-01T00:00Z");
        assert_eq!(window(Reset::Month, None, 1_798_761_600).key, "m2027-01");
        assert_eq!(window(Reset::Month, None, 1_709_164_800).key, "m2024-02", "2024-02-29");
        assert_eq!(window(Reset::Month, None, 1_709_164_800).resets_at, 1_709_251_200, "2024-03-01: a leap February");
        assert_eq!(window(Reset::Month, None, 0).key, "m1970-01");
    }

    #[test]
    fn a_billing_period_window_ends_with_the_period_and_a_past_period_counts_by_month() {
        let end = NOW + 9 * DAY;
        assert_eq!(window(Reset::BillingPeriod, Some(end), NOW), Window { key: format!("p{end}"), resets_at: end });
        assert_eq!(window(Reset::BillingPeriod, None, NOW).key, "m2026-12", "no period: calendar months");
        assert_eq!(window(Reset::BillingPeriod, Some(NOW), NOW).key, "m2026-12", "a period that has ended");
        assert_eq!(window(Reset::BillingPeriod, Some(NOW - DAY), NOW).key, "m2026-12");
    }

    #[test]
    fn civil_dates_round_trip() {
        for z in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z, "{y}-{m}-{d}");
            assert!((1..=12).contains(&m) && (1..=31).contains(&d));
        }
    }
}
