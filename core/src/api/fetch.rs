//! Fetch (key 1), from consumers and from follower replicas.

use bytes::Bytes;

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
    pub records: FetchRecords,
}

/// The record bytes of one partition's fetch answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchRecords {
    /// The batches in memory: read with their CRCs checked, or received over a network (a
    /// slice of the frame they came in, not a copy).
    Bytes(Bytes),
    /// The batches where they lie in a segment file, for a driver that sends them from the file
    /// to the socket without copying them through memory (sendfile), as Kafka does (see
    /// [`crate::replica::FetchReads::FileRanges`]). It never crosses a network as such: the
    /// driver puts the file's bytes in its place.
    File(FileRange),
}

/// Whole batches at a byte range of a segment file. Their headers were walked and continue one
/// another; their CRCs were not checked (the consumer checks them, as with Kafka's sendfile).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRange {
    /// The segment file, as a path on the broker's [`crate::disk::Disk`].
    pub path: String,
    /// Byte position of the first batch in the file.
    pub position: u64,
    /// Byte length of the batches.
    pub len: u32,
}

impl FetchRecords {
    /// The byte length of the batches.
    pub fn len(&self) -> usize {
        match self {
            FetchRecords::Bytes(bytes) => bytes.len(),
            FetchRecords::File(range) => range.len as usize,
        }
    }

    /// Whether there are no batches.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batches in memory; a file range (which only a driver that sends from files
    /// receives) has none here and reads as empty.
    pub fn bytes(&self) -> &[u8] {
        match self {
            FetchRecords::Bytes(bytes) => bytes,
            FetchRecords::File(_) => &[],
        }
    }

    /// The batches in memory, owned; see [`FetchRecords::bytes`].
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            // No copy when the bytes own their whole buffer (read from a log, or decoded).
            FetchRecords::Bytes(bytes) => Vec::from(bytes),
            FetchRecords::File(_) => Vec::new(),
        }
    }
}

impl Default for FetchRecords {
    fn default() -> Self {
        FetchRecords::Bytes(Bytes::new())
    }
}

impl From<Vec<u8>> for FetchRecords {
    fn from(bytes: Vec<u8>) -> Self {
        FetchRecords::Bytes(Bytes::from(bytes))
    }
}

impl From<Bytes> for FetchRecords {
    fn from(bytes: Bytes) -> Self {
        FetchRecords::Bytes(bytes)
    }
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
            records: FetchRecords::default(),
        }
    }
}
