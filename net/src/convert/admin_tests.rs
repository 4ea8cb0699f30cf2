//! The admin APIs through the wire: each sample request at every served version becomes the
//! core request a broker decides on, and each core answer decodes as a client reads it.

use kafka_protocol::messages::{
    incremental_alter_configs_request, ApiKey, CreateTopicsResponse, DeleteRecordsResponse,
    DeleteTopicsResponse, DescribeClusterResponse, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use sluice_core::api::{
    self, resource_type, AdminRequest, AdminResponse, AlterConfigOp, ConfigResource, ConfigSource,
    ConfigSynonym, ConfigType, CreateTopicResult, DeleteRecordsResult, DeleteTopicResult,
    DescribeConfigsResult, DescribedConfig, ErrorCode,
};
use sluice_core::controller::Uuid;

use super::test_support::{decode_response, text, through_wire, tp};
use super::{from_core, BrokerEndpoint, ClusterInfo, ConvertError, ResponseContext};
use crate::request::RequestBody;
use crate::samples::sample_request;

fn admin_request(api_key: ApiKey, version: i16) -> AdminRequest {
    let converted = through_wire(sample_request(api_key, version), version)
        .unwrap_or_else(|error| panic!("{api_key:?} v{version}: {error}"));
    match converted.request {
        api::Request::Admin(request) => request,
        other => panic!("{other:?}"),
    }
}

fn answer(
    api_key: ApiKey,
    version: i16,
    response: AdminResponse,
    cluster: &ClusterInfo,
) -> crate::response::ResponseBody {
    let context = ResponseContext::new(api_key, version);
    from_core(api::Response::Admin(response), &context, cluster).unwrap()
}

#[test]
fn every_version_of_every_admin_request_converts() {
    for version in 2..=7 {
        let AdminRequest::CreateTopics(create) = admin_request(ApiKey::CreateTopics, version)
        else {
            panic!()
        };
        assert!(create.validate_only);
        let topic = &create.topics[0];
        assert_eq!((topic.num_partitions, topic.replication_factor), (-1, -1));
        assert_eq!(topic.assignments[1], (2, vec![1, 2, 3]));
        assert_eq!(
            topic.configs[0],
            ("cleanup.policy".to_string(), Some("compact".to_string()))
        );
        assert_eq!(topic.configs[1], ("cleanup.policy".to_string(), None));
    }
    for version in 1..=6 {
        let AdminRequest::DeleteTopics(delete) = admin_request(ApiKey::DeleteTopics, version)
        else {
            panic!()
        };
        assert_eq!(delete.names.len(), 2, "v{version}");
    }
    for version in 0..=3 {
        let AdminRequest::CreatePartitions(grow) = admin_request(ApiKey::CreatePartitions, version)
        else {
            panic!()
        };
        assert_eq!(grow.topics[0].count, 6);
        assert_eq!(grow.topics[0].assignments.as_ref().unwrap()[0], vec![1, 2]);
    }
    for version in 0..=2 {
        let AdminRequest::DeleteRecords(delete) = admin_request(ApiKey::DeleteRecords, version)
        else {
            panic!()
        };
        assert_eq!(delete.partitions.len(), 4);
        assert_eq!(delete.partitions[1].1, 99);
    }
    for version in 1..=4 {
        let AdminRequest::DescribeConfigs(describe) =
            admin_request(ApiKey::DescribeConfigs, version)
        else {
            panic!()
        };
        assert!(describe.include_synonyms);
        assert_eq!(describe.include_documentation, version >= 3);
        let (resource, keys) = &describe.resources[0];
        assert_eq!(
            (resource.resource_type, resource.name.as_str()),
            (resource_type::TOPIC, "orders")
        );
        assert_eq!(keys.as_ref().unwrap().len(), 2);
    }
    for version in 0..=2 {
        let AdminRequest::AlterConfigs(alter) = admin_request(ApiKey::AlterConfigs, version) else {
            panic!()
        };
        assert!(!alter.incremental && alter.validate_only);
        assert_eq!(
            alter.resources[0].ops[0],
            (
                "retention.ms".to_string(),
                AlterConfigOp::Set,
                Some("1000".to_string())
            )
        );
    }
    for version in 0..=1 {
        let AdminRequest::AlterConfigs(alter) =
            admin_request(ApiKey::IncrementalAlterConfigs, version)
        else {
            panic!()
        };
        assert!(alter.incremental);
        let ops: Vec<AlterConfigOp> = alter.resources[0]
            .ops
            .iter()
            .map(|(_, op, _)| *op)
            .collect();
        assert_eq!(ops, [AlterConfigOp::Delete, AlterConfigOp::Append]);
    }
    for version in 0..=1 {
        let request = admin_request(ApiKey::DescribeCluster, version);
        let expected = if version >= 1 { 2 } else { 1 };
        assert_eq!(
            request,
            AdminRequest::DescribeCluster {
                endpoint_type: expected
            }
        );
    }
}

#[test]
fn an_unknown_config_operation_refuses_the_request() {
    let config = incremental_alter_configs_request::AlterableConfig::default()
        .with_name(text("retention.ms"))
        .with_config_operation(7);
    let resource = incremental_alter_configs_request::AlterConfigsResource::default()
        .with_resource_type(2)
        .with_resource_name(text("orders"))
        .with_configs(vec![config]);
    let body = IncrementalAlterConfigsRequest::default().with_resources(vec![resource]);
    let error = through_wire(RequestBody::IncrementalAlterConfigs(body), 1).unwrap_err();
    assert_eq!(error, ConvertError::UnknownConfigOperation { operation: 7 });
    assert_eq!(error.error_code(), Some(ErrorCode::InvalidRequest));
}

fn described(name: &str) -> DescribedConfig {
    DescribedConfig {
        name: name.to_string(),
        value: Some("1000".to_string()),
        read_only: false,
        source: ConfigSource::DynamicTopic,
        sensitive: false,
        synonyms: vec![ConfigSynonym {
            name: name.to_string(),
            value: Some("1000".to_string()),
            source: ConfigSource::DynamicTopic,
        }],
        config_type: ConfigType::Long,
        documentation: Some("docs".to_string()),
    }
}

#[test]
fn create_topics_answers_carry_what_each_version_has() {
    for version in 2..=7 {
        let results = vec![
            CreateTopicResult {
                name: "orders".to_string(),
                topic_id: Uuid(0xabc),
                error: ErrorCode::None,
                message: None,
                num_partitions: 3,
                replication_factor: 1,
                configs: vec![described("retention.ms")],
            },
            CreateTopicResult::error(
                "bad".to_string(),
                ErrorCode::InvalidConfig,
                Some("no".to_string()),
            ),
        ];
        let body = answer(
            ApiKey::CreateTopics,
            version,
            AdminResponse::CreateTopics(results),
            &ClusterInfo::default(),
        );
        let decoded: CreateTopicsResponse = decode_response(&body, version);
        let (ok, bad) = (&decoded.topics[0], &decoded.topics[1]);
        assert_eq!(
            (ok.name.0.as_str(), ok.error_code, bad.error_code),
            ("orders", 0, 40)
        );
        assert_eq!(bad.error_message.as_deref(), Some("no"));
        if version >= 5 {
            assert_eq!((ok.num_partitions, ok.replication_factor), (3, 1));
            let configs = ok.configs.as_ref().unwrap();
            assert_eq!(
                (configs[0].name.as_str(), configs[0].config_source),
                ("retention.ms", 1)
            );
            assert!(bad.configs.is_none());
        }
        if version >= 7 {
            assert_eq!(ok.topic_id.as_u128(), 0xabc);
        }
    }
}

#[test]
fn describe_configs_answers_carry_types_and_docs_from_v3() {
    for version in 1..=4 {
        let results = vec![DescribeConfigsResult {
            resource: ConfigResource {
                resource_type: resource_type::TOPIC,
                name: "orders".to_string(),
            },
            error: ErrorCode::None,
            message: None,
            configs: vec![described("retention.ms")],
        }];
        let body = answer(
            ApiKey::DescribeConfigs,
            version,
            AdminResponse::DescribeConfigs(results),
            &ClusterInfo::default(),
        );
        let decoded: DescribeConfigsResponse = decode_response(&body, version);
        let config = &decoded.results[0].configs[0];
        assert_eq!(
            (config.value.as_deref(), config.config_source),
            (Some("1000"), 1)
        );
        assert_eq!(config.synonyms[0].source, 1);
        if version >= 3 {
            assert_eq!(
                (config.config_type, config.documentation.as_deref()),
                (5, Some("docs"))
            );
        }
    }
}

#[test]
fn other_admin_answers_decode() {
    let deleted = vec![DeleteTopicResult {
        name: "orders".to_string(),
        topic_id: Uuid(5),
        error: ErrorCode::UnknownTopicOrPartition,
    }];
    for version in 1..=6 {
        let body = answer(
            ApiKey::DeleteTopics,
            version,
            AdminResponse::DeleteTopics(deleted.clone()),
            &ClusterInfo::default(),
        );
        let decoded: DeleteTopicsResponse = decode_response(&body, version);
        assert_eq!(decoded.responses[0].error_code, 3);
    }
    let records = vec![
        DeleteRecordsResult {
            partition: tp("orders", 0),
            low_watermark: 4,
            error: ErrorCode::None,
        },
        DeleteRecordsResult {
            partition: tp("orders", 1),
            low_watermark: -1,
            error: ErrorCode::OffsetOutOfRange,
        },
    ];
    for version in 0..=2 {
        let body = answer(
            ApiKey::DeleteRecords,
            version,
            AdminResponse::DeleteRecords(records.clone()),
            &ClusterInfo::default(),
        );
        let decoded: DeleteRecordsResponse = decode_response(&body, version);
        let partitions: Vec<(i32, i64, i16)> = decoded.topics[0]
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.low_watermark, p.error_code))
            .collect();
        assert_eq!(partitions, [(0, 4, 0), (1, -1, 1)]);
    }
    let altered = vec![api::AlterConfigsResult {
        resource: ConfigResource {
            resource_type: resource_type::TOPIC,
            name: "orders".to_string(),
        },
        error: ErrorCode::InvalidConfig,
        message: Some("bad".to_string()),
    }];
    for version in 0..=1 {
        let body = answer(
            ApiKey::IncrementalAlterConfigs,
            version,
            AdminResponse::AlterConfigs(altered.clone()),
            &ClusterInfo::default(),
        );
        let decoded: IncrementalAlterConfigsResponse = decode_response(&body, version);
        assert_eq!(
            (
                decoded.responses[0].error_code,
                decoded.responses[0].error_message.as_deref()
            ),
            (40, Some("bad"))
        );
    }
    let cluster = ClusterInfo {
        cluster_id: Some("c-1".to_string()),
        controller_id: 1,
        brokers: [(
            1,
            BrokerEndpoint {
                host: "h".to_string(),
                port: 9092,
                rack: Some("r".to_string()),
            },
        )]
        .into(),
    };
    for version in 0..=1 {
        let response = AdminResponse::DescribeCluster {
            error: ErrorCode::None,
        };
        let body = answer(ApiKey::DescribeCluster, version, response, &cluster);
        let decoded: DescribeClusterResponse = decode_response(&body, version);
        assert_eq!(
            (decoded.cluster_id.as_str(), decoded.controller_id.0),
            ("c-1", 1)
        );
        let broker = &decoded.brokers[0];
        assert_eq!(
            (
                broker.broker_id.0,
                broker.host.as_str(),
                broker.port,
                broker.rack.as_deref()
            ),
            (1, "h", 9092, Some("r"))
        );
    }
}
