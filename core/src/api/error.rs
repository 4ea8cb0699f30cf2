//! Kafka's error codes for the data plane and the admin APIs.

use core::fmt;

/// An error code a data-plane response carries, numbered as Kafka numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorCode {
    /// NONE (0).
    None,
    /// UNKNOWN_SERVER_ERROR (-1).
    UnknownServerError,
    /// OFFSET_OUT_OF_RANGE (1).
    OffsetOutOfRange,
    /// CORRUPT_MESSAGE (2): a batch failed its CRC or size checks.
    CorruptMessage,
    /// UNKNOWN_TOPIC_OR_PARTITION (3).
    UnknownTopicOrPartition,
    /// LEADER_NOT_AVAILABLE (5): the partition has no leader right now.
    LeaderNotAvailable,
    /// NOT_LEADER_OR_FOLLOWER (6).
    NotLeaderOrFollower,
    /// REQUEST_TIMED_OUT (7).
    RequestTimedOut,
    /// MESSAGE_TOO_LARGE (10).
    MessageTooLarge,
    /// NOT_ENOUGH_REPLICAS (19): acks=all refused before the append, the ISR is too small.
    NotEnoughReplicas,
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND (20): appended, but the ISR shrank below
    /// `min.insync.replicas` before it was replicated.
    NotEnoughReplicasAfterAppend,
    /// INVALID_REQUIRED_ACKS (21).
    InvalidRequiredAcks,
    /// COORDINATOR_LOAD_IN_PROGRESS (14): the coordinator is not ready; for InitProducerId, the broker
    /// has no producer id block from the controller yet.
    CoordinatorLoadInProgress,
    /// COORDINATOR_NOT_AVAILABLE (15).
    CoordinatorNotAvailable,
    /// UNSUPPORTED_VERSION (35): the broker does not support what the request asks for.
    UnsupportedVersion,
    /// OUT_OF_ORDER_SEQUENCE_NUMBER (45): an idempotent batch's sequence does not follow the last one
    /// the partition holds for its producer.
    OutOfOrderSequenceNumber,
    /// DUPLICATE_SEQUENCE_NUMBER (46).
    DuplicateSequenceNumber,
    /// INVALID_PRODUCER_EPOCH (47): the batch's producer epoch is older than the partition's.
    InvalidProducerEpoch,
    /// UNKNOWN_PRODUCER_ID (59).
    UnknownProducerId,
    /// INVALID_REQUEST (42): the request breaks a protocol rule its codec cannot check.
    InvalidRequest,
    /// TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53).
    TransactionalIdAuthorizationFailed,
    /// KAFKA_STORAGE_ERROR (56): the replica's log is offline.
    KafkaStorageError,
    /// FENCED_LEADER_EPOCH (74): the request's leader epoch is older than the replica's.
    FencedLeaderEpoch,
    /// UNKNOWN_LEADER_EPOCH (75): the request's leader epoch is newer than the replica's.
    UnknownLeaderEpoch,
    /// FETCH_SESSION_ID_NOT_FOUND (70): an incremental fetch named a session the broker does
    /// not hold (KIP-227).
    FetchSessionIdNotFound,
    /// OFFSET_NOT_AVAILABLE (78): a new leader's high watermark has not yet reached the start
    /// of its epoch (KIP-207).
    OffsetNotAvailable,
    /// INVALID_RECORD (87).
    InvalidRecord,
    /// INVALID_TOPIC_EXCEPTION (17): a topic name Kafka's rule refuses.
    InvalidTopicException,
    /// TOPIC_ALREADY_EXISTS (36).
    TopicAlreadyExists,
    /// INVALID_PARTITIONS (37).
    InvalidPartitions,
    /// INVALID_REPLICATION_FACTOR (38).
    InvalidReplicationFactor,
    /// INVALID_REPLICA_ASSIGNMENT (39).
    InvalidReplicaAssignment,
    /// INVALID_CONFIG (40): an unknown config name or a value out of its domain.
    InvalidConfig,
    /// NOT_CONTROLLER (41): the request reached a controller that is not the active one.
    NotController,
    /// POLICY_VIOLATION (44): a cluster limit refused the request.
    PolicyViolation,
    /// UNSUPPORTED_ENDPOINT_TYPE (115): DescribeCluster asked a broker for controllers.
    UnsupportedEndpointType,
    /// UNKNOWN_TOPIC_ID (100).
    UnknownTopicId,
    /// OFFSET_METADATA_TOO_LARGE (12): an offset commit's metadata string is longer than `offset.metadata.max.bytes`.
    OffsetMetadataTooLarge,
    /// NOT_COORDINATOR (16): this broker does not coordinate the group (any more).
    NotCoordinator,
    /// ILLEGAL_GENERATION (22): the request's group generation is not the current one.
    IllegalGeneration,
    /// INCONSISTENT_GROUP_PROTOCOL (23): the member's protocol type or protocols do not match the group's.
    InconsistentGroupProtocol,
    /// INVALID_GROUP_ID (24): an empty or missing group id.
    InvalidGroupId,
    /// UNKNOWN_MEMBER_ID (25): the group has no member with this id.
    UnknownMemberId,
    /// INVALID_SESSION_TIMEOUT (26): the session timeout is outside `group.min.session.timeout.ms`..`group.max.session.timeout.ms`.
    InvalidSessionTimeout,
    /// REBALANCE_IN_PROGRESS (27): the group is rebalancing: the member must join again.
    RebalanceInProgress,
    /// INVALID_COMMIT_OFFSET_SIZE (28): the offset commit's records are too large to append.
    InvalidCommitOffsetSize,
    /// NON_EMPTY_GROUP (68): the group still has members.
    NonEmptyGroup,
    /// GROUP_ID_NOT_FOUND (69): the group does not exist.
    GroupIdNotFound,
    /// MEMBER_ID_REQUIRED (79): a JoinGroup v4+ without a member id: the answer carries the id to join with (KIP-394).
    MemberIdRequired,
    /// GROUP_MAX_SIZE_REACHED (81): the group has `group.max.size` members.
    GroupMaxSizeReached,
    /// FENCED_INSTANCE_ID (82): another member now holds this `group.instance.id` (KIP-345).
    FencedInstanceId,
    /// GROUP_SUBSCRIBED_TO_TOPIC (86): OffsetDelete on a topic the group's members subscribe to.
    GroupSubscribedToTopic,
    /// UNSTABLE_OFFSET_COMMIT (88): an offset commit for the partition is still being written (KIP-447's `require_stable`).
    UnstableOffsetCommit,
}

