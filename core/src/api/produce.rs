//! Produce (key 0).

use bytes::Bytes;

use super::{ErrorCode, TopicPartition};

/// A Produce request: one RecordBatch v2 per partition, as Kafka requires from v3 on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceRequest {
    /// 0 (no answer), 1 (the leader appended) or -1 (the ISR holds it).
    pub acks: i16,
    /// How long the leader may wait for the ISR before answering REQUEST_TIMED_OUT.
    pub timeout_ms: i32,
    /// Per partition, the batch's bytes: on a broker, a shared slice of the request frame they
    /// arrived in, which the log writes from without copying or editing it.
    pub partitions: Vec<(TopicPartition, Bytes)>,
}

/// The answer for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducePartitionResponse {
    /// The partition.
    pub partition: TopicPartition,
    /// Why the batch was not appended (or not replicated in time), or NONE.
    pub error: ErrorCode,
    /// The offset the batch's first record got, or -1.
    pub base_offset: i64,
    /// The log append time when the topic uses it, else -1.
    pub log_append_time_ms: i64,
    /// The partition's log start offset, or -1.
    pub log_start_offset: i64,
}

/// A Produce response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceResponse {
    /// One answer per partition of the request, in its order.
    pub partitions: Vec<ProducePartitionResponse>,
}

impl ProducePartitionResponse {
    /// An answer carrying only an error.
    pub fn error(partition: TopicPartition, error: ErrorCode) -> ProducePartitionResponse {
        ProducePartitionResponse {
            partition,
            error,
            base_offset: -1,
            log_append_time_ms: -1,
            log_start_offset: -1,
        }
    }
}
