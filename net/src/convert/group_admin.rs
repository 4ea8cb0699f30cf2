//! The group APIs of the admin tools (`kafka-consumer-groups`): DescribeGroups (key 15,
//! v0–5), ListGroups (key 16, v0–4), DeleteGroups (key 42, v0–2) and OffsetDelete (key 47,
//! v0).
//!
//! DescribeGroups request: `groups`; v3+ `include_authorized_operations`; v5+ flexible.
//! Response: per group `error_code`, `group_id`, `group_state`, `protocol_type`,
//! `protocol_data` and `members` (`member_id`, `client_id`, `client_host`, `member_metadata`,
//! `member_assignment`); v1+ `throttle_time_ms`; v3+ `authorized_operations` per group, every
//! operation a group supports when asked for and the group was described (Sluice has no
//! authorizer), else Kafka's "omitted" marker; v4+ each member's `group_instance_id`.
//!
//! ListGroups request: v3+ flexible; v4+ `states_filter`. Response: `error_code` and `groups`
//! (`group_id`, `protocol_type`); v1+ `throttle_time_ms`; v4+ each group's `group_state`.
//!
//! DeleteGroups request: `groups_names`; v2+ flexible. Response: a result per group with its
//! `error_code`, and `throttle_time_ms`.
//!
//! OffsetDelete request: `group_id` and `topics` of partition indexes. Response: a top-level
//! `error_code`, `throttle_time_ms`, and each partition's `error_code` under its topic.

use kafka_protocol::messages::{
    delete_groups_response, describe_groups_response, list_groups_response, offset_delete_response,
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    GroupId, ListGroupsRequest, ListGroupsResponse, OffsetDeleteRequest, OffsetDeleteResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{self, ErrorCode, TopicPartition};

use super::authorized_operations::{GROUP_OPERATIONS, OMITTED};
use super::grouping::group_by_topic;
use super::ResponseContext;

/// The first DescribeGroups version with authorized operations.
const AUTHORIZED_OPERATIONS_FROM: i16 = 3;

/// The first DescribeGroups version that names members' instance ids.
const INSTANCE_ID_FROM: i16 = 4;

/// The first ListGroups version that filters and answers by state.
const STATES_FROM: i16 = 4;

fn text(value: String) -> StrBytes {
    StrBytes::from_string(value)
}

fn group_id(value: String) -> GroupId {
    GroupId(text(value))
}

/// The core DescribeGroups request, and whether the answer lists authorized operations.
pub(super) fn describe_groups(
    body: &DescribeGroupsRequest,
    version: i16,
) -> (api::DescribeGroupsRequest, bool) {
    let request = api::DescribeGroupsRequest {
        groups: body.groups.iter().map(|group| group.to_string()).collect(),
    };
    let operations = version >= AUTHORIZED_OPERATIONS_FROM && body.include_authorized_operations;
    (request, operations)
}

/// The DescribeGroups answer at the request's version.
pub(super) fn describe_groups_response(
    response: api::DescribeGroupsResponse,
    context: &ResponseContext,
) -> DescribeGroupsResponse {
    let version = context.api_version;
    let groups = response
        .groups
        .into_iter()
        .map(|group| {
            let members = group
                .members
                .into_iter()
                .map(|member| {
                    let entry = describe_groups_response::DescribedGroupMember::default()
                        .with_member_id(text(member.member_id))
                        .with_client_id(text(member.client_id))
                        .with_client_host(text(member.client_host))
                        .with_member_metadata(member.metadata)
                        .with_member_assignment(member.assignment);
                    match version >= INSTANCE_ID_FROM {
                        true => entry.with_group_instance_id(member.group_instance_id.map(text)),
                        false => entry,
                    }
                })
                .collect();
            let described = context.include_group_authorized_operations
                && version >= AUTHORIZED_OPERATIONS_FROM
                && group.error == ErrorCode::None;
            describe_groups_response::DescribedGroup::default()
                .with_error_code(group.error.code())
                .with_group_id(group_id(group.group_id))
                .with_group_state(text(group.state))
                .with_protocol_type(text(group.protocol_type))
                .with_protocol_data(text(group.protocol_data))
                .with_members(members)
                .with_authorized_operations(if described { GROUP_OPERATIONS } else { OMITTED })
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

/// The core ListGroups request.
pub(super) fn list_groups(body: &ListGroupsRequest, version: i16) -> api::ListGroupsRequest {
    let states_filter = match version >= STATES_FROM {
        true => body.states_filter.iter().map(|s| s.to_string()).collect(),
        false => Vec::new(),
    };
    api::ListGroupsRequest { states_filter }
}

/// The ListGroups answer at `version`.
pub(super) fn list_groups_response(
    response: api::ListGroupsResponse,
    version: i16,
) -> ListGroupsResponse {
    let groups = response
        .groups
        .into_iter()
        .map(|group| {
            let listed = list_groups_response::ListedGroup::default()
                .with_group_id(group_id(group.group_id))
                .with_protocol_type(text(group.protocol_type));
            match version >= STATES_FROM {
                true => listed.with_group_state(text(group.state)),
                false => listed,
            }
        })
        .collect();
    ListGroupsResponse::default()
        .with_error_code(response.error.code())
        .with_groups(groups)
}

/// The core DeleteGroups request.
pub(super) fn delete_groups(body: &DeleteGroupsRequest) -> api::DeleteGroupsRequest {
    api::DeleteGroupsRequest {
        groups: body.groups_names.iter().map(|g| g.to_string()).collect(),
    }
}

/// The DeleteGroups answer; every version carries the same fields.
pub(super) fn delete_groups_response(response: api::DeleteGroupsResponse) -> DeleteGroupsResponse {
    let results = response
        .groups
        .into_iter()
        .map(|(group, error)| {
            delete_groups_response::DeletableGroupResult::default()
                .with_group_id(group_id(group))
                .with_error_code(error.code())
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}

/// The core OffsetDelete request, partitions flattened in request order.
pub(super) fn offset_delete(body: &OffsetDeleteRequest) -> api::OffsetDeleteRequest {
    let partitions = body
        .topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().map(|partition| TopicPartition {
                topic: topic.name.to_string(),
                partition: partition.partition_index,
            })
        })
        .collect();
    api::OffsetDeleteRequest {
        group_id: body.group_id.to_string(),
        partitions,
    }
}

/// The OffsetDelete answer.
pub(super) fn offset_delete_response(response: api::OffsetDeleteResponse) -> OffsetDeleteResponse {
    let topics = group_by_topic(response.partitions, |(partition, _)| &partition.topic)
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(partition, error)| {
                    offset_delete_response::OffsetDeleteResponsePartition::default()
                        .with_partition_index(partition.partition)
                        .with_error_code(error.code())
                })
                .collect();
            offset_delete_response::OffsetDeleteResponseTopic::default()
                .with_name(TopicName(text(topic)))
                .with_partitions(partitions)
        })
        .collect();
    OffsetDeleteResponse::default()
        .with_error_code(response.error.code())
        .with_topics(topics)
}
