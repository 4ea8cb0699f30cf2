//! FindCoordinator (key 10), v0–4.
//!
//! Request, per version: v0 one `key`, always a group; v1+ `key_type` (0 group, 1
//! transactional id; anything else is refused INVALID_REQUEST, as Kafka's
//! `CoordinatorType.forId` throws); v3+ flexible; v4 `coordinator_keys`, a batch, in place of
//! `key`.
//!
//! Response: v0–3 answer their one key at top level (`error_code`, `node_id`, `host`, `port`;
//! `throttle_time_ms` and `error_message` from v1); v4 a `coordinators` entry per key, in
//! request order. Core names a node id; its host and port come from the driver's
//! [`ClusterInfo`], and a node id it does not list (not live, or no listener) is answered
//! COORDINATOR_NOT_AVAILABLE, so the client asks again rather than dial nowhere. Without a
//! coordinator the node is Kafka's `Node.noNode()`: id -1, host "", port -1.

use kafka_protocol::messages::{
    find_coordinator_response, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{self, ErrorCode, COORDINATOR_KEY_GROUP, COORDINATOR_KEY_TRANSACTION};

use super::{ClusterInfo, ConvertError};

/// The first version that batches keys.
const BATCHED: i16 = 4;

/// The core request.
pub(super) fn request(
    body: &FindCoordinatorRequest,
    version: i16,
) -> Result<api::FindCoordinatorRequest, ConvertError> {
    let key_type = match version {
        0 => COORDINATOR_KEY_GROUP,
        _ => body.key_type,
    };
    if key_type != COORDINATOR_KEY_GROUP && key_type != COORDINATOR_KEY_TRANSACTION {
        return Err(ConvertError::UnknownCoordinatorType { key_type });
    }
    let keys = match version >= BATCHED {
        true => body
            .coordinator_keys
            .iter()
            .map(|key| key.to_string())
            .collect(),
        false => vec![body.key.to_string()],
    };
    Ok(api::FindCoordinatorRequest { key_type, keys })
}

/// A coordinator with its address, or the error that replaces it.
struct Located {
    key: String,
    node_id: i32,
    host: String,
    port: i32,
    error: ErrorCode,
    message: Option<String>,
}

fn locate(coordinator: api::Coordinator, cluster: &ClusterInfo) -> Located {
    let endpoint = match coordinator.error {
        ErrorCode::None => cluster.brokers.get(&coordinator.node_id),
        _ => None,
    };
    match endpoint {
        Some(endpoint) => Located {
            key: coordinator.key,
            node_id: coordinator.node_id,
            host: endpoint.host.clone(),
            port: endpoint.port,
            error: ErrorCode::None,
            message: None,
        },
        None => {
            let (error, message) = match coordinator.error {
                ErrorCode::None => (ErrorCode::CoordinatorNotAvailable, None),
                error => (error, coordinator.message),
            };
            Located {
                key: coordinator.key,
                node_id: -1,
                host: String::new(),
                port: -1,
                error,
                message,
            }
        }
    }
}

/// The answer at `version`. Core answers each key asked; should it answer none, a v0–3
/// client hears COORDINATOR_NOT_AVAILABLE and asks again.
pub(super) fn response(
    response: api::FindCoordinatorResponse,
    version: i16,
    cluster: &ClusterInfo,
) -> FindCoordinatorResponse {
    let located = response
        .coordinators
        .into_iter()
        .map(|coordinator| locate(coordinator, cluster));
    if version >= BATCHED {
        let coordinators = located
            .map(|found| {
                find_coordinator_response::Coordinator::default()
                    .with_key(StrBytes::from_string(found.key))
                    .with_node_id(BrokerId(found.node_id))
                    .with_host(StrBytes::from_string(found.host))
                    .with_port(found.port)
                    .with_error_code(found.error.code())
                    .with_error_message(found.message.map(StrBytes::from_string))
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let unavailable = || {
        let none = api::Coordinator::error(String::new(), ErrorCode::CoordinatorNotAvailable);
        locate(none, cluster)
    };
    let found = located.into_iter().next().unwrap_or_else(unavailable);
    let body = FindCoordinatorResponse::default()
        .with_error_code(found.error.code())
        .with_node_id(BrokerId(found.node_id))
        .with_host(StrBytes::from_string(found.host))
        .with_port(found.port);
    match version >= 1 {
        true => body.with_error_message(found.message.map(StrBytes::from_string)),
        false => body,
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::convert::test_support::{decode_response, text, through_wire};
    use crate::convert::{from_core, BrokerEndpoint, ResponseContext};
    use crate::request::RequestBody;

    fn cluster() -> ClusterInfo {
        let mut cluster = ClusterInfo::default();
        cluster.brokers.insert(
            2,
            BrokerEndpoint {
                host: "broker-2".to_string(),
                port: 9093,
                rack: None,
            },
        );
        cluster
    }

    fn found(key: &str, node_id: i32) -> api::Coordinator {
        api::Coordinator {
            key: key.to_string(),
            node_id,
            error: ErrorCode::None,
            message: None,
        }
    }

    fn answer(version: i16, coordinators: Vec<api::Coordinator>) -> FindCoordinatorResponse {
        let context = ResponseContext::new(ApiKey::FindCoordinator, version);
        let response = api::Response::Group(api::GroupResponse::FindCoordinator(
            api::FindCoordinatorResponse { coordinators },
        ));
        let body = from_core(response, &context, &cluster()).unwrap();
        decode_response(&body, version)
    }

    #[test]
    fn v0_to_v3_carry_one_key_and_v4_a_batch() {
        for version in 0..=3 {
            let body = FindCoordinatorRequest::default().with_key(text("billing"));
            let body = match version {
                0 => body,
                _ => body.with_key_type(COORDINATOR_KEY_TRANSACTION),
            };
            let converted = through_wire(RequestBody::FindCoordinator(body), version).unwrap();
            let expected_type = match version {
                0 => COORDINATOR_KEY_GROUP,
                _ => COORDINATOR_KEY_TRANSACTION,
            };
            assert_eq!(
                converted.request,
                api::Request::Group(api::GroupRequest::FindCoordinator(
                    api::FindCoordinatorRequest {
                        key_type: expected_type,
                        keys: vec!["billing".to_string()],
                    }
                )),
                "v{version}"
            );
        }
        let body = FindCoordinatorRequest::default()
            .with_coordinator_keys(vec![text("billing"), text("audit")]);
        let converted = through_wire(RequestBody::FindCoordinator(body), 4).unwrap();
        let api::Request::Group(api::GroupRequest::FindCoordinator(request)) = converted.request
        else {
            panic!("{:?}", converted.request);
        };
        assert_eq!(request.key_type, COORDINATOR_KEY_GROUP);
        assert_eq!(request.keys, vec!["billing", "audit"]);
    }

    #[test]
    fn an_unknown_key_type_is_refused() {
        for key_type in [2, -1, 7] {
            let body = FindCoordinatorRequest::default()
                .with_key(text("g"))
                .with_key_type(key_type);
            let error = through_wire(RequestBody::FindCoordinator(body), 3).unwrap_err();
            assert_eq!(error, ConvertError::UnknownCoordinatorType { key_type });
            assert_eq!(error.error_code(), Some(ErrorCode::InvalidRequest));
        }
    }

    #[test]
    fn v3_answers_its_key_at_top_level_with_the_brokers_address() {
        let decoded = answer(3, vec![found("billing", 2)]);
        assert_eq!(decoded.error_code, 0);
        assert_eq!(decoded.node_id.0, 2);
        assert_eq!(&*decoded.host, "broker-2");
        assert_eq!(decoded.port, 9093);
        assert!(decoded.coordinators.is_empty());
        // A node the driver does not list is not available yet.
        let decoded = answer(3, vec![found("billing", 7)]);
        assert_eq!(
            decoded.error_code,
            ErrorCode::CoordinatorNotAvailable.code()
        );
        assert_eq!((decoded.node_id.0, decoded.port), (-1, -1));
        assert_eq!(&*decoded.host, "");
        // No answer at all is the same.
        let decoded = answer(0, Vec::new());
        assert_eq!(
            decoded.error_code,
            ErrorCode::CoordinatorNotAvailable.code()
        );
    }

    #[test]
    fn v4_answers_each_key_and_refuses_unknown_nodes_one_by_one() {
        let mut refused = api::Coordinator::error("audit".to_string(), ErrorCode::NotCoordinator);
        refused.message = Some("moved".to_string());
        let decoded = answer(4, vec![found("billing", 2), found("orders", 9), refused]);
        assert_eq!(decoded.error_code, 0);
        let rows: Vec<(&str, i32, &str, i32, i16)> = decoded
            .coordinators
            .iter()
            .map(|c| (&*c.key, c.node_id.0, &*c.host, c.port, c.error_code))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("billing", 2, "broker-2", 9093, 0),
                ("orders", -1, "", -1, 15),
                ("audit", -1, "", -1, 16),
            ]
        );
        assert_eq!(
            decoded.coordinators[2].error_message.as_deref(),
            Some("moved")
        );
        assert_eq!(decoded.coordinators[0].error_message, None);
    }
}
