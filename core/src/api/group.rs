//! The consumer-group APIs of Kafka's classic protocol as core types: FindCoordinator,
//! JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, ListGroups,
//! DescribeGroups, DeleteGroups and OffsetDelete. Each type carries the union of the fields
//! of the versions Sluice serves; `sluice-net` fills what a version lacks with the value
//! Kafka's broker assumes for it.

use bytes::Bytes;

use super::{ErrorCode, TopicPartition};

/// FindCoordinator's `key_type` for a consumer group.
pub const COORDINATOR_KEY_GROUP: i8 = 0;
/// FindCoordinator's `key_type` for a transactional id.
pub const COORDINATOR_KEY_TRANSACTION: i8 = 1;

/// The generation an admin OffsetCommit names: it commits for a group with no members.
pub const ADMIN_GENERATION: i32 = -1;

/// A request to a group coordinator (or, for FindCoordinator and ListGroups, to any broker).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupRequest {
    /// FindCoordinator (key 10).
    FindCoordinator(FindCoordinatorRequest),
    /// JoinGroup (key 11).
    JoinGroup(JoinGroupRequest),
    /// Heartbeat (key 12).
    Heartbeat(HeartbeatRequest),
    /// LeaveGroup (key 13).
    LeaveGroup(LeaveGroupRequest),
    /// SyncGroup (key 14).
    SyncGroup(SyncGroupRequest),
    /// OffsetCommit (key 8).
    OffsetCommit(OffsetCommitRequest),
    /// OffsetFetch (key 9).
    OffsetFetch(OffsetFetchRequest),
    /// DescribeGroups (key 15).
    DescribeGroups(DescribeGroupsRequest),
    /// ListGroups (key 16).
    ListGroups(ListGroupsRequest),
    /// DeleteGroups (key 42).
    DeleteGroups(DeleteGroupsRequest),
    /// OffsetDelete (key 47).
    OffsetDelete(OffsetDeleteRequest),
}

/// The answer to a [`GroupRequest`] of the same kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupResponse {
    /// To FindCoordinator.
    FindCoordinator(FindCoordinatorResponse),
    /// To JoinGroup.
    JoinGroup(JoinGroupResponse),
    /// To Heartbeat.
    Heartbeat(HeartbeatResponse),
    /// To LeaveGroup.
    LeaveGroup(LeaveGroupResponse),
    /// To SyncGroup.
    SyncGroup(SyncGroupResponse),
    /// To OffsetCommit.
    OffsetCommit(OffsetCommitResponse),
    /// To OffsetFetch.
    OffsetFetch(OffsetFetchResponse),
    /// To DescribeGroups.
    DescribeGroups(DescribeGroupsResponse),
    /// To ListGroups.
    ListGroups(ListGroupsResponse),
    /// To DeleteGroups.
    DeleteGroups(DeleteGroupsResponse),
    /// To OffsetDelete.
    OffsetDelete(OffsetDeleteResponse),
}

impl GroupRequest {
    /// Kafka's name for the request.
    pub fn name(&self) -> &'static str {
        match self {
            GroupRequest::FindCoordinator(_) => "FindCoordinator",
            GroupRequest::JoinGroup(_) => "JoinGroup",
            GroupRequest::Heartbeat(_) => "Heartbeat",
            GroupRequest::LeaveGroup(_) => "LeaveGroup",
            GroupRequest::SyncGroup(_) => "SyncGroup",
            GroupRequest::OffsetCommit(_) => "OffsetCommit",
            GroupRequest::OffsetFetch(_) => "OffsetFetch",
            GroupRequest::DescribeGroups(_) => "DescribeGroups",
            GroupRequest::ListGroups(_) => "ListGroups",
            GroupRequest::DeleteGroups(_) => "DeleteGroups",
            GroupRequest::OffsetDelete(_) => "OffsetDelete",
        }
    }

    /// The answer that refuses the whole request with `error` (every group, member and
    /// partition it names gets it).
    pub fn refuse(&self, error: ErrorCode) -> GroupResponse {
        match self {
            GroupRequest::FindCoordinator(request) => {
                GroupResponse::FindCoordinator(FindCoordinatorResponse {
                    coordinators: request
                        .keys
                        .iter()
                        .map(|key| Coordinator::error(key.clone(), error))
                        .collect(),
                })
            }
            GroupRequest::JoinGroup(request) => {
                GroupResponse::JoinGroup(JoinGroupResponse::error(request.member_id.clone(), error))
            }
            GroupRequest::Heartbeat(_) => GroupResponse::Heartbeat(HeartbeatResponse { error }),
            GroupRequest::LeaveGroup(request) => GroupResponse::LeaveGroup(LeaveGroupResponse {
                error,
                members: request
                    .members
                    .iter()
                    .map(|member| LeftMember {
                        member_id: member.member_id.clone(),
                        group_instance_id: member.group_instance_id.clone(),
                        error,
                    })
                    .collect(),
            }),
            GroupRequest::SyncGroup(_) => GroupResponse::SyncGroup(SyncGroupResponse::error(error)),
            GroupRequest::OffsetCommit(request) => {
                GroupResponse::OffsetCommit(OffsetCommitResponse {
                    partitions: request
                        .partitions
                        .iter()
                        .map(|p| (p.partition.clone(), error))
                        .collect(),
                })
            }
            GroupRequest::OffsetFetch(request) => GroupResponse::OffsetFetch(OffsetFetchResponse {
                groups: request
                    .groups
                    .iter()
                    .map(|group| FetchedGroupOffsets::error(group.group_id.clone(), error))
                    .collect(),
            }),
            GroupRequest::DescribeGroups(request) => {
                GroupResponse::DescribeGroups(DescribeGroupsResponse {
                    groups: request
                        .groups
                        .iter()
                        .map(|group| DescribedGroup::error(group.clone(), error))
                        .collect(),
                })
            }
            GroupRequest::ListGroups(_) => GroupResponse::ListGroups(ListGroupsResponse {
                error,
                groups: Vec::new(),
            }),
            GroupRequest::DeleteGroups(request) => {
                GroupResponse::DeleteGroups(DeleteGroupsResponse {
                    groups: request
                        .groups
                        .iter()
                        .map(|group| (group.clone(), error))
                        .collect(),
                })
            }
            // Kafka answers a group-level error with no topics.
            GroupRequest::OffsetDelete(_) => GroupResponse::OffsetDelete(OffsetDeleteResponse {
                error,
                partitions: Vec::new(),
            }),
        }
    }
}

