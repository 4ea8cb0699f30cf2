//! The group APIs as a client sends and reads them: every core group request goes through
//! [`request_to_kafka`], the client's frame encoder, the broker's decoder and [`to_core`], and
//! arrives as sent (for what its version carries); every answer goes through [`from_core`],
//! the broker's encoder, the client's decoder and [`response_to_core`], and arrives as given
//! (likewise). Every served version of every group API is checked.

use std::ops::RangeInclusive;

use bytes::Bytes;
use sluice_core::api::{
    self, ErrorCode, GroupRequest, GroupResponse, Request, Response, TopicPartition,
    COORDINATOR_KEY_GROUP, COORDINATOR_KEY_TRANSACTION,
};

use super::{api_key_of, request_to_kafka, response_to_core, Answer, BrokerAddress};
use crate::client::{decode_response, encode_request};
use crate::convert::group_tests::answer_everything;
use crate::convert::{from_core, to_core, BrokerEndpoint, ClusterInfo, Converted};
use crate::request::decode_request;
use crate::response::encode_response_at;
use crate::versions::supported_range;

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition {
        topic: topic.to_string(),
        partition,
    }
}

fn text(value: &str) -> String {
    value.to_string()
}

/// The versions Sluice serves of the API `request` goes to.
fn versions(request: &GroupRequest) -> RangeInclusive<i16> {
    let api_key = api_key_of(&Request::Group(request.clone()));
    let range = supported_range(api_key as i16).unwrap();
    range.min_version..=range.max_version
}

/// Sends `request` as a client at `version`: built, framed with the client's encoder,
/// decoded as the broker decodes it and converted for the broker.
fn send(request: &GroupRequest, version: i16) -> Converted {
    let request = Request::Group(request.clone());
    let api_key = api_key_of(&request);
    let body = request_to_kafka(request, version)
        .unwrap_or_else(|| panic!("{api_key:?} v{version}: not expressible"));
    let frame = encode_request(3, "group-test", version, &body).unwrap();
    let decoded = decode_request(Bytes::copy_from_slice(&frame[4..]))
        .unwrap_or_else(|error| panic!("{api_key:?} v{version}: {error}"));
    assert_eq!(decoded.body, body, "{api_key:?} v{version}");
    to_core(&decoded.body, version)
        .unwrap_or_else(|error| panic!("{api_key:?} v{version}: {error}"))
}

/// The broker's `response` to `converted`, as the client reads it back.
fn receive(converted: &Converted, response: GroupResponse) -> Answer {
    let context = &converted.context;
    let cluster = ClusterInfo {
        brokers: [(
            1,
            BrokerEndpoint {
                host: text("b1"),
                port: 9092,
                rack: None,
            },
        )]
        .into(),
        ..ClusterInfo::default()
    };
    let body = from_core(Response::Group(response), context, &cluster).unwrap();
    let frame = encode_response_at(5, context.api_version, &body).unwrap();
    let (_, body) = decode_response(
        context.api_key,
        context.api_version,
        Bytes::copy_from_slice(&frame[4..]),
    )
    .unwrap();
    response_to_core(context.api_key, body).unwrap()
}

/// A request of every group API with every field set, each naming what it names in the order
/// the wire keeps (partitions grouped by topic).
fn requests() -> Vec<GroupRequest> {
    let member = |id: &str, instance: Option<&str>| api::LeavingMember {
        member_id: text(id),
        group_instance_id: instance.map(text),
    };
    let commit = |topic, partition, offset| api::OffsetCommitPartition {
        partition: tp(topic, partition),
        offset,
        leader_epoch: 4,
        metadata: Some(text("note")),
    };
    vec![
        GroupRequest::FindCoordinator(api::FindCoordinatorRequest {
            key_type: COORDINATOR_KEY_GROUP,
            keys: vec![text("billing")],
        }),
        GroupRequest::JoinGroup(api::JoinGroupRequest {
            group_id: text("billing"),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 300_000,
            member_id: text("m-1"),
            group_instance_id: Some(text("host-1")),
            protocol_type: text("consumer"),
            protocols: vec![
                api::JoinProtocol {
                    name: text("range"),
                    metadata: Bytes::from_static(b"r"),
                },
                api::JoinProtocol {
                    name: text("roundrobin"),
                    metadata: Bytes::from_static(b"rr"),
                },
            ],
            require_known_member_id: true,
            client_id: String::new(),
            client_host: String::new(),
        }),
        GroupRequest::Heartbeat(api::HeartbeatRequest {
            group_id: text("billing"),
            generation_id: 3,
            member_id: text("m-1"),
            group_instance_id: Some(text("host-1")),
        }),
        GroupRequest::LeaveGroup(api::LeaveGroupRequest {
            group_id: text("billing"),
            members: vec![member("m-1", Some("host-1"))],
        }),
        GroupRequest::SyncGroup(api::SyncGroupRequest {
            group_id: text("billing"),
            generation_id: 3,
            member_id: text("m-1"),
            group_instance_id: Some(text("host-1")),
            protocol_type: Some(text("consumer")),
            protocol_name: Some(text("range")),
            assignments: vec![(text("m-1"), Bytes::from_static(b"a1"))],
        }),
        GroupRequest::OffsetCommit(api::OffsetCommitRequest {
            group_id: text("billing"),
            generation_id: api::ADMIN_GENERATION,
            member_id: String::new(),
            group_instance_id: Some(text("host-1")),
            partitions: vec![commit("b", 1, 10), commit("b", 0, 5), commit("a", 2, 7)],
        }),
        GroupRequest::OffsetFetch(api::OffsetFetchRequest {
            groups: vec![api::OffsetFetchGroup {
                group_id: text("billing"),
                partitions: Some(vec![tp("b", 1), tp("a", 0)]),
            }],
            require_stable: true,
        }),
        GroupRequest::DescribeGroups(api::DescribeGroupsRequest {
            groups: vec![text("billing"), text("audit")],
        }),
        GroupRequest::ListGroups(api::ListGroupsRequest {
            states_filter: Vec::new(),
        }),
        GroupRequest::DeleteGroups(api::DeleteGroupsRequest {
            groups: vec![text("billing"), text("audit")],
        }),
        GroupRequest::OffsetDelete(api::OffsetDeleteRequest {
            group_id: text("billing"),
            partitions: vec![tp("b", 1), tp("b", 0), tp("a", 2)],
        }),
    ]
}

