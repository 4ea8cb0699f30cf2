//! The consumer-group APIs in the client's direction: core's [`GroupRequest`] as the
//! kafka-protocol body at a version. The inverse of the broker's side in `find_coordinator`,
//! `join_group`, `membership`, `offset_commit`, `offset_fetch` and `group_admin`; the answers
//! come back in `group_answers`.
//!
//! What a version cannot carry is left out, as for the data plane, where leaving it out keeps
//! the request's meaning:
//! - JoinGroup v0: `rebalance_timeout_ms` (the broker takes the session timeout). Before v4 the
//!   broker does not ask for a member id first, whatever `require_known_member_id` says; the
//!   client id and host are never in the body (the broker takes them from the connection).
//! - `group_instance_id`: JoinGroup before v5, SyncGroup and Heartbeat before v3, OffsetCommit
//!   before v7, LeaveGroup before v3 (the member then leaves by member id alone).
//! - SyncGroup before v5: `protocol_type` and `protocol_name`.
//! - OffsetCommit before v6: committed leader epochs. `retention_time_ms` (v2–4) is always
//!   -1, the broker's retention, as every client sends it.
//! - OffsetFetch before v7: `require_stable`.
//! - DescribeGroups: `include_authorized_operations` is never asked for (core has no field for
//!   the answer).
//!
//! Where leaving a field out would change what is asked, the request is not built (`None`):
//! FindCoordinator with other than one key before v4, or a transactional id at v0; LeaveGroup
//! with other than one member before v3; OffsetFetch with other than one group before v8, or
//! for every partition at v1; ListGroups with a state filter before v4.

use kafka_protocol::messages::{
    join_group_request, leave_group_request, offset_commit_request, offset_delete_request,
    offset_fetch_request, sync_group_request, DeleteGroupsRequest, DescribeGroupsRequest,
    FindCoordinatorRequest, GroupId, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest,
    ListGroupsRequest, OffsetCommitRequest, OffsetDeleteRequest, OffsetFetchRequest,
    SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{self, GroupRequest, TopicPartition, COORDINATOR_KEY_GROUP};

use super::topic_name;
use crate::convert::grouping::group_by_topic;
use crate::request::RequestBody;

fn text(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

fn group_id(value: &str) -> GroupId {
    GroupId(text(value))
}

fn optional(value: &Option<String>) -> Option<StrBytes> {
    value.as_deref().map(text)
}

/// `request` as kafka-protocol's body at `version`, or `None` where the version cannot say it
/// (see the module notes).
pub(super) fn request(request: GroupRequest, version: i16) -> Option<RequestBody> {
    let body = match request {
        GroupRequest::FindCoordinator(request) => {
            RequestBody::FindCoordinator(find_coordinator(&request, version)?)
        }
        GroupRequest::JoinGroup(request) => RequestBody::JoinGroup(join_group(&request, version)),
        GroupRequest::SyncGroup(request) => RequestBody::SyncGroup(sync_group(request, version)),
        GroupRequest::Heartbeat(request) => {
            let body = HeartbeatRequest::default()
                .with_group_id(group_id(&request.group_id))
                .with_generation_id(request.generation_id)
                .with_member_id(text(&request.member_id));
            RequestBody::Heartbeat(match version >= 3 {
                true => body.with_group_instance_id(optional(&request.group_instance_id)),
                false => body,
            })
        }
        GroupRequest::LeaveGroup(request) => {
            RequestBody::LeaveGroup(leave_group(&request, version)?)
        }
        GroupRequest::OffsetCommit(request) => {
            RequestBody::OffsetCommit(offset_commit(&request, version))
        }
        GroupRequest::OffsetFetch(request) => {
            RequestBody::OffsetFetch(offset_fetch(&request, version)?)
        }
        GroupRequest::DescribeGroups(request) => RequestBody::DescribeGroups(
            DescribeGroupsRequest::default()
                .with_groups(request.groups.iter().map(|g| group_id(g)).collect()),
        ),
        GroupRequest::ListGroups(request) => {
            let body = ListGroupsRequest::default();
            RequestBody::ListGroups(match (version >= 4, request.states_filter.is_empty()) {
                (true, _) => {
                    body.with_states_filter(request.states_filter.iter().map(|s| text(s)).collect())
                }
                (false, true) => body,
                (false, false) => return None,
            })
        }
        GroupRequest::DeleteGroups(request) => RequestBody::DeleteGroups(
            DeleteGroupsRequest::default()
                .with_groups_names(request.groups.iter().map(|g| group_id(g)).collect()),
        ),
        GroupRequest::OffsetDelete(request) => RequestBody::OffsetDelete(offset_delete(&request)),
    };
    Some(body)
}

fn find_coordinator(
    request: &api::FindCoordinatorRequest,
    version: i16,
) -> Option<FindCoordinatorRequest> {
    let body = match version {
        4.. => {
            let keys = request.keys.iter().map(|key| text(key)).collect();
            return Some(
                FindCoordinatorRequest::default()
                    .with_key_type(request.key_type)
                    .with_coordinator_keys(keys),
            );
        }
        _ => match request.keys.as_slice() {
            [key] => FindCoordinatorRequest::default().with_key(text(key)),
            _ => return None,
        },
    };
    match version {
        0 if request.key_type != COORDINATOR_KEY_GROUP => None,
        0 => Some(body),
        _ => Some(body.with_key_type(request.key_type)),
    }
}

fn join_group(request: &api::JoinGroupRequest, version: i16) -> JoinGroupRequest {
    let protocols = request
        .protocols
        .iter()
        .map(|protocol| {
            join_group_request::JoinGroupRequestProtocol::default()
                .with_name(text(&protocol.name))
                .with_metadata(protocol.metadata.clone())
        })
        .collect();
    let mut body = JoinGroupRequest::default()
        .with_group_id(group_id(&request.group_id))
        .with_session_timeout_ms(request.session_timeout_ms)
        .with_member_id(text(&request.member_id))
        .with_protocol_type(text(&request.protocol_type))
        .with_protocols(protocols);
    if version >= 1 {
        body.rebalance_timeout_ms = request.rebalance_timeout_ms;
    }
    if version >= 5 {
        body.group_instance_id = optional(&request.group_instance_id);
    }
    body
}

fn sync_group(request: api::SyncGroupRequest, version: i16) -> SyncGroupRequest {
    let assignments = request
        .assignments
        .into_iter()
        .map(|(member_id, assignment)| {
            sync_group_request::SyncGroupRequestAssignment::default()
                .with_member_id(StrBytes::from_string(member_id))
                .with_assignment(assignment)
        })
        .collect();
    let mut body = SyncGroupRequest::default()
        .with_group_id(group_id(&request.group_id))
        .with_generation_id(request.generation_id)
        .with_member_id(text(&request.member_id))
        .with_assignments(assignments);
    if version >= 3 {
        body.group_instance_id = optional(&request.group_instance_id);
    }
    if version >= 5 {
        body.protocol_type = optional(&request.protocol_type);
        body.protocol_name = optional(&request.protocol_name);
    }
    body
}

fn leave_group(request: &api::LeaveGroupRequest, version: i16) -> Option<LeaveGroupRequest> {
    let body = LeaveGroupRequest::default().with_group_id(group_id(&request.group_id));
    if version < 3 {
        return match request.members.as_slice() {
            [member] => Some(body.with_member_id(text(&member.member_id))),
            _ => None,
        };
    }
    let members = request
        .members
        .iter()
        .map(|member| {
            leave_group_request::MemberIdentity::default()
                .with_member_id(text(&member.member_id))
                .with_group_instance_id(optional(&member.group_instance_id))
        })
        .collect();
    Some(body.with_members(members))
}

fn offset_commit(request: &api::OffsetCommitRequest, version: i16) -> OffsetCommitRequest {
    let topics = group_by_topic(request.partitions.iter().collect(), |p| &p.partition.topic)
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|p| {
                    let entry = offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(p.partition.partition)
                        .with_committed_offset(p.offset)
                        .with_committed_metadata(optional(&p.metadata));
                    match version >= 6 {
                        true => entry.with_committed_leader_epoch(p.leader_epoch),
                        false => entry,
                    }
                })
                .collect();
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(topic_name(&topic))
                .with_partitions(partitions)
        })
        .collect();
    let body = OffsetCommitRequest::default()
        .with_group_id(group_id(&request.group_id))
        .with_generation_id_or_member_epoch(request.generation_id)
        .with_member_id(text(&request.member_id))
        .with_topics(topics);
    match version >= 7 {
        true => body.with_group_instance_id(optional(&request.group_instance_id)),
        false => body,
    }
}

