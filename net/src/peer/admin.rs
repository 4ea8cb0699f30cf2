//! Admin requests a broker forwards to the active controller (CreateTopics, DeleteTopics,
//! CreatePartitions, AlterConfigs and IncrementalAlterConfigs) and the controller's answers.
//! The others are served where they arrive and never cross between nodes.

use sluice_core::api::{
    AdminRequest, AdminResponse, AlterConfigOp, AlterConfigsRequest, AlterConfigsResource,
    AlterConfigsResult, ConfigResource, ConfigSource, ConfigSynonym, ConfigType, CreatableTopic,
    CreatePartitionsRequest, CreateTopicResult, CreateTopicsRequest, DeleteTopicResult,
    DeleteTopicsRequest, DescribedConfig, ErrorCode, NewPartitions, TopicError,
};
use sluice_core::controller::Uuid;

use super::wire::{Reader, Writer};
use super::{DecodeError, EncodeError};

const CREATE_TOPICS: u8 = 0;
const DELETE_TOPICS: u8 = 1;
const CREATE_PARTITIONS: u8 = 2;
const ALTER_CONFIGS: u8 = 3;

pub(super) fn encode_request(w: &mut Writer, request: &AdminRequest) -> Result<(), EncodeError> {
    match request {
        AdminRequest::CreateTopics(create) => {
            w.u8(CREATE_TOPICS);
            w.bool(create.validate_only);
            w.list(&create.topics, |w, topic| {
                w.string(&topic.name)?;
                w.i32(topic.num_partitions);
                w.i16(topic.replication_factor);
                w.list(&topic.assignments, |w, (partition, replicas)| {
                    w.i32(*partition);
                    w.i32s(replicas)
                })?;
                w.list(&topic.configs, |w, (name, value)| {
                    w.string(name)?;
                    option_string(w, value.as_deref())
                })
            })
        }
        AdminRequest::DeleteTopics(delete) => {
            w.u8(DELETE_TOPICS);
            w.list(&delete.names, |w, name| w.string(name))
        }
        AdminRequest::CreatePartitions(create) => {
            w.u8(CREATE_PARTITIONS);
            w.bool(create.validate_only);
            w.list(&create.topics, |w, topic| {
                w.string(&topic.topic)?;
                w.i32(topic.count);
                w.bool(topic.assignments.is_some());
                w.list(
                    topic.assignments.as_deref().unwrap_or_default(),
                    |w, replicas| w.i32s(replicas),
                )
            })
        }
        AdminRequest::AlterConfigs(alter) => {
            w.u8(ALTER_CONFIGS);
            w.bool(alter.validate_only);
            w.bool(alter.incremental);
            w.list(&alter.resources, |w, resource| {
                encode_resource(w, &resource.resource)?;
                w.list(&resource.ops, |w, (name, op, value)| {
                    w.string(name)?;
                    w.u8(op_code(*op));
                    option_string(w, value.as_deref())
                })
            })
        }
        other => Err(EncodeError::Unsupported(other.name())),
    }
}

