//! OffsetFetch (key 9), v1–8.
//!
//! Request, per version: v1–7 one `group_id` and its `topics` (each a name and
//! `partition_indexes`); v2+ null `topics` means every partition the group has committed
//! (v1 has no null, and Sluice refuses one with INVALID_REQUEST where Kafka fails to parse);
//! v6+ flexible; v7+ `require_stable` (KIP-447); v8 a `groups` batch, each with its own
//! nullable `topics` (KIP-709).
//!
//! Response: v1–7 `topics` of partitions (`committed_offset`, `metadata`, `error_code`); v2+
//! a top-level `error_code` for the group; v3+ `throttle_time_ms`; v5+ each partition's
//! `committed_leader_epoch`; v8 a `groups` entry per group, in request order, each with its
//! own `error_code`. Kafka never answers a null `metadata` (it stores "" for none), and
//! neither does Sluice.
//!
//! A group-level error in v1, which has no field for it, goes on every partition asked
//! for, with offset -1 and metadata "", as Kafka's `OffsetFetchRequest.getErrorResponse`
//! answers it. From v2 it is the top-level error, with no partitions.

use kafka_protocol::messages::{
    offset_fetch_response, GroupId, OffsetFetchRequest, OffsetFetchResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{self, ErrorCode, TopicPartition};

use super::grouping::group_by_topic;
use super::{ConvertError, ResponseContext};

/// The first version with a top-level error and null topics.
const GROUP_ERROR_FROM: i16 = 2;

/// The first version whose answer carries committed leader epochs.
const LEADER_EPOCH_FROM: i16 = 5;

/// The first version with `require_stable`.
const REQUIRE_STABLE_FROM: i16 = 7;

/// The first version that batches groups.
const BATCHED: i16 = 8;

fn partitions<'a>(
    topics: impl IntoIterator<Item = (&'a TopicName, &'a Vec<i32>)>,
) -> Vec<TopicPartition> {
    topics
        .into_iter()
        .flat_map(|(name, indexes)| {
            indexes.iter().map(|&partition| TopicPartition {
                topic: name.to_string(),
                partition,
            })
        })
        .collect()
}

/// The core request, and (for v1) the partitions a group-level error goes on.
pub(super) fn request(
    body: &OffsetFetchRequest,
    version: i16,
) -> Result<(api::OffsetFetchRequest, Vec<TopicPartition>), ConvertError> {
    let require_stable = version >= REQUIRE_STABLE_FROM && body.require_stable;
    if version >= BATCHED {
        let groups = body
            .groups
            .iter()
            .map(|group| api::OffsetFetchGroup {
                group_id: group.group_id.to_string(),
                partitions: group.topics.as_ref().map(|topics| {
                    partitions(topics.iter().map(|t| (&t.name, &t.partition_indexes)))
                }),
            })
            .collect();
        let request = api::OffsetFetchRequest {
            groups,
            require_stable,
        };
        return Ok((request, Vec::new()));
    }
    let asked = body
        .topics
        .as_ref()
        .map(|topics| partitions(topics.iter().map(|t| (&t.name, &t.partition_indexes))));
    if asked.is_none() && version < GROUP_ERROR_FROM {
        return Err(ConvertError::NullOffsetFetchTopics {
            api_version: version,
        });
    }
    let requested = match version < GROUP_ERROR_FROM {
        true => asked.clone().unwrap_or_default(),
        false => Vec::new(),
    };
    let group = api::OffsetFetchGroup {
        group_id: body.group_id.to_string(),
        partitions: asked,
    };
    let request = api::OffsetFetchRequest {
        groups: vec![group],
        require_stable,
    };
    Ok((request, requested))
}

/// What one partition's answer says, whatever the version's struct for it.
struct Row {
    index: i32,
    offset: i64,
    leader_epoch: i32,
    metadata: StrBytes,
    error: i16,
}

/// The partitions of one group under their topics.
fn by_topic(partitions: Vec<api::FetchedOffset>, version: i16) -> Vec<(TopicName, Vec<Row>)> {
    group_by_topic(partitions, |p| &p.partition.topic)
        .into_iter()
        .map(|(topic, partitions)| {
            let rows = partitions
                .into_iter()
                .map(|p| Row {
                    index: p.partition.partition,
                    offset: p.offset,
                    leader_epoch: match version >= LEADER_EPOCH_FROM {
                        true => p.leader_epoch,
                        false => -1,
                    },
                    metadata: StrBytes::from_string(p.metadata.unwrap_or_default()),
                    error: p.error.code(),
                })
                .collect();
            (TopicName(StrBytes::from_string(topic)), rows)
        })
        .collect()
}

