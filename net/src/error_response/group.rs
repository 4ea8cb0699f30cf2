//! Whole-request error answers for the consumer-group APIs, after each request's
//! `getErrorResponse` in Kafka: the error on every group, member or partition the request
//! named where the version has a place for it, otherwise at top level, with Kafka's "unknown"
//! markers (generation -1, node -1 at port -1, offset -1, no authorized operations).

use kafka_protocol::messages::{
    delete_groups_response, describe_groups_response, find_coordinator_response,
    offset_commit_response, offset_fetch_response, BrokerId, DeleteGroupsRequest,
    DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, JoinGroupResponse, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::convert::authorized_operations;

/// Kafka's `Node.noNode()`: id -1, no host, port -1.
const NO_NODE: i32 = -1;

/// v0–3 answer for their one key at top level; v4 answers every key it was asked.
pub(super) fn find_coordinator(
    body: &FindCoordinatorRequest,
    version: i16,
    error_code: i16,
) -> FindCoordinatorResponse {
    if version < 4 {
        return FindCoordinatorResponse::default()
            .with_error_code(error_code)
            .with_node_id(BrokerId(NO_NODE))
            .with_host(StrBytes::new())
            .with_port(NO_NODE);
    }
    let coordinators = body
        .coordinator_keys
        .iter()
        .map(|key| {
            find_coordinator_response::Coordinator::default()
                .with_key(key.clone())
                .with_node_id(BrokerId(NO_NODE))
                .with_port(NO_NODE)
                .with_error_code(error_code)
        })
        .collect();
    FindCoordinatorResponse::default().with_coordinators(coordinators)
}

/// No generation, leader, member or protocol; the protocol name is null only where the
/// version lets it be (v7+), and "" before.
pub(super) fn join_group(version: i16, error_code: i16) -> JoinGroupResponse {
    let response = JoinGroupResponse::default()
        .with_error_code(error_code)
        .with_generation_id(-1);
    match version >= 7 {
        true => response.with_protocol_name(None),
        false => response.with_protocol_name(Some(StrBytes::new())),
    }
}

pub(super) fn offset_commit(body: &OffsetCommitRequest, error_code: i16) -> OffsetCommitResponse {
    let topics = body
        .topics
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|partition| {
                    offset_commit_response::OffsetCommitResponsePartition::default()
                        .with_partition_index(partition.partition_index)
                        .with_error_code(error_code)
                })
                .collect();
            offset_commit_response::OffsetCommitResponseTopic::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// v1 has no top-level error, so every partition asked for carries it (offset -1, metadata
/// ""); v2–7 answer it at top level with no partitions; v8 on every group.
pub(super) fn offset_fetch(
    body: &OffsetFetchRequest,
    version: i16,
    error_code: i16,
) -> OffsetFetchResponse {
    match version {
        ..=1 => {
            let topics = body
                .topics
                .iter()
                .flatten()
                .map(|topic| {
                    let partitions = topic
                        .partition_indexes
                        .iter()
                        .map(|&index| {
                            offset_fetch_response::OffsetFetchResponsePartition::default()
                                .with_partition_index(index)
                                .with_committed_offset(-1)
                                .with_metadata(Some(StrBytes::new()))
                                .with_error_code(error_code)
                        })
                        .collect();
                    offset_fetch_response::OffsetFetchResponseTopic::default()
                        .with_name(topic.name.clone())
                        .with_partitions(partitions)
                })
                .collect();
            OffsetFetchResponse::default().with_topics(topics)
        }
        2..=7 => OffsetFetchResponse::default().with_error_code(error_code),
        _ => {
            let groups = body
                .groups
                .iter()
                .map(|group| {
                    offset_fetch_response::OffsetFetchResponseGroup::default()
                        .with_group_id(group.group_id.clone())
                        .with_error_code(error_code)
                })
                .collect();
            OffsetFetchResponse::default().with_groups(groups)
        }
    }
}

/// Kafka's `DescribeGroupsResponse.groupError`: no state, protocol or members.
pub(super) fn describe_groups(
    body: &DescribeGroupsRequest,
    error_code: i16,
) -> DescribeGroupsResponse {
    let groups = body
        .groups
        .iter()
        .map(|group| {
            describe_groups_response::DescribedGroup::default()
                .with_error_code(error_code)
                .with_group_id(group.clone())
                .with_authorized_operations(authorized_operations::OMITTED)
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

pub(super) fn delete_groups(body: &DeleteGroupsRequest, error_code: i16) -> DeleteGroupsResponse {
    let results = body
        .groups_names
        .iter()
        .map(|group| {
            delete_groups_response::DeletableGroupResult::default()
                .with_group_id(group.clone())
                .with_error_code(error_code)
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
