//! The checks a poll completion's contents pass before the builder records them.

use std::collections::{BTreeMap, BTreeSet};

use super::{HistoryError, OpId, PartitionReads};

/// Each partition at most once, no negative partition or offset.
pub(super) fn validate_reads(op: OpId, reads: &[PartitionReads]) -> Result<(), HistoryError> {
    let mut seen = BTreeSet::new();
    for (partition, records) in reads {
        if *partition < 0 {
            return Err(HistoryError::NegativePartition(*partition));
        }
        if !seen.insert(*partition) {
            return Err(HistoryError::RepeatedPartition {
                op,
                partition: *partition,
            });
        }
        if let Some(&(offset, _)) = records.iter().find(|(offset, _)| *offset < 0) {
            return Err(HistoryError::NegativeOffset { op, offset });
        }
    }
    Ok(())
}

/// One offset per partition (a high watermark, a log start), indexed; each partition at most
/// once, no negative partition or offset.
pub(super) fn per_partition(
    op: OpId,
    offsets: Vec<(i32, i64)>,
) -> Result<BTreeMap<i32, i64>, HistoryError> {
    let mut by_partition = BTreeMap::new();
    for (partition, offset) in offsets {
        if partition < 0 {
            return Err(HistoryError::NegativePartition(partition));
        }
        if offset < 0 {
            return Err(HistoryError::NegativeOffset { op, offset });
        }
        if by_partition.insert(partition, offset).is_some() {
            return Err(HistoryError::RepeatedPartition { op, partition });
        }
    }
    Ok(by_partition)
}
