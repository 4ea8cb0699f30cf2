//! Checks on where values sit in each partition's log: one value per offset, one offset per
//! value, acknowledgements agreeing with polls, and acknowledged writes being read unless trimmed.

use std::collections::BTreeMap;

use super::observations::PartitionLog;
use super::trims;
use crate::report::{anomaly, Anomalies};

/// Invariant 1: every observed (partition, offset) holds exactly one value; an unclean
/// election, when the run allows them, may truncate an offset and reuse it.
pub(crate) fn inconsistent_offsets(
    partition: i32,
    log: &PartitionLog,
    unclean_allowed: bool,
    anomalies: &mut Anomalies,
) {
    for (offset, values) in &log.by_offset {
        if values.len() < 2 {
            continue;
        }
        let seen: Vec<String> = values
            .iter()
            .map(|(value, ops)| format!("value {value} ({})", op_list(ops.iter().map(|op| op.0))))
            .collect();
        let example = format!("partition {partition} offset {offset}: {}", seen.join(", "));
        anomalies.push_truncation(anomaly::INCONSISTENT_OFFSETS, example, unclean_allowed);
    }
}

/// Invariant 2: every value sits at one offset of its partition (`duplicate`), and
/// `duplicate-nonzero` when at least two of those offsets are not zero.
pub(crate) fn duplicates(partition: i32, log: &PartitionLog, anomalies: &mut Anomalies) {
    for (value, offsets) in &log.offsets_of {
        if offsets.len() < 2 {
            continue;
        }
        let example = format!("partition {partition} value {value} at offsets {offsets:?}");
        if offsets.iter().filter(|offset| **offset != 0).count() >= 2 {
            anomalies.push(anomaly::DUPLICATE_NONZERO, example.clone());
        }
        anomalies.push(anomaly::DUPLICATE, example);
    }
}

/// Invariant 3: a value acknowledged at offset o and polled is polled at o.
pub(crate) fn offset_ack_mismatch(partition: i32, log: &PartitionLog, anomalies: &mut Anomalies) {
    for (value, ack) in &log.acked {
        let Some(polled) = log.polled.get(value) else {
            continue;
        };
        if polled.contains(&ack.offset) {
            continue;
        }
        let example = format!(
            "partition {partition} value {value} acked at offset {} by {}, polled at offsets {polled:?}",
            ack.offset, ack.op
        );
        anomalies.push(anomaly::OFFSET_ACK_MISMATCH, example);
    }
}

/// Invariants 4 and 5: an acknowledged value never polled is a `lost-write` when some poll read
/// at or past its acknowledged offset, and `unseen` otherwise; unless a trim deleted it (see
/// [`trims`](super::trims)).
pub(crate) fn lost_and_unseen(partition: i32, log: &PartitionLog, anomalies: &mut Anomalies) {
    let trimmed = log.trims.trimmed_bound();
    for (value, ack) in &log.acked {
        if log.polled.contains_key(value) || ack.offset < trimmed {
            continue;
        }
        let head = format!(
            "partition {partition} value {value} acked at offset {} by {}",
            ack.offset, ack.op
        );
        match log.polled_max {
            Some(max) if ack.offset <= max => {
                let example = format!("{head}, never polled though polls reached offset {max}");
                anomalies.push(anomaly::LOST_WRITE, example);
            }
            _ => anomalies.push(anomaly::UNSEEN, format!("{head}, never polled")),
        }
    }
}

/// Formats operation numbers as `ops [1, 4]`.
pub(crate) fn op_list(ops: impl Iterator<Item = usize>) -> String {
    let ops: Vec<usize> = ops.collect();
    format!("ops {ops:?}")
}

/// Runs every offset check on every partition.
pub(crate) fn check(
    logs: &BTreeMap<i32, PartitionLog>,
    unclean_allowed: bool,
    anomalies: &mut Anomalies,
) {
    for (partition, log) in logs {
        inconsistent_offsets(*partition, log, unclean_allowed, anomalies);
        duplicates(*partition, log, anomalies);
        offset_ack_mismatch(*partition, log, anomalies);
        lost_and_unseen(*partition, log, anomalies);
        trims::vanished(*partition, log, anomalies);
    }
}
