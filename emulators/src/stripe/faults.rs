//! Injected failures for the next N API calls (`POST /_emulator/faults`).

use std::time::Duration;

/// How an affected call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// 500 `api_error`.
    ServerError,
    /// 429 `rate_limit_error`.
    RateLimit,
    /// No answer for the duration, then 500.
    Hang(Duration),
    /// The call is served when it arrives (its answer shows the state then)
    /// but the answer leaves only after the duration: a slow network, which
    /// lets a test make an old read arrive after a newer one.
    Slow(Duration),
}

/// One armed fault rule.
#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    pub remaining: u32,
    pub kind: FaultKind,
    pub path_prefix: Option<String>,
}

/// The armed rules, consumed first to last.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
}

impl Faults {
    /// Arms a rule after the ones already armed.
    pub(crate) fn add(&mut self, rule: FaultRule) {
        if rule.remaining > 0 {
            self.rules.push(rule);
        }
    }

    /// Disarms everything.
    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// How many calls are still set to fail.
    pub(crate) fn pending(&self) -> u32 {
        self.rules.iter().map(|r| r.remaining).sum()
    }

    /// Consumes one failure for a call to `path`, if a rule matches.
    pub(crate) fn take(&mut self, path: &str) -> Option<FaultKind> {
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
