//! The consumer-group APIs (Kafka's classic protocol) between kafka-protocol's bodies and
//! core's [`GroupRequest`] and [`GroupResponse`]: which module converts each API, and what a
//! driver adds that no body carries (the client's identity, [`identify_client`]).

use std::net::IpAddr;

use kafka_protocol::messages::ApiKey;
use sluice_core::api::{GroupRequest, GroupResponse, Request};

use super::{
    find_coordinator, group_admin, join_group, membership, offset_commit, offset_fetch,
    ClusterInfo, ConvertError, FromCoreError, ResponseContext,
};
use crate::request::RequestBody;
use crate::response::ResponseBody;

/// The core request for a group API's body, with what its answer needs set in `context`;
/// `None` for a body of another API.
pub(super) fn request(
    body: &RequestBody,
    version: i16,
    context: &mut ResponseContext,
) -> Option<Result<GroupRequest, ConvertError>> {
    let request = match body {
        RequestBody::FindCoordinator(body) => {
            find_coordinator::request(body, version).map(GroupRequest::FindCoordinator)
        }
        RequestBody::JoinGroup(body) => {
            Ok(GroupRequest::JoinGroup(join_group::request(body, version)))
        }
        RequestBody::SyncGroup(body) => Ok(GroupRequest::SyncGroup(membership::sync_group(
            body, version,
        ))),
        RequestBody::Heartbeat(body) => Ok(GroupRequest::Heartbeat(membership::heartbeat(
            body, version,
        ))),
        RequestBody::LeaveGroup(body) => Ok(GroupRequest::LeaveGroup(membership::leave_group(
            body, version,
        ))),
        RequestBody::OffsetCommit(body) => Ok(GroupRequest::OffsetCommit(offset_commit::request(
            body, version,
        ))),
        RequestBody::OffsetFetch(body) => {
            offset_fetch::request(body, version).map(|(request, requested)| {
                context.requested = requested;
                GroupRequest::OffsetFetch(request)
            })
        }
        RequestBody::DescribeGroups(body) => {
            let (request, operations) = group_admin::describe_groups(body, version);
            context.include_group_authorized_operations = operations;
            Ok(GroupRequest::DescribeGroups(request))
        }
        RequestBody::ListGroups(body) => Ok(GroupRequest::ListGroups(group_admin::list_groups(
            body, version,
        ))),
        RequestBody::DeleteGroups(body) => {
            Ok(GroupRequest::DeleteGroups(group_admin::delete_groups(body)))
        }
        RequestBody::OffsetDelete(body) => {
            Ok(GroupRequest::OffsetDelete(group_admin::offset_delete(body)))
        }
        _ => return None,
    };
    Some(request)
}

/// The kafka-protocol answer to the group request `context` describes.
pub(super) fn response(
    response: GroupResponse,
    context: &ResponseContext,
    cluster: &ClusterInfo,
) -> Result<ResponseBody, FromCoreError> {
    let version = context.api_version;
    let body = match (context.api_key, response) {
        (ApiKey::FindCoordinator, GroupResponse::FindCoordinator(response)) => {
            find_coordinator::response(response, version, cluster).into()
        }
        (ApiKey::JoinGroup, GroupResponse::JoinGroup(response)) => {
            join_group::response(response, version).into()
        }
        (ApiKey::SyncGroup, GroupResponse::SyncGroup(response)) => {
            membership::sync_group_response(response, version).into()
        }
        (ApiKey::Heartbeat, GroupResponse::Heartbeat(response)) => {
            membership::heartbeat_response(response).into()
        }
        (ApiKey::LeaveGroup, GroupResponse::LeaveGroup(response)) => {
            membership::leave_group_response(response, version).into()
        }
        (ApiKey::OffsetCommit, GroupResponse::OffsetCommit(response)) => {
            offset_commit::response(response).into()
        }
        (ApiKey::OffsetFetch, GroupResponse::OffsetFetch(response)) => {
            offset_fetch::response(response, context).into()
        }
        (ApiKey::DescribeGroups, GroupResponse::DescribeGroups(response)) => {
            group_admin::describe_groups_response(response, context).into()
        }
        (ApiKey::ListGroups, GroupResponse::ListGroups(response)) => {
            group_admin::list_groups_response(response, version).into()
        }
        (ApiKey::DeleteGroups, GroupResponse::DeleteGroups(response)) => {
            group_admin::delete_groups_response(response).into()
        }
        (ApiKey::OffsetDelete, GroupResponse::OffsetDelete(response)) => {
            group_admin::offset_delete_response(response).into()
        }
        (request, response) => {
            return Err(FromCoreError::WrongApi {
                request,
                response: response.name(),
            })
        }
    };
    Ok(body)
}

/// Fills in who sent `request` where core records it and the body does not say: a JoinGroup
/// member's client id (the request header's, "" when null) and host (`peer` as Java's
/// `InetAddress.toString` prints it, `/192.0.2.7`, which Kafka's DescribeGroups answers and the
/// consumer-groups tool shows). Other requests are left as they are.
pub fn identify_client(request: &mut Request, client_id: Option<&str>, peer: IpAddr) {
    if let Request::Group(GroupRequest::JoinGroup(join)) = request {
        join.client_id = client_id.unwrap_or_default().to_string();
        join.client_host = java_host(peer);
    }
}

/// `/` and the address, IPv6 uncompressed (`/0:0:0:0:0:0:0:1`), as Java writes them.
fn java_host(peer: IpAddr) -> String {
    match peer {
        IpAddr::V4(address) => format!("/{address}"),
        IpAddr::V6(address) => {
            let segments: Vec<String> = address
                .segments()
                .iter()
                .map(|s| format!("{s:x}"))
                .collect();
            format!("/{}", segments.join(":"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::convert::to_core;
    use crate::samples::sample_request;

    #[test]
    fn join_group_members_are_identified_as_kafka_shows_them() {
        let body = sample_request(ApiKey::JoinGroup, 5);
        let mut request = to_core(&body, 5).unwrap().request;
        identify_client(
            &mut request,
            Some("rdkafka"),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
        );
        let Request::Group(GroupRequest::JoinGroup(join)) = &request else {
            panic!("{request:?}")
        };
        assert_eq!(join.client_id, "rdkafka");
        assert_eq!(join.client_host, "/192.0.2.7");
        identify_client(&mut request, None, IpAddr::V6(Ipv6Addr::LOCALHOST));
        let Request::Group(GroupRequest::JoinGroup(join)) = &request else {
            panic!("{request:?}")
        };
        assert_eq!(join.client_id, "");
        assert_eq!(join.client_host, "/0:0:0:0:0:0:0:1");
        // Other requests carry no identity.
        let mut heartbeat = to_core(&sample_request(ApiKey::Heartbeat, 4), 4)
            .unwrap()
            .request;
        let before = heartbeat.clone();
        identify_client(&mut heartbeat, Some("x"), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(heartbeat, before);
    }
}
