//! The admin APIs in the client's direction: core's [`AdminRequest`] as the kafka-protocol
//! body at a version, and the broker's answer back as core's [`AdminResponse`]. The inverse of
//! the broker's side in `admin_topics` and `admin_configs`.
//!
//! What a version cannot carry is left out, as for the data plane:
//! - DescribeConfigs v1–2: `include_documentation` (v3+); the broker then sends none.
//! - DescribeCluster v0: `endpoint_type` (v1+); a v0 request always asks for brokers (1).
//! - AlterConfigs (not incremental), every version: only SETs. A DELETE goes as a null value,
//!   which AlterConfigs reads as a delete (the broker reads it back as a SET of null); an
//!   APPEND or SUBTRACT has no form there, so such a request is not built at all.
//!
//! Core's requests carry no timeouts: CreateTopics, DeleteTopics, CreatePartitions and
//! DeleteRecords ask for [`ADMIN_TIMEOUT_MS`], as Sluice's tools do.
//!
//! Answers keep what core's types carry. Beyond the error-code rule of the data plane:
//! - Fields the version lacks read as core's "not given" values: the zero topic id (CreateTopics
//!   before v7, DeleteTopics before v6), -1 partitions and replication factor and no configs
//!   (CreateTopics before v5).
//! - CreateTopics' configs carry no synonyms, type or documentation: they read as none, STRING
//!   and none.
//! - A config type core does not name reads as STRING (SHORT as INT), as does DescribeConfigs'
//!   before v3. An empty documentation reads as none, since versions before v3 decode as that.
//! - A config source core does not name: the broker-level ones (DYNAMIC_BROKER_CONFIG,
//!   DYNAMIC_DEFAULT_BROKER_CONFIG, DYNAMIC_BROKER_LOGGER_CONFIG) read as STATIC_BROKER_CONFIG,
//!   any other as DEFAULT_CONFIG.
//! - DescribeCluster answers also give the brokers' addresses in [`Answer::brokers`], as
//!   Metadata answers do.

use kafka_protocol::messages::{
    alter_configs_request, create_partitions_request, create_topics_request,
    delete_records_request, delete_topics_request, describe_configs_request,
    incremental_alter_configs_request, AlterConfigsRequest, AlterConfigsResponse, BrokerId,
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteRecordsRequest, DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{
    self, AdminRequest, AdminResponse, AlterConfigOp, ConfigResource, ConfigSource, ConfigType,
    DescribedConfig, Response,
};
use sluice_core::controller::Uuid;

use super::{error, topic_name, tp, Answer, BrokerAddress, OutboundError};
use crate::convert::grouping::group_by_topic;
use crate::request::RequestBody;

/// The timeout the admin requests that have one ask for (Kafka's `request.timeout.ms`
/// default, and what Sluice's tools send).
const ADMIN_TIMEOUT_MS: i32 = 30_000;

fn text(value: String) -> StrBytes {
    StrBytes::from_string(value)
}

/// `request` as kafka-protocol's body at `version`, or `None` for an AlterConfigs (not
/// incremental) with an APPEND or SUBTRACT, which that API cannot say.
pub(super) fn request(request: AdminRequest, version: i16) -> Option<RequestBody> {
    let body = match request {
        AdminRequest::CreateTopics(request) => RequestBody::CreateTopics(create_topics(request)),
        AdminRequest::DeleteTopics(request) => {
            RequestBody::DeleteTopics(delete_topics(request, version))
        }
        AdminRequest::CreatePartitions(request) => {
            RequestBody::CreatePartitions(create_partitions(request))
        }
        AdminRequest::DescribeConfigs(request) => {
            RequestBody::DescribeConfigs(describe_configs(request, version))
        }
        AdminRequest::AlterConfigs(request) if request.incremental => {
            RequestBody::IncrementalAlterConfigs(incremental_alter_configs(request))
        }
        AdminRequest::AlterConfigs(request) => RequestBody::AlterConfigs(alter_configs(request)?),
        AdminRequest::DeleteRecords(request) => RequestBody::DeleteRecords(delete_records(request)),
        AdminRequest::DescribeCluster { endpoint_type } => {
            let body = DescribeClusterRequest::default();
            // v0 has no endpoint type: it describes brokers.
            RequestBody::DescribeCluster(match version >= 1 {
                true => body.with_endpoint_type(endpoint_type),
                false => body,
            })
        }
    };
    Some(body)
}

fn broker_ids(ids: Vec<i32>) -> Vec<BrokerId> {
    ids.into_iter().map(BrokerId).collect()
}

fn create_topics(request: api::CreateTopicsRequest) -> CreateTopicsRequest {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let assignments = topic
                .assignments
                .into_iter()
                .map(|(index, brokers)| {
                    create_topics_request::CreatableReplicaAssignment::default()
                        .with_partition_index(index)
                        .with_broker_ids(broker_ids(brokers))
                })
                .collect();
            let configs = topic
                .configs
                .into_iter()
                .map(|(name, value)| {
                    create_topics_request::CreatableTopicConfig::default()
                        .with_name(text(name))
                        .with_value(value.map(text))
                })
                .collect();
            create_topics_request::CreatableTopic::default()
                .with_name(TopicName(text(topic.name)))
                .with_num_partitions(topic.num_partitions)
                .with_replication_factor(topic.replication_factor)
                .with_assignments(assignments)
                .with_configs(configs)
        })
        .collect();
    CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(ADMIN_TIMEOUT_MS)
        .with_validate_only(request.validate_only)
}

