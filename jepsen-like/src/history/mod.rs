//! Operation histories for the Kafka queue workload, as Jepsen's Kafka test models them.
//!
//! Each client operation is an invocation followed, at most once, by a completion: `ok`, `fail`
//! (it definitely did not take effect) or `info` (indefinite: it may or may not have). An
//! operation never completed by the end of the history is indefinite too. The builder refuses a
//! malformed history with a [`HistoryError`] instead of recording it, so the checker only ever
//! sees well-formed histories.

mod error;
mod operation;

use std::collections::{BTreeMap, BTreeSet};

pub use error::HistoryError;
pub use operation::{Completion, OpId, Operation, PartitionHighWatermark, PartitionReads, Request};

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
    /// an assign.
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
        let operation = self.pending(op)?;
        if operation.request != Request::Poll {
            return Err(HistoryError::NotAPoll(op));
        }
        validate_reads(op, &reads)?;
        let high_watermarks = validate_high_watermarks(op, high_watermarks)?;
        self.complete(
            op,
            Completion::PollOk {
                reads,
                after_seek,
                high_watermarks,
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

fn validate_reads(op: OpId, reads: &[PartitionReads]) -> Result<(), HistoryError> {
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

fn validate_high_watermarks(
    op: OpId,
    high_watermarks: Vec<PartitionHighWatermark>,
) -> Result<BTreeMap<i32, i64>, HistoryError> {
    let mut by_partition = BTreeMap::new();
    for (partition, high_watermark) in high_watermarks {
        if partition < 0 {
            return Err(HistoryError::NegativePartition(partition));
        }
        if high_watermark < 0 {
            return Err(HistoryError::NegativeOffset {
                op,
                offset: high_watermark,
            });
        }
        if by_partition.insert(partition, high_watermark).is_some() {
            return Err(HistoryError::RepeatedPartition { op, partition });
        }
    }
    Ok(by_partition)
}

#[cfg(test)]
mod tests;