impl ErrorCode {
    /// Every code, for reading one back from its number.
    pub const ALL: [ErrorCode; 53] = [
        ErrorCode::None,
        ErrorCode::UnknownServerError,
        ErrorCode::OffsetOutOfRange,
        ErrorCode::CorruptMessage,
        ErrorCode::UnknownTopicOrPartition,
        ErrorCode::LeaderNotAvailable,
        ErrorCode::NotLeaderOrFollower,
        ErrorCode::RequestTimedOut,
        ErrorCode::MessageTooLarge,
        ErrorCode::NotEnoughReplicas,
        ErrorCode::NotEnoughReplicasAfterAppend,
        ErrorCode::InvalidRequiredAcks,
        ErrorCode::InvalidRequest,
        ErrorCode::TransactionalIdAuthorizationFailed,
        ErrorCode::KafkaStorageError,
        ErrorCode::FencedLeaderEpoch,
        ErrorCode::UnknownLeaderEpoch,
        ErrorCode::FetchSessionIdNotFound,
        ErrorCode::OffsetNotAvailable,
        ErrorCode::InvalidRecord,
        ErrorCode::UnknownTopicId,
        ErrorCode::CoordinatorLoadInProgress,
        ErrorCode::CoordinatorNotAvailable,
        ErrorCode::UnsupportedVersion,
        ErrorCode::OutOfOrderSequenceNumber,
        ErrorCode::DuplicateSequenceNumber,
        ErrorCode::InvalidProducerEpoch,
        ErrorCode::UnknownProducerId,
        ErrorCode::InvalidTopicException,
        ErrorCode::TopicAlreadyExists,
        ErrorCode::InvalidPartitions,
        ErrorCode::InvalidReplicationFactor,
        ErrorCode::InvalidReplicaAssignment,
        ErrorCode::InvalidConfig,
        ErrorCode::NotController,
        ErrorCode::PolicyViolation,
        ErrorCode::UnsupportedEndpointType,
        ErrorCode::OffsetMetadataTooLarge,
        ErrorCode::NotCoordinator,
        ErrorCode::IllegalGeneration,
        ErrorCode::InconsistentGroupProtocol,
        ErrorCode::InvalidGroupId,
        ErrorCode::UnknownMemberId,
        ErrorCode::InvalidSessionTimeout,
        ErrorCode::RebalanceInProgress,
        ErrorCode::InvalidCommitOffsetSize,
        ErrorCode::NonEmptyGroup,
        ErrorCode::GroupIdNotFound,
        ErrorCode::MemberIdRequired,
        ErrorCode::GroupMaxSizeReached,
        ErrorCode::FencedInstanceId,
        ErrorCode::GroupSubscribedToTopic,
        ErrorCode::UnstableOffsetCommit,
    ];

