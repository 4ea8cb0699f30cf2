//! The group coordinator of Kafka's classic consumer-group protocol, sans-IO: a
//! sub-state-machine of [`crate::broker::Node`].
//!
//! # Where a group lives
//!
//! A group belongs to one partition of the internal topic `__consumer_offsets`
//! ([`partition_for_group`], Kafka's hash), and the broker that leads that partition
//! coordinates it. Its committed offsets and its membership after each rebalance are
//! records of that partition ([`records`], Kafka's formats), written through the ordinary
//! replicated produce path with `acks=all`: an OffsetCommit is answered only once its record
//! is below the high watermark, so a commit acknowledged to a client survives what the
//! partition's acknowledged records survive. Coordination moves with partition leadership.
//!
//! # Call order
//!
//! The node drives a [`GroupCoordinator`]:
//! - [`GroupCoordinator::lead`] when this broker leads an offsets partition in a new leader
//!   epoch, with the partition's records up to its log end: the groups are rebuilt from
//!   them. Until the high watermark reaches that log end
//!   ([`GroupCoordinator::high_watermark`]) the partition's groups are answered
//!   COORDINATOR_LOAD_IN_PROGRESS, so no answer rests on a record that could still be
//!   truncated away.
//! - [`GroupCoordinator::resign`] when it stops leading one: waiting members are answered
//!   NOT_COORDINATOR and the groups dropped.
//! - [`GroupCoordinator::handle_request`] for each group request; then drain
//!   [`GroupCoordinator::poll_output`]: [`GroupOutput::Append`] a batch to an offsets
//!   partition and report the produce's outcome to [`GroupCoordinator::append_done`];
//!   [`GroupOutput::Answer`] a client once the replica sync it names (if any) is done;
//!   [`GroupOutput::CreateOffsetsTopic`] when FindCoordinator found no offsets topic.
//! - [`GroupCoordinator::handle_timeout`] at [`GroupCoordinator::poll_timeout`]: session
//!   expiry, the end of join phases, offset retention.
//!
//! # Not built yet
//!
//! Transactional offset commits (TxnOffsetCommit), KIP-848's consumer protocol, the expiry
//! of offsets a non-empty group no longer subscribes to (only empty groups' offsets expire),
//! and the pending-sync timeout of Kafka 3.1 (a member that never sends SyncGroup leaves by
//! its session timeout instead).

mod coordinator;
mod hash;
mod load;
mod membership;
mod offsets;
pub mod records;
mod state;

#[cfg(test)]
mod tests;

pub use coordinator::{GroupCoordinator, GroupOutput, GroupStats};
pub use hash::{java_string_hash, partition_for_group};
pub use state::subscription_topics;

use crate::time::{Duration, Instant};

/// The internal topic of committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The coordinator's settings, named after Kafka's broker configs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupConfig {
    /// `offsets.topic.num.partitions` (50).
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.replication.factor` (3), capped at the live brokers when the topic is
    /// created so that a single node works.
    pub offsets_topic_replication_factor: i16,
    /// `offsets.topic.segment.bytes` (100 MiB).
    pub offsets_topic_segment_bytes: i32,
    /// `offsets.commit.timeout.ms` (5000): how long a commit waits for the ISR.
    pub offsets_commit_timeout_ms: i32,
    /// `offset.metadata.max.bytes` (4096).
    pub offset_metadata_max_bytes: usize,
    /// `offsets.retention.minutes` (10080, 7 days), in ms.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms` (600000).
    pub offsets_retention_check_interval_ms: i64,
    /// `group.min.session.timeout.ms` (6000).
    pub group_min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms` (1800000).
    pub group_max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms` (3000).
    pub group_initial_rebalance_delay_ms: i32,
    /// `group.max.size` (unbounded).
    pub group_max_size: usize,
}

impl Default for GroupConfig {
    fn default() -> GroupConfig {
        GroupConfig {
            offsets_topic_num_partitions: 50,
            offsets_topic_replication_factor: 3,
            offsets_topic_segment_bytes: 100 * 1024 * 1024,
            offsets_commit_timeout_ms: 5_000,
            offset_metadata_max_bytes: 4_096,
            offsets_retention_ms: 10_080 * 60_000,
            offsets_retention_check_interval_ms: 600_000,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 3_000,
            group_max_size: i32::MAX as usize,
        }
    }
}

/// `now` plus `ms` milliseconds (none if negative), saturating far in the future.
pub(crate) fn after_ms(now: Instant, ms: i64) -> Instant {
    let ms = u64::try_from(ms).unwrap_or(0);
    now.checked_add(Duration::from_millis(ms))
        .unwrap_or(Instant::from_nanos(u64::MAX))
}
