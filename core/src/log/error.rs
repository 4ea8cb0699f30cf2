//! What can go wrong in a partition log.

use core::fmt;

use crate::disk::DiskError;
use crate::record::BatchError;

/// Why a log operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogError {
    /// The storage failed; see [`DiskError`].
    Disk(DiskError),
    /// An appended batch is malformed or fails its CRC (Kafka's CORRUPT_MESSAGE).
    InvalidBatch(BatchError),
    /// An appended batch is larger than `max.message.bytes` or `segment.bytes` (Kafka's
    /// MESSAGE_TOO_LARGE).
    BatchTooLarge {
        /// Bytes in the batch.
        size: usize,
        /// The limit it broke.
        max: u64,
    },
    /// A read or truncation names an offset outside `[log_start_offset, log_end_offset]`
    /// (Kafka's OFFSET_OUT_OF_RANGE).
    OffsetOutOfRange {
        /// The offset asked for.
        offset: i64,
        /// The log start offset.
        log_start_offset: i64,
        /// The log end offset.
        log_end_offset: i64,
    },
    /// Stored bytes failed validation on read: latent corruption (Kafka's KAFKA_STORAGE_ERROR).
    CorruptData {
        /// Segment file.
        path: String,
        /// Byte position of the bad batch in that file.
        position: u64,
        /// What failed.
        detail: String,
    },
    /// A setting is out of range.
    InvalidConfig(String),
    /// The log was cut and the checkpoint that makes the cut safe to write over is not
    /// durable yet: appends wait (retriable, as KAFKA_STORAGE_ERROR).
    CutPending,
    /// An earlier storage failure left the log in a state it cannot vouch for; it must be
    /// reopened (which recovers it). Carries the original failure.
    Failed(String),
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Disk(error) => write!(f, "storage error: {error}"),
            LogError::InvalidBatch(error) => write!(f, "invalid batch: {error}"),
            LogError::CutPending => {
                write!(f, "the log was cut and its checkpoint is not durable yet")
            }
            LogError::BatchTooLarge { size, max } => {
                write!(f, "batch of {size} bytes exceeds the limit of {max} bytes")
            }
            LogError::OffsetOutOfRange {
                offset,
                log_start_offset,
                log_end_offset,
            } => write!(
                f,
                "offset {offset} is out of range [{log_start_offset}, {log_end_offset}]"
            ),
            LogError::CorruptData {
                path,
                position,
                detail,
            } => {
                write!(f, "corrupt data in {path} at byte {position}: {detail}")
            }
            LogError::InvalidConfig(what) => write!(f, "invalid log config: {what}"),
            LogError::Failed(why) => write!(f, "log failed and must be reopened: {why}"),
        }
    }
}

impl std::error::Error for LogError {}

impl From<DiskError> for LogError {
    fn from(error: DiskError) -> Self {
        LogError::Disk(error)
    }
}