/// The partitions of one group under their topics, as `(name, indexes)`.
fn indexes_by_topic(partitions: &[TopicPartition]) -> Vec<(String, Vec<i32>)> {
    group_by_topic(partitions.iter().collect(), |p| &p.topic)
        .into_iter()
        .map(|(topic, partitions)| (topic, partitions.iter().map(|p| p.partition).collect()))
        .collect()
}

fn offset_fetch(request: &api::OffsetFetchRequest, version: i16) -> Option<OffsetFetchRequest> {
    let body = match version {
        8.. => {
            let groups = request
                .groups
                .iter()
                .map(|group| {
                    let topics = group.partitions.as_deref().map(|partitions| {
                        indexes_by_topic(partitions)
                            .into_iter()
                            .map(|(topic, indexes)| {
                                offset_fetch_request::OffsetFetchRequestTopics::default()
                                    .with_name(topic_name(&topic))
                                    .with_partition_indexes(indexes)
                            })
                            .collect()
                    });
                    offset_fetch_request::OffsetFetchRequestGroup::default()
                        .with_group_id(group_id(&group.group_id))
                        .with_topics(topics)
                })
                .collect();
            OffsetFetchRequest::default().with_groups(groups)
        }
        _ => {
            let [group] = request.groups.as_slice() else {
                return None;
            };
            if group.partitions.is_none() && version < 2 {
                return None;
            }
            let topics = group.partitions.as_deref().map(|partitions| {
                indexes_by_topic(partitions)
                    .into_iter()
                    .map(|(topic, indexes)| {
                        offset_fetch_request::OffsetFetchRequestTopic::default()
                            .with_name(topic_name(&topic))
                            .with_partition_indexes(indexes)
                    })
                    .collect()
            });
            OffsetFetchRequest::default()
                .with_group_id(group_id(&group.group_id))
                .with_topics(topics)
        }
    };
    Some(match version >= 7 {
        true => body.with_require_stable(request.require_stable),
        false => body,
    })
}

fn offset_delete(request: &api::OffsetDeleteRequest) -> OffsetDeleteRequest {
    let topics = indexes_by_topic(&request.partitions)
        .into_iter()
        .map(|(topic, indexes)| {
            let partitions = indexes
                .into_iter()
                .map(|index| {
                    offset_delete_request::OffsetDeleteRequestPartition::default()
                        .with_partition_index(index)
                })
                .collect();
            offset_delete_request::OffsetDeleteRequestTopic::default()
                .with_name(topic_name(&topic))
                .with_partitions(partitions)
        })
        .collect();
    OffsetDeleteRequest::default()
        .with_group_id(group_id(&request.group_id))
        .with_topics(topics)
}
