//! CreateTopics (key 19) v2–7, DeleteTopics (key 20) v1–6, CreatePartitions (key 37) v0–3 and
//! DeleteRecords (key 21) v0–2.
//!
//! CreateTopics: v5+ answers each new topic's partitions, replication factor and configs
//! (the configs' `config_source` and `is_sensitive` included); v7+ its topic id. v1+ error
//! messages. `timeout_ms` is not used: the answer comes once the controller committed.
//!
//! DeleteTopics: v6 names topics in `topics` (name or id), earlier versions in `topic_names`.
//! A topic named by id only is refused as a whole request with UNKNOWN_TOPIC_ID, since
//! Sluice's clients see no topic ids yet (Metadata answers the zero id). v5+ error messages,
//! v6 topic ids.
//!
//! DeleteRecords: the same fields in every version; -1 as the offset means the high
//! watermark.

use kafka_protocol::messages::{
    create_partitions_response, create_topics_response, delete_records_response,
    delete_topics_response, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
    CreateTopicsResponse, DeleteRecordsRequest, DeleteRecordsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{self, AdminRequest, CreatableTopic, NewPartitions, TopicPartition};

use super::grouping::group_by_topic;
use super::{ConvertError, ResponseContext};

fn text(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

pub(super) fn create_topics(body: &CreateTopicsRequest) -> AdminRequest {
    let topics = body
        .topics
        .iter()
        .map(|topic| CreatableTopic {
            name: topic.name.0.to_string(),
            num_partitions: topic.num_partitions,
            replication_factor: topic.replication_factor,
            assignments: topic
                .assignments
                .iter()
                .map(|a| {
                    let brokers = a.broker_ids.iter().map(|b| b.0).collect();
                    (a.partition_index, brokers)
                })
                .collect(),
            configs: topic
                .configs
                .iter()
                .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
                .collect(),
        })
        .collect();
    AdminRequest::CreateTopics(api::CreateTopicsRequest {
        topics,
        validate_only: body.validate_only,
    })
}

pub(super) fn create_topics_response(
    results: Vec<api::CreateTopicResult>,
    context: &ResponseContext,
) -> CreateTopicsResponse {
    let version = context.api_version;
    let topics = results
        .into_iter()
        .map(|result| {
            let mut topic = create_topics_response::CreatableTopicResult::default()
                .with_name(TopicName(text(&result.name)))
                .with_error_code(result.error.code())
                .with_error_message(result.message.as_deref().map(text));
            if version >= 7 {
                topic = topic.with_topic_id(to_wire_uuid(result.topic_id));
            }
            if version >= 5 {
                let configs = result
                    .configs
                    .into_iter()
                    .map(|config| {
                        create_topics_response::CreatableTopicConfigs::default()
                            .with_name(text(&config.name))
                            .with_value(config.value.as_deref().map(text))
                            .with_read_only(config.read_only)
                            .with_config_source(config.source.code())
                            .with_is_sensitive(config.sensitive)
                    })
                    .collect::<Vec<_>>();
                let configs = (result.error == api::ErrorCode::None).then_some(configs);
                topic = topic
                    .with_num_partitions(result.num_partitions)
                    .with_replication_factor(result.replication_factor)
                    .with_configs(configs);
            }
            topic
        })
        .collect();
    CreateTopicsResponse::default()
        .with_throttle_time_ms(0)
        .with_topics(topics)
}

/// Kafka's Uuid of a core id (the same 128 bits).
pub(super) fn to_wire_uuid(id: sluice_core::controller::Uuid) -> uuid::Uuid {
    uuid::Uuid::from_u128(id.0)
}

pub(super) fn delete_topics(
    body: &DeleteTopicsRequest,
    version: i16,
) -> Result<AdminRequest, ConvertError> {
    let names = if version >= 6 {
        body.topics
            .iter()
            .map(|topic| match &topic.name {
                Some(name) => Ok(name.0.to_string()),
                None => Err(ConvertError::TopicIdLookup),
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        body.topic_names.iter().map(|n| n.0.to_string()).collect()
    };
    Ok(AdminRequest::DeleteTopics(api::DeleteTopicsRequest {
        names,
    }))
}

pub(super) fn delete_topics_response(
    results: Vec<api::DeleteTopicResult>,
    context: &ResponseContext,
) -> DeleteTopicsResponse {
    let version = context.api_version;
    let responses = results
        .into_iter()
        .map(|result| {
            let mut topic = delete_topics_response::DeletableTopicResult::default()
                .with_name(Some(TopicName(text(&result.name))))
                .with_error_code(result.error.code());
            if version >= 6 {
                topic = topic.with_topic_id(to_wire_uuid(result.topic_id));
            }
            topic
        })
        .collect();
    DeleteTopicsResponse::default()
        .with_throttle_time_ms(0)
        .with_responses(responses)
}

pub(super) fn create_partitions(body: &CreatePartitionsRequest) -> AdminRequest {
    let topics = body
        .topics
        .iter()
        .map(|topic| NewPartitions {
            topic: topic.name.0.to_string(),
            count: topic.count,
            assignments: topic.assignments.as_ref().map(|lists| {
                lists
                    .iter()
                    .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
                    .collect()
            }),
        })
        .collect();
    AdminRequest::CreatePartitions(api::CreatePartitionsRequest {
        topics,
        validate_only: body.validate_only,
    })
}

pub(super) fn create_partitions_response(
    results: Vec<api::TopicError>,
) -> CreatePartitionsResponse {
    let results = results
        .into_iter()
        .map(|result| {
            create_partitions_response::CreatePartitionsTopicResult::default()
                .with_name(TopicName(text(&result.name)))
                .with_error_code(result.error.code())
                .with_error_message(result.message.as_deref().map(text))
        })
        .collect();
    CreatePartitionsResponse::default()
        .with_throttle_time_ms(0)
        .with_results(results)
}

pub(super) fn delete_records(body: &DeleteRecordsRequest) -> AdminRequest {
    let partitions = body
        .topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().map(|p| {
                let tp = TopicPartition {
                    topic: topic.name.0.to_string(),
                    partition: p.partition_index,
                };
                (tp, p.offset)
            })
        })
        .collect();
    AdminRequest::DeleteRecords(api::DeleteRecordsRequest { partitions })
}

pub(super) fn delete_records_response(
    results: Vec<api::DeleteRecordsResult>,
) -> DeleteRecordsResponse {
    let topics = group_by_topic(results, |r| &r.partition.topic)
        .into_iter()
        .map(|(topic, results)| {
            let partitions = results
                .into_iter()
                .map(|r| {
                    delete_records_response::DeleteRecordsPartitionResult::default()
                        .with_partition_index(r.partition.partition)
                        .with_low_watermark(r.low_watermark)
                        .with_error_code(r.error.code())
                })
                .collect();
            delete_records_response::DeleteRecordsTopicResult::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default()
        .with_throttle_time_ms(0)
        .with_topics(topics)
}
