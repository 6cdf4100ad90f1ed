//! The walk's state, kept in KV between steps (spec: `GET
//! /v1/admin/reconciliation`), and the lease that keeps two overlapping
//! steps from advancing the same cursor.

use serde::{Deserialize, Serialize};

use super::customer::OrphanReason;
use crate::identity::IdentityId;

/// At most this many orphans and duplicates are kept in the state (the KV
/// value stays small however broken an account is); the figures count all.
pub const MAX_REPORTED: usize = 1000;

/// A customer the walk could not link (the spec's orphan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orphan {
    pub customer_id: String,
    pub reason: OrphanReason,
}

/// Several customers claiming one identity; the identity's linked customer
/// (first) stays authoritative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    pub identity_id: IdentityId,
    pub customer_ids: Vec<String>,
}

/// Why a step stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// `RECONCILE_PAGES_PER_RUN` pages done; the next step resumes.
    PageBudget,
    /// The last page was walked: the walk is complete.
    WalkComplete,
    /// Stripe answered 429: the cursor is kept, the next step resumes.
    RateLimited,
    /// Stripe could not list customers: the cursor is kept.
    ListFailed,
    /// Stripe, Kratos or KV could not answer for a customer (down, slow,
    /// or the invocation's subrequest limit): the cursor is kept.
    Unavailable,
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RunFigures {
    pub started_at: i64,
    pub finished_at: i64,
    /// Customers looked at.
    pub scanned: u64,
    /// Customers linked to an identity by this step.
    pub linked: u64,
    /// Records re-synced from Stripe (stale, or just linked).
    pub refreshed: u64,
    /// Customers reported as orphans or duplicates.
    pub reported: u64,
    /// Customers whose handling failed (retried by the next walk).
    pub errors: u64,
    /// Subscriptions canceled (`RECONCILE_CANCEL_ORPHANS=true`).
    pub canceled: u64,
    /// Why the step ended (`None` only while it runs).
    pub stopped: Option<Stopped>,
}

/// The walk, as stored between steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WalkState {
    /// The last walk reached the end; the next step starts over.
    pub complete: bool,
    /// The last customer handled (`starting_after` of the next page).
    pub cursor: Option<String>,
    /// When the walk in progress (or the last complete one) started.
    pub walk_started_at: Option<i64>,
    pub last_run: Option<RunFigures>,
    /// Orphans found by this walk so far (the last walk's, once complete).
    pub orphans: Vec<Orphan>,
    pub duplicates: Vec<Duplicate>,
}

impl WalkState {
    /// The state a step starts from: a complete walk starts over, with
    /// nothing reported yet; a walk in progress resumes at its cursor.
    pub fn begin_step(mut self, now: i64) -> WalkState {
        if self.complete || self.walk_started_at.is_none() {
            self = WalkState { walk_started_at: Some(now), last_run: self.last_run, ..WalkState::default() };
        }
        self
    }

    /// Records an orphan (once per customer; the latest reason wins).
    pub fn report_orphan(&mut self, customer_id: &str, reason: OrphanReason) {
        let full = self.orphans.len() >= MAX_REPORTED;
        match self.orphans.iter_mut().find(|o| o.customer_id == customer_id) {
            Some(o) => o.reason = reason,
            None if !full => self.orphans.push(Orphan { customer_id: customer_id.to_owned(), reason }),
            None => {}
        }
    }

    /// Records that `customer_id` claims `identity`, which is linked to `linked`.
    pub fn report_duplicate(&mut self, identity: &IdentityId, linked: &str, customer_id: &str) {
        let entry = match self.duplicates.iter().position(|d| d.identity_id == *identity) {
            Some(i) => &mut self.duplicates[i],
            None if self.duplicates.len() < MAX_REPORTED => {
                let d = Duplicate { identity_id: identity.clone(), customer_ids: vec![linked.to_owned()] };
                self.duplicates.push(d);
                self.duplicates.last_mut().expect("just pushed")
            }
            None => return,
        };
        for id in [linked, customer_id] {
            if !entry.customer_ids.iter().any(|c| c == id) {
                entry.customer_ids.push(id.to_owned());
            }
        }
    }

