//! Why the controller refused a request, named and numbered as Kafka's error codes.

use core::fmt;

/// A refusal. Every request from a broker or a client that does not fit the metadata gets one
/// of these rather than a panic; [`ControllerError::code`] gives Kafka's wire code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ControllerError {
    /// UNKNOWN_TOPIC_OR_PARTITION (3).
    UnknownTopicOrPartition,
    /// NOT_LEADER_OR_FOLLOWER (6): an AlterPartition from a broker that is not the leader.
    NotLeaderOrFollower,
    /// REQUEST_TIMED_OUT (7): too many proposed records await commit; retry later.
    RequestTimedOut,
    /// INVALID_TOPIC_EXCEPTION (17): an empty, too long or badly formed topic name.
    InvalidTopic,
    /// TOPIC_ALREADY_EXISTS (36).
    TopicAlreadyExists,
    /// INVALID_PARTITIONS (37): a partition count below one, or not above the current count.
    InvalidPartitions,
    /// INVALID_REPLICATION_FACTOR (38): below one, or more than the unfenced brokers.
    InvalidReplicationFactor,
    /// NOT_CONTROLLER (41): this node is not (or no longer) the active controller.
    NotController,
    /// INVALID_REQUEST (42): a request that is malformed for this state.
    InvalidRequest,
    /// POLICY_VIOLATION (44): a configured limit (brokers, topics, partitions) would be
    /// exceeded.
    PolicyViolation,
    /// FENCED_LEADER_EPOCH (74): the request carries an older leader epoch.
    FencedLeaderEpoch,
    /// STALE_BROKER_EPOCH (77): the request carries a broker epoch that is not the current one.
    StaleBrokerEpoch,
    /// PREFERRED_LEADER_NOT_AVAILABLE (80).
    PreferredLeaderNotAvailable,
    /// ELIGIBLE_LEADERS_NOT_AVAILABLE (83).
    EligibleLeadersNotAvailable,
    /// ELECTION_NOT_NEEDED (84).
    ElectionNotNeeded,
    /// INVALID_UPDATE_VERSION (96): the AlterPartition's partition epoch is not the current one.
    InvalidUpdateVersion,
    /// UNKNOWN_TOPIC_ID (100).
    UnknownTopicId,
    /// DUPLICATE_BROKER_REGISTRATION (101): another incarnation of this broker id still holds
    /// a live lease.
    DuplicateBrokerRegistration,
    /// BROKER_ID_NOT_REGISTERED (102).
    BrokerIdNotRegistered,
    /// INELIGIBLE_REPLICA (107): a proposed ISR member is fenced, shutting down or not
    /// registered (KIP-841).
    IneligibleReplica,
}

impl ControllerError {
    /// Kafka's numeric error code.
    pub const fn code(self) -> i16 {
        match self {
            ControllerError::UnknownTopicOrPartition => 3,
            ControllerError::NotLeaderOrFollower => 6,
            ControllerError::RequestTimedOut => 7,
            ControllerError::InvalidTopic => 17,
            ControllerError::TopicAlreadyExists => 36,
            ControllerError::InvalidPartitions => 37,
            ControllerError::InvalidReplicationFactor => 38,
            ControllerError::NotController => 41,
            ControllerError::InvalidRequest => 42,
            ControllerError::PolicyViolation => 44,
            ControllerError::FencedLeaderEpoch => 74,
            ControllerError::StaleBrokerEpoch => 77,
            ControllerError::PreferredLeaderNotAvailable => 80,
            ControllerError::EligibleLeadersNotAvailable => 83,
            ControllerError::ElectionNotNeeded => 84,
            ControllerError::InvalidUpdateVersion => 96,
            ControllerError::UnknownTopicId => 100,
            ControllerError::DuplicateBrokerRegistration => 101,
            ControllerError::BrokerIdNotRegistered => 102,
            ControllerError::IneligibleReplica => 107,
        }
    }

    /// Kafka's name for the error.
    pub const fn name(self) -> &'static str {
        match self {
            ControllerError::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            ControllerError::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ControllerError::RequestTimedOut => "REQUEST_TIMED_OUT",
            ControllerError::InvalidTopic => "INVALID_TOPIC_EXCEPTION",
            ControllerError::TopicAlreadyExists => "TOPIC_ALREADY_EXISTS",
            ControllerError::InvalidPartitions => "INVALID_PARTITIONS",
            ControllerError::InvalidReplicationFactor => "INVALID_REPLICATION_FACTOR",
            ControllerError::NotController => "NOT_CONTROLLER",
            ControllerError::InvalidRequest => "INVALID_REQUEST",
            ControllerError::PolicyViolation => "POLICY_VIOLATION",
            ControllerError::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            ControllerError::StaleBrokerEpoch => "STALE_BROKER_EPOCH",
            ControllerError::PreferredLeaderNotAvailable => "PREFERRED_LEADER_NOT_AVAILABLE",
            ControllerError::EligibleLeadersNotAvailable => "ELIGIBLE_LEADERS_NOT_AVAILABLE",
            ControllerError::ElectionNotNeeded => "ELECTION_NOT_NEEDED",
            ControllerError::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            ControllerError::UnknownTopicId => "UNKNOWN_TOPIC_ID",
            ControllerError::DuplicateBrokerRegistration => "DUPLICATE_BROKER_REGISTRATION",
            ControllerError::BrokerIdNotRegistered => "BROKER_ID_NOT_REGISTERED",
            ControllerError::IneligibleReplica => "INELIGIBLE_REPLICA",
        }
    }
}

impl fmt::Display for ControllerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

impl std::error::Error for ControllerError {}
