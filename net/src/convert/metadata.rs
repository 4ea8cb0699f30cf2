//! Metadata (key 3), v0–12, topics by name.
//!
//! Request, per version:
//! - v0: a list of names; an empty list means every topic (v0 cannot send null).
//! - v1+: null means every topic, an empty list none.
//! - v4+: `allow_auto_topic_creation`; older versions always allow it, as Kafka reads them.
//! - v8+: `include_topic_authorized_operations`; v8–10 `include_cluster_authorized_operations`.
//! - v9+: flexible. v10+: each topic also has a `topic_id`, and its name becomes nullable.
//!
//! Topic ids: Sluice has none yet. In v10 and v11 a topic with an id or without a name is
//! refused with INVALID_REQUEST, as Kafka's `KafkaApis` refuses them; in v12 a lookup by id is
//! refused with UNKNOWN_TOPIC_ID, the code Kafka gives an id it does not know (whole request,
//! where Kafka answers each id: a client looks topics up either all by id or all by name).
//! A name asked for twice is answered once, as Kafka puts the names in a set.
//!
//! Response, per version: broker `rack` and `controller_id` from v1, `cluster_id` from v2,
//! `throttle_time_ms` from v3, `offline_replicas` from v5 (empty: core reports none),
//! `leader_epoch` from v7, authorized operations from v8 (when asked: with no authorizer Kafka
//! reports every operation the resource supports, and so does Sluice), `topic_id` from v10
//! (the zero id, so clients fetch by name). Host, port, rack, cluster id and controller come
//! from the driver's [`ClusterInfo`]. A live broker without an endpoint there is left out, and
//! a partition led by one gets LEADER_NOT_AVAILABLE with leader -1, as Kafka answers when the
//! leader has no endpoint on the request's listener.

use std::collections::BTreeSet;