pub(super) fn decode_request(r: &mut Reader<'_>) -> Result<AdminRequest, DecodeError> {
    let request = match r.u8("admin request type")? {
        CREATE_TOPICS => AdminRequest::CreateTopics(CreateTopicsRequest {
            validate_only: r.bool("validate only")?,
            topics: r.list(14, "topics", |r| {
                Ok(CreatableTopic {
                    name: r.string("topic")?,
                    num_partitions: r.i32("partitions")?,
                    replication_factor: r.i16("replication factor")?,
                    assignments: r.list(8, "assignments", |r| {
                        Ok((r.i32("partition")?, r.i32s("replicas")?))
                    })?,
                    configs: r.list(5, "configs", |r| {
                        Ok((r.string("config name")?, decode_option_string(r)?))
                    })?,
                })
            })?,
        }),
        DELETE_TOPICS => AdminRequest::DeleteTopics(DeleteTopicsRequest {
            names: r.list(4, "topics", |r| r.string("topic"))?,
        }),
        CREATE_PARTITIONS => {
            let validate_only = r.bool("validate only")?;
            let topics = r.list(13, "topics", |r| {
                let topic = r.string("topic")?;
                let count = r.i32("count")?;
                let given = r.bool("assignments given")?;
                let assignments = r.list(4, "assignments", |r| r.i32s("replicas"))?;
                Ok(NewPartitions {
                    topic,
                    count,
                    assignments: given.then_some(assignments),
                })
            })?;
            AdminRequest::CreatePartitions(CreatePartitionsRequest {
                topics,
                validate_only,
            })
        }
        ALTER_CONFIGS => {
            let validate_only = r.bool("validate only")?;
            let incremental = r.bool("incremental")?;
            let resources = r.list(9, "resources", |r| {
                Ok(AlterConfigsResource {
                    resource: decode_resource(r)?,
                    ops: r.list(6, "config ops", |r| {
                        let name = r.string("config name")?;
                        let op = decode_op(r)?;
                        Ok((name, op, decode_option_string(r)?))
                    })?,
                })
            })?;
            AdminRequest::AlterConfigs(AlterConfigsRequest {
                resources,
                validate_only,
                incremental,
            })
        }
        other => {
            return Err(DecodeError::UnknownType {
                what: "admin request",
                value: other,
            })
        }
    };
    Ok(request)
}

pub(super) fn encode_response(w: &mut Writer, response: &AdminResponse) -> Result<(), EncodeError> {
    match response {
        AdminResponse::CreateTopics(results) => {
            w.u8(CREATE_TOPICS);
            w.list(results, |w, result| {
                w.string(&result.name)?;
                w.u128(result.topic_id.0);
                w.i16(result.error.code());
                option_string(w, result.message.as_deref())?;
                w.i32(result.num_partitions);
                w.i16(result.replication_factor);
                w.list(&result.configs, encode_described)
            })
        }
        AdminResponse::DeleteTopics(results) => {
            w.u8(DELETE_TOPICS);
            w.list(results, |w, result| {
                w.string(&result.name)?;
                w.u128(result.topic_id.0);
                w.i16(result.error.code());
                Ok(())
            })
        }
        AdminResponse::CreatePartitions(results) => {
            w.u8(CREATE_PARTITIONS);
            w.list(results, |w, result| {
                w.string(&result.name)?;
                w.i16(result.error.code());
                option_string(w, result.message.as_deref())
            })
        }
        AdminResponse::AlterConfigs(results) => {
            w.u8(ALTER_CONFIGS);
            w.list(results, |w, result| {
                encode_resource(w, &result.resource)?;
                w.i16(result.error.code());
                option_string(w, result.message.as_deref())
            })
        }
        other => Err(EncodeError::Unsupported(other.name())),
    }
}

pub(super) fn decode_response(r: &mut Reader<'_>) -> Result<AdminResponse, DecodeError> {
    let response = match r.u8("admin response type")? {
        CREATE_TOPICS => AdminResponse::CreateTopics(r.list(33, "results", |r| {
            Ok(CreateTopicResult {
                name: r.string("topic")?,
                topic_id: Uuid(r.u128("topic id")?),
                error: decode_error(r)?,
                message: decode_option_string(r)?,
                num_partitions: r.i32("partitions")?,
                replication_factor: r.i16("replication factor")?,
                configs: r.list(12, "configs", decode_described)?,
            })
        })?),
        DELETE_TOPICS => AdminResponse::DeleteTopics(r.list(22, "results", |r| {
            Ok(DeleteTopicResult {
                name: r.string("topic")?,
                topic_id: Uuid(r.u128("topic id")?),
                error: decode_error(r)?,
            })
        })?),
        CREATE_PARTITIONS => AdminResponse::CreatePartitions(r.list(7, "results", |r| {
            Ok(TopicError {
                name: r.string("topic")?,
                error: decode_error(r)?,
                message: decode_option_string(r)?,
            })
        })?),
        ALTER_CONFIGS => AdminResponse::AlterConfigs(r.list(8, "results", |r| {
            Ok(AlterConfigsResult {
                resource: decode_resource(r)?,
                error: decode_error(r)?,
                message: decode_option_string(r)?,
            })
        })?),
        other => {
            return Err(DecodeError::UnknownType {
                what: "admin response",
                value: other,
            })
        }
    };
    Ok(response)
}

