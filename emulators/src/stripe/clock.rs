//! The emulator's clock, and calendar arithmetic for billing periods
//! (Stripe bills by calendar month/year).
//!
//! Every time the emulated account records or checks (`created`, billing
//! periods, trial ends, `expires_at`, meter event timestamps) reads
//! [`Clock::now`]: the real clock moved forward by what tests advanced it
//! (`POST /_emulator/clock`), so a test can age meter events past Stripe's
//! 35-day window without waiting. Webhook signatures are the exception: they
//! are stamped with the real time, since the receiver checks them against its
//! own clock.

use super::ids;

/// The account's notion of "now": the real clock plus an offset that only grows.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Clock {
    offset: i64,
}

impl Clock {
    /// Unix seconds as the emulated account sees them.
    pub(crate) fn now(&self) -> i64 {
        ids::now() + self.offset
    }

    /// How far the clock runs ahead of the real one, in seconds.
    pub(crate) fn offset(&self) -> i64 {
        self.offset
    }

    /// Moves the clock forward by `seconds` (never back: Stripe's time does not rewind).
    pub(crate) fn advance(&mut self, seconds: u32) {
        self.offset += i64::from(seconds);
    }
}

/// How often a price bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interval {
    Month,
    Year,
}

impl Interval {
    /// Reads Stripe's `"month"` / `"year"`; anything else is not supported.
    pub(crate) fn parse(s: &str) -> Option<Interval> {
        match s {
            "month" => Some(Interval::Month),
            "year" => Some(Interval::Year),
            _ => None,
        }
    }

    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Interval::Month => "month",
            Interval::Year => "year",
        }
    }
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    days_from_civil(if m == 12 { y + 1 } else { y }, if m == 12 { 1 } else { m + 1 }, 1) - days_from_civil(y, m, 1)
}

/// `ts` moved forward by one interval, clamping the day like Stripe does
/// (Jan 31 + 1 month = Feb 28/29).
pub(crate) fn add_interval(ts: i64, interval: Interval) -> i64 {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (ny, nm) = match interval {
        Interval::Month if m == 12 => (y + 1, 1),
        Interval::Month => (y, m + 1),
        Interval::Year => (y + 1, m),
    };
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd) * 86_400 + secs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_clamp_to_the_end_of_shorter_months() {
        // 2025-01-31T12:00:00Z + 1 month = 2025-02-28T12:00:00Z
        assert_eq!(add_interval(1_738_324_800, Interval::Month), 1_740_744_000);
        // 2024-02-29 + 1 year = 2025-02-28
        assert_eq!(add_interval(1_709_164_800, Interval::Year), 1_740_700_800);
    }
}