    /// The code Kafka numbers `code`, if core names it.
    pub fn from_code(code: i16) -> Option<ErrorCode> {
        ErrorCode::ALL
            .into_iter()
            .find(|error| error.code() == code)
    }

    /// Kafka's numeric code.
    pub const fn code(self) -> i16 {
        match self {
            ErrorCode::None => 0,
            ErrorCode::UnknownServerError => -1,
            ErrorCode::OffsetOutOfRange => 1,
            ErrorCode::CorruptMessage => 2,
            ErrorCode::UnknownTopicOrPartition => 3,
            ErrorCode::LeaderNotAvailable => 5,
            ErrorCode::NotLeaderOrFollower => 6,
            ErrorCode::RequestTimedOut => 7,
            ErrorCode::MessageTooLarge => 10,
            ErrorCode::NotEnoughReplicas => 19,
            ErrorCode::NotEnoughReplicasAfterAppend => 20,
            ErrorCode::InvalidRequiredAcks => 21,
            ErrorCode::CoordinatorLoadInProgress => 14,
            ErrorCode::CoordinatorNotAvailable => 15,
            ErrorCode::UnsupportedVersion => 35,
            ErrorCode::OutOfOrderSequenceNumber => 45,
            ErrorCode::DuplicateSequenceNumber => 46,
            ErrorCode::InvalidProducerEpoch => 47,
            ErrorCode::UnknownProducerId => 59,
            ErrorCode::InvalidRequest => 42,
            ErrorCode::TransactionalIdAuthorizationFailed => 53,
            ErrorCode::KafkaStorageError => 56,
            ErrorCode::FencedLeaderEpoch => 74,
            ErrorCode::FetchSessionIdNotFound => 70,
            ErrorCode::UnknownLeaderEpoch => 75,
            ErrorCode::OffsetNotAvailable => 78,
            ErrorCode::InvalidRecord => 87,
            ErrorCode::InvalidTopicException => 17,
            ErrorCode::TopicAlreadyExists => 36,
            ErrorCode::InvalidPartitions => 37,
            ErrorCode::InvalidReplicationFactor => 38,
            ErrorCode::InvalidReplicaAssignment => 39,
            ErrorCode::InvalidConfig => 40,
            ErrorCode::NotController => 41,
            ErrorCode::PolicyViolation => 44,
            ErrorCode::UnsupportedEndpointType => 115,
            ErrorCode::UnknownTopicId => 100,
            ErrorCode::OffsetMetadataTooLarge => 12,
            ErrorCode::NotCoordinator => 16,
            ErrorCode::IllegalGeneration => 22,
            ErrorCode::InconsistentGroupProtocol => 23,
            ErrorCode::InvalidGroupId => 24,
            ErrorCode::UnknownMemberId => 25,
            ErrorCode::InvalidSessionTimeout => 26,
            ErrorCode::RebalanceInProgress => 27,
            ErrorCode::InvalidCommitOffsetSize => 28,
            ErrorCode::NonEmptyGroup => 68,
            ErrorCode::GroupIdNotFound => 69,
            ErrorCode::MemberIdRequired => 79,
            ErrorCode::GroupMaxSizeReached => 81,
            ErrorCode::FencedInstanceId => 82,
            ErrorCode::GroupSubscribedToTopic => 86,
            ErrorCode::UnstableOffsetCommit => 88,
        }
    }

