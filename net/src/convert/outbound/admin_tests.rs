//! The admin APIs as a client sends and reads them: every core admin request goes through
//! [`request_to_kafka`], the client's frame encoder, the broker's decoder and [`to_core`], and
//! arrives as sent (for the fields its version carries); every core answer goes through
//! [`from_core`], the broker's encoder, the client's decoder and [`response_to_core`], and
//! arrives as given (likewise). Every served version of every admin API is checked.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use bytes::Bytes;
use kafka_protocol::messages::{
    describe_configs_response, ApiKey, DeleteTopicsResponse, DescribeConfigsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use sluice_core::api::{
    self, AdminRequest, AdminResponse, AlterConfigOp, AlterConfigsResource, ConfigResource,
    ConfigSource, ConfigSynonym, ConfigType, CreatableTopic, CreateTopicResult,
    DeleteRecordsResult, DeleteTopicResult, DescribeConfigsResult, DescribedConfig, ErrorCode,
    NewPartitions, Request, Response, TopicError, TopicPartition,
};
use sluice_core::controller::Uuid;

use super::{api_key_of, request_to_kafka, response_to_core, Answer, BrokerAddress, OutboundError};
use crate::client::{decode_response, encode_request};
use crate::convert::grouping::group_by_topic;
use crate::convert::{from_core, to_core, BrokerEndpoint, ClusterInfo, Converted};
use crate::request::decode_request;
use crate::response::{encode_response_at, ResponseBody};
use crate::versions::supported_range;

/// The versions Sluice serves of `api_key`.
fn versions(api_key: ApiKey) -> RangeInclusive<i16> {
    let range = supported_range(api_key as i16).unwrap();
    range.min_version..=range.max_version
}

/// The versions Sluice serves of the API `request` goes to.
fn versions_of(request: &AdminRequest) -> RangeInclusive<i16> {
    versions(api_key_of(&Request::Admin(request.clone())))
}

/// Sends `request` as a client at `version`: built, framed with the client's encoder, decoded
/// as the broker decodes it and converted for the broker.
fn send(request: &AdminRequest, version: i16) -> Converted {
    let api_key = api_key_of(&Request::Admin(request.clone()));
    let body = request_to_kafka(Request::Admin(request.clone()), version)
        .unwrap_or_else(|| panic!("{api_key:?} v{version}: not expressible"));
    assert_eq!(body.api_key(), api_key);
    let frame = encode_request(3, "admin-test", version, &body)
        .unwrap_or_else(|error| panic!("{api_key:?} v{version}: {error}"));
    let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
    assert_eq!(size as usize, frame.len() - 4);
    let decoded = decode_request(Bytes::copy_from_slice(&frame[4..]))
        .unwrap_or_else(|error| panic!("{api_key:?} v{version}: {error}"));
    assert_eq!(
        (decoded.header.api_key, decoded.header.api_version),
        (api_key as i16, version)
    );
    assert_eq!(
        decoded.body, body,
        "{api_key:?} v{version}: the wire kept the body"
    );
    to_core(&decoded.body, version)
        .unwrap_or_else(|error| panic!("{api_key:?} v{version}: {error}"))
}

/// The broker's `response` to `converted`, as the client reads it back.
fn receive(converted: &Converted, response: AdminResponse, cluster: &ClusterInfo) -> Answer {
    let context = &converted.context;
    let body = from_core(Response::Admin(response), context, cluster).unwrap();
    let frame = encode_response_at(5, context.api_version, &body).unwrap();
    let (correlation_id, body) = decode_response(
        context.api_key,
        context.api_version,
        Bytes::copy_from_slice(&frame[4..]),
    )
    .unwrap_or_else(|error| panic!("{:?} v{}: {error}", context.api_key, context.api_version));
    assert_eq!(correlation_id, 5);
    response_to_core(context.api_key, body).unwrap()
}

/// Partitions as they come back from the wire: grouped under their topic, topics in order of
/// first appearance.
fn grouped<T>(items: Vec<T>, topic: impl Fn(&T) -> &str) -> Vec<T> {
    group_by_topic(items, topic)
        .into_iter()
        .flat_map(|(_, items)| items)
        .collect()
}

/// `request` with only what `version` carries.
fn request_at(request: &AdminRequest, version: i16) -> AdminRequest {
    let mut request = request.clone();
    match &mut request {
        AdminRequest::DescribeConfigs(describe) if version < 3 => {
            describe.include_documentation = false;
        }
        AdminRequest::DescribeCluster { endpoint_type } if version < 1 => *endpoint_type = 1,
        AdminRequest::DeleteRecords(delete) => {
            let partitions = std::mem::take(&mut delete.partitions);
            delete.partitions = grouped(partitions, |(tp, _)| &tp.topic);
        }
        _ => {}
    }
    request
}

/// A config as CreateTopics answers carry it (v5+): no synonyms, type or documentation.
fn created_config(config: &DescribedConfig) -> DescribedConfig {
    DescribedConfig {
        synonyms: Vec::new(),
        config_type: ConfigType::String,
        documentation: None,
        ..config.clone()
    }
}

/// `response` with only what `version` carries.
fn response_at(response: &AdminResponse, version: i16) -> AdminResponse {
    match response.clone() {
        AdminResponse::CreateTopics(results) => AdminResponse::CreateTopics(
            results
                .into_iter()
                .map(|mut result| {
                    if version < 7 {
                        result.topic_id = Uuid::ZERO;
                    }
                    // Configs come with v5, and only for a topic created.
                    if version < 5 || result.error != ErrorCode::None {
                        result.configs.clear();
                    }
                    if version < 5 {
                        result.num_partitions = -1;
                        result.replication_factor = -1;
                    }
                    result.configs = result.configs.iter().map(created_config).collect();
                    result
                })
                .collect(),
        ),
        AdminResponse::DeleteTopics(results) => AdminResponse::DeleteTopics(
            results
                .into_iter()
                .map(|mut result| {
                    if version < 6 {
                        result.topic_id = Uuid::ZERO;
                    }
                    result
                })
                .collect(),
        ),
        AdminResponse::DescribeConfigs(results) => AdminResponse::DescribeConfigs(
            results
                .into_iter()
                .map(|mut result| {
                    for config in &mut result.configs {
                        if version < 3 {
                            config.config_type = ConfigType::String;
                            config.documentation = None;
                        }
                        if config.documentation.as_deref() == Some("") {
                            config.documentation = None;
                        }
                    }
                    result
                })
                .collect(),
        ),
        AdminResponse::DeleteRecords(results) => {
            AdminResponse::DeleteRecords(grouped(results, |r| &r.partition.topic))
        }
        other => other,
    }
}

/// Sends `request` at every version its API serves, and answers each with `response`, checking
/// that both arrive with every field the version carries.
fn round_trip(request: &AdminRequest, response: &AdminResponse) {
    for version in versions_of(request) {
        let converted = send(request, version);
        assert_eq!(
            converted.request,
            Request::Admin(request_at(request, version)),
            "{} v{version}",
            request.name()
        );
        let answer = receive(&converted, response.clone(), &ClusterInfo::default());
        assert_eq!(
            answer.response,
            Response::Admin(response_at(response, version)),
            "{} v{version}",
            request.name()
        );
        assert!(answer.brokers.is_empty());
    }
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._é-]{0,10}"
}

