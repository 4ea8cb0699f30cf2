//! The checker's verdict: anomalies found, with concrete examples, and operation counts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Names of the anomalies this crate can report, as `shared/CHECKER.md` spells them.
pub mod anomaly {
    /// An acknowledged write that a poll should have read, since polls read past its offset, or
    /// that a log start past every trim requested deleted.
    pub const LOST_WRITE: &str = "lost-write";
    /// An acknowledged write no poll read (lost, or not yet read when the history ended).
    pub const UNSEEN: &str = "unseen";
    /// One value at two or more offsets of a partition.
    pub const DUPLICATE: &str = "duplicate";
    /// A duplicate with at least two non-zero offsets.
    pub const DUPLICATE_NONZERO: &str = "duplicate-nonzero";
    /// One (partition, offset) seen with two or more values.
    pub const INCONSISTENT_OFFSETS: &str = "inconsistent-offsets";
    /// A value acknowledged at one offset but polled only at others.
    pub const OFFSET_ACK_MISMATCH: &str = "offset-ack-mismatch";
    /// Successive polls of a partition by one process jumped over an existing offset.
    pub const POLL_SKIP: &str = "poll-skip";
    /// Successive polls of a partition by one process went back or stayed put.
    pub const NONMONOTONIC_POLL: &str = "nonmonotonic-poll";
    /// One poll jumped over an existing offset of a partition.
    pub const INT_POLL_SKIP: &str = "int-poll-skip";
    /// One poll went back or repeated an offset of a partition.
    pub const INT_NONMONOTONIC_POLL: &str = "int-nonmonotonic-poll";
    /// A partition's client-visible high watermark decreased.
    pub const HW_REGRESSION: &str = "hw-regression";
    /// A poll returned a record at or above the high watermark of the same fetch response.
    pub const READ_ABOVE_HW: &str = "read-above-hw";
    /// The record at an already-read offset later differed or vanished.
    pub const INCONSISTENT_READ: &str = "inconsistent-read";
    /// An `hw-regression` or `inconsistent-read` in a run that allows unclean elections:
    /// expected, not a failure.
    pub const UNCLEAN_TRUNCATION: &str = "unclean-truncation";
    /// A later send by one process to a partition landed at or below an earlier one's offset.
    pub const NONMONOTONIC_SEND: &str = "nonmonotonic-send";
    /// A send that finished before another began on the same partition got the higher offset.
    pub const REALTIME_APPEND_VIOLATION: &str = "realtime-append-violation";
    /// An offset commit from a stale generation, or for a partition its member does not own,
    /// was accepted.
    pub const ZOMBIE_COMMIT: &str = "zombie-commit";
    /// A group's committed offset for a partition decreased (or vanished) without an explicit
    /// reset.
    pub const COMMITTED_OFFSET_REGRESSION: &str = "committed-offset-regression";
    /// A partition assigned to two or more members in the same group generation.
    pub const DOUBLE_ASSIGNMENT: &str = "double-assignment";
    /// Two replicas of a partition differ below the smaller of their high watermarks.
    pub const LOG_DIVERGENCE: &str = "log-divergence";
    /// After faults healed, a replica's log differs from its leader's.
    pub const DIVERGENT_REPLICAS: &str = "divergent-replicas";
}

/// One occurrence of an anomaly, as the simulator-state checks
/// ([`check_replicas`](crate::check_replicas)) return them; [`Report`] extends with them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Anomaly {
    /// Its name, one of [`anomaly`]'s.
    pub kind: &'static str,
    /// A concrete description: partition, replicas, offsets, values.
    pub example: String,
}

/// Examples shown per anomaly kind by [`Report`]'s `Display`.
const EXAMPLES_SHOWN_MAX: usize = 3;

/// Anomalies being collected: kind -> examples.
#[derive(Debug, Default)]
pub(crate) struct Anomalies(BTreeMap<&'static str, Vec<String>>);

impl Anomalies {
    /// Records one example of `kind`.
    pub(crate) fn push(&mut self, kind: &'static str, example: String) {
        self.0.entry(kind).or_default().push(example);
    }

    /// Records one example of `kind`, a sign of truncation; as expected `unclean-truncation`
    /// (the example naming `kind`) when the run allows unclean elections.
    pub(crate) fn push_truncation(
        &mut self,
        kind: &'static str,
        example: String,
        unclean_allowed: bool,
    ) {
        if unclean_allowed {
            self.push(anomaly::UNCLEAN_TRUNCATION, format!("{kind}: {example}"));
        } else {
            self.push(kind, example);
        }
    }

    /// The examples by kind.
    pub(crate) fn into_inner(self) -> BTreeMap<&'static str, Vec<String>> {
        self.0
    }
}

/// What the checker found in one history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Every anomaly kind found (only kinds with at least one example), with one example each
    /// occurrence: partition, offsets, values and operation numbers.
    pub anomalies: BTreeMap<&'static str, Vec<String>>,
    /// Anomaly kinds the run declared acceptable: they do not make the report invalid.
    pub expected: BTreeSet<&'static str>,
    /// Sends completed OK.
    pub ok_sends: usize,
    /// Sends that definitely failed.
    pub failed_sends: usize,
    /// Sends whose outcome is unknown: completed `info`, or never completed.
    pub indefinite_sends: usize,
    /// Polls completed OK.
    pub ok_polls: usize,
    /// Offset commits (resets included) completed OK.
    pub ok_commits: usize,
    /// Committed-offset reads (OffsetFetch) completed OK.
    pub ok_offset_fetches: usize,
    /// Assignments (SyncGroup) completed OK.
    pub ok_assignments: usize,
}

impl Report {
    /// True when every anomaly found is an expected one.
    pub fn is_valid(&self) -> bool {
        self.anomalies
            .keys()
            .all(|kind| self.expected.contains(kind))
    }

    /// How many occurrences of `kind` were found.
    pub fn count(&self, kind: &str) -> usize {
        self.anomalies.get(kind).map_or(0, Vec::len)
    }
}

impl Extend<Anomaly> for Report {
    /// Adds each anomaly's example under its kind, after those already there.
    fn extend<I: IntoIterator<Item = Anomaly>>(&mut self, anomalies: I) {
        for Anomaly { kind, example } in anomalies {
            self.anomalies.entry(kind).or_default().push(example);
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_valid() { "valid" } else { "INVALID" };
        write!(
            f,
            "{verdict}: {} ok sends, {} failed sends, {} indefinite sends, {} ok polls",
            self.ok_sends, self.failed_sends, self.indefinite_sends, self.ok_polls
        )?;
        // Group counts only for histories with group operations, so queue-only reports read
        // as before.
        if self.ok_commits + self.ok_offset_fetches + self.ok_assignments > 0 {
            write!(
                f,
                ", {} ok commits, {} ok offset fetches, {} ok assignments",
                self.ok_commits, self.ok_offset_fetches, self.ok_assignments
            )?;
        }
        writeln!(f)?;
        for (kind, examples) in &self.anomalies {
            let note = if self.expected.contains(kind) {
                " (expected)"
            } else {
                ""
            };
            let shown: Vec<&str> = examples
                .iter()
                .take(EXAMPLES_SHOWN_MAX)
                .map(String::as_str)
                .collect();
            writeln!(
                f,
                "{kind}{note}: {} e.g. {}",
                examples.len(),
                shown.join("; ")
            )?;
        }
        Ok(())
    }
}