fn delete_topics(request: api::DeleteTopicsRequest, version: i16) -> DeleteTopicsRequest {
    let body = DeleteTopicsRequest::default().with_timeout_ms(ADMIN_TIMEOUT_MS);
    let names = request.names.into_iter().map(|name| TopicName(text(name)));
    // v6 names topics by name or id in `topics`; earlier versions by name in `topic_names`.
    match version >= 6 {
        true => body.with_topics(
            names
                .map(|name| {
                    delete_topics_request::DeleteTopicState::default().with_name(Some(name))
                })
                .collect(),
        ),
        false => body.with_topic_names(names.collect()),
    }
}

fn create_partitions(request: api::CreatePartitionsRequest) -> CreatePartitionsRequest {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let assignments = topic.assignments.map(|lists| {
                lists
                    .into_iter()
                    .map(|brokers| {
                        create_partitions_request::CreatePartitionsAssignment::default()
                            .with_broker_ids(broker_ids(brokers))
                    })
                    .collect()
            });
            create_partitions_request::CreatePartitionsTopic::default()
                .with_name(TopicName(text(topic.topic)))
                .with_count(topic.count)
                .with_assignments(assignments)
        })
        .collect();
    CreatePartitionsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(ADMIN_TIMEOUT_MS)
        .with_validate_only(request.validate_only)
}

fn describe_configs(request: api::DescribeConfigsRequest, version: i16) -> DescribeConfigsRequest {
    let resources = request
        .resources
        .into_iter()
        .map(|(resource, keys)| {
            describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(text(resource.name))
                .with_configuration_keys(keys.map(|keys| keys.into_iter().map(text).collect()))
        })
        .collect();
    let body = DescribeConfigsRequest::default()
        .with_resources(resources)
        .with_include_synonyms(request.include_synonyms);
    match version >= 3 {
        true => body.with_include_documentation(request.include_documentation),
        false => body,
    }
}

/// Kafka's number of an IncrementalAlterConfigs operation (`AlterConfigOp.OpType`).
fn op_code(op: AlterConfigOp) -> i8 {
    match op {
        AlterConfigOp::Set => 0,
        AlterConfigOp::Delete => 1,
        AlterConfigOp::Append => 2,
        AlterConfigOp::Subtract => 3,
    }
}

