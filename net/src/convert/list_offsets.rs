//! ListOffsets (key 2), v1–7.
//!
//! Request, per version: v1+ `replica_id` and per partition its index and `timestamp` (-2
//! earliest, -1 latest, -3 max timestamp from v7, else a time in ms); v2+ `isolation_level`
//! (READ_UNCOMMITTED below); v4+ per partition `current_leader_epoch` (`None` below, -1 means
//! `None`); v6+ flexible. A negative replica id other than -1 (Kafka's -2 for debugging tools)
//! becomes a consumer's. Timestamps go to the broker unchanged.
//!
//! A partition named more than once gets INVALID_REQUEST at every occurrence and is not looked
//! up, as Kafka's `KafkaApis` does with `ListOffsetsRequest.duplicatePartitions`. An unknown
//! isolation level refuses the request.
//!
//! Response: `throttle_time_ms` from v2, per partition `leader_epoch` from v4 (-1 below).

use kafka_protocol::messages::{
    list_offsets_response, ListOffsetsRequest, ListOffsetsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{
    self, ErrorCode, IsolationLevel, ListOffsetsPartition, ListedOffset, TopicPartition,
};

use super::fields::{current_leader_epoch, isolation_level, replica_id};
use super::grouping::{duplicates, group_by_topic, with_refused};
use super::{ConvertError, ResponseContext};

/// The core request, and the partitions refused here.
pub(super) fn request(
    body: &ListOffsetsRequest,
    version: i16,
) -> Result<(api::ListOffsetsRequest, Vec<(TopicPartition, ErrorCode)>), ConvertError> {
    let isolation_level = if version >= 2 {
        isolation_level(body.isolation_level)?
    } else {
        IsolationLevel::ReadUncommitted
    };
    let entries: Vec<ListOffsetsPartition> = body
        .topics
        .iter()
        .flat_map(|topic| {
            topic
                .partitions
                .iter()
                .map(|partition| ListOffsetsPartition {
                    partition: TopicPartition {
                        topic: topic.name.0.to_string(),
                        partition: partition.partition_index,
                    },
                    current_leader_epoch: if version >= 4 {
                        current_leader_epoch(partition.current_leader_epoch)
                    } else {
                        None
                    },
                    timestamp: partition.timestamp,
                })
        })
        .collect();
    let twice = duplicates(entries.iter().map(|entry| &entry.partition));
    let (refused, partitions): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|entry| twice.contains(&entry.partition));
    let answered = refused
        .into_iter()
        .map(|entry| (entry.partition, ErrorCode::InvalidRequest))
        .collect();
    let request = api::ListOffsetsRequest {
        replica_id: replica_id(body.replica_id.0),
        isolation_level,
        partitions,
    };
    Ok((request, answered))
}

