//! The broker's answers to the consumer-group APIs as core's [`GroupResponse`], whatever the
//! version they were asked at.
//!
//! The shape of an answer says its version where core needs to know it: a FindCoordinator
//! answer lists `coordinators` from v4 and names one node at top level before; an OffsetFetch
//! answer lists `groups` from v8 and one group's topics before. What an old version does not
//! carry reads as:
//! - FindCoordinator v0–3: the key is "" (the asker knows its one key).
//! - OffsetFetch v1–7: the group id is "" (likewise); v1 has no group-level error, so the
//!   group reads as NONE and the partitions carry it.
//! - LeaveGroup v0–2: no members, only the top-level error (which is the member's).
//! - A protocol type or name that is "" (JoinGroup before v7, a refusal) reads as none.
//!
//! FindCoordinator answers also give each coordinator's address in [`Answer::brokers`], as
//! Metadata answers give the brokers'.

use kafka_protocol::messages::{
    DeleteGroupsResponse, DescribeGroupsResponse, FindCoordinatorResponse, JoinGroupResponse,
    LeaveGroupResponse, ListGroupsResponse, OffsetCommitResponse, OffsetDeleteResponse,
    OffsetFetchResponse, SyncGroupResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{self, ErrorCode, GroupResponse, Response};

use super::{error, tp, Answer, BrokerAddress, OutboundError};

fn plain(response: GroupResponse) -> Answer {
    Answer {
        response: Response::Group(response),
        brokers: Vec::new(),
    }
}

fn optional(value: Option<StrBytes>) -> Option<String> {
    value.map(|value| value.to_string())
}

/// A protocol type or name, or an error message (which FindCoordinator v0 decodes as ""):
/// "" is none.
fn nonempty(value: Option<StrBytes>) -> Option<String> {
    value
        .filter(|value| !value.is_empty())
        .map(|v| v.to_string())
}

pub(super) fn find_coordinator(body: FindCoordinatorResponse) -> Result<Answer, OutboundError> {
    // A v4 answer names no single node; a v0–3 one always does, or carries an error.
    let batched = !body.coordinators.is_empty()
        || (body.error_code == 0 && body.node_id.0 == 0 && body.host.is_empty() && body.port == 0);
    let found: Vec<(api::Coordinator, String, i32)> = match batched {
        true => body
            .coordinators
            .into_iter()
            .map(|c| {
                let coordinator = api::Coordinator {
                    key: c.key.to_string(),
                    node_id: c.node_id.0,
                    error: error(c.error_code),
                    message: nonempty(c.error_message),
                };
                (coordinator, c.host.to_string(), c.port)
            })
            .collect(),
        false => {
            let coordinator = api::Coordinator {
                key: String::new(),
                node_id: body.node_id.0,
                error: error(body.error_code),
                message: nonempty(body.error_message),
            };
            vec![(coordinator, body.host.to_string(), body.port)]
        }
    };
    let mut brokers: Vec<BrokerAddress> = Vec::new();
    for (coordinator, host, port) in &found {
        let known = brokers
            .iter()
            .any(|broker| broker.id == coordinator.node_id);
        if coordinator.error != ErrorCode::None || known {
            continue;
        }
        let port = u16::try_from(*port).map_err(|_| OutboundError::Invalid("coordinator port"))?;
        brokers.push(BrokerAddress {
            id: coordinator.node_id,
            host: host.clone(),
            port,
        });
    }
    let coordinators = found.into_iter().map(|(c, _, _)| c).collect();
    Ok(Answer {
        response: Response::Group(GroupResponse::FindCoordinator(
            api::FindCoordinatorResponse { coordinators },
        )),
        brokers,
    })
}

pub(super) fn join_group(body: JoinGroupResponse) -> Answer {
    let members = body
        .members
        .into_iter()
        .map(|member| api::JoinGroupMember {
            member_id: member.member_id.to_string(),
            group_instance_id: optional(member.group_instance_id),
            metadata: member.metadata,
        })
        .collect();
    plain(GroupResponse::JoinGroup(api::JoinGroupResponse {
        error: error(body.error_code),
        generation_id: body.generation_id,
        protocol_type: nonempty(body.protocol_type),
        protocol_name: nonempty(body.protocol_name),
        leader: body.leader.to_string(),
        member_id: body.member_id.to_string(),
        members,
    }))
}

pub(super) fn sync_group(body: SyncGroupResponse) -> Answer {
    plain(GroupResponse::SyncGroup(api::SyncGroupResponse {
        error: error(body.error_code),
        protocol_type: nonempty(body.protocol_type),
        protocol_name: nonempty(body.protocol_name),
        assignment: body.assignment,
    }))
}

pub(super) fn leave_group(body: LeaveGroupResponse) -> Answer {
    let members = body
        .members
        .into_iter()
        .map(|member| api::LeftMember {
            member_id: member.member_id.to_string(),
            group_instance_id: optional(member.group_instance_id),
            error: error(member.error_code),
        })
        .collect();
    plain(GroupResponse::LeaveGroup(api::LeaveGroupResponse {
        error: error(body.error_code),
        members,
    }))
}

/// Each partition's error, from the topics of an OffsetCommit or OffsetDelete answer: the two
/// give a partition the same index and error in different structs, which `fields` reads.
fn partition_errors<'a, P: 'a>(
    topics: impl IntoIterator<Item = (&'a TopicName, &'a Vec<P>)>,
    fields: impl Fn(&P) -> (i32, i16),
) -> Vec<(api::TopicPartition, ErrorCode)> {
    topics
        .into_iter()
        .flat_map(|(name, partitions)| {
            partitions.iter().map(|p| {
                let (index, code) = fields(p);
                (tp(name, index), error(code))
            })
        })
        .collect()
}

pub(super) fn offset_commit(body: OffsetCommitResponse) -> Answer {
    let partitions = partition_errors(body.topics.iter().map(|t| (&t.name, &t.partitions)), |p| {
        (p.partition_index, p.error_code)
    });
    plain(GroupResponse::OffsetCommit(api::OffsetCommitResponse {
        partitions,
    }))
}

fn fetched(
    topic: &TopicName,
    index: i32,
    offset: i64,
    leader_epoch: i32,
    metadata: &Option<StrBytes>,
    code: i16,
) -> api::FetchedOffset {
    api::FetchedOffset {
        partition: tp(topic, index),
        offset,
        leader_epoch,
        metadata: metadata.as_ref().map(|m| m.to_string()),
        error: error(code),
    }
}

pub(super) fn offset_fetch(body: OffsetFetchResponse) -> Answer {
    let groups = match body.groups.is_empty() {
        false => body
            .groups
            .iter()
            .map(|group| api::FetchedGroupOffsets {
                group_id: group.group_id.to_string(),
                error: error(group.error_code),
                partitions: group
                    .topics
                    .iter()
                    .flat_map(|t| {
                        t.partitions.iter().map(|p| {
                            let (index, offset) = (p.partition_index, p.committed_offset);
                            let epoch = p.committed_leader_epoch;
                            fetched(&t.name, index, offset, epoch, &p.metadata, p.error_code)
                        })
                    })
                    .collect(),
            })
            .collect(),
        true => vec![api::FetchedGroupOffsets {
            group_id: String::new(),
            error: error(body.error_code),
            partitions: body
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().map(|p| {
                        let (index, offset) = (p.partition_index, p.committed_offset);
                        let epoch = p.committed_leader_epoch;
                        fetched(&t.name, index, offset, epoch, &p.metadata, p.error_code)
                    })
                })
                .collect(),
        }],
    };
    plain(GroupResponse::OffsetFetch(api::OffsetFetchResponse {
        groups,
    }))
}