    /// Ends a step: where the next one resumes and why this one stopped.
    pub fn end_step(&mut self, mut figures: RunFigures, stopped: Stopped, now: i64) {
        self.complete = stopped == Stopped::WalkComplete;
        if self.complete {
            self.cursor = None;
        }
        figures.finished_at = now;
        figures.stopped = Some(stopped);
        self.last_run = Some(figures);
    }
}

/// Who holds the walk (a step in progress) and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// A random id of the step holding it.
    pub holder: String,
    /// Unix milliseconds after which another step may take it over (a
    /// step that died does not hold the walk for longer).
    pub until_ms: u64,
}

/// How long a step may hold the walk: longer than a step runs, and at
/// least KV's minimum expiration (60 s).
pub const LEASE_SECS: u64 = 120;

/// Whether a step may take the walk at `now_ms`, given the stored lease.
pub fn may_take(current: Option<&Lease>, now_ms: u64) -> bool {
    current.is_none_or(|l| l.until_ms <= now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000;

    fn id(n: u8) -> IdentityId {
        IdentityId::parse(&format!("9f1c2d3e-4b5a-4c6d-8e7f-0123456789{n:02x}")).unwrap()
    }

    #[test]
    fn a_walk_resumes_at_its_cursor_and_starts_over_once_complete() {
        let mut s = WalkState::default().begin_step(NOW);
        assert_eq!((s.cursor.as_deref(), s.walk_started_at, s.complete), (None, Some(NOW), false));
        s.cursor = Some("cus_100".into());
        s.report_orphan("cus_7", OrphanReason::NoIdentityMetadata);
        s.end_step(RunFigures { scanned: 100, ..Default::default() }, Stopped::PageBudget, NOW + 5);
        let resumed = s.clone().begin_step(NOW + 60);
        assert_eq!(resumed.cursor.as_deref(), Some("cus_100"), "a walk in progress resumes");
        assert_eq!((resumed.orphans.len(), resumed.walk_started_at), (1, Some(NOW)));
        s.end_step(RunFigures::default(), Stopped::RateLimited, NOW + 6);
        assert_eq!((s.complete, s.cursor.as_deref()), (false, Some("cus_100")), "a 429 keeps the cursor");
        s.end_step(RunFigures::default(), Stopped::WalkComplete, NOW + 7);
        assert_eq!((s.complete, s.cursor.as_deref(), s.orphans.len()), (true, None, 1), "reports stay until then");
        let again = s.begin_step(NOW + 3600);
        assert_eq!((again.complete, again.orphans.len(), again.walk_started_at), (false, 0, Some(NOW + 3600)));
        assert_eq!(again.last_run.and_then(|r| r.stopped), Some(Stopped::WalkComplete), "the last figures stay");
    }

    #[test]
    fn reports_are_kept_once_each_and_bounded() {
        let mut s = WalkState::default();
        s.report_orphan("cus_1", OrphanReason::NoIdentityMetadata);
        s.report_orphan("cus_1", OrphanReason::AmbiguousEmail);
        assert_eq!(s.orphans, [Orphan { customer_id: "cus_1".into(), reason: OrphanReason::AmbiguousEmail }]);
        s.report_duplicate(&id(1), "cus_a", "cus_b");
        s.report_duplicate(&id(1), "cus_a", "cus_c");
        s.report_duplicate(&id(1), "cus_a", "cus_b");
        assert_eq!(s.duplicates[0].customer_ids, ["cus_a", "cus_b", "cus_c"], "the linked one first");
        for n in 0..(MAX_REPORTED + 5) {
            s.report_orphan(&format!("cus_x{n}"), OrphanReason::IdentityMissing);
        }
        assert_eq!(s.orphans.len(), MAX_REPORTED);
        let v = serde_json::to_value(&s).unwrap();
        for key in ["complete", "cursor", "last_run", "orphans", "duplicates"] {
            assert!(v.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn one_step_at_a_time_unless_the_holder_died() {
        let lease = Lease { holder: "a".into(), until_ms: 10_000 };
        assert!(may_take(None, 0));
        assert!(!may_take(Some(&lease), 9_999));
        assert!(may_take(Some(&lease), 10_000));
    }
}
