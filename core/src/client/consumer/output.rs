//! What the consumer reports besides requests.

use crate::api::{ErrorCode, Request, TopicPartition};
use crate::controller::BrokerId;

/// One record as consumed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// Its offset.
    pub offset: i64,
    /// The epoch of the leader that appended its batch, or -1 if the batch carries none.
    pub leader_epoch: i32,
    /// Its timestamp (the batch's max timestamp under LogAppendTime).
    pub timestamp: i64,
    /// Its key, or `None` for a null key.
    pub key: Option<Vec<u8>>,
    /// Its value, or `None` for a null value.
    pub value: Option<Vec<u8>>,
}

/// Why a partition's position was reset with `auto_offset_reset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetReason {
    /// The partition was assigned without a position.
    NoPosition,
    /// The leader answered OFFSET_OUT_OF_RANGE, and the position is not past the end of its
    /// epoch on the leader (so the log was not truncated under it: it is below the log start).
    OffsetOutOfRange,
    /// The leader knows no epoch at or below the position's (KIP-320 `UNDEFINED_EPOCH`).
    UndefinedEpoch,
}

/// A problem the consumer reports and does not resolve by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerError {
    /// The position at `offset` needed a reset for `reason`, and `auto_offset_reset` is
    /// `None`: the partition is not fetched until [`Consumer::seek`](super::Consumer::seek).
    /// `offset` is -1 for a group member's partition that has no committed offset.
    NoResetPolicy {
        /// The position that was lost.
        offset: i64,
        /// Why it needed a reset.
        reason: ResetReason,
    },
    /// A broker answered with an error the consumer does not expect; it retries after the
    /// backoff.
    Broker(ErrorCode),
    /// Fetched bytes at `offset` failed the batch checks; the fetch is retried after the
    /// backoff (the Java consumer raises `CorruptRecordException` until the user seeks past).
    CorruptBatch {
        /// The offset fetched from.
        offset: i64,
    },
}

/// Work and news the consumer hands to its driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerOutput {
    /// Send `request` to broker `to`, and pass the answer back with `id`.
    Request {
        /// The broker.
        to: BrokerId,
        /// The request's id for [`Consumer::handle_response`](super::Consumer::handle_response).
        id: u64,
        /// The request.
        request: Request,
    },
    /// Records of `partition`, in offset order, starting exactly at its position (records
    /// before it in the same batch are dropped). The position moves past them.
    Records {
        /// The partition.
        partition: TopicPartition,
        /// The records.
        records: Vec<ConsumedRecord>,
        /// The leader's high watermark when it answered.
        high_watermark: i64,
        /// The leader's log start offset when it answered, or -1 (Fetch before v5).
        log_start_offset: i64,
    },
    /// An answer for `partition` the consumer took that held no records: what it said of the
    /// partition (the high watermark a consumer's lag is measured against) without moving the
    /// position.
    Caught {
        /// The partition.
        partition: TopicPartition,
        /// The leader's high watermark when it answered.
        high_watermark: i64,
        /// The leader's log start offset when it answered, or -1 (Fetch before v5).
        log_start_offset: i64,
    },
    /// The position of `partition` was set to `offset` by `auto_offset_reset`.
    Reset {
        /// The partition.
        partition: TopicPartition,
        /// The new position.
        offset: i64,
        /// Why.
        reason: ResetReason,
    },
    /// The log of `partition` was truncated below `position` (KIP-320): the records from
    /// `new_offset` up to `position` that were consumed are gone, and consumption continues at
    /// `new_offset`, where the leader's log diverged.
    Truncated {
        /// The partition.
        partition: TopicPartition,
        /// The position before the truncation was found.
        position: i64,
        /// The leader's end offset for the last consumed epoch: the new position.
        new_offset: i64,
    },
    /// A problem with `partition`.
    Error {
        /// The partition.
        partition: TopicPartition,
        /// What.
        error: ConsumerError,
    },
}
