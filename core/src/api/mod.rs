//! The requests and responses the data plane serves, as core types: what `sluice-net` decodes
//! Kafka's wire messages into and encodes answers from, and what the simulator's clients and
//! brokers exchange directly. Names and error codes are Kafka's; partitions are named by topic
//! name and index, as Fetch ≤ 12 and Produce ≤ 11 name them.

mod admin;
mod error;
mod fetch;
mod group;
mod init_producer_id;
mod metadata;
mod offsets;
mod produce;

pub use admin::{
    resource_type, AdminRequest, AdminResponse, AlterConfigOp, AlterConfigsRequest,
    AlterConfigsResource, AlterConfigsResult, ConfigResource, ConfigSource, ConfigSynonym,
    ConfigType, CreatableTopic, CreatePartitionsRequest, CreateTopicResult, CreateTopicsRequest,
    DeleteRecordsRequest, DeleteRecordsResult, DeleteTopicResult, DeleteTopicsRequest,
    DescribeConfigsRequest, DescribeConfigsResult, DescribedConfig, NewPartitions, TopicError,
};
pub use error::ErrorCode;
pub use fetch::{
    FetchPartition, FetchPartitionResponse, FetchRecords, FetchRequest, FetchResponse, FileRange,
};
pub use group::{
    Coordinator, DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest,
    DescribeGroupsResponse, DescribedGroup, DescribedMember, FetchedGroupOffsets, FetchedOffset,
    FindCoordinatorRequest, FindCoordinatorResponse, GroupRequest, GroupResponse, HeartbeatRequest,
    HeartbeatResponse, JoinGroupMember, JoinGroupRequest, JoinGroupResponse, JoinProtocol,
    LeaveGroupRequest, LeaveGroupResponse, LeavingMember, LeftMember, ListGroupsRequest,
    ListGroupsResponse, ListedGroup, OffsetCommitPartition, OffsetCommitRequest,
    OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse, OffsetFetchGroup,
    OffsetFetchRequest, OffsetFetchResponse, SyncGroupRequest, SyncGroupResponse, ADMIN_GENERATION,
    COORDINATOR_KEY_GROUP, COORDINATOR_KEY_TRANSACTION,
};
pub use init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
pub use metadata::{MetadataRequest, MetadataResponse, PartitionMetadata, TopicMetadata};
pub use offsets::{
    EpochEndOffset, ListOffsetsPartition, ListOffsetsRequest, ListOffsetsResponse, ListedOffset,
    OffsetForLeaderEpochPartition, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse,
    EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_TIMESTAMP, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET,
};
pub use produce::{ProducePartitionResponse, ProduceRequest, ProduceResponse};

pub use crate::controller::TopicPartition;

/// The answer to a request that never came: the connection dropped or the driver stopped
/// waiting. The request may or may not have reached the broker and taken effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disconnected;

/// The replica id consumers send in Fetch, ListOffsets and OffsetForLeaderEpoch.
pub const CONSUMER_REPLICA_ID: i32 = -1;

/// `isolation_level` of Fetch and ListOffsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsolationLevel {
    /// READ_UNCOMMITTED (0): up to the high watermark.
    ReadUncommitted,
    /// READ_COMMITTED (1): up to the last stable offset.
    ReadCommitted,
}

/// A request to a broker's data plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Produce (key 0).
    Produce(ProduceRequest),
    /// Fetch (key 1), from a consumer or a follower replica.
    Fetch(FetchRequest),
    /// ListOffsets (key 2).
    ListOffsets(ListOffsetsRequest),
    /// Metadata (key 3).
    Metadata(MetadataRequest),
    /// OffsetForLeaderEpoch (key 23), from a follower or a consumer (KIP-101, KIP-320).
    OffsetForLeaderEpoch(OffsetForLeaderEpochRequest),
    /// InitProducerId (key 22), from an idempotent producer.
    InitProducerId(InitProducerIdRequest),
    /// The admin APIs.
    Admin(AdminRequest),
    /// The consumer-group APIs.
    Group(GroupRequest),
}

/// A broker's answer to a [`Request`] of the same kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// To Produce.
    Produce(ProduceResponse),
    /// To Fetch.
    Fetch(FetchResponse),
    /// To ListOffsets.
    ListOffsets(ListOffsetsResponse),
    /// To Metadata.
    Metadata(MetadataResponse),
    /// To OffsetForLeaderEpoch.
    OffsetForLeaderEpoch(OffsetForLeaderEpochResponse),
    /// To InitProducerId.
    InitProducerId(InitProducerIdResponse),
    /// To an admin request.
    Admin(AdminResponse),
    /// To a consumer-group request.
    Group(GroupResponse),
}

impl Request {
    /// Kafka's name for the request.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Produce(_) => "Produce",
            Request::Fetch(_) => "Fetch",
            Request::ListOffsets(_) => "ListOffsets",
            Request::Metadata(_) => "Metadata",
            Request::OffsetForLeaderEpoch(_) => "OffsetForLeaderEpoch",
            Request::InitProducerId(_) => "InitProducerId",
            Request::Admin(request) => request.name(),
            Request::Group(request) => request.name(),
        }
    }
}

impl Response {
    /// Kafka's name for the response.
    pub fn name(&self) -> &'static str {
        match self {
            Response::Produce(_) => "Produce",
            Response::Fetch(_) => "Fetch",
            Response::ListOffsets(_) => "ListOffsets",
            Response::Metadata(_) => "Metadata",
            Response::OffsetForLeaderEpoch(_) => "OffsetForLeaderEpoch",
            Response::InitProducerId(_) => "InitProducerId",
            Response::Admin(response) => response.name(),
            Response::Group(response) => response.name(),
        }
    }
}
