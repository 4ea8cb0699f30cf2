//! A node's settings, named after Kafka's `server.properties` keys.

use core::fmt;

use crate::controller::{BrokerId, ControllerConfig, ImageLimits, Listener};
use crate::group::GroupConfig;
use crate::raft::{NodeId, RaftConfig, VOTERS_MAX};
use crate::replica::ReplicaConfig;
use crate::time::Duration;

/// `process.roles`: what this process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessRoles {
    /// `broker`: serves clients and replicas, follows the metadata log as an observer.
    Broker,
    /// `controller`: a voter of the metadata quorum, serving no clients' data.
    Controller,
    /// `broker,controller`: both in one process (KRaft's combined mode).
    Combined,
}

impl ProcessRoles {
    /// Whether the process registers as a broker and hosts partition replicas.
    pub fn is_broker(self) -> bool {
        matches!(self, ProcessRoles::Broker | ProcessRoles::Combined)
    }

    /// Whether the process is a voter of the metadata quorum.
    pub fn is_controller(self) -> bool {
        matches!(self, ProcessRoles::Controller | ProcessRoles::Combined)
    }
}

/// Everything one node needs to know; see [`NodeConfig::new`] for the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// `node.id`: the broker id and the Raft voter id of this process (one number, as in
    /// KRaft). At most `i32::MAX`, since Kafka's broker ids are `int32`.
    pub node_id: u32,
    /// `process.roles`.
    pub process_roles: ProcessRoles,
    /// The ids of `controller.quorum.voters`; the driver maps ids to addresses.
    pub controller_quorum_voters: Vec<u32>,
    /// `advertised.listeners`, carried in the broker's registration for clients.
    pub advertised_listeners: Vec<Listener>,
    /// `broker.rack`.
    pub broker_rack: Option<String>,
    /// `auto.create.topics.enable`.
    pub auto_create_topics_enable: bool,
    /// `num.partitions`: partitions of an auto-created topic.
    pub num_partitions: i32,
    /// `default.replication.factor`: replicas of an auto-created topic.
    pub default_replication_factor: i16,
    /// `broker.heartbeat.interval.ms`.
    pub broker_heartbeat_interval: Duration,
    /// `controller.quorum.request.timeout.ms`: a request to a controller unanswered for this
    /// long is given up, and the broker tries the next controller.
    pub controller_quorum_request_timeout: Duration,
    /// `retry.backoff.ms`: the pause before asking again after a refusal.
    pub retry_backoff: Duration,
    /// How often a broker-only node asks a controller for new metadata once it is caught up
    /// (KRaft observers long-poll; Sluice polls).
    pub metadata_fetch_interval: Duration,
    /// The most committed entries in one metadata fetch answer.
    pub metadata_fetch_entries_max: usize,
    /// The most entry bytes in one metadata fetch answer (one larger entry still goes alone).
    pub metadata_fetch_bytes_max: usize,
    /// Where the metadata log lives on the disk (`metadata.log.dir`, as a relative path).
    pub metadata_log_dir: String,
    /// A voter snapshots its image and compacts the metadata log once this many entries were
    /// applied past the log's start (Kafka bounds this in bytes,
    /// `metadata.log.max.record.bytes.between.snapshots`).
    pub metadata_snapshot_interval_entries: u64,
    /// `controller.quorum.election.timeout.ms`: the shortest election timeout; each election
    /// draws one up to twice as long.
    pub controller_quorum_election_timeout: Duration,
    /// How often the Raft leader heartbeats its followers.
    pub controller_quorum_heartbeat_interval: Duration,
    /// The most metadata log entries one AppendEntries carries (Raft's batch size). One
    /// splits a new leader's first entry from the older ones it carries, the window Raft's
    /// Figure 8 is about, which the simulator opens on purpose.
    pub controller_quorum_append_entries_max: usize,
    /// The active controller's settings.
    pub controller: ControllerConfig,
    /// The limits every metadata image of the cluster enforces (same on every node).
    pub image_limits: ImageLimits,
    /// The replica manager's settings, `log.dirs` included.
    pub replica: ReplicaConfig,
    /// Topics being auto-created at once; further missing topics wait for a later Metadata.
    pub auto_create_inflight_max: usize,
    /// Requests (from clients and other brokers) the replica manager holds at once; beyond it
    /// a request is answered at once with an error rather than queued.
    pub requests_inflight_max: usize,
    /// The group coordinator's settings (`offsets.topic.*`, `group.*`).
    pub group: GroupConfig,
}

