//! The operations a history records: what each asked for and how it ended.

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

/// The high watermark a fetch response carried for one partition: `(partition, high watermark)`.
pub type PartitionHighWatermark = (i32, i64);

/// The log start offset a Fetch or ListOffsets(earliest) answer carried for one partition:
/// `(partition, log start offset)`.
pub type PartitionLogStart = (i32, i64);

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
    /// Kafka DeleteRecords: delete the records of `partition` below `offset`.
    Trim {
        /// Partition trimmed.
        partition: i32,
        /// Records below this offset are to be deleted.
        offset: i64,
    },
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
        /// Per partition, the high watermark the fetch response carried, when the client
        /// reported it (empty for [`History::ok_poll`](super::History::ok_poll)). A partition may have a high watermark
        /// without records.
        high_watermarks: BTreeMap<i32, i64>,
        /// Per partition, the log start offset the answer carried, when the client reported it
        /// (only [`History::ok_poll_observed`](super::History::ok_poll_observed) records any).
        /// A partition may have one without records or high watermark: a ListOffsets(earliest)
        /// answer is recorded as such a poll.
        log_start_offsets: BTreeMap<i32, i64>,
    },
    /// A trim succeeded; the partition's log start offset is now `low_watermark`.
    TrimOk {
        /// The log start offset the DeleteRecords answer carried.
        low_watermark: i64,
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
