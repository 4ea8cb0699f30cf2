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
    /// A partition number below zero.
    NegativePartition(i32),
    /// An acknowledged, polled or reported offset (high watermark, log start, low watermark)
    /// below zero.
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
