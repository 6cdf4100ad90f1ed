//! Injected failures (`POST /_emulator/faults`): the next N API calls, or a
//! seeded share of every call, and how many of each kind were injected.

use std::collections::BTreeMap;
use std::time::Duration;

use super::ids::splitmix;

/// How an affected call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// 500 `api_error`.
    ServerError,
    /// 500 `api_error` once the endpoint started executing (after running
    /// it, when `executed`): the answer is saved under the Idempotency-Key
    /// and replayed to every retry with that key for 24 hours.
    SavedServerError { executed: bool },
    /// 429 `rate_limit_error`.
    RateLimit,
    /// No answer for the duration, then 500.
    Hang(Duration),
    /// The call is served when it arrives (its answer shows the state then)
    /// but the answer leaves only after the duration: a slow network, which
    /// lets a test make an old read arrive after a newer one.
    Slow(Duration),
}

impl FaultKind {
    /// The name the control uses (`"500"`, `"429"`, `"hang"`, `"slow"`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            FaultKind::ServerError | FaultKind::SavedServerError { .. } => "500",
            FaultKind::RateLimit => "429",
            FaultKind::Hang(_) => "hang",
            FaultKind::Slow(_) => "slow",
        }
    }
}

/// One armed fault rule.
#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    pub remaining: u32,
    pub kind: FaultKind,
    pub path_prefix: Option<String>,
}

/// A share of the matching calls fails, chosen by a seeded generator: the
/// same seed and the same sequence of calls fail the same calls the same way.
#[derive(Debug, Clone)]
pub(crate) struct RandomFaults {
    /// The probability (0 to 1) that a matching call fails.
    pub rate: f64,
    /// Each failure picks one of these, uniformly.
    pub kinds: Vec<FaultKind>,
    pub path_prefix: Option<String>,
    /// The SplitMix64 state (starts at the seed).
    pub state: u64,
}

impl RandomFaults {
    fn matches(&self, path: &str) -> bool {
        self.path_prefix.as_deref().is_none_or(|prefix| path.starts_with(prefix))
    }

    /// One roll for one call: the fault it gets, if any.
    fn roll(&mut self) -> Option<FaultKind> {
        self.state = splitmix(self.state);
        // 53 random bits as a fraction in [0, 1).
        let unit = (self.state >> 11) as f64 / (1u64 << 53) as f64;
        if unit >= self.rate || self.kinds.is_empty() {
            return None;
        }
        self.state = splitmix(self.state);
        Some(self.kinds[(self.state % self.kinds.len() as u64) as usize])
    }
}

/// The armed rules, consumed first to last, then the random share.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
    random: Option<RandomFaults>,
    /// Faults injected so far, by kind name; kept across disarming.
    injected: BTreeMap<&'static str, u64>,
}

impl Faults {
    /// Arms a rule after the ones already armed.
    pub(crate) fn add(&mut self, rule: FaultRule) {
        if rule.remaining > 0 {
            self.rules.push(rule);
        }
    }

    /// Makes a share of the calls fail (replacing any share armed before);
    /// a rate of 0 disarms it.
    pub(crate) fn set_random(&mut self, random: RandomFaults) {
        self.random = (random.rate > 0.0).then_some(random);
    }

    /// Disarms everything (the injected counts stay).
    pub(crate) fn clear(&mut self) {
        self.rules.clear();
        self.random = None;
    }

    /// How many calls are still set to fail by counted rules.
    pub(crate) fn pending(&self) -> u32 {
        self.rules.iter().map(|r| r.remaining).sum()
    }

    /// The random share armed now, if any.
    pub(crate) fn random(&self) -> Option<&RandomFaults> {
        self.random.as_ref()
    }

    /// Faults injected so far, by kind name.
    pub(crate) fn injected(&self) -> &BTreeMap<&'static str, u64> {
        &self.injected
    }

    /// The failure for a call to `path`: the first matching counted rule
    /// (consumed), else a roll of the random share when it matches.
    pub(crate) fn take(&mut self, path: &str) -> Option<FaultKind> {
        let kind = self.take_counted(path).or_else(|| self.random.as_mut().filter(|r| r.matches(path))?.roll())?;
        *self.injected.entry(kind.name()).or_default() += 1;
        Some(kind)
    }

    fn take_counted(&mut self, path: &str) -> Option<FaultKind> {
        let index =
            self.rules.iter().position(|r| r.path_prefix.as_deref().is_none_or(|prefix| path.starts_with(prefix)))?;
        let rule = &mut self.rules[index];
        let kind = rule.kind;
        rule.remaining -= 1;
        if rule.remaining == 0 {
            self.rules.remove(index);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(rate: f64, seed: u64) -> RandomFaults {
        RandomFaults { rate, kinds: vec![FaultKind::ServerError, FaultKind::RateLimit], path_prefix: None, state: seed }
    }

    #[test]
    fn a_rate_fails_about_that_share_and_a_seed_repeats_itself() {
        let run = |seed| {
            let mut f = Faults::default();
            f.set_random(random(0.2, seed));
            (0..10_000).map(|_| f.take("/v1/customers")).collect::<Vec<_>>()
        };
        let a = run(42);
        let failed = a.iter().filter(|k| k.is_some()).count();
        assert!((1_800..2_200).contains(&failed), "{failed} of 10,000 failed at rate 0.2");
        assert_eq!(a, run(42), "the same seed fails the same calls");
        assert_ne!(a, run(43), "another seed fails others");
        assert!(a.contains(&Some(FaultKind::ServerError)) && a.contains(&Some(FaultKind::RateLimit)));
    }

    #[test]
    fn counted_rules_come_first_and_everything_is_counted_by_kind() {
        let mut f = Faults::default();
        f.set_random(random(1.0, 1));
        f.add(FaultRule { remaining: 1, kind: FaultKind::Hang(Duration::ZERO), path_prefix: None });
        assert_eq!(f.take("/v1/x"), Some(FaultKind::Hang(Duration::ZERO)));
        for _ in 0..9 {
            assert!(f.take("/v1/x").is_some(), "rate 1 fails every call");
        }
        assert_eq!(f.injected().values().sum::<u64>(), 10);
        assert_eq!(f.injected().get("hang"), Some(&1));
        f.clear();
        assert_eq!(f.take("/v1/x"), None);
        assert_eq!(f.injected().values().sum::<u64>(), 10, "counts outlive disarming");
    }
}
