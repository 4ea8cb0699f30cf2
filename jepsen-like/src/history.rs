//! Operation histories for the Kafka queue workload, as Jepsen's Kafka test models them.
//!
//! Each client operation is an invocation followed, at most once, by a completion: `ok`, `fail`
//! (it definitely did not take effect) or `info` (indefinite: it may or may not have). An
//! operation never completed by the end of the history is indefinite too. The builder refuses a
//! malformed history with a [`HistoryError`] instead of recording it, so the checker only ever
//! sees well-formed histories.

use std::collections::BTreeMap;
use std::fmt;

/// Identifies one operation: its position among the history's operations, in invocation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub usize);

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op {}", self.0)
    }
}

/// The records one poll read from one partition: `(offset, value)` pairs in the order returned.
pub type PartitionReads = (i32, Vec<(i64, u64)>);

/// What an operation asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Produce the unique `value` to `partition`.
    Send {
        /// Partition written to.
        partition: i32,
        /// The value, unique within its partition across the whole history.
        value: u64,
    },
    /// Poll the consumer once.
    Poll,
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Not completed by the end of the history: indefinite.
    Pending,
    /// A send succeeded and was acknowledged at `offset`.
    SendOk {
        /// The acknowledged offset.
        offset: i64,
    },
    /// A poll succeeded.
    PollOk {
        /// Per partition (each at most once), the records read in the order returned.
        reads: Vec<PartitionReads>,
        /// The poll directly followed a seek or an assign: its positions are fresh.
        after_seek: bool,
    },
    /// The operation definitely did not take effect.
    Fail,
    /// The outcome is unknown (timeout, network error, ...): indefinite.
    Info,
}

/// One client operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The client (process) that performed it.
    pub process: u64,
    /// What it asked for.
    pub request: Request,
    /// How it ended.
    pub completion: Completion,
    /// Index of its invocation event in the history.
    pub invoke_index: usize,
    /// Index of its completion event in the history, if it completed.
    pub complete_index: Option<usize>,
}

/// Why the builder refused an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryError {
    /// The operation was never invoked in this history.
    UnknownOp(OpId),
    /// The operation already has a completion.
    AlreadyCompleted(OpId),
    /// A send completion was given for an operation that is not a send.
    NotASend(OpId),
    /// A poll completion was given for an operation that is not a poll.
    NotAPoll(OpId),
    /// A partition number below zero.
    NegativePartition(i32),
    /// An acknowledged or polled offset below zero.
    NegativeOffset {
        /// The operation carrying it.
        op: OpId,
        /// The offset.
        offset: i64,
    },
    /// One poll completion listed the same partition twice.
    RepeatedPartition {
        /// The poll.
        op: OpId,
        /// The partition listed twice.
        partition: i32,
    },
    /// A value was sent twice to one partition; values identify records, so they must be unique.
    DuplicateSendValue {
        /// The partition.
        partition: i32,
        /// The repeated value.
        value: u64,
        /// The earlier send of that value.
        first: OpId,
    },
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownOp(op) => write!(f, "{op} was never invoked"),
            Self::AlreadyCompleted(op) => write!(f, "{op} is already completed"),
            Self::NotASend(op) => write!(f, "{op} is not a send"),
            Self::NotAPoll(op) => write!(f, "{op} is not a poll"),
            Self::NegativePartition(p) => write!(f, "negative partition {p}"),
            Self::NegativeOffset { op, offset } => {
                write!(f, "{op} carries negative offset {offset}")
            }
            Self::RepeatedPartition { op, partition } => {
                write!(f, "{op} lists partition {partition} twice")
            }
            Self::DuplicateSendValue {
                partition,
                value,
                first,
            } => {
                write!(
                    f,
                    "value {value} sent to partition {partition} again (first by {first})"
                )
            }
        }
    }
}

impl std::error::Error for HistoryError {}

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

    /// Completes poll `op` as successful, having read `reads`; `after_seek` says the poll
    /// directly followed a seek or an assign.
    pub fn ok_poll(
        &mut self,
        op: OpId,
        reads: Vec<PartitionReads>,
        after_seek: bool,
    ) -> Result<(), HistoryError> {
        let operation = self.pending(op)?;
        if operation.request != Request::Poll {
            return Err(HistoryError::NotAPoll(op));
        }
        validate_reads(op, &reads)?;
        self.complete(op, Completion::PollOk { reads, after_seek });
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
    let mut seen = std::collections::BTreeSet::new();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completing_an_unknown_op_is_an_error() {
        let mut history = History::new();
        assert_eq!(history.fail(OpId(0)), Err(HistoryError::UnknownOp(OpId(0))));
        assert_eq!(
            history.ok_send(OpId(3), 0),
            Err(HistoryError::UnknownOp(OpId(3)))
        );
    }

    #[test]
    fn completing_an_op_twice_is_an_error() {
        let mut history = History::new();
        let send = history.invoke_send(1, 0, 7).unwrap();
        history.ok_send(send, 0).unwrap();
        assert_eq!(
            history.info(send),
            Err(HistoryError::AlreadyCompleted(send))
        );
        let poll = history.invoke_poll(2);
        history.fail(poll).unwrap();
        assert_eq!(
            history.ok_poll(poll, vec![], false),
            Err(HistoryError::AlreadyCompleted(poll))
        );
    }

    #[test]
    fn completion_kind_must_match_the_request() {
        let mut history = History::new();
        let send = history.invoke_send(1, 0, 7).unwrap();
        let poll = history.invoke_poll(2);
        assert_eq!(
            history.ok_poll(send, vec![], false),
            Err(HistoryError::NotAPoll(send))
        );
        assert_eq!(history.ok_send(poll, 0), Err(HistoryError::NotASend(poll)));
    }

    #[test]
    fn malformed_values_are_refused() {
        let mut history = History::new();
        assert_eq!(
            history.invoke_send(1, -1, 7),
            Err(HistoryError::NegativePartition(-1))
        );
        let first = history.invoke_send(1, 0, 7).unwrap();
        let again = history.invoke_send(2, 0, 7);
        assert_eq!(
            again,
            Err(HistoryError::DuplicateSendValue {
                partition: 0,
                value: 7,
                first
            })
        );
        assert_eq!(
            history.ok_send(first, -2),
            Err(HistoryError::NegativeOffset {
                op: first,
                offset: -2
            })
        );
        let poll = history.invoke_poll(3);
        let twice = vec![(0, vec![(0, 7)]), (0, vec![])];
        assert_eq!(
            history.ok_poll(poll, twice, false),
            Err(HistoryError::RepeatedPartition {
                op: poll,
                partition: 0
            })
        );
    }

    #[test]
    fn events_are_indexed_in_order() {
        let mut history = History::new();
        let send = history.invoke_send(1, 0, 7).unwrap();
        let poll = history.invoke_poll(2);
        history.ok_send(send, 0).unwrap();
        let operations = history.operations();
        assert_eq!(operations[send.0].invoke_index, 0);
        assert_eq!(operations[poll.0].invoke_index, 1);
        assert_eq!(operations[send.0].complete_index, Some(2));
        assert_eq!(operations[poll.0].completion, Completion::Pending);
        assert_eq!(history.events(), 3);
    }
}