impl NodeConfig {
    /// Kafka's defaults for node `node_id` with these roles and voters, listening on
    /// `PLAINTEXT://localhost:9092`.
    pub fn new(node_id: u32, process_roles: ProcessRoles, voters: Vec<u32>) -> NodeConfig {
        NodeConfig {
            node_id,
            process_roles,
            controller_quorum_voters: voters,
            advertised_listeners: vec![Listener {
                name: "PLAINTEXT".to_string(),
                host: "localhost".to_string(),
                port: 9092,
            }],
            broker_rack: None,
            auto_create_topics_enable: true,
            num_partitions: 1,
            default_replication_factor: 1,
            broker_heartbeat_interval: Duration::from_millis(2_000),
            controller_quorum_request_timeout: Duration::from_millis(2_000),
            retry_backoff: Duration::from_millis(100),
            metadata_fetch_interval: Duration::from_millis(500),
            metadata_fetch_entries_max: 64,
            metadata_fetch_bytes_max: 1 << 20,
            metadata_log_dir: "__cluster_metadata-0".to_string(),
            metadata_snapshot_interval_entries: 1_000,
            controller_quorum_election_timeout: Duration::from_millis(1_000),
            controller_quorum_heartbeat_interval: Duration::from_millis(200),
            controller_quorum_append_entries_max: 64,
            controller: ControllerConfig::default(),
            image_limits: ImageLimits::default(),
            replica: ReplicaConfig::default(),
            auto_create_inflight_max: 64,
            requests_inflight_max: 4_096,
            group: GroupConfig::default(),
        }
    }

    /// This node's broker id.
    pub fn broker_id(&self) -> BrokerId {
        BrokerId::try_from(self.node_id).expect("validated: node.id fits an int32")
    }

    /// This node's Raft id (also its address for [`super::NodeOutput::Send`]).
    pub fn raft_id(&self) -> NodeId {
        NodeId(self.node_id)
    }

    /// Checks ranges and relationships between the settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |detail: &str| Err(ConfigError(detail.to_string()));
        if BrokerId::try_from(self.node_id).is_err() {
            return invalid("node.id must fit an int32");
        }
        let voters = &self.controller_quorum_voters;
        if voters.is_empty() || voters.len() > VOTERS_MAX {
            return invalid("controller.quorum.voters must name 1 to 15 voters");
        }
        if self.process_roles.is_controller() && !voters.contains(&self.node_id) {
            return invalid("a controller's node.id must be one of controller.quorum.voters");
        }
        if !self.process_roles.is_controller() && voters.contains(&self.node_id) {
            return invalid("a broker-only node.id must not be one of controller.quorum.voters");
        }
        if self.num_partitions < 1 || self.default_replication_factor < 1 {
            return invalid("num.partitions and default.replication.factor must be positive");
        }
        if self.broker_heartbeat_interval.is_zero() || self.metadata_fetch_interval.is_zero() {
            return invalid("heartbeat and metadata fetch intervals must be positive");
        }
        if self.controller_quorum_request_timeout.is_zero() {
            return invalid("controller.quorum.request.timeout.ms must be positive");
        }
        let group = &self.group;
        if group.offsets_topic_num_partitions < 1 || group.offsets_topic_replication_factor < 1 {
            return invalid(
                "offsets.topic.num.partitions and offsets.topic.replication.factor must be positive",
            );
        }
        if group.group_min_session_timeout_ms > group.group_max_session_timeout_ms {
            return invalid(
                "group.min.session.timeout.ms must not exceed group.max.session.timeout.ms",
            );
        }
        if group.offsets_retention_check_interval_ms < 1 || group.offsets_commit_timeout_ms < 1 {
            return invalid(
                "offsets.retention.check.interval.ms and offsets.commit.timeout.ms must be positive",
            );
        }
        if self.metadata_snapshot_interval_entries == 0 {
            return invalid("the snapshot interval must be positive");
        }
        if self.process_roles.is_controller() {
            self.raft_config()
                .validate()
                .or_else(|error| invalid(&error.to_string()))?;
        }
        Ok(())
    }

    /// The Raft settings of this voter.
    pub(super) fn raft_config(&self) -> RaftConfig {
        let voters = self.controller_quorum_voters.iter().map(|&id| NodeId(id));
        let mut config = RaftConfig::new(self.raft_id(), voters.collect());
        config.election_timeout_min = self.controller_quorum_election_timeout;
        config.election_timeout_max = self.controller_quorum_election_timeout * 2;
        config.heartbeat_interval = self.controller_quorum_heartbeat_interval;
        config.append_entries_max = self.controller_quorum_append_entries_max;
        config
    }
}

/// A setting out of range, with the rule it breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid node config: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}
