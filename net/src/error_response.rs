//! A whole-request error answer for every served API, the way Kafka's
//! `AbstractRequest.getErrorResponse` builds one: the same error code on every topic, partition
//! or resource the request named (and at top level where the version has one), with Kafka's
//! "unknown" markers (-1) for offsets, watermarks and epochs.
//!
//! A broker uses it when it must refuse a request it decoded as a whole, for example
//! NOT_CONTROLLER for an admin request or INVALID_REQUEST for one that breaks a rule the codec
//! cannot check. Requests that did not decode never get here; see
//! [`RequestError::response`](crate::request::RequestError::response).
//!
//! Error messages are left null: kafka-protocol carries no message text per code, and clients
//! fall back on their own text for the code.
//!
//! The group APIs' answers are in the `group` submodule.

use kafka_protocol::messages::{
    alter_configs_response, create_partitions_response, create_topics_response,
    delete_records_response, delete_topics_response, describe_configs_response, fetch_response,
    incremental_alter_configs_response, list_offsets_response, metadata_response,
    offset_for_leader_epoch_response, produce_response, AlterConfigsResponse, ApiKey,
    CreatePartitionsResponse, CreateTopicsResponse, DeleteRecordsResponse, DeleteTopicsResponse,
    DescribeClusterResponse, DescribeConfigsResponse, FetchResponse,
    IncrementalAlterConfigsResponse, InitProducerIdResponse, ListOffsetsResponse, MetadataResponse,
    OffsetForLeaderEpochResponse, ProduceResponse, ProducerId, TopicName,
};
use kafka_protocol::messages::{
    HeartbeatResponse, LeaveGroupResponse, ListGroupsResponse, OffsetDeleteResponse,
    SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::request::{DecodedRequest, RequestBody};
use crate::response::{api_versions_body, ResponseBody, UNSUPPORTED_VERSION};

mod group;

/// Kafka's marker for an unknown offset, watermark or epoch.
const UNKNOWN: i64 = -1;

/// The response that refuses all of `request` with `error_code`, in the request's version.
pub fn error_response(request: &DecodedRequest, error_code: i16) -> ResponseBody {
    let version = request.header.api_version;
    match &request.body {
        RequestBody::Produce(body) => produce(body, error_code).into(),
        RequestBody::Fetch(body) => fetch(body, version, error_code).into(),
        RequestBody::ListOffsets(body) => list_offsets(body, error_code).into(),
        RequestBody::Metadata(body) => metadata(body, error_code).into(),
        RequestBody::ApiVersions(_) => api_versions(error_code),
        RequestBody::CreateTopics(body) => create_topics(body, error_code).into(),
        RequestBody::DeleteTopics(body) => delete_topics(body, version, error_code).into(),
        RequestBody::DeleteRecords(body) => delete_records(body, error_code).into(),
        RequestBody::InitProducerId(_) => InitProducerIdResponse::default()
            .with_error_code(error_code)
            .with_producer_id(ProducerId(UNKNOWN))
            .with_producer_epoch(-1)
            .into(),
        RequestBody::OffsetForLeaderEpoch(body) => offset_for_leader_epoch(body, error_code).into(),
        RequestBody::DescribeConfigs(body) => describe_configs(body, error_code).into(),
        RequestBody::AlterConfigs(body) => alter_configs(body, error_code).into(),
        RequestBody::CreatePartitions(body) => create_partitions(body, error_code).into(),
        RequestBody::IncrementalAlterConfigs(body) => {
            incremental_alter_configs(body, error_code).into()
        }
        RequestBody::DescribeCluster(_) => DescribeClusterResponse::default()
            .with_error_code(error_code)
            .into(),
        RequestBody::OffsetCommit(body) => group::offset_commit(body, error_code).into(),
        RequestBody::OffsetFetch(body) => group::offset_fetch(body, version, error_code).into(),
        RequestBody::FindCoordinator(body) => {
            group::find_coordinator(body, version, error_code).into()
        }
        RequestBody::JoinGroup(_) => group::join_group(version, error_code).into(),
        RequestBody::Heartbeat(_) => HeartbeatResponse::default()
            .with_error_code(error_code)
            .into(),
        // Kafka answers the request's error at top level only, whatever the version.
        RequestBody::LeaveGroup(_) => LeaveGroupResponse::default()
            .with_error_code(error_code)
            .into(),
        RequestBody::SyncGroup(_) => SyncGroupResponse::default()
            .with_error_code(error_code)
            .into(),
        RequestBody::DescribeGroups(body) => group::describe_groups(body, error_code).into(),
        RequestBody::ListGroups(_) => ListGroupsResponse::default()
            .with_error_code(error_code)
            .into(),
        RequestBody::DeleteGroups(body) => group::delete_groups(body, error_code).into(),
        RequestBody::OffsetDelete(_) => OffsetDeleteResponse::default()
            .with_error_code(error_code)
            .into(),
    }
}

/// Kafka lists the ApiVersions row only with UNSUPPORTED_VERSION (KIP-511); other errors carry
/// no rows.
fn api_versions(error_code: i16) -> ResponseBody {
    let mut body = api_versions_body().with_error_code(error_code);
    body.api_keys.retain(|row| {
        error_code == UNSUPPORTED_VERSION && row.api_key == ApiKey::ApiVersions as i16
    });
    body.into()
}

fn produce(body: &kafka_protocol::messages::ProduceRequest, error_code: i16) -> ProduceResponse {
    let responses = body
        .topic_data
        .iter()
        .map(|topic| {
            let partitions = topic
                .partition_data
                .iter()
                .map(|partition| {
                    produce_response::PartitionProduceResponse::default()
                        .with_index(partition.index)
                        .with_error_code(error_code)
                        .with_base_offset(UNKNOWN)
                })
                .collect();
            produce_response::TopicProduceResponse::default()
                .with_name(topic.name.clone())
                .with_partition_responses(partitions)
        })
        .collect();
    ProduceResponse::default().with_responses(responses)
}

fn fetch(
    body: &kafka_protocol::messages::FetchRequest,
    version: i16,
    error_code: i16,
) -> FetchResponse {
    let responses = body
        .topics
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|partition| {
                    fetch_response::PartitionData::default()
                        .with_partition_index(partition.partition)
                        .with_error_code(error_code)
                        .with_high_watermark(UNKNOWN)
                        .with_last_stable_offset(UNKNOWN)
                        .with_log_start_offset(UNKNOWN)
                })
                .collect();
            fetch_response::FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    let response = FetchResponse::default().with_responses(responses);
    // The top-level error code and session id exist from v7 (fetch sessions, KIP-227).
    if version >= 7 {
        response
            .with_error_code(error_code)
            .with_session_id(body.session_id)
    } else {
        response
    }
}