use kafka_protocol::messages::{
    metadata_response, BrokerId, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{self, ErrorCode, PartitionMetadata, TopicMetadata};

use super::authorized_operations::{CLUSTER_OPERATIONS, TOPIC_OPERATIONS};
use super::{ClusterInfo, ConvertError, ResponseContext};

/// The core request.
pub(super) fn request(
    body: &MetadataRequest,
    version: i16,
) -> Result<api::MetadataRequest, ConvertError> {
    let topics = match &body.topics {
        None => None,
        Some(topics) if topics.is_empty() && version == 0 => None,
        Some(topics) => {
            let mut seen = BTreeSet::new();
            let mut names = Vec::with_capacity(topics.len());
            for topic in topics {
                let name = topic_name(topic, version)?;
                if seen.insert(name.clone()) {
                    names.push(name);
                }
            }
            Some(names)
        }
    };
    Ok(api::MetadataRequest {
        topics,
        allow_auto_topic_creation: version < 4 || body.allow_auto_topic_creation,
    })
}

fn topic_name(
    topic: &kafka_protocol::messages::metadata_request::MetadataRequestTopic,
    version: i16,
) -> Result<String, ConvertError> {
    let by_id = !topic.topic_id.is_nil();
    if by_id && version >= 12 {
        return Err(ConvertError::TopicIdLookup);
    }
    match &topic.name {
        Some(name) if !by_id => Ok(name.0.to_string()),
        _ => Err(ConvertError::InvalidMetadataTopic {
            api_version: version,
        }),
    }
}

/// The answer at the context's version.
pub(super) fn response(
    response: api::MetadataResponse,
    context: &ResponseContext,
    cluster: &ClusterInfo,
) -> MetadataResponse {
    let version = context.api_version;
    let brokers = response
        .brokers
        .iter()
        .filter_map(|&id| {
            let endpoint = cluster.brokers.get(&id)?;
            let broker = metadata_response::MetadataResponseBroker::default()
                .with_node_id(BrokerId(id))
                .with_host(StrBytes::from_string(endpoint.host.clone()))
                .with_port(endpoint.port);
            Some(if version >= 1 {
                broker.with_rack(endpoint.rack.clone().map(StrBytes::from_string))
            } else {
                broker
            })
        })
        .collect();
    let topics = response
        .topics
        .into_iter()
        .map(|topic| topic_response(topic, context, cluster))
        .collect();
    let mut body = MetadataResponse::default()
        .with_throttle_time_ms(0)
        .with_brokers(brokers)
        .with_topics(topics);
    if version >= 1 {
        body.controller_id = BrokerId(cluster.controller_id);
    }
    if version >= 2 {
        body.cluster_id = cluster.cluster_id.clone().map(StrBytes::from_string);
    }
    if context.include_cluster_authorized_operations {
        body.cluster_authorized_operations = CLUSTER_OPERATIONS;
    }
    body
}

fn topic_response(
    topic: TopicMetadata,
    context: &ResponseContext,
    cluster: &ClusterInfo,
) -> metadata_response::MetadataResponseTopic {
    let partitions = topic
        .partitions
        .into_iter()
        .map(|partition| partition_response(partition, context.api_version, cluster))
        .collect();
    let response = metadata_response::MetadataResponseTopic::default()
        .with_error_code(topic.error.code())
        .with_name(Some(TopicName(StrBytes::from_string(topic.name))))
        .with_is_internal(false)
        .with_partitions(partitions);
    if context.include_topic_authorized_operations {
        response.with_topic_authorized_operations(TOPIC_OPERATIONS)
    } else {
        response
    }
}

fn partition_response(
    partition: PartitionMetadata,
    version: i16,
    cluster: &ClusterInfo,
) -> metadata_response::MetadataResponsePartition {
    let unreachable_leader =
        partition.error == ErrorCode::None && !cluster.brokers.contains_key(&partition.leader);
    let (error, leader) = if unreachable_leader {
        (ErrorCode::LeaderNotAvailable, -1)
    } else {
        (partition.error, partition.leader)
    };
    let response = metadata_response::MetadataResponsePartition::default()
        .with_error_code(error.code())
        .with_partition_index(partition.partition)
        .with_leader_id(BrokerId(leader))
        .with_replica_nodes(partition.replicas.into_iter().map(BrokerId).collect())
        .with_isr_nodes(partition.isr.into_iter().map(BrokerId).collect());
    if version >= 7 {
        response.with_leader_epoch(partition.leader_epoch)
    } else {
        response
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{metadata_request, ApiKey};

    use super::*;
    use crate::convert::test_support::{decode_response, text, through_wire};
    use crate::convert::{from_core, BrokerEndpoint};
    use crate::request::RequestBody;

    fn named(names: &[&'static str]) -> Vec<metadata_request::MetadataRequestTopic> {
        names
            .iter()
            .map(|name| {
                metadata_request::MetadataRequestTopic::default()
                    .with_name(Some(TopicName(text(name))))
            })
            .collect()
    }

    fn convert(body: MetadataRequest, version: i16) -> Result<api::MetadataRequest, ConvertError> {
        let converted = through_wire(RequestBody::Metadata(body), version)?;
        match converted.request {
            api::Request::Metadata(request) => Ok(request),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_empty_list_is_all_topics_only_in_v0() {
        let empty = MetadataRequest::default().with_topics(Some(Vec::new()));
        assert_eq!(convert(empty.clone(), 0).unwrap().topics, None);
        for version in 1..=12 {
            let none = MetadataRequest::default().with_topics(None);
            assert_eq!(convert(none, version).unwrap().topics, None, "v{version}");
            let request = convert(empty.clone(), version).unwrap();
            assert_eq!(request.topics, Some(Vec::new()), "v{version}");
        }
    }

    #[test]
    fn every_version_converts_names_and_auto_creation() {
        for version in 0..=12 {
            let mut body =
                MetadataRequest::default().with_topics(Some(named(&["orders", "pay", "orders"])));
            if version >= 4 {
                body.allow_auto_topic_creation = false;
            }
            let request = convert(body, version).unwrap();
            assert_eq!(
                request.topics,
                Some(vec!["orders".to_owned(), "pay".to_owned()]),
                "v{version}"
            );
            // Before v4 the field is not on the wire and Kafka allows creation.
            assert_eq!(request.allow_auto_topic_creation, version < 4, "v{version}");
        }
    }

    #[test]
    fn topic_ids_are_refused() {
        let by_id = metadata_request::MetadataRequestTopic::default()
            .with_topic_id(uuid::Uuid::from_u128(0x5eed))
            .with_name(None);
        let body = MetadataRequest::default().with_topics(Some(vec![by_id.clone()]));
        for version in [10, 11] {
            let error = convert(body.clone(), version).unwrap_err();
            assert_eq!(
                error,
                ConvertError::InvalidMetadataTopic {
                    api_version: version
                }
            );
            assert_eq!(error.error_code(), Some(ErrorCode::InvalidRequest));
        }
        let error = convert(body, 12).unwrap_err();
        assert_eq!(error, ConvertError::TopicIdLookup);
        assert_eq!(error.error_code(), Some(ErrorCode::UnknownTopicId));
        let nameless = metadata_request::MetadataRequestTopic::default().with_name(None);
        let body = MetadataRequest::default().with_topics(Some(vec![nameless]));
        assert!(matches!(
            convert(body, 12),
            Err(ConvertError::InvalidMetadataTopic { api_version: 12 })
        ));
    }

    fn cluster() -> ClusterInfo {
        let endpoint = |host: &str, rack: Option<&str>| BrokerEndpoint {
            host: host.to_owned(),
            port: 9092,
            rack: rack.map(str::to_owned),
        };
        ClusterInfo {
            cluster_id: Some("sluice-cluster".to_owned()),
            controller_id: 2,
            brokers: [
                (1, endpoint("b1.local", Some("rack-a"))),
                (2, endpoint("b2.local", None)),
            ]
            .into(),
        }
    }

    fn core_response() -> api::MetadataResponse {
        let partition = |index, leader| PartitionMetadata {
            error: ErrorCode::None,
            partition: index,
            leader,
            leader_epoch: 5,
            replicas: vec![1, 2, 3],
            isr: vec![1, 2],
        };
        api::MetadataResponse {
            // Broker 3 is live but has no endpoint on this listener.
            brokers: vec![1, 2, 3],
            topics: vec![
                TopicMetadata {
                    error: ErrorCode::None,
                    name: "orders".to_owned(),
                    partitions: vec![partition(0, 1), partition(1, 3)],
                },
                TopicMetadata {
                    error: ErrorCode::UnknownTopicOrPartition,
                    name: "missing".to_owned(),
                    partitions: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn responses_at_every_version_decode_as_a_client_reads_them() {
        for version in 0..=12 {
            let mut context = ResponseContext::new(ApiKey::Metadata, version);
            context.include_topic_authorized_operations = version >= 8;
            context.include_cluster_authorized_operations = (8..=10).contains(&version);
            let response = api::Response::Metadata(core_response());
            let body = from_core(response, &context, &cluster()).unwrap();
            let decoded: MetadataResponse = decode_response(&body, version);
            let brokers: Vec<(i32, &str, i32, Option<&str>)> = decoded
                .brokers
                .iter()
                .map(|b| (b.node_id.0, &*b.host, b.port, b.rack.as_deref()))
                .collect();
            let rack = (version >= 1).then_some("rack-a");
            assert_eq!(
                brokers,
                vec![(1, "b1.local", 9092, rack), (2, "b2.local", 9092, None)],
                "v{version}"
            );
            let controller = if version >= 1 { 2 } else { -1 };
            assert_eq!(decoded.controller_id, BrokerId(controller));
            let cluster_id = (version >= 2).then_some("sluice-cluster");
            assert_eq!(decoded.cluster_id.as_deref(), cluster_id);
            assert_eq!(decoded.topics.len(), 2);
            let orders = &decoded.topics[0];
            assert_eq!(orders.name.as_ref().map(|n| &*n.0), Some("orders"));
            assert!(orders.topic_id.is_nil());
            assert!(!orders.is_internal);
            let partitions: Vec<(i32, i16, i32, i32)> = orders
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition_index,
                        p.error_code,
                        p.leader_id.0,
                        p.leader_epoch,
                    )
                })
                .collect();
            let epoch = if version >= 7 { 5 } else { -1 };
            assert_eq!(
                partitions,
                vec![(0, 0, 1, epoch), (1, 5, -1, epoch)],
                "v{version}"
            );
            let replicas: Vec<i32> = orders.partitions[0]
                .replica_nodes
                .iter()
                .map(|b| b.0)
                .collect();
            assert_eq!(replicas, vec![1, 2, 3]);
            assert_eq!(orders.partitions[0].isr_nodes.len(), 2);
            assert!(orders.partitions[0].offline_replicas.is_empty());
            assert_eq!(decoded.topics[1].error_code, 3);
            let topic_operations = if version >= 8 {
                TOPIC_OPERATIONS
            } else {
                i32::MIN
            };
            assert_eq!(orders.topic_authorized_operations, topic_operations);
            let cluster_operations = if (8..=10).contains(&version) {
                CLUSTER_OPERATIONS
            } else {
                i32::MIN
            };
            assert_eq!(decoded.cluster_authorized_operations, cluster_operations);
        }
    }
}