impl GroupResponse {
    /// Kafka's name for the response.
    pub fn name(&self) -> &'static str {
        match self {
            GroupResponse::FindCoordinator(_) => "FindCoordinator",
            GroupResponse::JoinGroup(_) => "JoinGroup",
            GroupResponse::Heartbeat(_) => "Heartbeat",
            GroupResponse::LeaveGroup(_) => "LeaveGroup",
            GroupResponse::SyncGroup(_) => "SyncGroup",
            GroupResponse::OffsetCommit(_) => "OffsetCommit",
            GroupResponse::OffsetFetch(_) => "OffsetFetch",
            GroupResponse::DescribeGroups(_) => "DescribeGroups",
            GroupResponse::ListGroups(_) => "ListGroups",
            GroupResponse::DeleteGroups(_) => "DeleteGroups",
            GroupResponse::OffsetDelete(_) => "OffsetDelete",
        }
    }
}

/// FindCoordinator: which broker coordinates each key. Versions 0–3 carry one key, v4 a
/// batch; the driver turns the node ids into host and port from its listeners.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindCoordinatorRequest {
    /// [`COORDINATOR_KEY_GROUP`] or [`COORDINATOR_KEY_TRANSACTION`] (anything else is refused
    /// INVALID_REQUEST).
    pub key_type: i8,
    /// The group ids (or transactional ids), in request order.
    pub keys: Vec<String>,
}

/// The coordinator of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coordinator {
    /// The key asked for.
    pub key: String,
    /// The coordinating broker, or -1 with an error.
    pub node_id: i32,
    /// NONE, COORDINATOR_NOT_AVAILABLE (no leader for the key's partition yet) or why not.
    pub error: ErrorCode,
    /// A message for the error.
    pub message: Option<String>,
}

impl Coordinator {
    /// The answer refusing `key` with `error`.
    pub fn error(key: String, error: ErrorCode) -> Coordinator {
        Coordinator {
            key,
            node_id: -1,
            error,
            message: None,
        }
    }
}

/// FindCoordinator's answer, one entry per key in request order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindCoordinatorResponse {
    /// The coordinators.
    pub coordinators: Vec<Coordinator>,
}

/// One protocol a joining member supports, with its metadata (for consumers, the
/// subscription; opaque to the coordinator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinProtocol {
    /// The protocol name (for consumers, the assignor: `range`, `roundrobin`, …).
    pub name: String,
    /// Its metadata.
    pub metadata: Bytes,
}

/// JoinGroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinGroupRequest {
    /// The group.
    pub group_id: String,
    /// `session.timeout.ms`.
    pub session_timeout_ms: i32,
    /// `max.poll.interval.ms` as the rebalance timeout (v1+; v0 uses the session timeout).
    pub rebalance_timeout_ms: i32,
    /// The member id, empty on a first join.
    pub member_id: String,
    /// `group.instance.id` of a static member (v5+).
    pub group_instance_id: Option<String>,
    /// `consumer` for consumers.
    pub protocol_type: String,
    /// The protocols the member supports, in its order of preference.
    pub protocols: Vec<JoinProtocol>,
    /// Whether an unknown member must first get its id with MEMBER_ID_REQUIRED (v4+, KIP-394).
    pub require_known_member_id: bool,
    /// The request header's client id.
    pub client_id: String,
    /// The client's address, as the driver saw it.
    pub client_host: String,
}