fn list_offsets(
    body: &kafka_protocol::messages::ListOffsetsRequest,
    error_code: i16,
) -> ListOffsetsResponse {
    let topics = body
        .topics
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|partition| {
                    list_offsets_response::ListOffsetsPartitionResponse::default()
                        .with_partition_index(partition.partition_index)
                        .with_error_code(error_code)
                        .with_timestamp(UNKNOWN)
                        .with_offset(UNKNOWN)
                })
                .collect();
            list_offsets_response::ListOffsetsTopicResponse::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// Every named topic gets the error; a request for all topics (null list) gets none back.
fn metadata(body: &kafka_protocol::messages::MetadataRequest, error_code: i16) -> MetadataResponse {
    let topics = body
        .topics
        .iter()
        .flatten()
        .map(|topic| {
            // Names are non-null in the response before v12: a lookup by id answers "".
            let name = topic
                .name
                .clone()
                .unwrap_or_else(|| TopicName(StrBytes::new()));
            metadata_response::MetadataResponseTopic::default()
                .with_name(Some(name))
                .with_topic_id(topic.topic_id)
                .with_error_code(error_code)
        })
        .collect();
    MetadataResponse::default().with_topics(topics)
}

fn create_topics(
    body: &kafka_protocol::messages::CreateTopicsRequest,
    error_code: i16,
) -> CreateTopicsResponse {
    let topics = body
        .topics
        .iter()
        .map(|topic| {
            create_topics_response::CreatableTopicResult::default()
                .with_name(topic.name.clone())
                .with_error_code(error_code)
        })
        .collect();
    CreateTopicsResponse::default().with_topics(topics)
}

/// Before v6 topics are named in `topic_names`; from v6 in `topics`, by name or id.
fn delete_topics(
    body: &kafka_protocol::messages::DeleteTopicsRequest,
    version: i16,
    error_code: i16,
) -> DeleteTopicsResponse {
    let result =
        || delete_topics_response::DeletableTopicResult::default().with_error_code(error_code);
    let responses = if version >= 6 {
        body.topics
            .iter()
            .map(|topic| {
                result()
                    .with_name(topic.name.clone())
                    .with_topic_id(topic.topic_id)
            })
            .collect()
    } else {
        body.topic_names
            .iter()
            .map(|name| result().with_name(Some(name.clone())))
            .collect()
    };
    DeleteTopicsResponse::default().with_responses(responses)
}

fn delete_records(
    body: &kafka_protocol::messages::DeleteRecordsRequest,
    error_code: i16,
) -> DeleteRecordsResponse {
    let topics = body
        .topics
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|partition| {
                    delete_records_response::DeleteRecordsPartitionResult::default()
                        .with_partition_index(partition.partition_index)
                        .with_low_watermark(UNKNOWN)
                        .with_error_code(error_code)
                })
                .collect();
            delete_records_response::DeleteRecordsTopicResult::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}

