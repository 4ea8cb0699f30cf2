//! Why the history builder refuses an event.

use std::fmt;

use super::OpId;

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
    /// A trim completion was given for an operation that is not a trim.
    NotATrim(OpId),
    /// An offset commit completion was given for an operation that is not a commit.
    NotACommit(OpId),
    /// An offset fetch completion was given for an operation that is not an offset fetch.
    NotAnOffsetFetch(OpId),
    /// An assignment completion or start was given for an operation that is not an assignment.
    NotAnAssignment(OpId),
    /// Start positions were given for an assignment that did not complete OK (yet).
    AssignmentNotOk(OpId),
    /// Start positions were given twice for one assignment.
    PositionsAlreadyRecorded(OpId),
    /// A group generation below −1 for a commit, or below 0 for an assignment or a revocation.
    InvalidGeneration(i32),
    /// An invocation listed the same partition twice.
    PartitionRequestedTwice(i32),
    /// A completion named a partition its operation did not ask for: a commit's refused
    /// partition it did not commit, an offset fetch answer's partition it did not ask for, or a
    /// start position of a partition not assigned.
    PartitionNotRequested {
        /// The operation.
        op: OpId,
        /// The partition.
        partition: i32,
    },
    /// A commit of a negative offset.
    NegativeCommitOffset {
        /// The partition.
        partition: i32,
        /// The offset.
        offset: i64,
    },
    /// A partition number below zero.
    NegativePartition(i32),
    /// An acknowledged, polled or reported offset (high watermark, log start, low watermark,
    /// start position) below zero, or a committed offset read back below −1 (none).
    NegativeOffset {
        /// The operation carrying it.
        op: OpId,
        /// The offset.
        offset: i64,
    },
    /// A trim asked to delete below a negative offset.
    NegativeTrimOffset {
        /// The partition.
        partition: i32,
        /// The offset.
        offset: i64,
    },
    /// One poll completion listed the same partition twice (in its reads, high watermarks or
    /// log start offsets).
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
            Self::NotATrim(op) => write!(f, "{op} is not a trim"),
            Self::NotACommit(op) => write!(f, "{op} is not an offset commit"),
            Self::NotAnOffsetFetch(op) => write!(f, "{op} is not an offset fetch"),
            Self::NotAnAssignment(op) => write!(f, "{op} is not an assignment"),
            Self::AssignmentNotOk(op) => write!(f, "{op} is not an assignment completed OK"),
            Self::PositionsAlreadyRecorded(op) => {
                write!(f, "{op} already has its start positions")
            }
            Self::InvalidGeneration(generation) => write!(f, "invalid generation {generation}"),
            Self::PartitionRequestedTwice(p) => write!(f, "partition {p} requested twice"),
            Self::PartitionNotRequested { op, partition } => {
                write!(f, "{op} did not ask for partition {partition}")
            }
            Self::NegativeCommitOffset { partition, offset } => {
                write!(
                    f,
                    "commit of negative offset {offset} for partition {partition}"
                )
            }
            Self::NegativePartition(p) => write!(f, "negative partition {p}"),
            Self::NegativeOffset { op, offset } => {
                write!(f, "{op} carries negative offset {offset}")
            }
            Self::NegativeTrimOffset { partition, offset } => {
                write!(
                    f,
                    "trim of partition {partition} below negative offset {offset}"
                )
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