fn maybe_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[ -~é]{0,12}")
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    select(ErrorCode::ALL.to_vec())
}

fn partition() -> impl Strategy<Value = TopicPartition> {
    (select(vec!["a", "b", "c"]), any::<i32>()).prop_map(|(topic, partition)| TopicPartition {
        topic: topic.to_string(),
        partition,
    })
}

fn resource() -> impl Strategy<Value = ConfigResource> {
    (any::<i8>(), name()).prop_map(|(resource_type, name)| ConfigResource {
        resource_type,
        name,
    })
}

fn config_source() -> impl Strategy<Value = ConfigSource> {
    select(vec![
        ConfigSource::DynamicTopic,
        ConfigSource::StaticBroker,
        ConfigSource::Default,
    ])
}

fn described_config() -> impl Strategy<Value = DescribedConfig> {
    let synonym =
        (name(), maybe_text(), config_source()).prop_map(|(name, value, source)| ConfigSynonym {
            name,
            value,
            source,
        });
    let config_type = select(vec![
        ConfigType::Boolean,
        ConfigType::String,
        ConfigType::Int,
        ConfigType::Long,
        ConfigType::Double,
        ConfigType::List,
    ]);
    (
        (name(), maybe_text(), any::<bool>(), config_source()),
        (any::<bool>(), vec(synonym, 0..3), config_type, maybe_text()),
    )
        .prop_map(
            |(
                (name, value, read_only, source),
                (sensitive, synonyms, config_type, documentation),
            )| {
                DescribedConfig {
                    name,
                    value,
                    read_only,
                    source,
                    sensitive,
                    synonyms,
                    config_type,
                    documentation,
                }
            },
        )
}

