//! Checks that a group's committed offsets never go back (invariant 16,
//! `committed-offset-regression`).
//!
//! Assumption: committed offsets only move forward, except through explicit resets
//! ([`History::invoke_reset`](crate::History::invoke_reset)). The workloads commit increasing
//! offsets per member, and a new owner starts at the committed offset, so in a correct system it
//! only commits at or above it. A commit from outside the group that is not declared a reset is
//! held to the same rule.
//!
//! So an OK read of a group's committed offsets (OffsetFetch) must return, for each partition p
//! it answers for (those asked for, or every partition the history knows an offset of when all
//! were), at least the highest offset o that, before the read was invoked, either
//! - an OK commit of (group, p) completed with (a refused partition was not committed), or
//! - an OK read of (group, p) completed having returned: the offset was committed, by a commit
//!   the history may record as indefinite (a coordinator failover loses many answers).
//!
//! A read returning no offset (−1 or absent) for p is below every offset: there is no separate
//! `lost-commit`, a committed offset that vanished is a `committed-offset-regression`.
//!
//! A reset excuses a lower read: an offset known from operation E does not bind read R when a
//! reset of (group, p) other than E, not definitely failed (nor refused for p), was invoked
//! before R completed and did not complete before E was invoked, so it may have taken effect
//! after E's offset did and before R read. (This is a little wider than "invoked after E was
//! invoked": a reset overlapping a commit may land after it.) Offset expiry
//! (`offsets.retention.minutes`) and group deletion are not modelled: a run that lets them
//! happen sees them as regressions.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::groups::{Groups, Read};
use crate::history::OpId;
use crate::report::{anomaly, Anomalies};

/// An offset of a (group, partition) known to have been committed when `completed` was reached.
struct Known<'h> {
    op: OpId,
    invoked: usize,
    completed: usize,
    offset: i64,
    source: Source<'h>,
}

/// How an offset came to be known.
enum Source<'h> {
    /// An OK commit by a member of the group, or from outside it.
    Commit { member: &'h str, generation: i32 },
    /// An OK reset.
    Reset,
    /// An OK read returned it.
    Read { process: u64 },
}

/// A reset of a (group, partition) that may have taken effect.
struct Reset {
    op: OpId,
    invoked: usize,
    /// Its completion index, `usize::MAX` when indefinite: it may take effect at any time.
    done: usize,
}

/// What the history says about one (group, partition)'s committed offset.
#[derive(Default)]
struct Partition<'h> {
    /// In completion order.
    known: Vec<Known<'h>>,
    resets: Vec<Reset>,
}

/// Runs the check.
pub(crate) fn check(groups: &Groups<'_>, anomalies: &mut Anomalies) {
    let partitions = index(groups);
    for read in &groups.reads {
        let scope: BTreeSet<i32> = match read.asked {
            Some(asked) => asked.clone(),
            None => partitions
                .range((read.group, i32::MIN)..=(read.group, i32::MAX))
                .map(|((_, partition), _)| *partition)
                .collect(),
        };
        for partition in scope {
            if let Some(known) = partitions.get(&(read.group, partition)) {
                check_read(read, partition, known, anomalies);
            }
        }
    }
}

/// Collects per (group, partition) the offsets known committed and the resets.
fn index<'h>(groups: &Groups<'h>) -> BTreeMap<(&'h str, i32), Partition<'h>> {
    let mut partitions: BTreeMap<(&'h str, i32), Partition<'h>> = BTreeMap::new();
    for commit in &groups.commits {
        for (&partition, &offset) in &commit.offsets {
            let entry = partitions.entry((commit.group, partition)).or_default();
            if commit.reset {
                entry.resets.push(Reset {
                    op: commit.op,
                    invoked: commit.invoked,
                    done: commit.ok_at.unwrap_or(usize::MAX),
                });
            }
            let Some(completed) = commit.ok_at else {
                continue;
            };
            let source = if commit.reset {
                Source::Reset
            } else {
                Source::Commit {
                    member: commit.member,
                    generation: commit.generation,
                }
            };
            entry.known.push(Known {
                op: commit.op,
                invoked: commit.invoked,
                completed,
                offset,
                source,
            });
        }
    }
    for read in &groups.reads {
        for &partition in read.offsets.keys() {
            let Some(offset) = read.offset(partition) else {
                continue;
            };
            let entry = partitions.entry((read.group, partition)).or_default();
            entry.known.push(Known {
                op: read.op,
                invoked: read.invoked,
                completed: read.completed,
                offset,
                source: Source::Read {
                    process: read.process,
                },
            });
        }
    }
    for partition in partitions.values_mut() {
        partition.known.sort_by_key(|known| known.completed);
    }
    partitions
}

/// Reports `read` if it returned, for `partition`, less than an offset that binds it.
fn check_read(read: &Read<'_>, partition: i32, known: &Partition<'_>, anomalies: &mut Anomalies) {
    let resets: Vec<&Reset> = known
        .resets
        .iter()
        .filter(|reset| reset.invoked < read.completed)
        .collect();
    let excused = |earlier: &Known<'_>| {
        resets
            .iter()
            .any(|reset| reset.op != earlier.op && reset.done > earlier.invoked)
    };
    let Some(bar) = known
        .known
        .iter()
        .take_while(|earlier| earlier.completed < read.invoked)
        .filter(|earlier| !excused(earlier))
        .max_by_key(|earlier| (earlier.offset, Reverse(earlier.completed)))
    else {
        return;
    };
    let returned = read.offset(partition);
    if returned.is_some_and(|offset| offset >= bar.offset) {
        return;
    }
    let returned = match returned {
        Some(offset) => format!("read committed offset {offset}"),
        None => "read no committed offset".to_owned(),
    };
    let by = match bar.source {
        Source::Commit { generation, .. } if generation < 0 => {
            format!("{} (a commit from outside the group) had committed", bar.op)
        }
        Source::Commit { member, generation } => format!(
            "{} (member {member}, generation {generation}) had committed",
            bar.op
        ),
        Source::Reset => format!("{} (a reset) had committed", bar.op),
        Source::Read { process } => format!("{} (process {process}) had read", bar.op),
    };
    let example = format!(
        "group {} partition {partition}: {} (process {}) {returned}, though {by} offset {} before it was invoked",
        read.group, read.op, read.process, bar.offset
    );
    anomalies.push(anomaly::COMMITTED_OFFSET_REGRESSION, example);
}
