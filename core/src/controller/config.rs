//! The controller's settings and the limits every metadata image enforces.

use crate::time::Duration;

/// Bounds on what a metadata image holds, given to [`MetadataImage::new`]. The controller
/// refuses requests that would cross its image's limits (POLICY_VIOLATION), and an image
/// ignores records that would, so no map grows without limit even when fed a hostile log. All
/// nodes of a cluster must use the same limits, or their images could differ.
///
/// [`MetadataImage::new`]: super::MetadataImage::new
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageLimits {
    /// Registered brokers.
    pub brokers_max: usize,
    /// Topics.
    pub topics_max: usize,
    /// Partitions over all topics.
    pub partitions_max: usize,
    /// Replicas of one partition.
    pub replication_factor_max: usize,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            brokers_max: 1024,
            topics_max: 10_000,
            partitions_max: 100_000,
            replication_factor_max: 32,
        }
    }
}

// Every array a record carries must fit the codec.
const _: () = assert!(32 <= super::codec::ARRAY_LEN_MAX);

/// Configs one topic may override; Kafka defines fewer topic configs than this.
pub const TOPIC_CONFIGS_MAX: usize = 64;

/// The longest topic name, as Kafka's `Topic.MAX_NAME_LENGTH`.
pub const TOPIC_NAME_BYTES_MAX: usize = 249;

/// Producer ids handed out per ProducerIds record, as Kafka's `PRODUCER_ID_BLOCK_SIZE`.
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// Settings of the active controller, named after Kafka's broker configs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerConfig {
    /// `broker.session.timeout.ms`: a broker that has not heartbeated for this long is fenced.
    pub broker_session_timeout: Duration,
    /// `unclean.leader.election.enable`: the cluster default, overridden per topic.
    pub unclean_leader_election_enable: bool,
    /// `min.insync.replicas`, the cluster default: an ISR shrinking below it keeps the
    /// replicas that left as eligible leaders (KIP-966's ELR).
    pub min_insync_replicas: usize,
    /// `auto.leader.rebalance.enable`.
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.per.broker.percentage`: a broker is imbalanced when more than this
    /// share of the partitions it prefers are led by someone else.
    pub leader_imbalance_per_broker_percentage: u32,
    /// `leader.imbalance.check.interval.seconds`: how often `tick` looks for imbalance.
    pub leader_imbalance_check_interval: Duration,
    /// How many partition changes one `tick` may propose, so one step's batch stays bounded.
    pub partition_changes_per_tick_max: usize,
    /// Proposed records that may await commit at once; requests beyond it get
    /// REQUEST_TIMED_OUT instead of growing the queue.
    pub uncommitted_records_max: usize,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            broker_session_timeout: Duration::from_millis(9_000),
            unclean_leader_election_enable: false,
            min_insync_replicas: 1,
            auto_leader_rebalance_enable: true,
            leader_imbalance_per_broker_percentage: 10,
            leader_imbalance_check_interval: Duration::from_secs(300),
            partition_changes_per_tick_max: 10_000,
            uncommitted_records_max: 200_000,
        }
    }
}
