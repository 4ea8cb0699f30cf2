//! The operations a history records: what each asked for and how it ended.

use std::collections::{BTreeMap, BTreeSet};
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

/// One partition's offset in a consumer group: `(partition, offset)`. A committed offset (the
/// next offset to consume), a committed offset read back (−1 for none), or the position an
/// assigned member starts consuming at.
pub type PartitionOffset = (i32, i64);

/// The generation of an offset commit made from outside the group (an admin commit, or a reset).
pub const GENERATION_NONE: i32 = -1;

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
    /// Kafka OffsetCommit: commit `offsets` for `group`.
    Commit {
        /// The consumer group.
        group: String,
        /// The committing member; empty for a commit from outside the group.
        member: String,
        /// The member's generation, or [`GENERATION_NONE`] for a commit from outside the group.
        generation: i32,
        /// Per partition, the offset committed: the next offset to consume.
        offsets: BTreeMap<i32, i64>,
        /// The run declares this commit an explicit reset, which may move the committed offsets
        /// backwards ([`History::invoke_reset`](super::History::invoke_reset)).
        reset: bool,
    },
    /// Kafka OffsetFetch: read `group`'s committed offsets.
    OffsetFetch {
        /// The consumer group.
        group: String,
        /// The partitions asked for; `None` asks for every partition the group has an offset for.
        partitions: Option<BTreeSet<i32>>,
    },
    /// Kafka SyncGroup: `member` of `group` asks for its partitions in `generation`.
    Assignment {
        /// The consumer group.
        group: String,
        /// The member.
        member: String,
        /// The generation JoinGroup gave it.
        generation: i32,
    },
    /// `member` of `group` gives up `partitions` it was assigned in `generation` (before a
    /// rebalance). Recorded as done the moment it is invoked.
    Revocation {
        /// The consumer group.
        group: String,
        /// The member.
        member: String,
        /// The generation the partitions were assigned in.
        generation: i32,
        /// The partitions given up.
        partitions: BTreeSet<i32>,
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
    /// An offset commit succeeded, except for the partitions in `failed`, which the answer
    /// refused: they were not committed.
    CommitOk {
        /// The partitions whose commit the answer refused.
        failed: BTreeSet<i32>,
    },
    /// An offset fetch succeeded.
    OffsetFetchOk {
        /// Per partition, the committed offset the answer carried; −1 for none. A partition asked
        /// for (or, when every partition was asked for, any partition) that is absent has none.
        offsets: BTreeMap<i32, i64>,
    },
    /// A SyncGroup succeeded: the member was assigned `partitions` in the request's generation.
    AssignmentOk {
        /// The partitions assigned.
        partitions: BTreeSet<i32>,
        /// Where the member starts consuming, once it has fetched its committed offsets
        /// ([`History::ok_assignment_positions`](super::History::ok_assignment_positions)).
        start: Option<AssignmentStart>,
    },
    /// A revocation, done when invoked.
    Revoked,
    /// The operation definitely did not take effect.
    Fail,
    /// The outcome is unknown (timeout, network error, ...): indefinite.
    Info,
}

/// Where an assigned member starts consuming, recorded after its assignment completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignmentStart {
    /// Per assigned partition (some may be missing), the offset of the first record to consume.
    pub positions: BTreeMap<i32, i64>,
    /// Index of the event that recorded the positions in the history.
    pub event_index: usize,
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
