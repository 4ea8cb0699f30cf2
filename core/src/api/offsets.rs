//! ListOffsets (key 2) and OffsetForLeaderEpoch (key 23).

use super::{ErrorCode, IsolationLevel, TopicPartition};

/// ListOffsets' timestamp asking for the log start offset.
pub const EARLIEST_TIMESTAMP: i64 = -2;
/// ListOffsets' timestamp asking for the end offset (the high watermark for consumers).
pub const LATEST_TIMESTAMP: i64 = -1;
/// ListOffsets' timestamp asking for the record with the largest timestamp (KIP-734).
pub const MAX_TIMESTAMP: i64 = -3;
/// OffsetForLeaderEpoch's answer when the leader knows no epoch at or below the one asked.
pub const UNDEFINED_EPOCH: i32 = -1;
/// The end offset that goes with [`UNDEFINED_EPOCH`].
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// One partition of a ListOffsets request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOffsetsPartition {
    /// The partition.
    pub partition: TopicPartition,
    /// The leader epoch the client believes current; `None` skips the check.
    pub current_leader_epoch: Option<i32>,
    /// A timestamp in ms, or [`EARLIEST_TIMESTAMP`], [`LATEST_TIMESTAMP`], [`MAX_TIMESTAMP`].
    pub timestamp: i64,
}

/// A ListOffsets request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOffsetsRequest {
    /// [`super::CONSUMER_REPLICA_ID`] for clients.
    pub replica_id: i32,
    /// What the client may see.
    pub isolation_level: IsolationLevel,
    /// The partitions.
    pub partitions: Vec<ListOffsetsPartition>,
}

/// The answer for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedOffset {
    /// The partition.
    pub partition: TopicPartition,
    /// NONE or why not.
    pub error: ErrorCode,
    /// The timestamp of the record found, or -1.
    pub timestamp: i64,
    /// The offset found, or -1.
    pub offset: i64,
    /// The leader epoch of the record found, or -1.
    pub leader_epoch: i32,
}

/// A ListOffsets response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOffsetsResponse {
    /// One answer per partition of the request, in its order.
    pub partitions: Vec<ListedOffset>,
}

/// One partition of an OffsetForLeaderEpoch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetForLeaderEpochPartition {
    /// The partition.
    pub partition: TopicPartition,
    /// The leader epoch the asker believes current (checked like Fetch's).
    pub current_leader_epoch: Option<i32>,
    /// The epoch whose end offset is wanted.
    pub leader_epoch: i32,
}

/// An OffsetForLeaderEpoch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetForLeaderEpochRequest {
    /// The follower's broker id, or [`super::CONSUMER_REPLICA_ID`].
    pub replica_id: i32,
    /// The partitions.
    pub partitions: Vec<OffsetForLeaderEpochPartition>,
}

/// The answer for one partition: the largest epoch at or below the one asked for, and the
/// offset where it ends on the leader (the next epoch's start, or the log end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochEndOffset {
    /// The partition.
    pub partition: TopicPartition,
    /// NONE or why not.
    pub error: ErrorCode,
    /// The epoch found, or [`UNDEFINED_EPOCH`].
    pub leader_epoch: i32,
    /// Its end offset, or [`UNDEFINED_EPOCH_OFFSET`].
    pub end_offset: i64,
}

/// An OffsetForLeaderEpoch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetForLeaderEpochResponse {
    /// One answer per partition of the request, in its order.
    pub partitions: Vec<EpochEndOffset>,
}

impl ListedOffset {
    /// An answer carrying only an error.
    pub fn error(partition: TopicPartition, error: ErrorCode) -> ListedOffset {
        ListedOffset {
            partition,
            error,
            timestamp: -1,
            offset: -1,
            leader_epoch: -1,
        }
    }
}

impl EpochEndOffset {
    /// An answer carrying only an error.
    pub fn error(partition: TopicPartition, error: ErrorCode) -> EpochEndOffset {
        EpochEndOffset {
            partition,
            error,
            leader_epoch: UNDEFINED_EPOCH,
            end_offset: UNDEFINED_EPOCH_OFFSET,
        }
    }
}
