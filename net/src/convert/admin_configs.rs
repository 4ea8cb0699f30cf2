//! DescribeConfigs (key 32) v1–4, AlterConfigs (key 33) v0–2, IncrementalAlterConfigs
//! (key 44) v0–1 and DescribeCluster (key 60) v0–1.
//!
//! DescribeConfigs: v1+ `include_synonyms` and each config's source and synonyms; v3+
//! `include_documentation`, each config's type and documentation.
//!
//! IncrementalAlterConfigs: an operation code other than SET, DELETE, APPEND or SUBTRACT
//! refuses the request with INVALID_REQUEST, as Kafka's `AlterConfigOp.OpType.forId` does.
//!
//! DescribeCluster: the cluster id, the controller id and the brokers come from the driver's
//! [`ClusterInfo`]; v1 echoes `endpoint_type` (Sluice's brokers answer 1, brokers; 2 is
//! UNSUPPORTED_ENDPOINT_TYPE). No authorized operations are computed (Kafka's "not asked"
//! value, `i32::MIN`).

use kafka_protocol::messages::{
    alter_configs_response, describe_cluster_response, describe_configs_response,
    incremental_alter_configs_response, AlterConfigsRequest, AlterConfigsResponse, BrokerId,
    DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{
    self, AdminRequest, AlterConfigOp, AlterConfigsResource, ConfigResource, ErrorCode,
};

use super::{ClusterInfo, ConvertError, ResponseContext};

fn text(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

pub(super) fn describe_configs(body: &DescribeConfigsRequest) -> AdminRequest {
    let resources = body
        .resources
        .iter()
        .map(|r| {
            let resource = ConfigResource {
                resource_type: r.resource_type,
                name: r.resource_name.to_string(),
            };
            let keys = r
                .configuration_keys
                .as_ref()
                .map(|keys| keys.iter().map(|k| k.to_string()).collect());
            (resource, keys)
        })
        .collect();
    AdminRequest::DescribeConfigs(api::DescribeConfigsRequest {
        resources,
        include_synonyms: body.include_synonyms,
        include_documentation: body.include_documentation,
    })
}

pub(super) fn describe_configs_response(
    results: Vec<api::DescribeConfigsResult>,
    context: &ResponseContext,
) -> DescribeConfigsResponse {
    let version = context.api_version;
    let results = results
        .into_iter()
        .map(|result| {
            let configs = result
                .configs
                .into_iter()
                .map(|config| {
                    let synonyms = config
                        .synonyms
                        .iter()
                        .map(|s| {
                            describe_configs_response::DescribeConfigsSynonym::default()
                                .with_name(text(&s.name))
                                .with_value(s.value.as_deref().map(text))
                                .with_source(s.source.code())
                        })
                        .collect();
                    let mut entry =
                        describe_configs_response::DescribeConfigsResourceResult::default()
                            .with_name(text(&config.name))
                            .with_value(config.value.as_deref().map(text))
                            .with_read_only(config.read_only)
                            .with_config_source(config.source.code())
                            .with_is_sensitive(config.sensitive)
                            .with_synonyms(synonyms);
                    if version >= 3 {
                        entry = entry
                            .with_config_type(config.config_type.code())
                            .with_documentation(config.documentation.as_deref().map(text));
                    }
                    entry
                })
                .collect();
            describe_configs_response::DescribeConfigsResult::default()
                .with_error_code(result.error.code())
                .with_error_message(result.message.as_deref().map(text))
                .with_resource_type(result.resource.resource_type)
                .with_resource_name(text(&result.resource.name))
                .with_configs(configs)
        })
        .collect();
    DescribeConfigsResponse::default()
        .with_throttle_time_ms(0)
        .with_results(results)
}

pub(super) fn alter_configs(body: &AlterConfigsRequest) -> AdminRequest {
    let resources = body
        .resources
        .iter()
        .map(|r| AlterConfigsResource {
            resource: ConfigResource {
                resource_type: r.resource_type,
                name: r.resource_name.to_string(),
            },
            ops: r
                .configs
                .iter()
                .map(|c| {
                    let value = c.value.as_ref().map(|v| v.to_string());
                    (c.name.to_string(), AlterConfigOp::Set, value)
                })
                .collect(),
        })
        .collect();
    AdminRequest::AlterConfigs(api::AlterConfigsRequest {
        resources,
        validate_only: body.validate_only,
        incremental: false,
    })
}

pub(super) fn incremental_alter_configs(
    body: &IncrementalAlterConfigsRequest,
) -> Result<AdminRequest, ConvertError> {
    let mut resources = Vec::with_capacity(body.resources.len());
    for r in &body.resources {
        let mut ops = Vec::with_capacity(r.configs.len());
        for c in &r.configs {
            let op = AlterConfigOp::from_code(c.config_operation).ok_or(
                ConvertError::UnknownConfigOperation {
                    operation: c.config_operation,
                },
            )?;
            ops.push((
                c.name.to_string(),
                op,
                c.value.as_ref().map(|v| v.to_string()),
            ));
        }
        resources.push(AlterConfigsResource {
            resource: ConfigResource {
                resource_type: r.resource_type,
                name: r.resource_name.to_string(),
            },
            ops,
        });
    }
    Ok(AdminRequest::AlterConfigs(api::AlterConfigsRequest {
        resources,
        validate_only: body.validate_only,
        incremental: true,
    }))
}

pub(super) fn alter_configs_response(
    results: Vec<api::AlterConfigsResult>,
) -> AlterConfigsResponse {
    let responses = results
        .into_iter()
        .map(|r| {
            alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(r.error.code())
                .with_error_message(r.message.as_deref().map(text))
                .with_resource_type(r.resource.resource_type)
                .with_resource_name(text(&r.resource.name))
        })
        .collect();
    AlterConfigsResponse::default()
        .with_throttle_time_ms(0)
        .with_responses(responses)
}

pub(super) fn incremental_alter_configs_response(
    results: Vec<api::AlterConfigsResult>,
) -> IncrementalAlterConfigsResponse {
    let responses = results
        .into_iter()
        .map(|r| {
            incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(r.error.code())
                .with_error_message(r.message.as_deref().map(text))
                .with_resource_type(r.resource.resource_type)
                .with_resource_name(text(&r.resource.name))
        })
        .collect();
    IncrementalAlterConfigsResponse::default()
        .with_throttle_time_ms(0)
        .with_responses(responses)
}

pub(super) fn describe_cluster(body: &DescribeClusterRequest, version: i16) -> AdminRequest {
    AdminRequest::DescribeCluster {
        endpoint_type: if version >= 1 { body.endpoint_type } else { 1 },
    }
}

pub(super) fn describe_cluster_response(
    error: ErrorCode,
    context: &ResponseContext,
    cluster: &ClusterInfo,
) -> DescribeClusterResponse {
    let mut body = DescribeClusterResponse::default()
        .with_throttle_time_ms(0)
        .with_error_code(error.code())
        .with_cluster_authorized_operations(i32::MIN);
    if context.api_version >= 1 {
        body = body.with_endpoint_type(1);
    }
    if error != ErrorCode::None {
        let message = "Sluice's brokers describe brokers only (endpoint type 1).";
        return body.with_error_message(Some(text(message)));
    }
    let brokers = cluster
        .brokers
        .iter()
        .map(|(id, endpoint)| {
            describe_cluster_response::DescribeClusterBroker::default()
                .with_broker_id(BrokerId(*id))
                .with_host(text(&endpoint.host))
                .with_port(endpoint.port)
                .with_rack(endpoint.rack.as_deref().map(text))
        })
        .collect();
    body.with_cluster_id(text(cluster.cluster_id.as_deref().unwrap_or("")))
        .with_controller_id(BrokerId(cluster.controller_id))
        .with_brokers(brokers)
}