fn create_topics() -> impl Strategy<Value = (AdminRequest, AdminResponse)> {
    let topic = (
        name(),
        any::<i32>(),
        any::<i16>(),
        vec((any::<i32>(), vec(any::<i32>(), 0..4)), 0..3),
        vec((name(), maybe_text()), 0..3),
    )
        .prop_map(
            |(name, num_partitions, replication_factor, assignments, configs)| CreatableTopic {
                name,
                num_partitions,
                replication_factor,
                assignments,
                configs,
            },
        );
    let request = (vec(topic, 0..4), any::<bool>()).prop_map(|(topics, validate_only)| {
        AdminRequest::CreateTopics(api::CreateTopicsRequest {
            topics,
            validate_only,
        })
    });
    let result = (
        (name(), any::<u128>(), error_code(), maybe_text()),
        (any::<i32>(), any::<i16>(), vec(described_config(), 0..3)),
    )
        .prop_map(
            |((name, id, error, message), (num_partitions, replication_factor, configs))| {
                CreateTopicResult {
                    name,
                    topic_id: Uuid(id),
                    error,
                    message,
                    num_partitions,
                    replication_factor,
                    configs,
                }
            },
        );
    (
        request,
        vec(result, 0..4).prop_map(AdminResponse::CreateTopics),
    )
}

fn delete_topics() -> impl Strategy<Value = (AdminRequest, AdminResponse)> {
    let request = vec(name(), 0..4)
        .prop_map(|names| AdminRequest::DeleteTopics(api::DeleteTopicsRequest { names }));
    let result =
        (name(), any::<u128>(), error_code()).prop_map(|(name, id, error)| DeleteTopicResult {
            name,
            topic_id: Uuid(id),
            error,
        });
    (
        request,
        vec(result, 0..4).prop_map(AdminResponse::DeleteTopics),
    )
}

fn topic_errors() -> impl Strategy<Value = Vec<TopicError>> {
    let error =
        (name(), error_code(), maybe_text()).prop_map(|(name, error, message)| TopicError {
            name,
            error,
            message,
        });
    vec(error, 0..4)
}

fn create_partitions() -> impl Strategy<Value = (AdminRequest, AdminResponse)> {
    let topic = (
        name(),
        any::<i32>(),
        proptest::option::of(vec(vec(any::<i32>(), 0..3), 0..3)),
    )
        .prop_map(|(topic, count, assignments)| NewPartitions {
            topic,
            count,
            assignments,
        });
    let request = (vec(topic, 0..4), any::<bool>()).prop_map(|(topics, validate_only)| {
        AdminRequest::CreatePartitions(api::CreatePartitionsRequest {
            topics,
            validate_only,
        })
    });
    (
        request,
        topic_errors().prop_map(AdminResponse::CreatePartitions),
    )
}

fn describe_configs() -> impl Strategy<Value = (AdminRequest, AdminResponse)> {
    let wanted = (resource(), proptest::option::of(vec(name(), 0..3)));
    let request = (vec(wanted, 0..4), any::<bool>(), any::<bool>()).prop_map(
        |(resources, include_synonyms, include_documentation)| {
            AdminRequest::DescribeConfigs(api::DescribeConfigsRequest {
                resources,
                include_synonyms,
                include_documentation,
            })
        },
    );
    let result = (
        resource(),
        error_code(),
        maybe_text(),
        vec(described_config(), 0..3),
    )
        .prop_map(
            |(resource, error, message, configs)| DescribeConfigsResult {
                resource,
                error,
                message,
                configs,
            },
        );
    (
        request,
        vec(result, 0..4).prop_map(AdminResponse::DescribeConfigs),
    )
}

fn alter_configs_results() -> impl Strategy<Value = AdminResponse> {
    let result = (resource(), error_code(), maybe_text()).prop_map(|(resource, error, message)| {
        api::AlterConfigsResult {
            resource,
            error,
            message,
        }
    });
    vec(result, 0..4).prop_map(AdminResponse::AlterConfigs)
}

/// (Incremental)AlterConfigs; AlterConfigs only sets, IncrementalAlterConfigs does anything.
fn alter_configs(incremental: bool) -> impl Strategy<Value = (AdminRequest, AdminResponse)> {
    let ops = match incremental {
        true => vec![
            AlterConfigOp::Set,
            AlterConfigOp::Delete,
            AlterConfigOp::Append,
            AlterConfigOp::Subtract,
        ],
        false => vec![AlterConfigOp::Set],
    };
    let op = (name(), select(ops), maybe_text());
    let resource = (resource(), vec(op, 0..4))
        .prop_map(|(resource, ops)| AlterConfigsResource { resource, ops });
    let request =
        (vec(resource, 0..4), any::<bool>()).prop_map(move |(resources, validate_only)| {
            AdminRequest::AlterConfigs(api::AlterConfigsRequest {
                resources,
                validate_only,
                incremental,
            })
        });
    (request, alter_configs_results())
}

