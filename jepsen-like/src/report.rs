//! The checker's verdict: anomalies found, with concrete examples, and operation counts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Names of the anomalies this crate can report, as `shared/CHECKER.md` spells them.
pub mod anomaly {
    /// An acknowledged write that a poll should have read, since polls read past its offset.
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

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_valid() { "valid" } else { "INVALID" };
        writeln!(
            f,
            "{verdict}: {} ok sends, {} failed sends, {} indefinite sends, {} ok polls",
            self.ok_sends, self.failed_sends, self.indefinite_sends, self.ok_polls
        )?;
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
