//! The member's side of a rebalance after JoinGroup: SyncGroup (key 14, v0–5), Heartbeat (key
//! 12, v0–4) and LeaveGroup (key 13, v0–5).
//!
//! SyncGroup request: `group_id`, `generation_id`, `member_id`, `assignments` in every
//! version; v3+ `group_instance_id`; v4+ flexible; v5 `protocol_type` and `protocol_name`
//! (both nullable). Response: `error_code` and `assignment`; v1+ `throttle_time_ms`; v5
//! `protocol_type` and `protocol_name`.
//!
//! Heartbeat request: `group_id`, `generation_id`, `member_id`; v3+ `group_instance_id`; v4+
//! flexible. Response: `error_code`; v1+ `throttle_time_ms`.
//!
//! LeaveGroup request: v0–2 one top-level `member_id`; v3+ a `members` batch of member and
//! instance ids (KIP-345), v4+ flexible, v5 a `reason` per member that only Kafka's logs
//! read, so core has no field for it. Response: `error_code` in every version, v1+
//! `throttle_time_ms`, v3+ `members`, each with its own error. Before v3 the one member's
//! error is the top-level one, as Kafka's `LeaveGroupResponse` folds it: the group's error if
//! any, else the first member's.

use kafka_protocol::messages::{
    leave_group_response, HeartbeatRequest, HeartbeatResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{self, ErrorCode};

/// The first SyncGroup and Heartbeat version with static membership (KIP-345).
const INSTANCE_ID_FROM: i16 = 3;

/// The first SyncGroup version that names the protocol.
const SYNC_PROTOCOL_FROM: i16 = 5;

/// The first LeaveGroup version with a batch of members.
const LEAVE_BATCH_FROM: i16 = 3;

fn text(value: Option<&StrBytes>) -> Option<String> {
    value.map(|value| value.to_string())
}

fn wire(value: Option<String>) -> Option<StrBytes> {
    value.map(StrBytes::from_string)
}

/// The core SyncGroup request.
pub(super) fn sync_group(body: &SyncGroupRequest, version: i16) -> api::SyncGroupRequest {
    let named = version >= SYNC_PROTOCOL_FROM;
    api::SyncGroupRequest {
        group_id: body.group_id.to_string(),
        generation_id: body.generation_id,
        member_id: body.member_id.to_string(),
        group_instance_id: match version >= INSTANCE_ID_FROM {
            true => text(body.group_instance_id.as_ref()),
            false => None,
        },
        protocol_type: named.then(|| text(body.protocol_type.as_ref())).flatten(),
        protocol_name: named.then(|| text(body.protocol_name.as_ref())).flatten(),
        assignments: body
            .assignments
            .iter()
            .map(|entry| (entry.member_id.to_string(), entry.assignment.clone()))
            .collect(),
    }
}

/// The SyncGroup answer at `version`.
pub(super) fn sync_group_response(
    response: api::SyncGroupResponse,
    version: i16,
) -> SyncGroupResponse {
    let body = SyncGroupResponse::default()
        .with_error_code(response.error.code())
        .with_assignment(response.assignment);
    match version >= SYNC_PROTOCOL_FROM {
        true => body
            .with_protocol_type(wire(response.protocol_type))
            .with_protocol_name(wire(response.protocol_name)),
        false => body,
    }
}

/// The core Heartbeat request.
pub(super) fn heartbeat(body: &HeartbeatRequest, version: i16) -> api::HeartbeatRequest {
    api::HeartbeatRequest {
        group_id: body.group_id.to_string(),
        generation_id: body.generation_id,
        member_id: body.member_id.to_string(),
        group_instance_id: match version >= INSTANCE_ID_FROM {
            true => text(body.group_instance_id.as_ref()),
            false => None,
        },
    }
}

/// The Heartbeat answer; every version carries the same fields.
pub(super) fn heartbeat_response(response: api::HeartbeatResponse) -> HeartbeatResponse {
    HeartbeatResponse::default().with_error_code(response.error.code())
}

/// The core LeaveGroup request.
pub(super) fn leave_group(body: &LeaveGroupRequest, version: i16) -> api::LeaveGroupRequest {
    let members = match version >= LEAVE_BATCH_FROM {
        true => body
            .members
            .iter()
            .map(|member| api::LeavingMember {
                member_id: member.member_id.to_string(),
                group_instance_id: text(member.group_instance_id.as_ref()),
            })
            .collect(),
        false => vec![api::LeavingMember {
            member_id: body.member_id.to_string(),
            group_instance_id: None,
        }],
    };
    api::LeaveGroupRequest {
        group_id: body.group_id.to_string(),
        members,
    }
}

/// The LeaveGroup answer at `version`.
pub(super) fn leave_group_response(
    response: api::LeaveGroupResponse,
    version: i16,
) -> LeaveGroupResponse {
    if version < LEAVE_BATCH_FROM {
        let first_failure = response
            .members
            .iter()
            .map(|member| member.error)
            .find(|error| *error != ErrorCode::None);
        let error = match response.error {
            ErrorCode::None => first_failure.unwrap_or(ErrorCode::None),
            error => error,
        };
        return LeaveGroupResponse::default().with_error_code(error.code());
    }
    let members = response
        .members
        .into_iter()
        .map(|member| {
            leave_group_response::MemberResponse::default()
                .with_member_id(StrBytes::from_string(member.member_id))
                .with_group_instance_id(wire(member.group_instance_id))
                .with_error_code(member.error.code())
        })
        .collect();
    LeaveGroupResponse::default()
        .with_error_code(response.error.code())
        .with_members(members)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::messages::{leave_group_request, sync_group_request, ApiKey, GroupId};

    use super::*;
    use crate::convert::test_support::{decode_response, text as wire_text, through_wire};
    use crate::convert::{from_core, ClusterInfo, ResponseContext};
    use crate::request::RequestBody;

    fn group_request(body: RequestBody, version: i16) -> api::GroupRequest {
        match through_wire(body, version).unwrap().request {
            api::Request::Group(request) => request,
            other => panic!("{other:?}"),
        }
    }

    fn answer<R: kafka_protocol::protocol::Decodable>(
        api_key: ApiKey,
        version: i16,
        response: api::GroupResponse,
    ) -> R {
        let context = ResponseContext::new(api_key, version);
        let body = from_core(
            api::Response::Group(response),
            &context,
            &ClusterInfo::default(),
        );
        decode_response(&body.unwrap(), version)
    }

    fn member(id: &str, instance: Option<&str>) -> api::LeavingMember {
        api::LeavingMember {
            member_id: id.to_string(),
            group_instance_id: instance.map(str::to_string),
        }
    }

    #[test]
    fn leave_group_v2_names_one_member_and_v3_a_batch() {
        let v2 = LeaveGroupRequest::default()
            .with_group_id(GroupId(wire_text("billing")))
            .with_member_id(wire_text("m-1"));
        let expected = api::LeaveGroupRequest {
            group_id: "billing".to_string(),
            members: vec![member("m-1", None)],
        };
        assert_eq!(
            group_request(RequestBody::LeaveGroup(v2), 2),
            api::GroupRequest::LeaveGroup(expected)
        );
        let identity = |id: &'static str, instance: Option<&'static str>| {
            leave_group_request::MemberIdentity::default()
                .with_member_id(wire_text(id))
                .with_group_instance_id(instance.map(wire_text))
        };
        let v3 = LeaveGroupRequest::default()
            .with_group_id(GroupId(wire_text("billing")))
            .with_members(vec![identity("m-1", None), identity("", Some("host-2"))]);
        let expected = api::LeaveGroupRequest {
            group_id: "billing".to_string(),
            members: vec![member("m-1", None), member("", Some("host-2"))],
        };
        assert_eq!(
            group_request(RequestBody::LeaveGroup(v3), 3),
            api::GroupRequest::LeaveGroup(expected)
        );
    }

    #[test]
    fn leave_group_answers_per_member_from_v3_and_folds_before() {
        let left = |id: &str, error| api::LeftMember {
            member_id: id.to_string(),
            group_instance_id: None,
            error,
        };
        let response = |error, members| {
            api::GroupResponse::LeaveGroup(api::LeaveGroupResponse { error, members })
        };
        let unknown = ErrorCode::UnknownMemberId;
        // v2: the member's error is the only one there is.
        let decoded: LeaveGroupResponse = answer(
            ApiKey::LeaveGroup,
            2,
            response(ErrorCode::None, vec![left("m-1", unknown)]),
        );
        assert_eq!(decoded.error_code, unknown.code());
        assert!(decoded.members.is_empty());
        // ... but the group's own error comes first.
        let decoded: LeaveGroupResponse = answer(
            ApiKey::LeaveGroup,
            0,
            response(ErrorCode::NotCoordinator, vec![left("m-1", unknown)]),
        );
        assert_eq!(decoded.error_code, ErrorCode::NotCoordinator.code());
        // v3: each member has its own.
        let decoded: LeaveGroupResponse = answer(
            ApiKey::LeaveGroup,
            3,
            response(
                ErrorCode::None,
                vec![left("m-1", ErrorCode::None), left("m-2", unknown)],
            ),
        );
        assert_eq!(decoded.error_code, 0);
        let members: Vec<(&str, i16)> = decoded
            .members
            .iter()
            .map(|m| (&*m.member_id, m.error_code))
            .collect();
        assert_eq!(members, vec![("m-1", 0), ("m-2", unknown.code())]);
    }

    #[test]
    fn sync_group_names_the_protocol_in_v5_only() {
        for version in 0..=5 {
            let assignment = sync_group_request::SyncGroupRequestAssignment::default()
                .with_member_id(wire_text("m-1"))
                .with_assignment(Bytes::from_static(b"partitions"));
            let mut body = SyncGroupRequest::default()
                .with_group_id(GroupId(wire_text("billing")))
                .with_generation_id(2)
                .with_member_id(wire_text("m-1"))
                .with_assignments(vec![assignment]);
            if version >= 3 {
                body.group_instance_id = Some(wire_text("host-1"));
            }
            if version >= 5 {
                body.protocol_type = Some(wire_text("consumer"));
                body.protocol_name = Some(wire_text("range"));
            }
            let api::GroupRequest::SyncGroup(request) =
                group_request(RequestBody::SyncGroup(body), version)
            else {
                panic!("v{version}")
            };
            assert_eq!(request.generation_id, 2);
            assert_eq!(request.assignments[0].0, "m-1");
            assert_eq!(&request.assignments[0].1[..], b"partitions");
            let instance = (version >= 3).then(|| "host-1".to_string());
            assert_eq!(request.group_instance_id, instance);
            let name = (version >= 5).then(|| "range".to_string());
            assert_eq!(request.protocol_name, name);

            let response = api::GroupResponse::SyncGroup(api::SyncGroupResponse {
                error: ErrorCode::None,
                protocol_type: Some("consumer".to_string()),
                protocol_name: Some("range".to_string()),
                assignment: Bytes::from_static(b"mine"),
            });
            let decoded: SyncGroupResponse = answer(ApiKey::SyncGroup, version, response);
            assert_eq!(&decoded.assignment[..], b"mine");
            let name = (version >= 5).then_some("range");
            assert_eq!(decoded.protocol_name.as_deref(), name, "v{version}");
        }
    }

    #[test]
    fn heartbeats_carry_instance_ids_from_v3() {
        for version in 0..=4 {
            let mut body = HeartbeatRequest::default()
                .with_group_id(GroupId(wire_text("billing")))
                .with_generation_id(5)
                .with_member_id(wire_text("m-1"));
            if version >= 3 {
                body.group_instance_id = Some(wire_text("host-1"));
            }
            let expected = api::HeartbeatRequest {
                group_id: "billing".to_string(),
                generation_id: 5,
                member_id: "m-1".to_string(),
                group_instance_id: (version >= 3).then(|| "host-1".to_string()),
            };
            assert_eq!(
                group_request(RequestBody::Heartbeat(body), version),
                api::GroupRequest::Heartbeat(expected)
            );
            let response = api::GroupResponse::Heartbeat(api::HeartbeatResponse {
                error: ErrorCode::RebalanceInProgress,
            });
            let decoded: HeartbeatResponse = answer(ApiKey::Heartbeat, version, response);
            assert_eq!(decoded.error_code, 27);
        }
    }
}
