//! Fetch (key 1), from consumers and from follower replicas.

use super::{ErrorCode, IsolationLevel, TopicPartition};

/// One partition of a Fetch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchPartition {
    /// The partition.
    pub partition: TopicPartition,
    /// The leader epoch the fetcher believes current (KIP-320); `None` skips the check.
    pub current_leader_epoch: Option<i32>,
    /// The first offset wanted. From a follower it also says that its log ends there.
    pub fetch_offset: i64,
    /// The follower's log start offset, or -1 from a consumer.
    pub log_start_offset: i64,
    /// The most bytes wanted from this partition (the first batch is returned whole anyway).
    pub partition_max_bytes: i32,
}

/// A Fetch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchRequest {
    /// The follower's broker id, or [`super::CONSUMER_REPLICA_ID`].
    pub replica_id: i32,
    /// The follower's broker epoch (KIP-380), or -1.
    pub replica_epoch: i64,
    /// How long the leader may hold the request waiting for `min_bytes`.
    pub max_wait_ms: i32,
    /// The fewest bytes worth answering with before `max_wait_ms`.
    pub min_bytes: i32,
    /// The most bytes in the whole response (the first batch is returned whole anyway).
    pub max_bytes: i32,
    /// What a consumer may see.
    pub isolation_level: IsolationLevel,
    /// The partitions, in the order to fill them.
    pub partitions: Vec<FetchPartition>,
}

/// The answer for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchPartitionResponse {
    /// The partition.
    pub partition: TopicPartition,
    /// NONE, or why nothing was read.
    pub error: ErrorCode,
    /// The leader's high watermark.
    pub high_watermark: i64,
    /// The last stable offset (the high watermark while transactions are absent).
    pub last_stable_offset: i64,
    /// The leader's log start offset.
    pub log_start_offset: i64,
    /// Whole batches, as stored; the first may start before the fetch offset.
    pub records: Vec<u8>,
}

/// A Fetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchResponse {
    /// NONE, or an error for the whole request.
    pub error: ErrorCode,
    /// One answer per partition of the request, in its order.
    pub partitions: Vec<FetchPartitionResponse>,
}

impl FetchPartitionResponse {
    /// An answer carrying only an error.
    pub fn error(partition: TopicPartition, error: ErrorCode) -> FetchPartitionResponse {
        FetchPartitionResponse {
            partition,
            error,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
            records: Vec::new(),
        }
    }
}