/// A member as the group leader sees it in the JoinGroup answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinGroupMember {
    /// Its id.
    pub member_id: String,
    /// Its `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// Its metadata for the chosen protocol.
    pub metadata: Bytes,
}

/// JoinGroup's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinGroupResponse {
    /// NONE or why not.
    pub error: ErrorCode,
    /// The new generation, or -1.
    pub generation_id: i32,
    /// The group's protocol type (v7+).
    pub protocol_type: Option<String>,
    /// The chosen protocol.
    pub protocol_name: Option<String>,
    /// The leader's member id.
    pub leader: String,
    /// The member's id (the one to join with, under MEMBER_ID_REQUIRED).
    pub member_id: String,
    /// Every member, for the leader only; empty for the others.
    pub members: Vec<JoinGroupMember>,
}

impl JoinGroupResponse {
    /// The answer carrying only `error`.
    pub fn error(member_id: String, error: ErrorCode) -> JoinGroupResponse {
        JoinGroupResponse {
            error,
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            member_id,
            members: Vec::new(),
        }
    }
}

/// SyncGroup: the leader brings the assignment, every member collects its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroupRequest {
    /// The group.
    pub group_id: String,
    /// The generation the member joined.
    pub generation_id: i32,
    /// The member.
    pub member_id: String,
    /// Its `group.instance.id` (v3+).
    pub group_instance_id: Option<String>,
    /// The protocol type, if given (v5+).
    pub protocol_type: Option<String>,
    /// The protocol, if given (v5+).
    pub protocol_name: Option<String>,
    /// The leader's assignment, member by member; empty from the others.
    pub assignments: Vec<(String, Bytes)>,
}

/// SyncGroup's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroupResponse {
    /// NONE or why not.
    pub error: ErrorCode,
    /// The group's protocol type (v5+).
    pub protocol_type: Option<String>,
    /// The group's protocol (v5+).
    pub protocol_name: Option<String>,
    /// The member's assignment.
    pub assignment: Bytes,
}

impl SyncGroupResponse {
    /// The answer carrying only `error`.
    pub fn error(error: ErrorCode) -> SyncGroupResponse {
        SyncGroupResponse {
            error,
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// Heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatRequest {
    /// The group.
    pub group_id: String,
    /// The member's generation.
    pub generation_id: i32,
    /// The member.
    pub member_id: String,
    /// Its `group.instance.id` (v3+).
    pub group_instance_id: Option<String>,
}

/// Heartbeat's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeartbeatResponse {
    /// NONE, REBALANCE_IN_PROGRESS (join again), ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, …
    pub error: ErrorCode,
}

/// One member leaving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeavingMember {
    /// Its id (empty for a static member named by instance id only).
    pub member_id: String,
    /// Its `group.instance.id` (v3+).
    pub group_instance_id: Option<String>,
}

/// LeaveGroup: v0–2 carry one member id; v3+ a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaveGroupRequest {
    /// The group.
    pub group_id: String,
    /// The members leaving.
    pub members: Vec<LeavingMember>,
}

/// One member's answer to LeaveGroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftMember {
    /// Its id.
    pub member_id: String,
    /// Its `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// NONE, UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID.
    pub error: ErrorCode,
}

/// LeaveGroup's answer. Before v3 there is only the top-level error, which is then the
/// single member's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaveGroupResponse {
    /// NONE or why the group refused the request as a whole.
    pub error: ErrorCode,
    /// Each member's answer, in request order.
    pub members: Vec<LeftMember>,
}

/// One partition's offset to commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitPartition {
    /// The partition.
    pub partition: TopicPartition,
    /// The next offset to consume.
    pub offset: i64,
    /// The leader epoch of the last record consumed (v6+), or -1.
    pub leader_epoch: i32,
    /// The client's metadata string.
    pub metadata: Option<String>,
}

/// OffsetCommit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    /// The group.
    pub group_id: String,
    /// The member's generation, or [`ADMIN_GENERATION`] for a commit from outside the group.
    pub generation_id: i32,
    /// The member, empty for an admin commit.
    pub member_id: String,
    /// Its `group.instance.id` (v7+).
    pub group_instance_id: Option<String>,
    /// The partitions, in request order.
    pub partitions: Vec<OffsetCommitPartition>,
}

/// OffsetCommit's answer, one error per partition in request order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitResponse {
    /// The partitions.
    pub partitions: Vec<(TopicPartition, ErrorCode)>,
}

