//! OffsetCommit (key 8), v2–8.
//!
//! Request, per version: `group_id`, `generation_id`, `member_id` and `topics` (each
//! partition's `partition_index`, `committed_offset`, `committed_metadata`) in every served
//! version, generation -1 with an empty member for a commit from outside the group (the admin
//! tools); v2–4 `retention_time_ms`; v6+ each partition's `committed_leader_epoch` (KIP-320;
//! -1 before); v7+ `group_instance_id`; v8+ flexible.
//!
//! `retention_time_ms` is dropped. Kafka still honours an explicit value from v2–4 as the
//! offsets' expiry time (KIP-211 kept it for those versions and removed the field in v5);
//! every client Sluice knows of sends -1 ("the broker's `offsets.retention.minutes`"), which
//! is what Sluice then applies to every commit.
//!
//! Response: each partition's `error_code` under its topic, partitions in request order
//! (topics in order of first appearance); v3+ `throttle_time_ms`.

use kafka_protocol::messages::{
    offset_commit_response, OffsetCommitRequest, OffsetCommitResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{self, TopicPartition};

use super::grouping::group_by_topic;

/// The first version with committed leader epochs.
const LEADER_EPOCH_FROM: i16 = 6;

/// The first version with static membership.
const INSTANCE_ID_FROM: i16 = 7;

/// The core request, partitions flattened in request order.
pub(super) fn request(body: &OffsetCommitRequest, version: i16) -> api::OffsetCommitRequest {
    let partitions = body
        .topics
        .iter()
        .flat_map(|topic| {
            topic
                .partitions
                .iter()
                .map(|partition| api::OffsetCommitPartition {
                    partition: TopicPartition {
                        topic: topic.name.to_string(),
                        partition: partition.partition_index,
                    },
                    offset: partition.committed_offset,
                    leader_epoch: match version >= LEADER_EPOCH_FROM {
                        true => partition.committed_leader_epoch,
                        false => -1,
                    },
                    metadata: partition.committed_metadata.as_ref().map(|m| m.to_string()),
                })
        })
        .collect();
    api::OffsetCommitRequest {
        group_id: body.group_id.to_string(),
        generation_id: body.generation_id_or_member_epoch,
        member_id: body.member_id.to_string(),
        group_instance_id: match version >= INSTANCE_ID_FROM {
            true => body.group_instance_id.as_ref().map(|id| id.to_string()),
            false => None,
        },
        partitions,
    }
}

/// The answer; every served version carries the same fields.
pub(super) fn response(response: api::OffsetCommitResponse) -> OffsetCommitResponse {
    let topics = group_by_topic(response.partitions, |(partition, _)| &partition.topic)
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(partition, error)| {
                    offset_commit_response::OffsetCommitResponsePartition::default()
                        .with_partition_index(partition.partition)
                        .with_error_code(error.code())
                })
                .collect();
            offset_commit_response::OffsetCommitResponseTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{offset_commit_request, ApiKey, GroupId};
    use sluice_core::api::ErrorCode;

    use super::*;
    use crate::convert::test_support::{decode_response, text, through_wire, tp};
    use crate::convert::{from_core, ClusterInfo, ResponseContext};
    use crate::request::RequestBody;

    fn body(version: i16) -> OffsetCommitRequest {
        let partition = |index, offset| {
            let entry = offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(index)
                .with_committed_offset(offset)
                .with_committed_metadata((index == 0).then(|| text("note")));
            match version >= 6 {
                true => entry.with_committed_leader_epoch(4),
                false => entry,
            }
        };
        let topic = |name, partitions| {
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(TopicName(text(name)))
                .with_partitions(partitions)
        };
        let mut body = OffsetCommitRequest::default()
            .with_group_id(GroupId(text("billing")))
            .with_generation_id_or_member_epoch(3)
            .with_member_id(text("m-1"))
            .with_topics(vec![
                topic("b", vec![partition(1, 10)]),
                topic("a", vec![partition(0, 20), partition(2, 30)]),
            ]);
        if version <= 4 {
            body.retention_time_ms = 60_000;
        }
        if version >= 7 {
            body.group_instance_id = Some(text("host-1"));
        }
        body
    }

    #[test]
    fn every_version_converts_with_what_it_carries() {
        for version in 2..=8 {
            let converted = through_wire(RequestBody::OffsetCommit(body(version)), version);
            let api::Request::Group(api::GroupRequest::OffsetCommit(request)) =
                converted.unwrap().request
            else {
                panic!("v{version}")
            };
            assert_eq!(request.group_id, "billing");
            assert_eq!(
                (request.generation_id, request.member_id.as_str()),
                (3, "m-1")
            );
            let instance = (version >= 7).then(|| "host-1".to_string());
            assert_eq!(request.group_instance_id, instance, "v{version}");
            let epoch = if version >= 6 { 4 } else { -1 };
            let rows: Vec<(TopicPartition, i64, i32, Option<&str>)> = request
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition.clone(),
                        p.offset,
                        p.leader_epoch,
                        p.metadata.as_deref(),
                    )
                })
                .collect();
            assert_eq!(
                rows,
                vec![
                    (tp("b", 1), 10, epoch, None),
                    (tp("a", 0), 20, epoch, Some("note")),
                    (tp("a", 2), 30, epoch, None),
                ],
                "v{version}"
            );
        }
    }

    #[test]
    fn errors_come_back_per_partition_in_request_order() {
        let partitions = vec![
            (tp("b", 1), ErrorCode::None),
            (tp("a", 0), ErrorCode::OffsetMetadataTooLarge),
            (tp("b", 0), ErrorCode::UnknownTopicOrPartition),
            (tp("a", 2), ErrorCode::None),
        ];
        for version in 2..=8 {
            let context = ResponseContext::new(ApiKey::OffsetCommit, version);
            let response = api::Response::Group(api::GroupResponse::OffsetCommit(
                api::OffsetCommitResponse {
                    partitions: partitions.clone(),
                },
            ));
            let body = from_core(response, &context, &ClusterInfo::default()).unwrap();
            let decoded: OffsetCommitResponse = decode_response(&body, version);
            let rows: Vec<(String, Vec<(i32, i16)>)> = decoded
                .topics
                .iter()
                .map(|topic| {
                    let partitions = topic
                        .partitions
                        .iter()
                        .map(|p| (p.partition_index, p.error_code))
                        .collect();
                    (topic.name.to_string(), partitions)
                })
                .collect();
            assert_eq!(
                rows,
                vec![
                    ("b".to_string(), vec![(1, 0), (0, 3)]),
                    ("a".to_string(), vec![(0, 12), (2, 0)]),
                ]
            );
        }
    }
}