fn incremental_alter_configs(request: api::AlterConfigsRequest) -> IncrementalAlterConfigsRequest {
    let resources = request
        .resources
        .into_iter()
        .map(|resource| {
            let configs = resource
                .ops
                .into_iter()
                .map(|(name, op, value)| {
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(text(name))
                        .with_config_operation(op_code(op))
                        .with_value(value.map(text))
                })
                .collect();
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(resource.resource.resource_type)
                .with_resource_name(text(resource.resource.name))
                .with_configs(configs)
        })
        .collect();
    IncrementalAlterConfigsRequest::default()
        .with_resources(resources)
        .with_validate_only(request.validate_only)
}

fn alter_configs(request: api::AlterConfigsRequest) -> Option<AlterConfigsRequest> {
    let mut resources = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let mut configs = Vec::with_capacity(resource.ops.len());
        for (name, op, value) in resource.ops {
            let value = match op {
                AlterConfigOp::Set => value,
                // AlterConfigs deletes a config by giving it no value.
                AlterConfigOp::Delete => None,
                AlterConfigOp::Append | AlterConfigOp::Subtract => return None,
            };
            configs.push(
                alter_configs_request::AlterableConfig::default()
                    .with_name(text(name))
                    .with_value(value.map(text)),
            );
        }
        resources.push(
            alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(resource.resource.resource_type)
                .with_resource_name(text(resource.resource.name))
                .with_configs(configs),
        );
    }
    Some(
        AlterConfigsRequest::default()
            .with_resources(resources)
            .with_validate_only(request.validate_only),
    )
}

fn delete_records(request: api::DeleteRecordsRequest) -> DeleteRecordsRequest {
    let topics = group_by_topic(request.partitions, |(tp, _)| &tp.topic)
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(tp, offset)| {
                    delete_records_request::DeleteRecordsPartition::default()
                        .with_partition_index(tp.partition)
                        .with_offset(offset)
                })
                .collect();
            delete_records_request::DeleteRecordsTopic::default()
                .with_name(topic_name(&topic))
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(ADMIN_TIMEOUT_MS)
}

fn plain(response: AdminResponse) -> Answer {
    Answer {
        response: Response::Admin(response),
        brokers: Vec::new(),
    }
}

fn string(value: StrBytes) -> String {
    value.to_string()
}

/// Core's source of Kafka's `ConfigSource` number `code`.
fn config_source(code: i8) -> ConfigSource {
    match code {
        1 => ConfigSource::DynamicTopic,
        // STATIC_BROKER_CONFIG, and the dynamic broker-level sources core does not name:
        // the value comes from the broker, not the topic.
        2..=4 | 6 => ConfigSource::StaticBroker,
        _ => ConfigSource::Default,
    }
}

/// Core's type of Kafka's `ConfigType` number `code`.
fn config_type(code: i8) -> ConfigType {
    match code {
        1 => ConfigType::Boolean,
        3 | 4 => ConfigType::Int,
        5 => ConfigType::Long,
        6 => ConfigType::Double,
        7 => ConfigType::List,
        _ => ConfigType::String,
    }
}

pub(super) fn create_topics_answer(body: CreateTopicsResponse) -> Answer {
    let results = body
        .topics
        .into_iter()
        .map(|topic| {
            let configs = topic
                .configs
                .unwrap_or_default()
                .into_iter()
                .map(|config| DescribedConfig {
                    name: string(config.name),
                    value: config.value.map(string),
                    read_only: config.read_only,
                    source: config_source(config.config_source),
                    sensitive: config.is_sensitive,
                    synonyms: Vec::new(),
                    config_type: ConfigType::String,
                    documentation: None,
                })
                .collect();
            api::CreateTopicResult {
                name: string(topic.name.0),
                topic_id: Uuid(topic.topic_id.as_u128()),
                error: error(topic.error_code),
                message: topic.error_message.map(string),
                num_partitions: topic.num_partitions,
                replication_factor: topic.replication_factor,
                configs,
            }
        })
        .collect();
    plain(AdminResponse::CreateTopics(results))
}