pub(super) fn describe_groups(body: DescribeGroupsResponse) -> Answer {
    let groups = body
        .groups
        .into_iter()
        .map(|group| api::DescribedGroup {
            error: error(group.error_code),
            group_id: group.group_id.to_string(),
            state: group.group_state.to_string(),
            protocol_type: group.protocol_type.to_string(),
            protocol_data: group.protocol_data.to_string(),
            members: group
                .members
                .into_iter()
                .map(|member| api::DescribedMember {
                    member_id: member.member_id.to_string(),
                    group_instance_id: optional(member.group_instance_id),
                    client_id: member.client_id.to_string(),
                    client_host: member.client_host.to_string(),
                    metadata: member.member_metadata,
                    assignment: member.member_assignment,
                })
                .collect(),
        })
        .collect();
    plain(GroupResponse::DescribeGroups(api::DescribeGroupsResponse {
        groups,
    }))
}

pub(super) fn list_groups(body: ListGroupsResponse) -> Answer {
    let groups = body
        .groups
        .into_iter()
        .map(|group| api::ListedGroup {
            group_id: group.group_id.to_string(),
            protocol_type: group.protocol_type.to_string(),
            state: group.group_state.to_string(),
        })
        .collect();
    plain(GroupResponse::ListGroups(api::ListGroupsResponse {
        error: error(body.error_code),
        groups,
    }))
}

pub(super) fn delete_groups(body: DeleteGroupsResponse) -> Answer {
    let groups = body
        .results
        .into_iter()
        .map(|result| (result.group_id.to_string(), error(result.error_code)))
        .collect();
    plain(GroupResponse::DeleteGroups(api::DeleteGroupsResponse {
        groups,
    }))
}

pub(super) fn offset_delete(body: OffsetDeleteResponse) -> Answer {
    let partitions = partition_errors(body.topics.iter().map(|t| (&t.name, &t.partitions)), |p| {
        (p.partition_index, p.error_code)
    });
    plain(GroupResponse::OffsetDelete(api::OffsetDeleteResponse {
        error: error(body.error_code),
        partitions,
    }))
}
