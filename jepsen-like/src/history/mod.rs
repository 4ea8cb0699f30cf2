//! Operation histories for the Kafka queue workload, as Jepsen's Kafka test models them.
//!
//! Each client operation is an invocation followed, at most once, by a completion: `ok`, `fail`
//! (it definitely did not take effect) or `info` (indefinite: it may or may not have). An
//! operation never completed by the end of the history is indefinite too. The builder refuses a
//! malformed history with a [`HistoryError`] instead of recording it, so the checker only ever
//! sees well-formed histories.
//!
//! Besides the queue workload's sends, polls and trims, a history records consumer-group
//! operations: offset commits and resets ([`History::invoke_commit`], [`History::invoke_reset`]),
//! committed-offset reads ([`History::invoke_offset_fetch`]), assignments with the positions a
//! member starts from ([`History::invoke_assignment`], [`History::ok_assignment_positions`]) and
//! revocations ([`History::revoke`]).
//!
//! A group member's life, as a history records it:
//!
//! ```
//! # use sluice_jepsen::History;
//! let mut history = History::new();
//! // SyncGroup for generation 1 answered partitions 0 and 1.
//! let sync = history.invoke_assignment(7, "g", "m-1", 1).unwrap();
//! history.ok_assignment(sync, vec![0, 1]).unwrap();
//! // OffsetFetch of its partitions: 0 has offset 4 committed, 1 has none.
//! let read = history.invoke_offset_fetch(7, "g", Some(vec![0, 1])).unwrap();
//! history.ok_offset_fetch(read, vec![(0, 4), (1, -1)]).unwrap();
//! // It starts partition 0 at 4, and partition 1 at 0 (auto.offset.reset=earliest).
//! history.ok_assignment_positions(sync, vec![(0, 4), (1, 0)]).unwrap();
//! // It polls partition 0 from offset 4 (a poll straight after a seek would say so).
//! let poll = history.invoke_poll(7);
//! history.ok_poll(poll, vec![(0, vec![(4, 40), (5, 50)])], false).unwrap();
//! let commit = history.invoke_commit(7, "g", "m-1", 1, vec![(0, 6), (1, 2)]).unwrap();
//! history.ok_commit(commit).unwrap();
//! // A rebalance: it gives both partitions up before rejoining.
//! history.revoke(7, "g", "m-1", 1, vec![0, 1]).unwrap();
//! // Later, outside the group, an operator resets partition 0 to offset 0.
//! let reset = history.invoke_reset(9, "g", vec![(0, 0)]).unwrap();
//! history.ok_commit(reset).unwrap();
//! ```

mod error;
mod group;
mod operation;
mod validate;

use std::collections::BTreeMap;

pub use error::HistoryError;
pub use operation::{
    AssignmentStart, Completion, OpId, Operation, PartitionHighWatermark, PartitionLogStart,
    PartitionOffset, PartitionReads, Request, GENERATION_NONE,
};
use validate::{per_partition, validate_reads};

