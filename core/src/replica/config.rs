//! A broker's replication settings, named and defaulted as Kafka's broker configs are.

use crate::log::LogConfig;

/// When an appended batch counts as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Every replica fsyncs a batch before it acknowledges it or reports it in a fetch:
    /// an acknowledged acks=all write survives every broker crashing at once.
    Fsync,
    /// Kafka's default: writes stay in the page cache and durability comes from replication.
    /// A machine crash loses the unsynced tail of that broker's logs.
    PageCache,
}

/// How a leader hands fetchers (consumers and followers) their records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchReads {
    /// Read into memory, every batch's CRC checked.
    Copied,
    /// As byte ranges of segment files ([`crate::api::FetchRecords::File`]), found by walking
    /// batch headers, for a driver that sends them from the file to the socket (the real
    /// runtime, with sendfile). Kafka's broker serves consumers and followers this way and
    /// leaves CRCs to them: a follower checks every batch as it appends it.
    FileRanges,
}

/// Replication settings for one broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaConfig {
    /// Where every partition's log directory lives (`log.dirs`, one directory).
    pub log_dir: String,
    /// Settings of every partition log.
    pub log: LogConfig,
    /// The durability mode (Sluice's own switch; Kafka's page-cache behaviour is
    /// [`Durability::PageCache`]).
    pub durability: Durability,
    /// `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// `replica.lag.time.max.ms`: a follower that has not caught up for this long leaves the
    /// ISR.
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.wait.max.ms`: how long a leader may hold a follower's fetch.
    pub replica_fetch_wait_max_ms: i32,
    /// `replica.fetch.max.bytes`: bytes per partition a follower asks for.
    pub replica_fetch_max_bytes: i32,
    /// `replica.fetch.response.max.bytes`.
    pub replica_fetch_response_max_bytes: i32,
    /// `replica.fetch.backoff.ms`: the pause after a failed fetch.
    pub replica_fetch_backoff_ms: u64,
    /// `replica.socket.timeout.ms`: a follower request unanswered for this long (past its
    /// own wait) is given up.
    pub replica_socket_timeout_ms: u64,
    /// `producer.id.expiration.ms`: a producer id with no batch for this long (by its
    /// batches' timestamps against the broker's wall clock) is forgotten.
    pub producer_id_expiration_ms: i64,
    /// How fetches are answered.
    pub fetch_reads: FetchReads,
    /// `log.retention.check.interval.ms`: how often retention runs.
    pub retention_check_interval_ms: u64,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            log_dir: "data".to_string(),
            log: LogConfig::default(),
            durability: Durability::PageCache,
            min_insync_replicas: 1,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_max_bytes: 1024 * 1024,
            replica_fetch_response_max_bytes: 10 * 1024 * 1024,
            replica_fetch_backoff_ms: 1_000,
            replica_socket_timeout_ms: 30_000,
            producer_id_expiration_ms: super::producer_state::PRODUCER_ID_EXPIRATION_MS_DEFAULT,
            fetch_reads: FetchReads::Copied,
            retention_check_interval_ms: super::retention::RETENTION_CHECK_INTERVAL_MS,
        }
    }
}
