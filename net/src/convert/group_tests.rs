//! Tests across the group APIs: a broker's answer naming everything a request asked about
//! (for the every-version tests of `convert`), and the admin tools' APIs.

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, DeleteGroupsResponse, DescribeGroupsResponse, ListGroupsResponse, OffsetDeleteResponse,
};
use sluice_core::api::{self, ErrorCode, GroupRequest, GroupResponse};

use super::test_support::{decode_response, through_wire, tp};
use super::{from_core, ClusterInfo, Converted};
use crate::samples::sample_request;

/// A successful answer to `request` with every field filled: the coordinator is node 1 (the
/// broker the tests' cluster lists), except for a second key, whose node 9 is unknown.
pub(super) fn answer_everything(request: &GroupRequest) -> GroupResponse {
    let text = |value: &str| value.to_string();
    match request {
        GroupRequest::FindCoordinator(request) => {
            let coordinators = request
                .keys
                .iter()
                .enumerate()
                .map(|(index, key)| api::Coordinator {
                    key: key.clone(),
                    node_id: if index == 0 { 1 } else { 9 },
                    error: ErrorCode::None,
                    message: None,
                })
                .collect();
            GroupResponse::FindCoordinator(api::FindCoordinatorResponse { coordinators })
        }
        GroupRequest::JoinGroup(request) => GroupResponse::JoinGroup(api::JoinGroupResponse {
            error: ErrorCode::None,
            generation_id: 2,
            protocol_type: Some(request.protocol_type.clone()),
            protocol_name: request.protocols.first().map(|p| p.name.clone()),
            leader: text("m-1"),
            member_id: text("m-1"),
            members: vec![api::JoinGroupMember {
                member_id: text("m-1"),
                group_instance_id: request.group_instance_id.clone(),
                metadata: Bytes::from_static(b"subscription"),
            }],
        }),
        GroupRequest::Heartbeat(_) => GroupResponse::Heartbeat(api::HeartbeatResponse {
            error: ErrorCode::None,
        }),
        GroupRequest::LeaveGroup(request) => GroupResponse::LeaveGroup(api::LeaveGroupResponse {
            error: ErrorCode::None,
            members: request
                .members
                .iter()
                .map(|member| api::LeftMember {
                    member_id: member.member_id.clone(),
                    group_instance_id: member.group_instance_id.clone(),
                    error: ErrorCode::UnknownMemberId,
                })
                .collect(),
        }),
        GroupRequest::SyncGroup(request) => GroupResponse::SyncGroup(api::SyncGroupResponse {
            error: ErrorCode::None,
            protocol_type: request.protocol_type.clone(),
            protocol_name: request.protocol_name.clone(),
            assignment: Bytes::from_static(b"assignment"),
        }),
        GroupRequest::OffsetCommit(request) => {
            GroupResponse::OffsetCommit(api::OffsetCommitResponse {
                partitions: request
                    .partitions
                    .iter()
                    .map(|p| (p.partition.clone(), ErrorCode::None))
                    .collect(),
            })
        }
        GroupRequest::OffsetFetch(request) => {
            GroupResponse::OffsetFetch(api::OffsetFetchResponse {
                groups: request
                    .groups
                    .iter()
                    .map(|group| api::FetchedGroupOffsets {
                        group_id: group.group_id.clone(),
                        error: ErrorCode::None,
                        partitions: group
                            .partitions
                            .clone()
                            .unwrap_or_else(|| vec![tp("orders", 0)])
                            .into_iter()
                            .map(|partition| api::FetchedOffset {
                                partition,
                                offset: 100,
                                leader_epoch: 3,
                                metadata: Some(text("checkpoint")),
                                error: ErrorCode::None,
                            })
                            .collect(),
                    })
                    .collect(),
            })
        }
        GroupRequest::DescribeGroups(request) => {
            GroupResponse::DescribeGroups(api::DescribeGroupsResponse {
                groups: request.groups.iter().map(|id| stable_group(id)).collect(),
            })
        }
        GroupRequest::ListGroups(_) => GroupResponse::ListGroups(api::ListGroupsResponse {
            error: ErrorCode::None,
            groups: vec![api::ListedGroup {
                group_id: text("billing"),
                protocol_type: text("consumer"),
                state: text("Stable"),
            }],
        }),
        GroupRequest::DeleteGroups(request) => {
            GroupResponse::DeleteGroups(api::DeleteGroupsResponse {
                groups: request
                    .groups
                    .iter()
                    .map(|group| (group.clone(), ErrorCode::NonEmptyGroup))
                    .collect(),
            })
        }
        GroupRequest::OffsetDelete(request) => {
            GroupResponse::OffsetDelete(api::OffsetDeleteResponse {
                error: ErrorCode::None,
                partitions: request
                    .partitions
                    .iter()
                    .map(|partition| (partition.clone(), ErrorCode::GroupSubscribedToTopic))
                    .collect(),
            })
        }
    }
}

fn stable_group(id: &str) -> api::DescribedGroup {
    api::DescribedGroup {
        error: ErrorCode::None,
        group_id: id.to_string(),
        state: "Stable".to_string(),
        protocol_type: "consumer".to_string(),
        protocol_data: "range".to_string(),
        members: vec![api::DescribedMember {
            member_id: "m-1".to_string(),
            group_instance_id: Some("host-1".to_string()),
            client_id: "rdkafka".to_string(),
            client_host: "/192.0.2.7".to_string(),
            metadata: Bytes::from_static(b"subscription"),
            assignment: Bytes::from_static(b"assignment"),
        }],
    }
}