/// The answer at the context's version, the refused partitions after the broker's.
pub(super) fn response(
    response: api::ListOffsetsResponse,
    context: &ResponseContext,
) -> ListOffsetsResponse {
    let version = context.api_version;
    let partitions = with_refused(response.partitions, context, ListedOffset::error);
    let topics = group_by_topic(partitions, |answer| &answer.partition.topic)
        .into_iter()
        .map(|(topic, answers)| {
            let partitions = answers
                .into_iter()
                .map(|answer| {
                    let partition = list_offsets_response::ListOffsetsPartitionResponse::default()
                        .with_partition_index(answer.partition.partition)
                        .with_error_code(answer.error.code())
                        .with_timestamp(answer.timestamp)
                        .with_offset(answer.offset);
                    if version >= 4 {
                        partition.with_leader_epoch(answer.leader_epoch)
                    } else {
                        partition
                    }
                })
                .collect();
            list_offsets_response::ListOffsetsTopicResponse::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default()
        .with_throttle_time_ms(0)
        .with_topics(topics)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{list_offsets_request, ApiKey, BrokerId};

    use super::*;
    use crate::convert::test_support::{decode_response, text, through_wire, tp};
    use crate::convert::{from_core, ClusterInfo};
    use crate::request::RequestBody;

    fn body(version: i16, partitions: Vec<(&'static str, i32, i64, i32)>) -> ListOffsetsRequest {
        let topics = partitions
            .into_iter()
            .map(|(name, index, timestamp, epoch)| {
                let partition = list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(index)
                    .with_timestamp(timestamp)
                    .with_current_leader_epoch(if version >= 4 { epoch } else { -1 });
                list_offsets_request::ListOffsetsTopic::default()
                    .with_name(TopicName(text(name)))
                    .with_partitions(vec![partition])
            })
            .collect();
        let request = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(topics);
        if version >= 2 {
            request.with_isolation_level(1)
        } else {
            request
        }
    }

    fn convert(
        body: ListOffsetsRequest,
        version: i16,
    ) -> Result<(api::ListOffsetsRequest, Vec<(TopicPartition, ErrorCode)>), ConvertError> {
        let converted = through_wire(RequestBody::ListOffsets(body), version)?;
        match converted.request {
            api::Request::ListOffsets(request) => Ok((request, converted.context.answered)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_version_converts() {
        for version in 1..=7 {
            let request = body(version, vec![("orders", 0, -2, 5), ("orders", 1, -3, -1)]);
            let (request, answered) = convert(request, version).unwrap();
            assert!(answered.is_empty());
            assert_eq!(request.replica_id, -1);
            let level = if version >= 2 {
                IsolationLevel::ReadCommitted
            } else {
                IsolationLevel::ReadUncommitted
            };
            assert_eq!(request.isolation_level, level, "v{version}");
            assert_eq!(
                request.partitions,
                vec![
                    ListOffsetsPartition {
                        partition: tp("orders", 0),
                        current_leader_epoch: (version >= 4).then_some(5),
                        timestamp: -2,
                    },
                    ListOffsetsPartition {
                        partition: tp("orders", 1),
                        current_leader_epoch: None,
                        timestamp: -3,
                    },
                ],
                "v{version}"
            );
        }
    }

    #[test]
    fn duplicates_get_invalid_request_and_bad_levels_refuse() {
        let request = body(
            5,
            vec![
                ("orders", 0, -1, 1),
                ("payments", 0, -1, 1),
                ("orders", 0, -2, 1),
            ],
        );
        let (request, answered) = convert(request, 5).unwrap();
        assert_eq!(request.partitions.len(), 1);
        assert_eq!(request.partitions[0].partition, tp("payments", 0));
        assert_eq!(
            answered,
            vec![
                (tp("orders", 0), ErrorCode::InvalidRequest),
                (tp("orders", 0), ErrorCode::InvalidRequest),
            ]
        );
        let error = convert(body(3, vec![]).with_isolation_level(-1), 3).unwrap_err();
        assert_eq!(error, ConvertError::UnknownIsolationLevel { level: -1 });
    }

    #[test]
    fn responses_at_every_version_decode_as_a_client_reads_them() {
        for version in 1..=7 {
            let mut context = ResponseContext::new(ApiKey::ListOffsets, version);
            context.answered = vec![(tp("orders", 3), ErrorCode::InvalidRequest)];
            let core = api::ListOffsetsResponse {
                partitions: vec![
                    ListedOffset {
                        partition: tp("orders", 0),
                        error: ErrorCode::None,
                        timestamp: 1_700_000_000_000,
                        offset: 42,
                        leader_epoch: 6,
                    },
                    ListedOffset::error(tp("payments", 1), ErrorCode::NotLeaderOrFollower),
                ],
            };
            let response = api::Response::ListOffsets(core);
            let body = from_core(response, &context, &ClusterInfo::default()).unwrap();
            let decoded: ListOffsetsResponse = decode_response(&body, version);
            assert_eq!(decoded.topics.len(), 2);
            let orders: Vec<(i32, i16, i64, i64, i32)> = decoded.topics[0]
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition_index,
                        p.error_code,
                        p.timestamp,
                        p.offset,
                        p.leader_epoch,
                    )
                })
                .collect();
            let epoch = if version >= 4 { 6 } else { -1 };
            assert_eq!(
                orders,
                vec![(0, 0, 1_700_000_000_000, 42, epoch), (3, 42, -1, -1, -1)],
                "v{version}"
            );
            assert_eq!(&*decoded.topics[1].name.0, "payments");
            assert_eq!(decoded.topics[1].partitions[0].error_code, 6);
        }
    }
}