/// One group's part of an OffsetFetch (v0–7 carry one group, v8 several).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetFetchGroup {
    /// The group.
    pub group_id: String,
    /// The partitions asked for, or `None` for every partition the group has committed.
    pub partitions: Option<Vec<TopicPartition>>,
}

/// OffsetFetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetFetchRequest {
    /// The groups.
    pub groups: Vec<OffsetFetchGroup>,
    /// v7+: answer UNSTABLE_OFFSET_COMMIT for a partition whose commit is still being
    /// written, rather than the offset before it (KIP-447).
    pub require_stable: bool,
}

/// One partition's committed offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedOffset {
    /// The partition.
    pub partition: TopicPartition,
    /// The committed offset, or -1 when there is none.
    pub offset: i64,
    /// Its leader epoch (v5+), or -1.
    pub leader_epoch: i32,
    /// Its metadata.
    pub metadata: Option<String>,
    /// NONE or why not.
    pub error: ErrorCode,
}

/// One group's answer to OffsetFetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedGroupOffsets {
    /// The group.
    pub group_id: String,
    /// NONE or why the whole group was refused (NOT_COORDINATOR, …).
    pub error: ErrorCode,
    /// The partitions.
    pub partitions: Vec<FetchedOffset>,
}

impl FetchedGroupOffsets {
    /// The answer refusing `group_id` with `error`.
    pub fn error(group_id: String, error: ErrorCode) -> FetchedGroupOffsets {
        FetchedGroupOffsets {
            group_id,
            error,
            partitions: Vec::new(),
        }
    }
}

/// OffsetFetch's answer, one entry per group in request order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetFetchResponse {
    /// The groups.
    pub groups: Vec<FetchedGroupOffsets>,
}

/// ListGroups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListGroupsRequest {
    /// v4+: only groups in these states (Kafka's names: `Stable`, `Empty`, …), or every
    /// group when empty. Compared case-insensitively, as Kafka does.
    pub states_filter: Vec<String>,
}

/// One group this broker coordinates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedGroup {
    /// The group.
    pub group_id: String,
    /// Its protocol type (`consumer`), empty for a group with offsets only.
    pub protocol_type: String,
    /// Its state (v4+).
    pub state: String,
}

/// ListGroups' answer: the groups of this broker's coordinator only, as in Kafka (tools ask
/// every broker).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListGroupsResponse {
    /// NONE, or COORDINATOR_LOAD_IN_PROGRESS while a partition of groups loads.
    pub error: ErrorCode,
    /// The groups.
    pub groups: Vec<ListedGroup>,
}

/// DescribeGroups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribeGroupsRequest {
    /// The groups, in request order.
    pub groups: Vec<String>,
}

/// One member of a described group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribedMember {
    /// Its id.
    pub member_id: String,
    /// Its `group.instance.id` (v4+).
    pub group_instance_id: Option<String>,
    /// Its client id.
    pub client_id: String,
    /// Its address.
    pub client_host: String,
    /// Its metadata for the group's protocol.
    pub metadata: Bytes,
    /// Its assignment.
    pub assignment: Bytes,
}

/// One group's description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribedGroup {
    /// NONE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, …
    pub error: ErrorCode,
    /// The group.
    pub group_id: String,
    /// Its state: `Dead` for a group that does not exist, as Kafka answers.
    pub state: String,
    /// Its protocol type.
    pub protocol_type: String,
    /// Its protocol once Stable or CompletingRebalance, else empty.
    pub protocol_data: String,
    /// Its members.
    pub members: Vec<DescribedMember>,
}

impl DescribedGroup {
    /// The answer refusing `group_id` with `error`.
    pub fn error(group_id: String, error: ErrorCode) -> DescribedGroup {
        DescribedGroup {
            error,
            group_id,
            state: String::new(),
            protocol_type: String::new(),
            protocol_data: String::new(),
            members: Vec::new(),
        }
    }
}

/// DescribeGroups' answer, in request order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribeGroupsResponse {
    /// The groups.
    pub groups: Vec<DescribedGroup>,
}

/// DeleteGroups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteGroupsRequest {
    /// The groups, in request order.
    pub groups: Vec<String>,
}

/// DeleteGroups' answer: each group with NONE, NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, …
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteGroupsResponse {
    /// The groups, in request order.
    pub groups: Vec<(String, ErrorCode)>,
}

/// OffsetDelete: drop a group's committed offsets for some partitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetDeleteRequest {
    /// The group.
    pub group_id: String,
    /// The partitions.
    pub partitions: Vec<TopicPartition>,
}

/// OffsetDelete's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetDeleteResponse {
    /// NONE, or why the group refused the request as a whole (then `partitions` is empty).
    pub error: ErrorCode,
    /// Each partition with NONE or GROUP_SUBSCRIBED_TO_TOPIC.
    pub partitions: Vec<(TopicPartition, ErrorCode)>,
}