/// `request` with only what `version` carries, as the broker reads it.
fn request_at(request: &GroupRequest, version: i16) -> GroupRequest {
    let mut request = request.clone();
    match &mut request {
        GroupRequest::JoinGroup(join) => {
            if version == 0 {
                join.rebalance_timeout_ms = join.session_timeout_ms;
            }
            if version < 5 {
                join.group_instance_id = None;
            }
            join.require_known_member_id = version >= 4;
        }
        GroupRequest::Heartbeat(heartbeat) if version < 3 => heartbeat.group_instance_id = None,
        GroupRequest::LeaveGroup(leave) if version < 3 => {
            for member in &mut leave.members {
                member.group_instance_id = None;
            }
        }
        GroupRequest::SyncGroup(sync) => {
            if version < 3 {
                sync.group_instance_id = None;
            }
            if version < 5 {
                sync.protocol_type = None;
                sync.protocol_name = None;
            }
        }
        GroupRequest::OffsetCommit(commit) => {
            if version < 6 {
                for partition in &mut commit.partitions {
                    partition.leader_epoch = -1;
                }
            }
            if version < 7 {
                commit.group_instance_id = None;
            }
        }
        GroupRequest::OffsetFetch(fetch) if version < 7 => fetch.require_stable = false,
        _ => {}
    }
    request
}

/// `response` with only what its `version` carries, as a client reads it: the coordinator of
/// a second key (node 9) is not in the test's cluster.
fn response_at(response: &GroupResponse, version: i16) -> GroupResponse {
    let mut response = response.clone();
    match &mut response {
        GroupResponse::FindCoordinator(found) => {
            for coordinator in &mut found.coordinators {
                if coordinator.node_id == 9 {
                    *coordinator = api::Coordinator::error(
                        coordinator.key.clone(),
                        ErrorCode::CoordinatorNotAvailable,
                    );
                }
                if version < 4 {
                    coordinator.key.clear();
                }
            }
        }
        GroupResponse::JoinGroup(join) => {
            if version < 7 {
                join.protocol_type = None;
            }
            if version < 5 {
                for member in &mut join.members {
                    member.group_instance_id = None;
                }
            }
        }
        GroupResponse::SyncGroup(sync) if version < 5 => {
            sync.protocol_type = None;
            sync.protocol_name = None;
        }
        GroupResponse::LeaveGroup(leave) if version < 3 => {
            leave.error = leave.members[0].error;
            leave.members.clear();
        }
        GroupResponse::OffsetFetch(fetch) => {
            for group in &mut fetch.groups {
                if version < 8 {
                    group.group_id.clear();
                }
                if version < 5 {
                    for partition in &mut group.partitions {
                        partition.leader_epoch = -1;
                    }
                }
            }
        }
        GroupResponse::DescribeGroups(describe) if version < 4 => {
            for member in describe.groups.iter_mut().flat_map(|g| &mut g.members) {
                member.group_instance_id = None;
            }
        }
        GroupResponse::ListGroups(list) if version < 4 => {
            for group in &mut list.groups {
                group.state.clear();
            }
        }
        _ => {}
    }
    response
}