fn option_string(w: &mut Writer, value: Option<&str>) -> Result<(), EncodeError> {
    w.bool(value.is_some());
    w.string(value.unwrap_or_default())
}

fn decode_option_string(r: &mut Reader<'_>) -> Result<Option<String>, DecodeError> {
    let present = r.bool("string present")?;
    let value = r.string("string")?;
    Ok(present.then_some(value))
}

fn decode_error(r: &mut Reader<'_>) -> Result<ErrorCode, DecodeError> {
    let code = r.i16("error code")?;
    ErrorCode::from_code(code).ok_or(DecodeError::UnknownErrorCode(code))
}

fn encode_resource(w: &mut Writer, resource: &ConfigResource) -> Result<(), EncodeError> {
    w.u8(resource.resource_type as u8);
    w.string(&resource.name)
}

fn decode_resource(r: &mut Reader<'_>) -> Result<ConfigResource, DecodeError> {
    Ok(ConfigResource {
        resource_type: r.u8("resource type")? as i8,
        name: r.string("resource name")?,
    })
}

fn op_code(op: AlterConfigOp) -> u8 {
    match op {
        AlterConfigOp::Set => 0,
        AlterConfigOp::Delete => 1,
        AlterConfigOp::Append => 2,
        AlterConfigOp::Subtract => 3,
    }
}

fn decode_op(r: &mut Reader<'_>) -> Result<AlterConfigOp, DecodeError> {
    let code = r.u8("config op")?;
    i8::try_from(code)
        .ok()
        .and_then(AlterConfigOp::from_code)
        .ok_or(DecodeError::InvalidValue { what: "config op" })
}

const SOURCES: [ConfigSource; 3] = [
    ConfigSource::DynamicTopic,
    ConfigSource::StaticBroker,
    ConfigSource::Default,
];

const TYPES: [ConfigType; 6] = [
    ConfigType::Boolean,
    ConfigType::String,
    ConfigType::Int,
    ConfigType::Long,
    ConfigType::Double,
    ConfigType::List,
];

fn decode_source(r: &mut Reader<'_>) -> Result<ConfigSource, DecodeError> {
    let code = r.u8("config source")? as i8;
    SOURCES
        .into_iter()
        .find(|source| source.code() == code)
        .ok_or(DecodeError::InvalidValue {
            what: "config source",
        })
}

fn encode_described(w: &mut Writer, config: &DescribedConfig) -> Result<(), EncodeError> {
    w.string(&config.name)?;
    option_string(w, config.value.as_deref())?;
    w.bool(config.read_only);
    w.u8(config.source.code() as u8);
    w.bool(config.sensitive);
    w.list(&config.synonyms, |w, synonym| {
        w.string(&synonym.name)?;
        option_string(w, synonym.value.as_deref())?;
        w.u8(synonym.source.code() as u8);
        Ok(())
    })?;
    w.u8(config.config_type.code() as u8);
    option_string(w, config.documentation.as_deref())
}

fn decode_described(r: &mut Reader<'_>) -> Result<DescribedConfig, DecodeError> {
    Ok(DescribedConfig {
        name: r.string("config name")?,
        value: decode_option_string(r)?,
        read_only: r.bool("read only")?,
        source: decode_source(r)?,
        sensitive: r.bool("sensitive")?,
        synonyms: r.list(10, "synonyms", |r| {
            Ok(ConfigSynonym {
                name: r.string("synonym")?,
                value: decode_option_string(r)?,
                source: decode_source(r)?,
            })
        })?,
        config_type: {
            let code = r.u8("config type")? as i8;
            TYPES
                .into_iter()
                .find(|config_type| config_type.code() == code)
                .ok_or(DecodeError::InvalidValue {
                    what: "config type",
                })?
        },
        documentation: decode_option_string(r)?,
    })
}
