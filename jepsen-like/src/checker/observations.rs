//! Everything the history's OK operations say about each partition's log, indexed for the checks,
//! and which trims were asked for.

use std::collections::{BTreeMap, BTreeSet};

use super::trims::Trims;
use crate::history::{Completion, History, OpId, Request};

/// One acknowledged send.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ack {
    pub(crate) op: OpId,
    pub(crate) offset: i64,
}

/// One partition's log as observed by OK sends and OK polls.
#[derive(Clone, Debug, Default)]
pub(crate) struct PartitionLog {
    /// offset -> value -> operations that put that value at that offset (acks and polls).
    pub(crate) by_offset: BTreeMap<i64, BTreeMap<u64, BTreeSet<OpId>>>,
    /// value -> every offset it was observed at (acks and polls).
    pub(crate) offsets_of: BTreeMap<u64, BTreeSet<i64>>,
    /// value -> offsets it was polled at.
    pub(crate) polled: BTreeMap<u64, BTreeSet<i64>>,
    /// value -> its acknowledgement.
    pub(crate) acked: BTreeMap<u64, Ack>,
    /// The highest offset any OK poll read.
    pub(crate) polled_max: Option<i64>,
    /// The trims asked for and the log starts clients were told.
    pub(crate) trims: Trims,
}

impl PartitionLog {
    /// The smallest offset known to exist in the log above `offset`.
    pub(crate) fn next_known(&self, offset: i64) -> Option<i64> {
        self.by_offset
            .range(offset.saturating_add(1)..)
            .next()
            .map(|(o, _)| *o)
    }

    fn observe(&mut self, op: OpId, offset: i64, value: u64) {
        let values = self.by_offset.entry(offset).or_default();
        values.entry(value).or_default().insert(op);
        self.offsets_of.entry(value).or_default().insert(offset);
    }
}

/// Every partition's observed log.
pub(crate) fn observe(history: &History) -> BTreeMap<i32, PartitionLog> {
    let mut logs: BTreeMap<i32, PartitionLog> = BTreeMap::new();
    for (index, operation) in history.operations().iter().enumerate() {
        let op = OpId(index);
        match (&operation.request, &operation.completion) {
            (Request::Send { partition, value }, Completion::SendOk { offset }) => {
                let log = logs.entry(*partition).or_default();
                log.observe(op, *offset, *value);
                log.acked.insert(
                    *value,
                    Ack {
                        op,
                        offset: *offset,
                    },
                );
            }
            (
                Request::Poll,
                Completion::PollOk {
                    reads,
                    log_start_offsets,
                    ..
                },
            ) => {
                for (partition, records) in reads {
                    let log = logs.entry(*partition).or_default();
                    for &(offset, value) in records {
                        log.observe(op, offset, value);
                        log.polled.entry(value).or_default().insert(offset);
                        log.polled_max = log.polled_max.max(Some(offset));
                    }
                }
                for (partition, &log_start) in log_start_offsets {
                    let trims = &mut logs.entry(*partition).or_default().trims;
                    trims.log_start_told(op, log_start);
                }
            }
            (Request::Trim { partition, offset }, completion) => {
                let trims = &mut logs.entry(*partition).or_default().trims;
                // Only a failed trim definitely did not delete anything.
                if *completion != Completion::Fail {
                    trims.requested = trims.requested.max(Some(*offset));
                }
                if let Completion::TrimOk { low_watermark } = completion {
                    trims.log_start_told(op, *low_watermark);
                }
            }
            _ => {}
        }
    }
    logs
}