/// The topics of an answer, built from `by_topic`'s rows. v1–7 and v8 give a partition the same
/// fields but in different structs (`OffsetFetchResponseTopic`/`Partition` beside the group
/// batch's `OffsetFetchResponseTopics`/`Partitions`) with no trait in common, so one macro
/// fills either pair.
macro_rules! answer_topics {
    ($topics:expr, $topic:ident, $partition:ident) => {
        $topics
            .into_iter()
            .map(|(name, rows)| {
                let partitions = rows
                    .into_iter()
                    .map(|row: Row| {
                        offset_fetch_response::$partition::default()
                            .with_partition_index(row.index)
                            .with_committed_offset(row.offset)
                            .with_committed_leader_epoch(row.leader_epoch)
                            .with_metadata(Some(row.metadata))
                            .with_error_code(row.error)
                    })
                    .collect();
                offset_fetch_response::$topic::default()
                    .with_name(name)
                    .with_partitions(partitions)
            })
            .collect()
    };
}

/// The answer at the request's version.
pub(super) fn response(
    response: api::OffsetFetchResponse,
    context: &ResponseContext,
) -> OffsetFetchResponse {
    let version = context.api_version;
    if version >= BATCHED {
        let groups = response
            .groups
            .into_iter()
            .map(|group| batched_group(group, version))
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    // Core answers the one group asked; should it answer none, the group has no offsets.
    let group = response
        .groups
        .into_iter()
        .next()
        .unwrap_or_else(|| api::FetchedGroupOffsets::error(String::new(), ErrorCode::None));
    let partitions = match version < GROUP_ERROR_FROM && group.error != ErrorCode::None {
        true => context
            .requested
            .iter()
            .map(|partition| api::FetchedOffset {
                partition: partition.clone(),
                offset: -1,
                leader_epoch: -1,
                metadata: None,
                error: group.error,
            })
            .collect(),
        false => group.partitions,
    };
    let topics = answer_topics!(
        by_topic(partitions, version),
        OffsetFetchResponseTopic,
        OffsetFetchResponsePartition
    );
    let body = OffsetFetchResponse::default().with_topics(topics);
    match version >= GROUP_ERROR_FROM {
        true => body.with_error_code(group.error.code()),
        false => body,
    }
}

fn batched_group(
    group: api::FetchedGroupOffsets,
    version: i16,
) -> offset_fetch_response::OffsetFetchResponseGroup {
    let topics = answer_topics!(
        by_topic(group.partitions, version),
        OffsetFetchResponseTopics,
        OffsetFetchResponsePartitions
    );
    offset_fetch_response::OffsetFetchResponseGroup::default()
        .with_group_id(GroupId(StrBytes::from_string(group.group_id)))
        .with_topics(topics)
        .with_error_code(group.error.code())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::offset_fetch_request;

    use super::*;
    use crate::convert::test_support::{decode_response, text, through_wire, tp};
    use crate::convert::{from_core, to_core, ClusterInfo, Converted};
    use crate::request::RequestBody;

    fn topic(
        name: &'static str,
        indexes: Vec<i32>,
    ) -> offset_fetch_request::OffsetFetchRequestTopic {
        offset_fetch_request::OffsetFetchRequestTopic::default()
            .with_name(TopicName(text(name)))
            .with_partition_indexes(indexes)
    }

    /// A single-group request (v1–7).
    fn single(
        version: i16,
        topics: Option<Vec<offset_fetch_request::OffsetFetchRequestTopic>>,
    ) -> RequestBody {
        let body = OffsetFetchRequest::default()
            .with_group_id(GroupId(text("billing")))
            .with_topics(topics);
        RequestBody::OffsetFetch(match version >= 7 {
            true => body.with_require_stable(true),
            false => body,
        })
    }

    fn core(converted: &Converted) -> &api::OffsetFetchRequest {
        match &converted.request {
            api::Request::Group(api::GroupRequest::OffsetFetch(request)) => request,
            other => panic!("{other:?}"),
        }
    }

    fn answer(converted: &Converted, groups: Vec<api::FetchedGroupOffsets>) -> OffsetFetchResponse {
        let response =
            api::Response::Group(api::GroupResponse::OffsetFetch(api::OffsetFetchResponse {
                groups,
            }));
        let body = from_core(response, &converted.context, &ClusterInfo::default()).unwrap();
        decode_response(&body, converted.context.api_version)
    }

    fn committed(topic: &str, partition: i32, offset: i64) -> api::FetchedOffset {
        api::FetchedOffset {
            partition: tp(topic, partition),
            offset,
            leader_epoch: 6,
            metadata: None,
            error: ErrorCode::None,
        }
    }

    #[test]
    fn v1_to_v7_ask_for_one_group_and_v8_for_several() {
        let topics = Some(vec![topic("a", vec![0, 1]), topic("b", vec![3])]);
        for version in 1..=7 {
            let converted = through_wire(single(version, topics.clone()), version).unwrap();
            let request = core(&converted);
            assert_eq!(request.require_stable, version >= 7, "v{version}");
            assert_eq!(request.groups.len(), 1);
            assert_eq!(request.groups[0].group_id, "billing");
            assert_eq!(
                request.groups[0].partitions,
                Some(vec![tp("a", 0), tp("a", 1), tp("b", 3)])
            );
            let requested = if version == 1 { 3 } else { 0 };
            assert_eq!(converted.context.requested.len(), requested, "v{version}");
        }
        // Null topics: every committed partition from v2, a malformed v1.
        let converted = through_wire(single(2, None), 2).unwrap();
        assert_eq!(core(&converted).groups[0].partitions, None);
        let error = to_core(&single(1, None), 1).unwrap_err();
        assert_eq!(
            error,
            ConvertError::NullOffsetFetchTopics { api_version: 1 }
        );
        assert_eq!(error.error_code(), Some(ErrorCode::InvalidRequest));

        let group = |id: &'static str, topics| {
            offset_fetch_request::OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(text(id)))
                .with_topics(topics)
        };
        let v8_topic = offset_fetch_request::OffsetFetchRequestTopics::default()
            .with_name(TopicName(text("a")))
            .with_partition_indexes(vec![2]);
        let body = OffsetFetchRequest::default()
            .with_groups(vec![
                group("billing", Some(vec![v8_topic])),
                group("audit", None),
            ])
            .with_require_stable(true);
        let converted = through_wire(RequestBody::OffsetFetch(body), 8).unwrap();
        assert_eq!(
            core(&converted),
            &api::OffsetFetchRequest {
                groups: vec![
                    api::OffsetFetchGroup {
                        group_id: "billing".to_string(),
                        partitions: Some(vec![tp("a", 2)]),
                    },
                    api::OffsetFetchGroup {
                        group_id: "audit".to_string(),
                        partitions: None,
                    },
                ],
                require_stable: true,
            }
        );
    }

    #[test]
    fn a_group_error_goes_on_every_partition_in_v1_and_at_top_level_after() {
        let topics = Some(vec![topic("a", vec![0, 1]), topic("b", vec![3])]);
        let refused = || {
            vec![api::FetchedGroupOffsets::error(
                "billing".to_string(),
                ErrorCode::NotCoordinator,
            )]
        };
        let converted = through_wire(single(1, topics.clone()), 1).unwrap();
        let decoded = answer(&converted, refused());
        let rows: Vec<(String, i32, i64, Option<String>, i16)> = decoded
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| {
                    let metadata = p.metadata.as_ref().map(|m| m.to_string());
                    (
                        t.name.to_string(),
                        p.partition_index,
                        p.committed_offset,
                        metadata,
                        p.error_code,
                    )
                })
            })
            .collect();
        let row =
            |topic: &str, partition| (topic.to_string(), partition, -1, Some(String::new()), 16);
        assert_eq!(rows, vec![row("a", 0), row("a", 1), row("b", 3)]);

        for version in 2..=7 {
            let converted = through_wire(single(version, topics.clone()), version).unwrap();
            let decoded = answer(&converted, refused());
            assert_eq!(decoded.error_code, 16, "v{version}");
            assert!(decoded.topics.is_empty());
        }
    }

    #[test]
    fn offsets_come_back_with_epochs_from_v5_and_never_null_metadata() {
        let topics = Some(vec![topic("a", vec![0, 1])]);
        for version in 1..=7 {
            let converted = through_wire(single(version, topics.clone()), version).unwrap();
            let mut group = api::FetchedGroupOffsets::error("billing".to_string(), ErrorCode::None);
            group.partitions = vec![committed("a", 0, 42), committed("a", 1, -1)];
            let decoded = answer(&converted, vec![group]);
            assert_eq!(decoded.error_code, 0);
            let partitions = &decoded.topics[0].partitions;
            assert_eq!(partitions[0].committed_offset, 42);
            assert_eq!(partitions[1].committed_offset, -1);
            let epoch = if version >= 5 { 6 } else { -1 };
            assert_eq!(partitions[0].committed_leader_epoch, epoch, "v{version}");
            assert_eq!(partitions[0].metadata.as_deref(), Some(""));
        }
    }

    #[test]
    fn v8_answers_each_group_with_its_own_error() {
        let body = OffsetFetchRequest::default().with_groups(vec![
            offset_fetch_request::OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(text("billing")))
                .with_topics(None),
            offset_fetch_request::OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(text("audit")))
                .with_topics(None),
        ]);
        let converted = through_wire(RequestBody::OffsetFetch(body), 8).unwrap();
        let mut billing = api::FetchedGroupOffsets::error("billing".to_string(), ErrorCode::None);
        billing.partitions = vec![committed("a", 0, 7), committed("b", 1, 9)];
        let audit = api::FetchedGroupOffsets::error(
            "audit".to_string(),
            ErrorCode::CoordinatorLoadInProgress,
        );
        let decoded = answer(&converted, vec![billing, audit]);
        assert_eq!(decoded.groups.len(), 2);
        assert_eq!(&*decoded.groups[0].group_id, "billing");
        assert_eq!(decoded.groups[0].error_code, 0);
        let names: Vec<&str> = decoded.groups[0]
            .topics
            .iter()
            .map(|t| &*t.name.0)
            .collect();
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(
            decoded.groups[0].topics[1].partitions[0].committed_offset,
            9
        );
        assert_eq!(
            decoded.groups[0].topics[1].partitions[0].committed_leader_epoch,
            6
        );
        assert_eq!(&*decoded.groups[1].group_id, "audit");
        assert_eq!(decoded.groups[1].error_code, 14);
        assert!(decoded.groups[1].topics.is_empty());
    }
}