/// A history of client operations, built event by event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    operations: Vec<Operation>,
    events: usize,
    send_values: BTreeMap<(i32, u64), OpId>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every operation, indexed by [`OpId`].
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// Number of events (invocations and completions) recorded so far.
    pub fn events(&self) -> usize {
        self.events
    }

    /// Records the invocation of a send of `value` to `partition` by `process`.
    ///
    /// Fails if the partition is negative or the value was already sent to that partition.
    pub fn invoke_send(
        &mut self,
        process: u64,
        partition: i32,
        value: u64,
    ) -> Result<OpId, HistoryError> {
        if partition < 0 {
            return Err(HistoryError::NegativePartition(partition));
        }
        if let Some(&first) = self.send_values.get(&(partition, value)) {
            return Err(HistoryError::DuplicateSendValue {
                partition,
                value,
                first,
            });
        }
        let op = self.invoke(process, Request::Send { partition, value });
        self.send_values.insert((partition, value), op);
        Ok(op)
    }

    /// Records the invocation of a poll by `process`.
    pub fn invoke_poll(&mut self, process: u64) -> OpId {
        self.invoke(process, Request::Poll)
    }

    /// Records the invocation by `process` of a trim (Kafka DeleteRecords) deleting the records
    /// of `partition` below `offset`.
    ///
    /// Fails if the partition or the offset is negative.
    pub fn invoke_trim(
        &mut self,
        process: u64,
        partition: i32,
        offset: i64,
    ) -> Result<OpId, HistoryError> {
        if partition < 0 {
            return Err(HistoryError::NegativePartition(partition));
        }
        if offset < 0 {
            return Err(HistoryError::NegativeTrimOffset { partition, offset });
        }
        Ok(self.invoke(process, Request::Trim { partition, offset }))
    }

    /// Completes send `op` as acknowledged at `offset`.
    pub fn ok_send(&mut self, op: OpId, offset: i64) -> Result<(), HistoryError> {
        let operation = self.pending(op)?;
        if !matches!(operation.request, Request::Send { .. }) {
            return Err(HistoryError::NotASend(op));
        }
        if offset < 0 {
            return Err(HistoryError::NegativeOffset { op, offset });
        }
        self.complete(op, Completion::SendOk { offset });
        Ok(())
    }

    /// Completes trim `op` as successful, its answer giving the partition's log start offset as
    /// `low_watermark`.
    ///
    /// Fails if `op` is not a pending trim or the low watermark is negative.
    pub fn ok_trim(&mut self, op: OpId, low_watermark: i64) -> Result<(), HistoryError> {
        let operation = self.pending(op)?;
        if !matches!(operation.request, Request::Trim { .. }) {
            return Err(HistoryError::NotATrim(op));
        }
        if low_watermark < 0 {
            return Err(HistoryError::NegativeOffset {
                op,
                offset: low_watermark,
            });
        }
        self.complete(op, Completion::TrimOk { low_watermark });
        Ok(())
    }

    /// Turns every acknowledged send that `losable(partition, offset, value)` accepts into an
    /// indefinite one (info), and returns them: a run declares in advance which acknowledged
    /// records a fault it injected may take (a whole-cluster power loss in page-cache mode
    /// takes what no replica had synced), and the checker then holds every other acknowledged
    /// record to the usual standard.
    pub fn declare_losable(&mut self, losable: impl Fn(i32, i64, u64) -> bool) -> Vec<OpId> {
        let mut declared = Vec::new();
        for (index, operation) in self.operations.iter_mut().enumerate() {
            let (Request::Send { partition, value }, Completion::SendOk { offset }) =
                (&operation.request, &operation.completion)
            else {
                continue;
            };
            if losable(*partition, *offset, *value) {
                operation.completion = Completion::Info;
                declared.push(OpId(index));
            }
        }
        declared
    }

    /// Completes poll `op` as successful, having read `reads`; `after_seek` says the poll
    /// directly followed a seek or an assign. No high watermark is recorded: see
    /// [`History::ok_poll_with_hw`].
    pub fn ok_poll(
        &mut self,
        op: OpId,
        reads: Vec<PartitionReads>,
        after_seek: bool,
    ) -> Result<(), HistoryError> {
        self.ok_poll_with_hw(op, reads, Vec::new(), after_seek)
    }

    /// Completes poll `op` as successful, having read `reads`, with the high watermark each
    /// partition's fetch response carried (`high_watermarks`, each partition at most once, and
    /// not necessarily one of `reads`'); `after_seek` says the poll directly followed a seek or
    /// an assign. No log start offset is recorded: see [`History::ok_poll_observed`].
    ///
    /// Fails on a negative partition or offset, including a negative high watermark, or on a
    /// partition listed twice in `reads` or in `high_watermarks`.
    pub fn ok_poll_with_hw(
        &mut self,
        op: OpId,
        reads: Vec<PartitionReads>,
        high_watermarks: Vec<PartitionHighWatermark>,
        after_seek: bool,
    ) -> Result<(), HistoryError> {
        self.ok_poll_observed(op, reads, high_watermarks, Vec::new(), after_seek)
    }

    /// Completes poll `op` as [`History::ok_poll_with_hw`] does, also recording the log start
    /// offset each partition's answer carried (`log_start_offsets`, each partition at most once,
    /// not necessarily one of `reads`' or `high_watermarks`'). A ListOffsets(earliest) answer is
    /// such a poll, with no reads.
    ///
    /// Fails as [`History::ok_poll_with_hw`] does, and on a negative partition or log start, or
    /// a partition listed twice, in `log_start_offsets`.
    pub fn ok_poll_observed(
        &mut self,
        op: OpId,
        reads: Vec<PartitionReads>,
        high_watermarks: Vec<PartitionHighWatermark>,
        log_start_offsets: Vec<PartitionLogStart>,
        after_seek: bool,
    ) -> Result<(), HistoryError> {
        let operation = self.pending(op)?;
        if operation.request != Request::Poll {
            return Err(HistoryError::NotAPoll(op));
        }
        validate_reads(op, &reads)?;
        let high_watermarks = per_partition(op, high_watermarks)?;
        let log_start_offsets = per_partition(op, log_start_offsets)?;
        self.complete(
            op,
            Completion::PollOk {
                reads,
                after_seek,
                high_watermarks,
                log_start_offsets,
            },
        );
        Ok(())
    }

    /// Completes `op` as definitely failed.
    pub fn fail(&mut self, op: OpId) -> Result<(), HistoryError> {
        self.pending(op)?;
        self.complete(op, Completion::Fail);
        Ok(())
    }

    /// Completes `op` as indefinite: it may or may not have taken effect.
    pub fn info(&mut self, op: OpId) -> Result<(), HistoryError> {
        self.pending(op)?;
        self.complete(op, Completion::Info);
        Ok(())
    }

    fn invoke(&mut self, process: u64, request: Request) -> OpId {
        let op = OpId(self.operations.len());
        self.operations.push(Operation {
            process,
            request,
            completion: Completion::Pending,
            invoke_index: self.events,
            complete_index: None,
        });
        self.events += 1;
        op
    }

    fn pending(&self, op: OpId) -> Result<&Operation, HistoryError> {
        let operation = self
            .operations
            .get(op.0)
            .ok_or(HistoryError::UnknownOp(op))?;
        if operation.completion != Completion::Pending {
            return Err(HistoryError::AlreadyCompleted(op));
        }
        Ok(operation)
    }

    fn complete(&mut self, op: OpId, completion: Completion) {
        let index = self.events;
        let operation = &mut self.operations[op.0];
        operation.completion = completion;
        operation.complete_index = Some(index);
        self.events += 1;
    }
}

#[cfg(test)]
mod tests;