/// The sample request of `api_key` at `version` through the wire, converted.
fn sample(api_key: ApiKey, version: i16) -> Converted {
    through_wire(sample_request(api_key, version), version)
        .unwrap_or_else(|error| panic!("{api_key:?} v{version}: {error}"))
}

fn answer<R: kafka_protocol::protocol::Decodable>(
    converted: &Converted,
    response: GroupResponse,
) -> R {
    let response = api::Response::Group(response);
    let body = from_core(response, &converted.context, &ClusterInfo::default()).unwrap();
    decode_response(&body, converted.context.api_version)
}

#[test]
fn describe_groups_lists_operations_only_when_asked_and_described() {
    // The sample asks for them from v3.
    for version in 0..=5 {
        let converted = sample(ApiKey::DescribeGroups, version);
        let response = GroupResponse::DescribeGroups(api::DescribeGroupsResponse {
            groups: vec![
                stable_group("billing"),
                api::DescribedGroup::error("audit".to_string(), ErrorCode::NotCoordinator),
            ],
        });
        let decoded: DescribeGroupsResponse = answer(&converted, response);
        let operations = if version >= 3 { 0x0148 } else { i32::MIN };
        assert_eq!(
            decoded.groups[0].authorized_operations, operations,
            "v{version}"
        );
        assert_eq!(decoded.groups[1].authorized_operations, i32::MIN);
        assert_eq!(decoded.groups[1].error_code, 16);
        let member = &decoded.groups[0].members[0];
        assert_eq!(&*member.client_host, "/192.0.2.7");
        assert_eq!(&*member.client_id, "rdkafka");
        assert_eq!(&member.member_assignment[..], b"assignment");
        let instance = (version >= 4).then_some("host-1");
        assert_eq!(member.group_instance_id.as_deref(), instance, "v{version}");
        assert_eq!(&*decoded.groups[0].group_state, "Stable");
        assert_eq!(&*decoded.groups[0].protocol_data, "range");
    }
    // Not asked: omitted, even for a described group.
    let body = kafka_protocol::messages::DescribeGroupsRequest::default()
        .with_groups(vec![kafka_protocol::messages::GroupId("billing".into())]);
    let converted = through_wire(crate::request::RequestBody::DescribeGroups(body), 5).unwrap();
    let response = GroupResponse::DescribeGroups(api::DescribeGroupsResponse {
        groups: vec![stable_group("billing")],
    });
    let decoded: DescribeGroupsResponse = answer(&converted, response);
    assert_eq!(decoded.groups[0].authorized_operations, i32::MIN);
}

#[test]
fn list_groups_filters_and_answers_states_from_v4() {
    for version in 0..=4 {
        let converted = sample(ApiKey::ListGroups, version);
        let api::Request::Group(GroupRequest::ListGroups(request)) = &converted.request else {
            panic!("{:?}", converted.request)
        };
        let filter: Vec<&str> = match version >= 4 {
            true => vec!["Stable", "Empty"],
            false => Vec::new(),
        };
        assert_eq!(request.states_filter, filter, "v{version}");
        let response = answer_everything(&GroupRequest::ListGroups(request.clone()));
        let decoded: ListGroupsResponse = answer(&converted, response);
        assert_eq!(&*decoded.groups[0].group_id, "billing");
        assert_eq!(&*decoded.groups[0].protocol_type, "consumer");
        let state = if version >= 4 { "Stable" } else { "" };
        assert_eq!(&*decoded.groups[0].group_state, state, "v{version}");
    }
}

#[test]
fn delete_groups_answers_each_group_in_order() {
    for version in 0..=2 {
        let converted = sample(ApiKey::DeleteGroups, version);
        let api::Request::Group(request) = &converted.request else {
            panic!()
        };
        let decoded: DeleteGroupsResponse = answer(&converted, answer_everything(request));
        let rows: Vec<(&str, i16)> = decoded
            .results
            .iter()
            .map(|r| (&*r.group_id.0, r.error_code))
            .collect();
        assert_eq!(rows, vec![("billing", 68), ("audit", 68)]);
    }
}

#[test]
fn offset_delete_answers_per_partition_or_for_the_whole_group() {
    let converted = sample(ApiKey::OffsetDelete, 0);
    let api::Request::Group(GroupRequest::OffsetDelete(request)) = &converted.request else {
        panic!()
    };
    assert_eq!(request.group_id, "billing");
    assert_eq!(
        request.partitions,
        vec![
            tp("orders", 1),
            tp("orders", 2),
            tp("payments", 1),
            tp("payments", 2)
        ]
    );
    let response = answer_everything(&GroupRequest::OffsetDelete(request.clone()));
    let decoded: OffsetDeleteResponse = answer(&converted, response);
    assert_eq!(decoded.error_code, 0);
    assert_eq!(decoded.topics.len(), 2);
    assert!(decoded.topics[1]
        .partitions
        .iter()
        .all(|p| p.error_code == 86));
    let refused = GroupResponse::OffsetDelete(api::OffsetDeleteResponse {
        error: ErrorCode::GroupIdNotFound,
        partitions: Vec::new(),
    });
    let decoded: OffsetDeleteResponse = answer(&converted, refused);
    assert_eq!(decoded.error_code, 69);
    assert!(decoded.topics.is_empty());
}
