//! Checks on where OK sends land: one process's sends to a partition at increasing offsets in
//! completion order (invariant 10, `nonmonotonic-send`), and a send that completed before another
//! was invoked on the same partition at the lower offset (invariant 11,
//! `realtime-append-violation`). Indefinite and failed sends are not judged.

use std::collections::BTreeMap;

use crate::history::{Completion, History, OpId, Request};
use crate::report::{anomaly, Anomalies};

/// One OK send.
#[derive(Clone, Copy)]
struct Sent {
    op: OpId,
    process: u64,
    partition: i32,
    value: u64,
    offset: i64,
    invoked: usize,
    completed: usize,
}

/// Runs both checks.
pub(crate) fn check(history: &History, anomalies: &mut Anomalies) {
    let sends: Vec<Sent> = history
        .operations()
        .iter()
        .enumerate()
        .filter_map(
            |(index, operation)| match (&operation.request, &operation.completion) {
                (Request::Send { partition, value }, Completion::SendOk { offset }) => Some(Sent {
                    op: OpId(index),
                    process: operation.process,
                    partition: *partition,
                    value: *value,
                    offset: *offset,
                    invoked: operation.invoke_index,
                    completed: operation.complete_index?,
                }),
                _ => None,
            },
        )
        .collect();
    nonmonotonic(&sends, anomalies);
    realtime(&sends, anomalies);
}

/// Invariant 10: successive OK sends of one process to one partition, in completion order.
fn nonmonotonic(sends: &[Sent], anomalies: &mut Anomalies) {
    let mut streams: BTreeMap<(u64, i32), Vec<Sent>> = BTreeMap::new();
    for send in sends {
        streams
            .entry((send.process, send.partition))
            .or_default()
            .push(*send);
    }
    for ((process, partition), mut stream) in streams {
        stream.sort_unstable_by_key(|send| send.completed);
        for pair in stream.windows(2) {
            let [earlier, later] = pair else {
                continue;
            };
            if later.offset > earlier.offset {
                continue;
            }
            let example = format!(
                "process {process} partition {partition}: {} acked value {} at offset {}, then {} acked value {} at offset {}",
                earlier.op, earlier.value, earlier.offset, later.op, later.value, later.offset
            );
            anomalies.push(anomaly::NONMONOTONIC_SEND, example);
        }
    }
}

/// Invariant 11: sweeps each partition's sends in invocation order, keeping the highest offset
/// of the sends completed before each invocation.
fn realtime(sends: &[Sent], anomalies: &mut Anomalies) {
    let mut by_partition: BTreeMap<i32, Vec<Sent>> = BTreeMap::new();
    for send in sends {
        by_partition.entry(send.partition).or_default().push(*send);
    }
    for (partition, invoked) in by_partition {
        let mut completed = invoked.clone();
        completed.sort_unstable_by_key(|send| send.completed);
        let mut completed = completed.into_iter().peekable();
        let mut highest: Option<Sent> = None;
        // Operation ids, hence `invoked`, are in invocation order.
        for send in invoked {
            while let Some(done) = completed.next_if(|done| done.completed < send.invoked) {
                if highest.is_none_or(|best| done.offset > best.offset) {
                    highest = Some(done);
                }
            }
            let Some(best) = highest.filter(|best| best.offset >= send.offset) else {
                continue;
            };
            let example = format!(
                "partition {partition}: {} acked value {} at offset {} before {} was invoked, which acked value {} at offset {}",
                best.op, best.value, best.offset, send.op, send.value, send.offset
            );
            anomalies.push(anomaly::REALTIME_APPEND_VIOLATION, example);
        }
    }
}
