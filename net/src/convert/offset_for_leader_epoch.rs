//! OffsetForLeaderEpoch (key 23), v2–4 (KIP-101, KIP-320).
//!
//! Request, per version: v2+ per partition its index, `current_leader_epoch` (-1 means
//! `None`) and `leader_epoch`; v3+ `replica_id` (v2 has none and Kafka reads it as -2, a
//! debugging client, so both become a consumer's -1); v4+ flexible.
//!
//! A partition named twice is answered twice, as Kafka's `KafkaApis` answers every entry: the
//! lookup changes nothing, so repeating it is harmless.
//!
//! Response: the same fields in every version; `throttle_time_ms` is 0.

use kafka_protocol::messages::{
    offset_for_leader_epoch_response, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{
    self, EpochEndOffset, OffsetForLeaderEpochPartition, TopicPartition, CONSUMER_REPLICA_ID,
};

use super::fields::{current_leader_epoch, replica_id};
use super::grouping::{group_by_topic, with_refused};
use super::ResponseContext;

/// The core request.
pub(super) fn request(
    body: &OffsetForLeaderEpochRequest,
    version: i16,
) -> api::OffsetForLeaderEpochRequest {
    let partitions = body
        .topics
        .iter()
        .flat_map(|topic| {
            topic
                .partitions
                .iter()
                .map(|partition| OffsetForLeaderEpochPartition {
                    partition: TopicPartition {
                        topic: topic.topic.0.to_string(),
                        partition: partition.partition,
                    },
                    current_leader_epoch: current_leader_epoch(partition.current_leader_epoch),
                    leader_epoch: partition.leader_epoch,
                })
        })
        .collect();
    api::OffsetForLeaderEpochRequest {
        replica_id: if version >= 3 {
            replica_id(body.replica_id.0)
        } else {
            CONSUMER_REPLICA_ID
        },
        partitions,
    }
}

/// The answer at the context's version, the refused partitions after the broker's.
pub(super) fn response(
    response: api::OffsetForLeaderEpochResponse,
    context: &ResponseContext,
) -> OffsetForLeaderEpochResponse {
    let partitions = with_refused(response.partitions, context, EpochEndOffset::error);
    let topics = group_by_topic(partitions, |answer| &answer.partition.topic)
        .into_iter()
        .map(|(topic, answers)| {
            let partitions = answers
                .into_iter()
                .map(|answer| {
                    offset_for_leader_epoch_response::EpochEndOffset::default()
                        .with_partition(answer.partition.partition)
                        .with_error_code(answer.error.code())
                        .with_leader_epoch(answer.leader_epoch)
                        .with_end_offset(answer.end_offset)
                })
                .collect();
            offset_for_leader_epoch_response::OffsetForLeaderTopicResult::default()
                .with_topic(TopicName(StrBytes::from_string(topic)))
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default()
        .with_throttle_time_ms(0)
        .with_topics(topics)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{offset_for_leader_epoch_request, ApiKey, BrokerId};
    use sluice_core::api::ErrorCode;

    use super::*;
    use crate::convert::test_support::{decode_response, text, through_wire, tp};
    use crate::convert::{from_core, ClusterInfo};
    use crate::request::RequestBody;

    fn body(version: i16, replica: i32) -> OffsetForLeaderEpochRequest {
        let partitions = vec![
            offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                .with_partition(0)
                .with_current_leader_epoch(4)
                .with_leader_epoch(3),
            offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                .with_partition(0)
                .with_current_leader_epoch(-1)
                .with_leader_epoch(2),
        ];
        let topic = offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
            .with_topic(TopicName(text("orders")))
            .with_partitions(partitions);
        let request = OffsetForLeaderEpochRequest::default().with_topics(vec![topic]);
        if version >= 3 {
            request.with_replica_id(BrokerId(replica))
        } else {
            request
        }
    }

    #[test]
    fn every_version_converts() {
        for version in 2..=4 {
            for replica in [2, -1, -2] {
                let request = RequestBody::OffsetForLeaderEpoch(body(version, replica));
                let converted = through_wire(request, version).unwrap();
                let api::Request::OffsetForLeaderEpoch(request) = converted.request else {
                    panic!("{:?}", converted.request);
                };
                let expected_replica = if version >= 3 && replica >= 0 {
                    replica
                } else {
                    -1
                };
                assert_eq!(request.replica_id, expected_replica, "v{version}");
                assert_eq!(
                    request.partitions,
                    vec![
                        OffsetForLeaderEpochPartition {
                            partition: tp("orders", 0),
                            current_leader_epoch: Some(4),
                            leader_epoch: 3,
                        },
                        OffsetForLeaderEpochPartition {
                            partition: tp("orders", 0),
                            current_leader_epoch: None,
                            leader_epoch: 2,
                        },
                    ]
                );
            }
        }
    }

    #[test]
    fn responses_at_every_version_decode_as_a_client_reads_them() {
        for version in 2..=4 {
            let context = ResponseContext::new(ApiKey::OffsetForLeaderEpoch, version);
            let core = api::OffsetForLeaderEpochResponse {
                partitions: vec![
                    EpochEndOffset {
                        partition: tp("orders", 0),
                        error: ErrorCode::None,
                        leader_epoch: 3,
                        end_offset: 120,
                    },
                    EpochEndOffset::error(tp("orders", 1), ErrorCode::FencedLeaderEpoch),
                ],
            };
            let response = api::Response::OffsetForLeaderEpoch(core);
            let body = from_core(response, &context, &ClusterInfo::default()).unwrap();
            let decoded: OffsetForLeaderEpochResponse = decode_response(&body, version);
            assert_eq!(decoded.topics.len(), 1);
            let partitions: Vec<(i32, i16, i32, i64)> = decoded.topics[0]
                .partitions
                .iter()
                .map(|p| (p.partition, p.error_code, p.leader_epoch, p.end_offset))
                .collect();
            assert_eq!(partitions, vec![(0, 0, 3, 120), (1, 74, -1, -1)]);
        }
    }
}
