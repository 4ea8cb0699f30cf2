//! Checks that a consumer reads each partition contiguously (invariants 8 and 9): between
//! successive polls of one process without a seek or assign in between (`poll-skip`,
//! `nonmonotonic-poll`), and inside one poll (`int-poll-skip`, `int-nonmonotonic-poll`).
//!
//! "Contiguous" means the next offset known to exist in the log, from every OK ack and poll,
//! so a gap with no record in it (a transaction marker, a compacted record) is not a skip.

use std::collections::BTreeMap;

use super::observations::PartitionLog;
use crate::history::{Completion, History, OpId, Operation};
use crate::report::{anomaly, Anomalies};

/// How a read failed to continue at the next offset.
enum Break {
    /// It went back to, or stayed at, an offset at or before the previous one.
    Nonmonotonic,
    /// It jumped over `skipped`, an offset known to exist.
    Skip { skipped: i64 },
}

/// Whether reading `next` right after `previous` breaks contiguity.
fn continuity(log: &PartitionLog, previous: i64, next: i64) -> Option<Break> {
    if next <= previous {
        return Some(Break::Nonmonotonic);
    }
    match log.next_known(previous) {
        Some(expected) if expected < next => Some(Break::Skip { skipped: expected }),
        _ => None,
    }
}

/// Where one process last read a partition.
#[derive(Clone, Copy)]
struct Position {
    op: OpId,
    offset: i64,
    value: u64,
}

/// Runs the poll checks over every process's OK polls, in completion order.
pub(crate) fn check(
    history: &History,
    logs: &BTreeMap<i32, PartitionLog>,
    anomalies: &mut Anomalies,
) {
    let mut by_process: BTreeMap<u64, Vec<(usize, OpId)>> = BTreeMap::new();
    for (index, operation) in history.operations().iter().enumerate() {
        if let (Completion::PollOk { .. }, Some(done)) =
            (&operation.completion, operation.complete_index)
        {
            by_process
                .entry(operation.process)
                .or_default()
                .push((done, OpId(index)));
        }
    }
    for (process, mut polls) in by_process {
        polls.sort_unstable();
        let mut positions: BTreeMap<i32, Position> = BTreeMap::new();
        for (_, op) in polls {
            let operation = &history.operations()[op.0];
            check_poll(process, op, operation, logs, &mut positions, anomalies);
        }
    }
}

/// Checks one poll against itself and against the process's previous positions, then moves them.
fn check_poll(
    process: u64,
    op: OpId,
    operation: &Operation,
    logs: &BTreeMap<i32, PartitionLog>,
    positions: &mut BTreeMap<i32, Position>,
    anomalies: &mut Anomalies,
) {
    let Completion::PollOk {
        reads, after_seek, ..
    } = &operation.completion
    else {
        return;
    };
    if *after_seek {
        positions.clear();
    }
    for (partition, records) in reads {
        let (Some(&(first_offset, first_value)), Some(&(last_offset, last_value)), Some(log)) =
            (records.first(), records.last(), logs.get(partition))
        else {
            continue;
        };
        within_poll(op, *partition, records, log, anomalies);
        let now = Position {
            op,
            offset: last_offset,
            value: last_value,
        };
        if let Some(previous) = positions.insert(*partition, now) {
            between_polls(
                process,
                op,
                *partition,
                previous,
                (first_offset, first_value),
                log,
                anomalies,
            );
        }
    }
}

/// Checks that a poll's first record of a partition follows the process's previous read of it.
fn between_polls(
    process: u64,
    op: OpId,
    partition: i32,
    previous: Position,
    (first_offset, first_value): (i64, u64),
    log: &PartitionLog,
    anomalies: &mut Anomalies,
) {
    let Some(found) = continuity(log, previous.offset, first_offset) else {
        return;
    };
    let example = format!(
        "process {process} partition {partition}: {} ended at offset {} (value {}), {op} began at offset {first_offset} (value {first_value})",
        previous.op, previous.offset, previous.value
    );
    match found {
        Break::Nonmonotonic => anomalies.push(anomaly::NONMONOTONIC_POLL, example),
        Break::Skip { skipped } => {
            anomalies.push(
                anomaly::POLL_SKIP,
                format!("{example}, skipping offset {skipped}"),
            );
        }
    }
}

/// Checks that the records one poll read from one partition are at successive offsets.
fn within_poll(
    op: OpId,
    partition: i32,
    records: &[(i64, u64)],
    log: &PartitionLog,
    anomalies: &mut Anomalies,
) {
    for pair in records.windows(2) {
        let [(previous, previous_value), (next, next_value)] = pair else {
            continue;
        };
        let Some(found) = continuity(log, *previous, *next) else {
            continue;
        };
        let example = format!(
            "{op} partition {partition}: offset {previous} (value {previous_value}) then offset {next} (value {next_value})"
        );
        match found {
            Break::Nonmonotonic => anomalies.push(anomaly::INT_NONMONOTONIC_POLL, example),
            Break::Skip { skipped } => {
                anomalies.push(
                    anomaly::INT_POLL_SKIP,
                    format!("{example}, skipping offset {skipped}"),
                );
            }
        }
    }
}
