//! The checker for the Kafka queue workload and its consumer groups: [`check`] and
//! [`check_with`] judge a client history; [`check_replicas`] and [`check_healed_replicas`] judge
//! the simulator's replica logs.

mod committed_offsets;
mod double_assignment;
mod groups;
mod hw;
mod observations;
mod offsets;
mod polls;
mod reads;
mod replicas;
mod sends;
mod trims;
mod zombie;

pub use replicas::{check_healed_replicas, check_replicas, ReplicaLog};

use crate::history::{Completion, History, Request};
use crate::report::{anomaly, Anomalies, Report};

/// What the run declares about itself, which decides the anomalies that are expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// Faults healed and every consumer read to the end before the history ended, so an
    /// acknowledged write never read (`unseen`) is a failure (invariant 5). When false, `unseen`
    /// is still reported but expected.
    pub final_reads_done: bool,
    /// The producers were not idempotent and retried, so `duplicate` and `duplicate-nonzero`
    /// are expected (invariant 2).
    pub duplicates_allowed: bool,
    /// The run allows unclean elections (or unclean recovery). Then these are reported as
    /// expected `unclean-truncation` instead of their own anomaly: a high watermark that
    /// decreases (`hw-regression`, invariant 14), an already-read record that changes or
    /// vanishes (`inconsistent-read`, invariant 15), and an offset seen holding two values
    /// because it was truncated and reused (`inconsistent-offsets`, invariant 1). Other checks
    /// are unaffected: the acknowledged records a run may lose it declares with
    /// [`History::declare_losable`](crate::History::declare_losable).
    pub unclean_elections_allowed: bool,
}

impl Default for CheckOptions {
    /// The strictest declaration: final reads done, no duplicates or unclean elections allowed.
    fn default() -> Self {
        Self {
            final_reads_done: true,
            duplicates_allowed: false,
            unclean_elections_allowed: false,
        }
    }
}

/// Checks `history` under the strictest [`CheckOptions`].
pub fn check(history: &History) -> Report {
    check_with(history, CheckOptions::default())
}

/// Checks `history`, treating as expected what `options` declares.
pub fn check_with(history: &History, options: CheckOptions) -> Report {
    let logs = observations::observe(history);
    let mut anomalies = Anomalies::default();
    offsets::check(&logs, options.unclean_elections_allowed, &mut anomalies);
    polls::check(history, &logs, &mut anomalies);
    sends::check(history, &mut anomalies);
    hw::check(history, options.unclean_elections_allowed, &mut anomalies);
    reads::check(history, options.unclean_elections_allowed, &mut anomalies);
    let groups = groups::index(history);
    zombie::check(&groups, &mut anomalies);
    double_assignment::check(&groups, &mut anomalies);
    committed_offsets::check(&groups, &mut anomalies);
    let mut report = Report {
        anomalies: anomalies.into_inner(),
        ..Report::default()
    };
    if !options.final_reads_done {
        report.expected.insert(anomaly::UNSEEN);
    }
    if options.duplicates_allowed {
        report.expected.insert(anomaly::DUPLICATE);
        report.expected.insert(anomaly::DUPLICATE_NONZERO);
    }
    if options.unclean_elections_allowed {
        report.expected.insert(anomaly::UNCLEAN_TRUNCATION);
    }
    count_operations(history, &mut report);
    report
}

/// Fills in the report's operation counts.
fn count_operations(history: &History, report: &mut Report) {
    for operation in history.operations() {
        match (&operation.request, &operation.completion) {
            (Request::Send { .. }, Completion::SendOk { .. }) => report.ok_sends += 1,
            (Request::Send { .. }, Completion::Fail) => report.failed_sends += 1,
            (Request::Send { .. }, Completion::Info | Completion::Pending) => {
                report.indefinite_sends += 1
            }
            (Request::Poll, Completion::PollOk { .. }) => report.ok_polls += 1,
            (Request::Commit { .. }, Completion::CommitOk { .. }) => report.ok_commits += 1,
            (Request::OffsetFetch { .. }, Completion::OffsetFetchOk { .. }) => {
                report.ok_offset_fetches += 1
            }
            (Request::Assignment { .. }, Completion::AssignmentOk { .. }) => {
                report.ok_assignments += 1
            }
            _ => {}
        }
    }
}
