//! Checks on the high watermarks fetch responses carried: a client-visible high watermark never
//! decreases (`hw-regression`, invariant 14), and no poll returns a record at or above the high
//! watermark of its own response (`read-above-hw`).
//!
//! Regression is judged in real time, across every consumer: a poll must see, for each
//! partition, at least the highest high watermark any poll saw that completed before this one
//! was invoked. Two overlapping polls may see theirs in either order, since either response may
//! have been built first. One process's polls never overlap, so for them this is completion
//! order.

use std::collections::BTreeMap;

use crate::history::{Completion, History, OpId, Operation};
use crate::report::{anomaly, Anomalies};

/// The highest high watermark seen for a partition so far, and the poll that saw it.
#[derive(Clone, Copy)]
struct Seen {
    op: OpId,
    process: u64,
    high_watermark: i64,
}

/// An OK poll that reported at least one high watermark.
struct Poll<'h> {
    op: OpId,
    operation: &'h Operation,
    high_watermarks: &'h BTreeMap<i32, i64>,
}

/// Runs both checks. A regression is reported as expected `unclean-truncation` when
/// `unclean_allowed`.
pub(crate) fn check(history: &History, unclean_allowed: bool, anomalies: &mut Anomalies) {
    let polls: Vec<Poll<'_>> = history
        .operations()
        .iter()
        .enumerate()
        .filter_map(|(index, operation)| match &operation.completion {
            Completion::PollOk {
                high_watermarks, ..
            } if !high_watermarks.is_empty() => Some(Poll {
                op: OpId(index),
                operation,
                high_watermarks,
            }),
            _ => None,
        })
        .collect();
    for poll in &polls {
        read_above_hw(poll, anomalies);
    }
    regressions(&polls, unclean_allowed, anomalies);
}

/// Reports each partition of `poll` that returned a record at or above its high watermark.
fn read_above_hw(poll: &Poll<'_>, anomalies: &mut Anomalies) {
    let Completion::PollOk { reads, .. } = &poll.operation.completion else {
        return;
    };
    for (partition, records) in reads {
        let Some(&high_watermark) = poll.high_watermarks.get(partition) else {
            continue;
        };
        let above: Vec<&(i64, u64)> = records
            .iter()
            .filter(|(offset, _)| *offset >= high_watermark)
            .collect();
        let Some((offset, value)) = above.first() else {
            continue;
        };
        let example = format!(
            "{} partition {partition}: read offset {offset} (value {value}) though its response's high watermark was {high_watermark}; records at or above it: {}",
            poll.op,
            above.len()
        );
        anomalies.push(anomaly::READ_ABOVE_HW, example);
    }
}

/// Sweeps the polls in invocation order, keeping per partition the highest high watermark of
/// the polls completed before each invocation.
fn regressions(polls: &[Poll<'_>], unclean_allowed: bool, anomalies: &mut Anomalies) {
    let mut completions: Vec<(usize, usize)> = polls
        .iter()
        .enumerate()
        .filter_map(|(at, poll)| Some((poll.operation.complete_index?, at)))
        .collect();
    completions.sort_unstable();
    let mut completed = completions.into_iter().peekable();
    let mut highest: BTreeMap<i32, Seen> = BTreeMap::new();
    // `polls` is in invocation order, since operation ids are.
    for poll in polls {
        let invoked = poll.operation.invoke_index;
        while let Some((_, at)) = completed.next_if(|(done, _)| *done < invoked) {
            let earlier = &polls[at];
            for (partition, &high_watermark) in earlier.high_watermarks {
                let seen = Seen {
                    op: earlier.op,
                    process: earlier.operation.process,
                    high_watermark,
                };
                highest
                    .entry(*partition)
                    .and_modify(|best| {
                        if high_watermark > best.high_watermark {
                            *best = seen;
                        }
                    })
                    .or_insert(seen);
            }
        }
        for (partition, &high_watermark) in poll.high_watermarks {
            let Some(best) = highest.get(partition) else {
                continue;
            };
            if high_watermark >= best.high_watermark {
                continue;
            }
            let example = format!(
                "partition {partition}: {} (process {}) saw high watermark {high_watermark} after {} (process {}) had seen {}",
                poll.op, poll.operation.process, best.op, best.process, best.high_watermark
            );
            anomalies.push_truncation(anomaly::HW_REGRESSION, example, unclean_allowed);
        }
    }
}
