//! Checks that a read record stays read (invariant 15, `inconsistent-read`): once a poll read
//! value v at offset o of a partition, every poll completing later that covers o (returns records
//! of that partition at offsets both at or below o and at or above o) returns v at o.
//!
//! This overlaps `inconsistent-offsets` when the later poll returns another value at o, and adds
//! the record that vanished: a later poll reading across o without returning anything there.
//! An offset that never held a record (a transaction marker) is never read, so it is not judged.
//! When the run allows unclean elections, each finding is expected `unclean-truncation`.

use std::collections::{BTreeMap, BTreeSet};

use crate::history::{Completion, History, OpId};
use crate::report::{anomaly, Anomalies};

/// The first read of one offset, in completion order.
#[derive(Clone, Copy)]
struct FirstRead {
    value: u64,
    op: OpId,
}

/// Runs the check over every OK poll, in completion order.
pub(crate) fn check(history: &History, unclean_allowed: bool, anomalies: &mut Anomalies) {
    let mut polls: Vec<(usize, OpId)> = history
        .operations()
        .iter()
        .enumerate()
        .filter_map(|(index, operation)| match operation.completion {
            Completion::PollOk { .. } => Some((operation.complete_index?, OpId(index))),
            _ => None,
        })
        .collect();
    polls.sort_unstable();
    let mut first_reads: BTreeMap<i32, BTreeMap<i64, FirstRead>> = BTreeMap::new();
    for (_, op) in polls {
        let Completion::PollOk { reads, .. } = &history.operations()[op.0].completion else {
            continue;
        };
        for (partition, records) in reads {
            let known = first_reads.entry(*partition).or_default();
            for example in rereads(op, *partition, records, known) {
                anomalies.push_truncation(anomaly::INCONSISTENT_READ, example, unclean_allowed);
            }
            for &(offset, value) in records {
                known.entry(offset).or_insert(FirstRead { value, op });
            }
        }
    }
}

/// Describes each earlier-read offset that poll `op`'s `records` cover without its value.
fn rereads(
    op: OpId,
    partition: i32,
    records: &[(i64, u64)],
    known: &BTreeMap<i64, FirstRead>,
) -> Vec<String> {
    let (Some(low), Some(high)) = (
        records.iter().map(|(offset, _)| *offset).min(),
        records.iter().map(|(offset, _)| *offset).max(),
    ) else {
        return Vec::new();
    };
    let returned: BTreeSet<(i64, u64)> = records.iter().copied().collect();
    let mut examples = Vec::new();
    for (&offset, first) in known.range(low..=high) {
        if returned.contains(&(offset, first.value)) {
            continue;
        }
        let there: Vec<String> = returned
            .range((offset, 0)..=(offset, u64::MAX))
            .map(|(_, value)| value.to_string())
            .collect();
        let now = match there.len() {
            0 => format!("read offsets {low} to {high} without it"),
            1 => format!("read value {} there", there[0]),
            _ => format!("read values {} there", there.join(", ")),
        };
        examples.push(format!(
            "partition {partition} offset {offset}: {} read value {}, later {op} {now}",
            first.op, first.value
        ));
    }
    examples
}
