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

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::messages::{ApiKey, LeaveGroupResponse};
    use kafka_protocol::protocol::Decodable;

    use super::*;
    use crate::error_response::error_response;
    use crate::request::decode_request;
    use crate::response::encode_response;
    use crate::samples::{request_frame, sample_request};

    /// The sample request's error answer with `error_code`, as a client reads it.
    fn refused<R: Decodable>(api_key: ApiKey, version: i16, error_code: i16) -> R {
        let frame = request_frame(3, Some("c"), version, &sample_request(api_key, version));
        let request = decode_request(frame).unwrap();
        let bytes = encode_response(&request.header, &error_response(&request, error_code))
            .unwrap_or_else(|error| panic!("{api_key:?} v{version}: {error}"));
        let header_bytes = 4 + 4 + usize::from(api_key.response_header_version(version) >= 1);
        let mut body = Bytes::copy_from_slice(&bytes[header_bytes..]);
        let decoded = R::decode(&mut body, version).unwrap();
        assert!(body.is_empty(), "{api_key:?} v{version}");
        decoded
    }

    #[test]
    fn offset_fetch_v1_errors_each_partition_v2_the_group_and_v8_each_group() {
        let v1: OffsetFetchResponse = refused(ApiKey::OffsetFetch, 1, 15);
        let partitions: Vec<_> = v1.topics.iter().flat_map(|t| &t.partitions).collect();
        assert_eq!(partitions.len(), 4);
        for partition in partitions {
            assert_eq!(partition.error_code, 15);
            assert_eq!(partition.committed_offset, -1);
            assert_eq!(partition.metadata.as_deref(), Some(""));
        }
        for version in 2..=7 {
            let body: OffsetFetchResponse = refused(ApiKey::OffsetFetch, version, 15);
            assert_eq!(body.error_code, 15, "v{version}");
            assert!(body.topics.is_empty());
        }
        let v8: OffsetFetchResponse = refused(ApiKey::OffsetFetch, 8, 15);
        let groups: Vec<(&str, i16)> = v8
            .groups
            .iter()
            .map(|g| (&*g.group_id.0, g.error_code))
            .collect();
        assert_eq!(groups, vec![("billing", 15), ("audit", 15)]);
    }

    #[test]
    fn find_coordinator_v3_errors_its_key_and_v4_every_key() {
        let v3: FindCoordinatorResponse = refused(ApiKey::FindCoordinator, 3, 15);
        assert_eq!((v3.error_code, v3.node_id.0, v3.port), (15, -1, -1));
        assert!(v3.coordinators.is_empty());
        let v4: FindCoordinatorResponse = refused(ApiKey::FindCoordinator, 4, 15);
        assert_eq!(v4.error_code, 0);
        let keys: Vec<(&str, i16, i32)> = v4
            .coordinators
            .iter()
            .map(|c| (&*c.key, c.error_code, c.node_id.0))
            .collect();
        assert_eq!(keys, vec![("billing", 15, -1), ("audit", 15, -1)]);
    }

    #[test]
    fn member_apis_answer_at_top_level() {
        for version in 0..=5 {
            let leave: LeaveGroupResponse = refused(ApiKey::LeaveGroup, version, 16);
            assert_eq!(leave.error_code, 16);
            assert!(leave.members.is_empty());
        }
        for version in 0..=7 {
            let join: JoinGroupResponse = refused(ApiKey::JoinGroup, version, 16);
            assert_eq!((join.error_code, join.generation_id), (16, -1));
            let name = (version < 7).then_some("");
            assert_eq!(join.protocol_name.as_deref(), name, "v{version}");
        }
    }

    #[test]
    fn per_group_and_per_partition_apis_error_everything_named() {
        let commit: OffsetCommitResponse = refused(ApiKey::OffsetCommit, 8, 16);
        assert!(commit
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .all(|p| p.error_code == 16));
        assert_eq!(commit.topics.len(), 2);
        for version in 0..=5 {
            let describe: DescribeGroupsResponse = refused(ApiKey::DescribeGroups, version, 16);
            assert_eq!(describe.groups.len(), 2);
            for group in &describe.groups {
                assert_eq!(group.error_code, 16);
                assert_eq!(group.authorized_operations, i32::MIN);
            }
        }
        let delete: DeleteGroupsResponse = refused(ApiKey::DeleteGroups, 2, 16);
        assert!(delete.results.iter().all(|r| r.error_code == 16));
        assert_eq!(delete.results.len(), 2);
    }
}