#[test]
fn every_group_request_and_answer_survives_every_version() {
    for request in requests() {
        for version in versions(&request) {
            let converted = send(&request, version);
            let expected = request_at(&request, version);
            assert_eq!(
                converted.request,
                Request::Group(expected.clone()),
                "v{version}"
            );
            let response = answer_everything(&expected);
            let answer = receive(&converted, response.clone());
            let expected = response_at(&response, version);
            assert_eq!(answer.response, Response::Group(expected), "v{version}");
        }
    }
}

#[test]
fn find_coordinator_batches_from_v4_and_names_the_coordinators_address() {
    let request = GroupRequest::FindCoordinator(api::FindCoordinatorRequest {
        key_type: COORDINATOR_KEY_GROUP,
        keys: vec![text("billing"), text("audit")],
    });
    let converted = send(&request, 4);
    assert_eq!(converted.request, Request::Group(request.clone()));
    let answer = receive(&converted, answer_everything(&request));
    let Response::Group(GroupResponse::FindCoordinator(found)) = answer.response else {
        panic!("{:?}", answer.response)
    };
    let rows: Vec<(&str, i32, ErrorCode)> = found
        .coordinators
        .iter()
        .map(|c| (c.key.as_str(), c.node_id, c.error))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("billing", 1, ErrorCode::None),
            ("audit", -1, ErrorCode::CoordinatorNotAvailable)
        ]
    );
    let address = BrokerAddress {
        id: 1,
        host: text("b1"),
        port: 9092,
    };
    assert_eq!(answer.brokers, vec![address.clone()]);
    // v3: one key, the same address.
    let single = GroupRequest::FindCoordinator(api::FindCoordinatorRequest {
        key_type: COORDINATOR_KEY_GROUP,
        keys: vec![text("billing")],
    });
    let answer = receive(&send(&single, 3), answer_everything(&single));
    assert_eq!(answer.brokers, vec![address]);
}

#[test]
fn what_an_old_version_cannot_ask_is_not_built() {
    let group = |request| Request::Group(request);
    let two_keys = group(GroupRequest::FindCoordinator(api::FindCoordinatorRequest {
        key_type: COORDINATOR_KEY_GROUP,
        keys: vec![text("a"), text("b")],
    }));
    assert!(request_to_kafka(two_keys.clone(), 3).is_none());
    assert!(request_to_kafka(two_keys, 4).is_some());
    let transaction = group(GroupRequest::FindCoordinator(api::FindCoordinatorRequest {
        key_type: COORDINATOR_KEY_TRANSACTION,
        keys: vec![text("txn")],
    }));
    assert!(request_to_kafka(transaction.clone(), 0).is_none());
    assert!(request_to_kafka(transaction, 1).is_some());
    let leave = |count| {
        group(GroupRequest::LeaveGroup(api::LeaveGroupRequest {
            group_id: text("g"),
            members: (0..count)
                .map(|i| api::LeavingMember {
                    member_id: format!("m-{i}"),
                    group_instance_id: None,
                })
                .collect(),
        }))
    };
    assert!(request_to_kafka(leave(2), 2).is_none());
    assert!(request_to_kafka(leave(2), 3).is_some());
    let fetch = |groups: Vec<Option<Vec<TopicPartition>>>| {
        group(GroupRequest::OffsetFetch(api::OffsetFetchRequest {
            groups: groups
                .into_iter()
                .map(|partitions| api::OffsetFetchGroup {
                    group_id: text("g"),
                    partitions,
                })
                .collect(),
            require_stable: false,
        }))
    };
    assert!(request_to_kafka(fetch(vec![None]), 1).is_none());
    assert!(request_to_kafka(fetch(vec![None]), 2).is_some());
    assert!(request_to_kafka(fetch(vec![None, None]), 7).is_none());
    assert!(request_to_kafka(fetch(vec![None, None]), 8).is_some());
    let filtered = group(GroupRequest::ListGroups(api::ListGroupsRequest {
        states_filter: vec![text("Stable")],
    }));
    assert!(request_to_kafka(filtered.clone(), 3).is_none());
    assert!(request_to_kafka(filtered, 4).is_some());
}

#[test]
fn offset_fetch_v8_sends_every_group() {
    let request = GroupRequest::OffsetFetch(api::OffsetFetchRequest {
        groups: vec![
            api::OffsetFetchGroup {
                group_id: text("billing"),
                partitions: Some(vec![tp("a", 0)]),
            },
            api::OffsetFetchGroup {
                group_id: text("audit"),
                partitions: None,
            },
        ],
        require_stable: true,
    });
    let converted = send(&request, 8);
    assert_eq!(converted.request, Request::Group(request.clone()));
    let response = answer_everything(&request);
    let answer = receive(&converted, response.clone());
    assert_eq!(answer.response, Response::Group(response));
}