    /// Kafka's name for the code.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::None => "NONE",
            ErrorCode::UnknownServerError => "UNKNOWN_SERVER_ERROR",
            ErrorCode::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            ErrorCode::CorruptMessage => "CORRUPT_MESSAGE",
            ErrorCode::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            ErrorCode::LeaderNotAvailable => "LEADER_NOT_AVAILABLE",
            ErrorCode::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ErrorCode::RequestTimedOut => "REQUEST_TIMED_OUT",
            ErrorCode::MessageTooLarge => "MESSAGE_TOO_LARGE",
            ErrorCode::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ErrorCode::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ErrorCode::InvalidRequiredAcks => "INVALID_REQUIRED_ACKS",
            ErrorCode::CoordinatorLoadInProgress => "COORDINATOR_LOAD_IN_PROGRESS",
            ErrorCode::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            ErrorCode::UnsupportedVersion => "UNSUPPORTED_VERSION",
            ErrorCode::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ErrorCode::DuplicateSequenceNumber => "DUPLICATE_SEQUENCE_NUMBER",
            ErrorCode::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            ErrorCode::UnknownProducerId => "UNKNOWN_PRODUCER_ID",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::TransactionalIdAuthorizationFailed => {
                "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"
            }
            ErrorCode::KafkaStorageError => "KAFKA_STORAGE_ERROR",
            ErrorCode::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            ErrorCode::FetchSessionIdNotFound => "FETCH_SESSION_ID_NOT_FOUND",
            ErrorCode::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            ErrorCode::OffsetNotAvailable => "OFFSET_NOT_AVAILABLE",
            ErrorCode::InvalidRecord => "INVALID_RECORD",
            ErrorCode::InvalidTopicException => "INVALID_TOPIC_EXCEPTION",
            ErrorCode::TopicAlreadyExists => "TOPIC_ALREADY_EXISTS",
            ErrorCode::InvalidPartitions => "INVALID_PARTITIONS",
            ErrorCode::InvalidReplicationFactor => "INVALID_REPLICATION_FACTOR",
            ErrorCode::InvalidReplicaAssignment => "INVALID_REPLICA_ASSIGNMENT",
            ErrorCode::InvalidConfig => "INVALID_CONFIG",
            ErrorCode::NotController => "NOT_CONTROLLER",
            ErrorCode::PolicyViolation => "POLICY_VIOLATION",
            ErrorCode::UnsupportedEndpointType => "UNSUPPORTED_ENDPOINT_TYPE",
            ErrorCode::UnknownTopicId => "UNKNOWN_TOPIC_ID",
            ErrorCode::OffsetMetadataTooLarge => "OFFSET_METADATA_TOO_LARGE",
            ErrorCode::NotCoordinator => "NOT_COORDINATOR",
            ErrorCode::IllegalGeneration => "ILLEGAL_GENERATION",
            ErrorCode::InconsistentGroupProtocol => "INCONSISTENT_GROUP_PROTOCOL",
            ErrorCode::InvalidGroupId => "INVALID_GROUP_ID",
            ErrorCode::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            ErrorCode::InvalidSessionTimeout => "INVALID_SESSION_TIMEOUT",
            ErrorCode::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            ErrorCode::InvalidCommitOffsetSize => "INVALID_COMMIT_OFFSET_SIZE",
            ErrorCode::NonEmptyGroup => "NON_EMPTY_GROUP",
            ErrorCode::GroupIdNotFound => "GROUP_ID_NOT_FOUND",
            ErrorCode::MemberIdRequired => "MEMBER_ID_REQUIRED",
            ErrorCode::GroupMaxSizeReached => "GROUP_MAX_SIZE_REACHED",
            ErrorCode::FencedInstanceId => "FENCED_INSTANCE_ID",
            ErrorCode::GroupSubscribedToTopic => "GROUP_SUBSCRIBED_TO_TOPIC",
            ErrorCode::UnstableOffsetCommit => "UNSTABLE_OFFSET_COMMIT",
        }
    }

    /// Whether Kafka's clients retry on this code (it is a `RetriableException`): the request
    /// may succeed if sent again, possibly after a metadata refresh.
    pub const fn is_retriable(self) -> bool {
        matches!(
            self,
            ErrorCode::CorruptMessage
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::LeaderNotAvailable
                | ErrorCode::NotLeaderOrFollower
                | ErrorCode::RequestTimedOut
                | ErrorCode::NotEnoughReplicas
                | ErrorCode::NotEnoughReplicasAfterAppend
                | ErrorCode::KafkaStorageError
                | ErrorCode::FencedLeaderEpoch
                | ErrorCode::UnknownLeaderEpoch
                | ErrorCode::OffsetNotAvailable
                | ErrorCode::FetchSessionIdNotFound
                | ErrorCode::UnknownTopicId
                | ErrorCode::CoordinatorLoadInProgress
                | ErrorCode::CoordinatorNotAvailable
                | ErrorCode::NotController
                | ErrorCode::NotCoordinator
                | ErrorCode::UnstableOffsetCommit
        )
    }

    /// Whether a write that got this code may still have been appended and replicated (Jepsen
    /// calls its outcome indefinite): only NONE and codes given before any append say for sure.
    pub const fn is_indefinite_for_produce(self) -> bool {
        matches!(
            self,
            ErrorCode::NotEnoughReplicasAfterAppend
                | ErrorCode::RequestTimedOut
                | ErrorCode::NotLeaderOrFollower
                | ErrorCode::UnknownServerError
                | ErrorCode::KafkaStorageError
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn codes_and_names_are_kafkas() {
        // Numbers and names from Kafka's `Errors` enum.
        let table = [
            (ErrorCode::InvalidRequest, 42, "INVALID_REQUEST"),
            (
                ErrorCode::TransactionalIdAuthorizationFailed,
                53,
                "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
            ),
            (
                ErrorCode::FetchSessionIdNotFound,
                70,
                "FETCH_SESSION_ID_NOT_FOUND",
            ),
            (ErrorCode::UnknownTopicId, 100, "UNKNOWN_TOPIC_ID"),
            (ErrorCode::InvalidRequiredAcks, 21, "INVALID_REQUIRED_ACKS"),
        ];
        for (error, code, name) in table {
            assert_eq!(error.code(), code);
            assert_eq!(error.name(), name);
        }
        // Kafka's FetchSessionIdNotFoundException and UnknownTopicIdException are retriable;
        // an invalid request or a refused transactional id is not.
        assert!(ErrorCode::FetchSessionIdNotFound.is_retriable());
        assert!(ErrorCode::UnknownTopicId.is_retriable());
        assert!(!ErrorCode::InvalidRequest.is_retriable());
        assert!(!ErrorCode::TransactionalIdAuthorizationFailed.is_retriable());
    }

    #[test]
    fn every_code_reads_back_from_its_number() {
        // No wildcard: a new variant stops this from compiling until it is added to `ALL`.
        let listed = |error: ErrorCode| match error {
            ErrorCode::None
            | ErrorCode::UnknownServerError
            | ErrorCode::OffsetOutOfRange
            | ErrorCode::CorruptMessage
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::NotLeaderOrFollower
            | ErrorCode::RequestTimedOut
            | ErrorCode::MessageTooLarge
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::NotEnoughReplicasAfterAppend
            | ErrorCode::InvalidRequiredAcks
            | ErrorCode::InvalidRequest
            | ErrorCode::TransactionalIdAuthorizationFailed
            | ErrorCode::KafkaStorageError
            | ErrorCode::FencedLeaderEpoch
            | ErrorCode::UnknownLeaderEpoch
            | ErrorCode::FetchSessionIdNotFound
            | ErrorCode::OffsetNotAvailable
            | ErrorCode::InvalidRecord
            | ErrorCode::UnknownTopicId
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::UnsupportedVersion
            | ErrorCode::OutOfOrderSequenceNumber
            | ErrorCode::DuplicateSequenceNumber
            | ErrorCode::InvalidProducerEpoch
            | ErrorCode::UnknownProducerId
            | ErrorCode::InvalidTopicException
            | ErrorCode::TopicAlreadyExists
            | ErrorCode::InvalidPartitions
            | ErrorCode::InvalidReplicationFactor
            | ErrorCode::InvalidReplicaAssignment
            | ErrorCode::InvalidConfig
            | ErrorCode::NotController
            | ErrorCode::PolicyViolation
            | ErrorCode::OffsetMetadataTooLarge
            | ErrorCode::NotCoordinator
            | ErrorCode::IllegalGeneration
            | ErrorCode::InconsistentGroupProtocol
            | ErrorCode::InvalidGroupId
            | ErrorCode::UnknownMemberId
            | ErrorCode::InvalidSessionTimeout
            | ErrorCode::RebalanceInProgress
            | ErrorCode::InvalidCommitOffsetSize
            | ErrorCode::NonEmptyGroup
            | ErrorCode::GroupIdNotFound
            | ErrorCode::MemberIdRequired
            | ErrorCode::GroupMaxSizeReached
            | ErrorCode::FencedInstanceId
            | ErrorCode::GroupSubscribedToTopic
            | ErrorCode::UnstableOffsetCommit
            | ErrorCode::UnsupportedEndpointType => ErrorCode::ALL.contains(&error),
        };
        for error in ErrorCode::ALL {
            assert!(listed(error));
            assert_eq!(ErrorCode::from_code(error.code()), Some(error));
        }
        assert_eq!(ErrorCode::from_code(-2), None);
    }
}
