//! Checks that a consumer reads each partition contiguously (invariants 8 and 9): between
//! successive polls of one process without a seek or assign in between (`poll-skip`,
//! `nonmonotonic-poll`), and inside one poll (`int-poll-skip`, `int-nonmonotonic-poll`).
//!
//! "Contiguous" means the next offset known to exist in the log, from every OK ack and poll,
//! so a gap with no record in it (a transaction marker, a compacted record) is not a skip.
//!
//! A group member's assignment is an assign of its process: the OK completion of an assignment
//! forgets the process's positions, as a poll's `after_seek` does. The start positions recorded
//! for it afterwards are a seek whose target is known: the first OK poll of such a partition
//! completed after them must begin at the start position s, or at the next offset known to exist
//! above it, exactly as if the previous poll had ended at s − 1. Beginning below s is
//! `nonmonotonic-poll`; beginning past a record at or above s is `poll-skip`.

use std::collections::BTreeMap;

use super::observations::PartitionLog;
use crate::history::{Completion, History, OpId, Operation, Request};
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

/// Where one process stands on a partition: the last offset it read, or just below the start
/// position an assignment gave it.
#[derive(Clone, Copy)]
struct Position {
    op: OpId,
    offset: i64,
    origin: Origin,
}

/// How a process came to its position on a partition.
#[derive(Clone, Copy)]
enum Origin {
    /// Poll `op` read `value` at `offset`.
    Read { value: u64 },
    /// Assignment `op` started the partition at `offset` + 1.
    Start,
}

/// What moves one process's positions, in history order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// The OK completion of a poll.
    Poll(OpId),
    /// The OK completion of an assignment: an assign, forgetting every position.
    Assigned,
    /// The start positions recorded for assignment `op`.
    Start(OpId),
}

/// Runs the poll checks over every process's OK polls, assignments and start positions, in
/// history order.
pub(crate) fn check(
    history: &History,
    logs: &BTreeMap<i32, PartitionLog>,
    anomalies: &mut Anomalies,
) {
    for (process, steps) in steps_by_process(history) {
        let mut positions: BTreeMap<i32, Position> = BTreeMap::new();
        for (_, step) in steps {
            match step {
                Step::Poll(op) => {
                    let operation = &history.operations()[op.0];
                    check_poll(process, op, operation, logs, &mut positions, anomalies);
                }
                Step::Assigned => positions.clear(),
                Step::Start(op) => start(op, &history.operations()[op.0], &mut positions),
            }
        }
    }
}

/// Every process's steps, each with the index of its event, in history order.
fn steps_by_process(history: &History) -> BTreeMap<u64, Vec<(usize, Step)>> {
    let mut by_process: BTreeMap<u64, Vec<(usize, Step)>> = BTreeMap::new();
    for (index, operation) in history.operations().iter().enumerate() {
        let op = OpId(index);
        let Some(done) = operation.complete_index else {
            continue;
        };
        let steps = by_process.entry(operation.process).or_default();
        match (&operation.request, &operation.completion) {
            (_, Completion::PollOk { .. }) => steps.push((done, Step::Poll(op))),
            (Request::Assignment { .. }, Completion::AssignmentOk { start, .. }) => {
                steps.push((done, Step::Assigned));
                if let Some(start) = start {
                    steps.push((start.event_index, Step::Start(op)));
                }
            }
            _ => {}
        }
    }
    for steps in by_process.values_mut() {
        steps.sort_unstable();
    }
    by_process
}

/// Moves the process's positions to assignment `op`'s start positions.
fn start(op: OpId, operation: &Operation, positions: &mut BTreeMap<i32, Position>) {
    let Completion::AssignmentOk {
        start: Some(start), ..
    } = &operation.completion
    else {
        return;
    };
    for (&partition, &position) in &start.positions {
        let at = Position {
            op,
            offset: position - 1,
            origin: Origin::Start,
        };
        positions.insert(partition, at);
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
            origin: Origin::Read { value: last_value },
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
    let before = match previous.origin {
        Origin::Read { value } => format!(
            "{} ended at offset {} (value {value})",
            previous.op, previous.offset
        ),
        Origin::Start => format!(
            "assignment {} started it at offset {}",
            previous.op,
            previous.offset + 1
        ),
    };
    let example = format!(
        "process {process} partition {partition}: {before}, {op} began at offset {first_offset} (value {first_value})"
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
