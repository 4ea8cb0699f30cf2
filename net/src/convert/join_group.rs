//! JoinGroup (key 11), v0–7.
//!
//! Request, per version: `group_id`, `session_timeout_ms`, `member_id`, `protocol_type` and
//! `protocols` in every version; v1+ `rebalance_timeout_ms` (v0 has none, and Kafka's
//! `JoinGroupRequest` takes the session timeout for it); v4+ the member must first get its id
//! (MEMBER_ID_REQUIRED, KIP-394), which core reads as `require_known_member_id`; v5+
//! `group_instance_id` (static membership, KIP-345); v6+ flexible. The client id and host are
//! not in the body: the driver adds them with [`identify_client`](super::identify_client).
//!
//! Response: `error_code`, `generation_id`, `protocol_name`, `leader`, `member_id` and
//! `members` in every version; v2+ `throttle_time_ms`; v5+ each member's `group_instance_id`;
//! v7+ `protocol_type`, and `protocol_name` becomes nullable (before, a group with no
//! protocol answers "", as Kafka's `JoinGroupResponse` does).

use kafka_protocol::messages::{join_group_response, JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api;

/// The first version whose members must know their id before they join (KIP-394).
const MEMBER_ID_REQUIRED_FROM: i16 = 4;

/// The first version with static membership (KIP-345).
const STATIC_MEMBERSHIP_FROM: i16 = 5;

/// The first version whose answer names the protocol type.
const PROTOCOL_TYPE_FROM: i16 = 7;

/// The core request, without the client's identity.
pub(super) fn request(body: &JoinGroupRequest, version: i16) -> api::JoinGroupRequest {
    let protocols = body
        .protocols
        .iter()
        .map(|protocol| api::JoinProtocol {
            name: protocol.name.to_string(),
            metadata: protocol.metadata.clone(),
        })
        .collect();
    api::JoinGroupRequest {
        group_id: body.group_id.to_string(),
        session_timeout_ms: body.session_timeout_ms,
        rebalance_timeout_ms: match version {
            0 => body.session_timeout_ms,
            _ => body.rebalance_timeout_ms,
        },
        member_id: body.member_id.to_string(),
        group_instance_id: match version >= STATIC_MEMBERSHIP_FROM {
            true => body.group_instance_id.as_ref().map(|id| id.to_string()),
            false => None,
        },
        protocol_type: body.protocol_type.to_string(),
        protocols,
        require_known_member_id: version >= MEMBER_ID_REQUIRED_FROM,
        client_id: String::new(),
        client_host: String::new(),
    }
}

/// The answer at `version`.
pub(super) fn response(response: api::JoinGroupResponse, version: i16) -> JoinGroupResponse {
    let members = response
        .members
        .into_iter()
        .map(|member| {
            let entry = join_group_response::JoinGroupResponseMember::default()
                .with_member_id(StrBytes::from_string(member.member_id))
                .with_metadata(member.metadata);
            match version >= STATIC_MEMBERSHIP_FROM {
                true => entry
                    .with_group_instance_id(member.group_instance_id.map(StrBytes::from_string)),
                false => entry,
            }
        })
        .collect();
    let body = JoinGroupResponse::default()
        .with_error_code(response.error.code())
        .with_generation_id(response.generation_id)
        .with_leader(StrBytes::from_string(response.leader))
        .with_member_id(StrBytes::from_string(response.member_id))
        .with_members(members);
    match version >= PROTOCOL_TYPE_FROM {
        true => body
            .with_protocol_type(response.protocol_type.map(StrBytes::from_string))
            .with_protocol_name(response.protocol_name.map(StrBytes::from_string)),
        false => body.with_protocol_name(Some(StrBytes::from_string(
            response.protocol_name.unwrap_or_default(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::messages::{join_group_request, ApiKey, GroupId};
    use sluice_core::api::ErrorCode;

    use super::*;
    use crate::convert::test_support::{decode_response, text, through_wire};
    use crate::convert::{from_core, ClusterInfo, ResponseContext};
    use crate::request::RequestBody;

    fn body(version: i16) -> JoinGroupRequest {
        let protocol = join_group_request::JoinGroupRequestProtocol::default()
            .with_name(text("range"))
            .with_metadata(Bytes::from_static(b"subscription"));
        let body = JoinGroupRequest::default()
            .with_group_id(GroupId(text("billing")))
            .with_session_timeout_ms(10_000)
            .with_member_id(text(""))
            .with_protocol_type(text("consumer"))
            .with_protocols(vec![protocol]);
        let body = match version >= 1 {
            true => body.with_rebalance_timeout_ms(300_000),
            false => body,
        };
        match version >= 5 {
            true => body.with_group_instance_id(Some(text("host-1"))),
            false => body,
        }
    }

    fn converted(version: i16) -> api::JoinGroupRequest {
        let converted = through_wire(RequestBody::JoinGroup(body(version)), version).unwrap();
        match converted.request {
            api::Request::Group(api::GroupRequest::JoinGroup(request)) => request,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn v0_rebalances_within_the_session_timeout() {
        let v0 = converted(0);
        assert_eq!(v0.rebalance_timeout_ms, 10_000);
        assert_eq!(v0.session_timeout_ms, 10_000);
        assert_eq!(converted(1).rebalance_timeout_ms, 300_000);
    }

    #[test]
    fn member_ids_are_required_from_v4_and_instance_ids_read_from_v5() {
        for version in 0..=7 {
            let request = converted(version);
            assert_eq!(request.require_known_member_id, version >= 4, "v{version}");
            let instance = (version >= 5).then(|| "host-1".to_string());
            assert_eq!(request.group_instance_id, instance, "v{version}");
            assert_eq!(request.protocols.len(), 1);
            assert_eq!(&request.protocols[0].metadata[..], b"subscription");
            assert_eq!(request.protocol_type, "consumer");
            assert_eq!(
                (request.client_id.as_str(), request.client_host.as_str()),
                ("", "")
            );
        }
    }

    #[test]
    fn every_version_answers_with_what_it_has() {
        let answer = api::JoinGroupResponse {
            error: ErrorCode::None,
            generation_id: 3,
            protocol_type: Some("consumer".to_string()),
            protocol_name: Some("range".to_string()),
            leader: "m-1".to_string(),
            member_id: "m-1".to_string(),
            members: vec![api::JoinGroupMember {
                member_id: "m-1".to_string(),
                group_instance_id: Some("host-1".to_string()),
                metadata: Bytes::from_static(b"subscription"),
            }],
        };
        for version in 0..=7 {
            let context = ResponseContext::new(ApiKey::JoinGroup, version);
            let response = api::Response::Group(api::GroupResponse::JoinGroup(answer.clone()));
            let body = from_core(response, &context, &ClusterInfo::default()).unwrap();
            let decoded: JoinGroupResponse = decode_response(&body, version);
            assert_eq!(decoded.generation_id, 3);
            assert_eq!(decoded.protocol_name.as_deref(), Some("range"));
            let protocol_type = (version >= 7).then_some("consumer");
            assert_eq!(
                decoded.protocol_type.as_deref(),
                protocol_type,
                "v{version}"
            );
            assert_eq!(&*decoded.leader, "m-1");
            let instance = (version >= 5).then_some("host-1");
            assert_eq!(decoded.members[0].group_instance_id.as_deref(), instance);
            assert_eq!(&decoded.members[0].metadata[..], b"subscription");
        }
    }

    #[test]
    fn a_refusal_has_an_empty_protocol_name_before_v7_and_null_after() {
        let refused = api::JoinGroupResponse::error("m-1".to_string(), ErrorCode::MemberIdRequired);
        for version in [0, 6, 7] {
            let context = ResponseContext::new(ApiKey::JoinGroup, version);
            let response = api::Response::Group(api::GroupResponse::JoinGroup(refused.clone()));
            let body = from_core(response, &context, &ClusterInfo::default()).unwrap();
            let decoded: JoinGroupResponse = decode_response(&body, version);
            assert_eq!(decoded.error_code, 79);
            assert_eq!(&*decoded.member_id, "m-1");
            assert_eq!(decoded.generation_id, -1);
            let name = (version < 7).then_some("");
            assert_eq!(decoded.protocol_name.as_deref(), name, "v{version}");
        }
    }
}
