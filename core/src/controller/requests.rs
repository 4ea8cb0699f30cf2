//! The requests the active controller takes and the responses it gives, after Kafka's
//! BrokerRegistration, BrokerHeartbeat, CreateTopics, AlterPartition and ElectLeaders APIs.

use super::error::ControllerError;
use super::record::{BrokerId, LeaderRecoveryState, Listener, MetadataRecord, Uuid};

/// What a controller call decided: records to propose to the metadata log, in order, and the
/// response to send once they commit.
///
/// The controller's own view already includes `records`; the driver must propose them as one
/// atomic batch (as KRaft does) and may answer the caller only after that batch commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerResult<T> {
    /// Records to propose, in order.
    pub records: Vec<MetadataRecord>,
    /// The response.
    pub response: T,
}

/// BrokerRegistrationRequest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterBrokerRequest {
    /// The broker's `node.id`.
    pub broker_id: BrokerId,
    /// Random per process start.
    pub incarnation_id: Uuid,
    /// Where clients reach it.
    pub listeners: Vec<Listener>,
    /// `broker.rack`, if set.
    pub rack: Option<String>,
    /// KIP-966's PreviousBrokerEpoch: the epoch of the broker's last registration when
    /// everything it wrote under it is still on its disk, or -1 when it may have lost records
    /// it had acknowledged (a machine crash in page-cache mode, or a past it cannot vouch for).
    /// A value other than the controller's record of that registration is an unclean shutdown.
    pub previous_broker_epoch: i64,
}

/// BrokerHeartbeatRequest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeartbeatRequest {
    /// The broker.
    pub broker_id: BrokerId,
    /// The epoch its registration got.
    pub broker_epoch: i64,
    /// True once the broker's metadata image holds its own registration with this epoch,
    /// i.e. it has replayed the log at least up to that record (KIP-631's
    /// `CurrentMetadataOffset` compared with the registration's offset).
    pub caught_up: bool,
    /// The broker asks to be (or stay) fenced.
    pub want_fence: bool,
    /// The broker asks for a controlled shutdown.
    pub want_shutdown: bool,
}

/// BrokerHeartbeatResponse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeartbeatReply {
    /// Echoes whether the controller considers the broker caught up.
    pub is_caught_up: bool,
    /// Whether the broker is fenced once the proposed records commit.
    pub is_fenced: bool,
    /// True when a controlled shutdown has moved every leadership away: the broker may stop.
    pub should_shut_down: bool,
}

/// One topic of a CreateTopics request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateTopicRequest {
    /// The name.
    pub name: String,
    /// `--partitions`.
    pub partitions: i32,
    /// `--replication-factor`.
    pub replication_factor: i16,
    /// Topic-level `unclean.leader.election.enable`, if set.
    pub unclean_leader_election_enable: Option<bool>,
}

/// A topic that was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreatedTopic {
    /// Its new id.
    pub topic_id: Uuid,
    /// Its partition count.
    pub partitions: i32,
}

/// AlterPartitionRequest for one partition (KIP-497), sent by its leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterPartitionRequest {
    /// The leader sending it.
    pub broker_id: BrokerId,
    /// Its broker epoch.
    pub broker_epoch: i64,
    /// The topic.
    pub topic_id: Uuid,
    /// The partition.
    pub partition: i32,
    /// The leader epoch the leader believes current.
    pub leader_epoch: i32,
    /// The partition epoch the leader believes current.
    pub partition_epoch: i32,
    /// The ISR the leader wants.
    pub new_isr: Vec<BrokerId>,
    /// `Recovered` once an uncleanly elected leader has finished recovering (KIP-704).
    pub leader_recovery: LeaderRecoveryState,
}

/// AlterPartitionResponse: the partition state after the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionReply {
    /// The leader.
    pub leader: BrokerId,
    /// The leader epoch.
    pub leader_epoch: i32,
    /// The ISR.
    pub isr: Vec<BrokerId>,
    /// The partition epoch.
    pub partition_epoch: i32,
    /// The leader recovery state.
    pub leader_recovery: LeaderRecoveryState,
}

/// ElectLeaders' election type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElectionType {
    /// Move leadership to the preferred (first) replica if it is live and in the ISR.
    Preferred,
    /// Elect a leader for a leaderless partition, from outside the ISR if need be.
    Unclean,
}

/// A topic partition named as clients name it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

/// The result of one partition of an ElectLeaders request.
pub type ElectionResult = (TopicPartition, Result<(), ControllerError>);