fn delete_records() -> impl Strategy<Value = (AdminRequest, AdminResponse)> {
    let request = vec((partition(), any::<i64>()), 0..6).prop_map(|partitions| {
        AdminRequest::DeleteRecords(api::DeleteRecordsRequest { partitions })
    });
    let result =
        (partition(), any::<i64>(), error_code()).prop_map(|(partition, low_watermark, error)| {
            DeleteRecordsResult {
                partition,
                low_watermark,
                error,
            }
        });
    (
        request,
        vec(result, 0..6).prop_map(AdminResponse::DeleteRecords),
    )
}

fn cluster() -> impl Strategy<Value = ClusterInfo> {
    let endpoint =
        (name(), any::<u16>(), proptest::option::of(name())).prop_map(|(host, port, rack)| {
            BrokerEndpoint {
                host,
                port: i32::from(port),
                rack,
            }
        });
    (
        proptest::option::of(name()),
        any::<i32>(),
        vec((any::<i32>(), endpoint), 0..4),
    )
        .prop_map(|(cluster_id, controller_id, brokers)| ClusterInfo {
            cluster_id,
            controller_id,
            brokers: brokers.into_iter().collect::<BTreeMap<_, _>>(),
        })
}

proptest! {
    #[test]
    fn create_topics_go_and_come_back((request, response) in create_topics()) {
        round_trip(&request, &response);
    }

    #[test]
    fn delete_topics_go_and_come_back((request, response) in delete_topics()) {
        round_trip(&request, &response);
    }

    #[test]
    fn create_partitions_go_and_come_back((request, response) in create_partitions()) {
        round_trip(&request, &response);
    }

    #[test]
    fn describe_configs_go_and_come_back((request, response) in describe_configs()) {
        round_trip(&request, &response);
    }

    #[test]
    fn alter_configs_go_and_come_back((request, response) in alter_configs(false)) {
        round_trip(&request, &response);
    }

    #[test]
    fn incremental_alter_configs_go_and_come_back((request, response) in alter_configs(true)) {
        round_trip(&request, &response);
    }

    #[test]
    fn delete_records_go_and_come_back((request, response) in delete_records()) {
        round_trip(&request, &response);
    }

    #[test]
    fn describe_cluster_goes_and_comes_back_with_the_brokers(
        endpoint_type in any::<i8>(),
        error in error_code(),
        cluster in cluster(),
    ) {
        let request = AdminRequest::DescribeCluster { endpoint_type };
        for version in versions(ApiKey::DescribeCluster) {
            let converted = send(&request, version);
            prop_assert_eq!(&converted.request, &Request::Admin(request_at(&request, version)));
            let response = AdminResponse::DescribeCluster { error };
            let answer = receive(&converted, response.clone(), &cluster);
            prop_assert_eq!(answer.response, Response::Admin(response));
            // Only an answer without an error lists the brokers.
            let brokers: Vec<BrokerAddress> = match error {
                ErrorCode::None => cluster
                    .brokers
                    .iter()
                    .map(|(id, endpoint)| BrokerAddress {
                        id: *id,
                        host: endpoint.host.clone(),
                        port: u16::try_from(endpoint.port).unwrap(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            prop_assert_eq!(answer.brokers, brokers);
        }
    }
}

fn alter(ops: Vec<(String, AlterConfigOp, Option<String>)>, incremental: bool) -> AdminRequest {
    AdminRequest::AlterConfigs(api::AlterConfigsRequest {
        resources: vec![AlterConfigsResource {
            resource: ConfigResource {
                resource_type: api::resource_type::TOPIC,
                name: "orders".to_string(),
            },
            ops,
        }],
        validate_only: false,
        incremental,
    })
}

#[test]
fn alter_configs_deletes_with_a_null_and_cannot_append_or_subtract() {
    let delete = alter(
        vec![
            (
                "retention.ms".to_string(),
                AlterConfigOp::Set,
                Some("5".to_string()),
            ),
            (
                "cleanup.policy".to_string(),
                AlterConfigOp::Delete,
                Some("x".to_string()),
            ),
        ],
        false,
    );
    // AlterConfigs reads a null value as the delete it is.
    let read = alter(
        vec![
            (
                "retention.ms".to_string(),
                AlterConfigOp::Set,
                Some("5".to_string()),
            ),
            ("cleanup.policy".to_string(), AlterConfigOp::Set, None),
        ],
        false,
    );
    for version in versions(ApiKey::AlterConfigs) {
        assert_eq!(send(&delete, version).request, Request::Admin(read.clone()));
    }
    for op in [AlterConfigOp::Append, AlterConfigOp::Subtract] {
        let ops = vec![(
            "cleanup.policy".to_string(),
            op,
            Some("compact".to_string()),
        )];
        for version in versions(ApiKey::AlterConfigs) {
            let request = Request::Admin(alter(ops.clone(), false));
            assert_eq!(request_to_kafka(request, version), None, "{op:?}");
        }
        // Incremental, they go.
        for version in versions(ApiKey::IncrementalAlterConfigs) {
            let request = alter(ops.clone(), true);
            assert_eq!(send(&request, version).request, Request::Admin(request));
        }
    }
}

#[test]
fn what_a_version_lacks_is_left_out() {
    let describe = AdminRequest::DescribeConfigs(api::DescribeConfigsRequest {
        resources: Vec::new(),
        include_synonyms: true,
        include_documentation: true,
    });
    for version in versions(ApiKey::DescribeConfigs) {
        let AdminRequest::DescribeConfigs(got) = request_at(&describe, version) else {
            panic!()
        };
        assert_eq!(got.include_documentation, version >= 3, "v{version}");
        assert_eq!(
            send(&describe, version).request,
            Request::Admin(AdminRequest::DescribeConfigs(got))
        );
    }
    let cluster = AdminRequest::DescribeCluster { endpoint_type: 2 };
    let expected = [(0, 1), (1, 2)];
    for (version, endpoint_type) in expected {
        assert_eq!(
            send(&cluster, version).request,
            Request::Admin(AdminRequest::DescribeCluster { endpoint_type })
        );
    }
}

fn text(value: &'static str) -> StrBytes {
    StrBytes::from_static_str(value)
}

#[test]
fn sources_types_and_codes_core_does_not_name_are_read_as_their_nearest() {
    let config = |source: i8, config_type: i8, documentation| {
        describe_configs_response::DescribeConfigsResourceResult::default()
            .with_name(text("c"))
            .with_value(None)
            .with_config_source(source)
            .with_config_type(config_type)
            .with_documentation(documentation)
    };
    let configs = vec![
        config(2, 4, Some(text(""))),
        config(3, 8, None),
        config(6, 9, Some(text("d"))),
        config(7, 0, None),
        config(-1, 3, None),
    ];
    let result = describe_configs_response::DescribeConfigsResult::default()
        .with_error_code(9999)
        .with_error_message(None)
        .with_resource_type(2)
        .with_resource_name(text("orders"))
        .with_configs(configs);
    let body = ResponseBody::DescribeConfigs(
        DescribeConfigsResponse::default().with_results(vec![result]),
    );
    let answer = response_to_core(ApiKey::DescribeConfigs, body).unwrap();
    let Response::Admin(AdminResponse::DescribeConfigs(results)) = answer.response else {
        panic!()
    };
    assert_eq!(results[0].error, ErrorCode::UnknownServerError);
    let read: Vec<(ConfigSource, ConfigType, Option<String>)> = results[0]
        .configs
        .iter()
        .map(|c| (c.source, c.config_type, c.documentation.clone()))
        .collect();
    assert_eq!(
        read,
        [
            (ConfigSource::StaticBroker, ConfigType::Int, None),
            (ConfigSource::StaticBroker, ConfigType::String, None),
            (
                ConfigSource::StaticBroker,
                ConfigType::String,
                Some("d".to_string())
            ),
            (ConfigSource::Default, ConfigType::String, None),
            (ConfigSource::Default, ConfigType::Int, None),
        ]
    );
}

#[test]
fn malformed_or_mismatched_admin_answers_are_refused() {
    let unnamed = kafka_protocol::messages::delete_topics_response::DeletableTopicResult::default()
        .with_name(None);
    let body =
        ResponseBody::DeleteTopics(DeleteTopicsResponse::default().with_responses(vec![unnamed]));
    assert_eq!(
        response_to_core(ApiKey::DeleteTopics, body),
        Err(OutboundError::Invalid("a topic without a name"))
    );
    let named = kafka_protocol::messages::delete_topics_response::DeletableTopicResult::default()
        .with_name(Some(TopicName(text("t"))));
    let body =
        ResponseBody::DeleteTopics(DeleteTopicsResponse::default().with_responses(vec![named]));
    assert_eq!(
        response_to_core(ApiKey::CreateTopics, body),
        Err(OutboundError::WrongApi)
    );
}