pub(super) fn delete_topics_answer(body: DeleteTopicsResponse) -> Result<Answer, OutboundError> {
    let mut results = Vec::with_capacity(body.responses.len());
    for topic in body.responses {
        let name = topic
            .name
            .ok_or(OutboundError::Invalid("a topic without a name"))?;
        results.push(api::DeleteTopicResult {
            name: string(name.0),
            topic_id: Uuid(topic.topic_id.as_u128()),
            error: error(topic.error_code),
        });
    }
    Ok(plain(AdminResponse::DeleteTopics(results)))
}

pub(super) fn create_partitions_answer(body: CreatePartitionsResponse) -> Answer {
    let results = body
        .results
        .into_iter()
        .map(|result| api::TopicError {
            name: string(result.name.0),
            error: error(result.error_code),
            message: result.error_message.map(string),
        })
        .collect();
    plain(AdminResponse::CreatePartitions(results))
}

pub(super) fn delete_records_answer(body: DeleteRecordsResponse) -> Answer {
    let results = body
        .topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().map(|p| api::DeleteRecordsResult {
                partition: tp(&topic.name, p.partition_index),
                low_watermark: p.low_watermark,
                error: error(p.error_code),
            })
        })
        .collect();
    plain(AdminResponse::DeleteRecords(results))
}

pub(super) fn describe_configs_answer(body: DescribeConfigsResponse) -> Answer {
    let results = body
        .results
        .into_iter()
        .map(|result| {
            let configs = result
                .configs
                .into_iter()
                .map(|config| DescribedConfig {
                    name: string(config.name),
                    value: config.value.map(string),
                    read_only: config.read_only,
                    source: config_source(config.config_source),
                    sensitive: config.is_sensitive,
                    synonyms: config
                        .synonyms
                        .into_iter()
                        .map(|synonym| api::ConfigSynonym {
                            name: string(synonym.name),
                            value: synonym.value.map(string),
                            source: config_source(synonym.source),
                        })
                        .collect(),
                    config_type: config_type(config.config_type),
                    documentation: config
                        .documentation
                        .filter(|doc| !doc.is_empty())
                        .map(string),
                })
                .collect();
            api::DescribeConfigsResult {
                resource: ConfigResource {
                    resource_type: result.resource_type,
                    name: string(result.resource_name),
                },
                error: error(result.error_code),
                message: result.error_message.map(string),
                configs,
            }
        })
        .collect();
    plain(AdminResponse::DescribeConfigs(results))
}

fn alter_configs_result(
    error_code: i16,
    message: Option<StrBytes>,
    resource_type: i8,
    resource_name: StrBytes,
) -> api::AlterConfigsResult {
    api::AlterConfigsResult {
        resource: ConfigResource {
            resource_type,
            name: string(resource_name),
        },
        error: error(error_code),
        message: message.map(string),
    }
}

pub(super) fn alter_configs_answer(body: AlterConfigsResponse) -> Answer {
    let results = body
        .responses
        .into_iter()
        .map(|r| {
            alter_configs_result(
                r.error_code,
                r.error_message,
                r.resource_type,
                r.resource_name,
            )
        })
        .collect();
    plain(AdminResponse::AlterConfigs(results))
}

pub(super) fn incremental_alter_configs_answer(body: IncrementalAlterConfigsResponse) -> Answer {
    let results = body
        .responses
        .into_iter()
        .map(|r| {
            alter_configs_result(
                r.error_code,
                r.error_message,
                r.resource_type,
                r.resource_name,
            )
        })
        .collect();
    plain(AdminResponse::AlterConfigs(results))
}

pub(super) fn describe_cluster_answer(
    body: DescribeClusterResponse,
) -> Result<Answer, OutboundError> {
    let mut brokers = Vec::with_capacity(body.brokers.len());
    for broker in body.brokers {
        let port = u16::try_from(broker.port).map_err(|_| OutboundError::Invalid("broker port"))?;
        brokers.push(BrokerAddress {
            id: broker.broker_id.0,
            host: string(broker.host),
            port,
        });
    }
    Ok(Answer {
        response: Response::Admin(AdminResponse::DescribeCluster {
            error: error(body.error_code),
        }),
        brokers,
    })
}