fn offset_for_leader_epoch(
    body: &kafka_protocol::messages::OffsetForLeaderEpochRequest,
    error_code: i16,
) -> OffsetForLeaderEpochResponse {
    let topics = body
        .topics
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|partition| {
                    offset_for_leader_epoch_response::EpochEndOffset::default()
                        .with_partition(partition.partition)
                        .with_error_code(error_code)
                        .with_leader_epoch(-1)
                        .with_end_offset(UNKNOWN)
                })
                .collect();
            offset_for_leader_epoch_response::OffsetForLeaderTopicResult::default()
                .with_topic(topic.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}

fn describe_configs(
    body: &kafka_protocol::messages::DescribeConfigsRequest,
    error_code: i16,
) -> DescribeConfigsResponse {
    let results = body
        .resources
        .iter()
        .map(|resource| {
            describe_configs_response::DescribeConfigsResult::default()
                .with_error_code(error_code)
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone())
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

fn alter_configs(
    body: &kafka_protocol::messages::AlterConfigsRequest,
    error_code: i16,
) -> AlterConfigsResponse {
    let responses = body
        .resources
        .iter()
        .map(|resource| {
            alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(error_code)
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone())
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}

fn create_partitions(
    body: &kafka_protocol::messages::CreatePartitionsRequest,
    error_code: i16,
) -> CreatePartitionsResponse {
    let results = body
        .topics
        .iter()
        .map(|topic| {
            create_partitions_response::CreatePartitionsTopicResult::default()
                .with_name(topic.name.clone())
                .with_error_code(error_code)
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}

fn incremental_alter_configs(
    body: &kafka_protocol::messages::IncrementalAlterConfigsRequest,
    error_code: i16,
) -> IncrementalAlterConfigsResponse {
    let responses = body
        .resources
        .iter()
        .map(|resource| {
            incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(error_code)
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone())
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::messages::{ApiVersionsResponse, FetchResponse, ResponseHeader};
    use kafka_protocol::protocol::Decodable;

    use super::*;
    use crate::request::decode_request;
    use crate::response::encode_response;
    use crate::samples::{request_frame, sample_request};
    use crate::versions::SUPPORTED_APIS;

    /// NOT_CONTROLLER, an error a broker sends for a whole admin request.
    const NOT_CONTROLLER: i16 = 41;

    /// Every served API at every advertised version gets an error answer that encodes, with the
    /// response header its version calls for.
    #[test]
    fn every_served_version_has_an_error_answer_that_encodes() {
        for row in SUPPORTED_APIS {
            for version in row.min_version..=row.max_version {
                let frame = request_frame(5, None, version, &sample_request(row.api_key, version));
                let request = decode_request(frame).unwrap();
                let response = error_response(&request, NOT_CONTROLLER);
                assert_eq!(response.api_key(), row.api_key);
                let bytes = encode_response(&request.header, &response)
                    .unwrap_or_else(|error| panic!("{:?} v{version}: {error}", row.api_key));
                let mut rest = Bytes::copy_from_slice(&bytes[4..]);
                let header_version = row.api_key.response_header_version(version);
                let header = ResponseHeader::decode(&mut rest, header_version).unwrap();
                assert_eq!(header.correlation_id, 5);
            }
        }
    }

    #[test]
    fn fetch_errors_every_partition_and_the_top_level() {
        let frame = request_frame(1, None, 11, &sample_request(ApiKey::Fetch, 11));
        let request = decode_request(frame).unwrap();
        let bytes = encode_response(&request.header, &error_response(&request, 6)).unwrap();
        let mut body = Bytes::copy_from_slice(&bytes[8..]);
        let response = FetchResponse::decode(&mut body, 11).unwrap();
        assert_eq!(response.error_code, 6);
        assert_eq!(response.session_id, 12);
        assert_eq!(response.responses.len(), 2);
        for partition in response
            .responses
            .iter()
            .flat_map(|topic| &topic.partitions)
        {
            assert_eq!(partition.error_code, 6);
            assert_eq!(partition.high_watermark, -1);
        }
    }

    #[test]
    fn api_versions_error_rows_follow_kafka() {
        let frame = request_frame(1, None, 3, &sample_request(ApiKey::ApiVersions, 3));
        let request = decode_request(frame).unwrap();
        let ResponseBody::ApiVersions(unsupported) = error_response(&request, UNSUPPORTED_VERSION)
        else {
            panic!();
        };
        assert_eq!(unsupported.api_keys.len(), 1);
        let ResponseBody::ApiVersions(other) = error_response(&request, 42) else {
            panic!();
        };
        assert_eq!(other, ApiVersionsResponse::default().with_error_code(42));
    }
}
