//! Fetch (key 1), v4–12, partitions named by topic name (v13+ needs topic ids).
//!
//! Request, per version:
//! - v4+: `replica_id` (in the body up to v14), `max_wait_ms`, `min_bytes`, `max_bytes`,
//!   `isolation_level`, and per partition its index, `fetch_offset`, `partition_max_bytes`.
//! - v5+: per partition `log_start_offset` (-1 below).
//! - v7+: fetch sessions (KIP-227): `session_id`, `session_epoch`, `forgotten_topics_data`.
//! - v9+: per partition `current_leader_epoch` (KIP-320); `None` below, and -1 means `None`.
//! - v11+: `rack_id` (KIP-392).
//! - v12+: flexible; per partition `last_fetched_epoch` (KIP-595), `cluster_id` as a tag.
//!
//! Fetch sessions: Sluice grants none (it answers session id 0), so a full fetch (session
//! epoch 0 opens a session, -1 is sessionless) is served as sessionless and its
//! `forgotten_topics_data` is moot. An incremental fetch (any other epoch) names a session the
//! broker cannot have, and is refused with FETCH_SESSION_ID_NOT_FOUND, as Kafka's
//! `FetchManager` refuses an unknown session; the client then sends a full fetch.
//!
//! Not passed to core, which has no field for them: `last_fetched_epoch` (Sluice's followers
//! detect divergence with OffsetForLeaderEpoch, and consumers send -1), `rack_id` (no
//! follower fetching for consumers, so `preferred_read_replica` is always -1) and
//! `cluster_id`. The replica epoch is -1: it travels only in v15+'s `replica_state`.
//!
//! A partition named twice is served once, with the last entry's values at the place of the
//! first, as Kafka's `FetchRequest.fetchData` builds its map. An unknown isolation level
//! refuses the request (see [`ConvertError::error_code`]).
//!
//! Response: `log_start_offset` from v5; top-level `error_code` and `session_id` (0) from v7
//! (below v7 a top-level error goes on every partition that has none, as Kafka's
//! `getErrorResponse` does for those versions); `preferred_read_replica` (-1) from v11;
//! `diverging_epoch`, `current_leader` and `snapshot_id` (tagged, v12) left unset.
//! `aborted_transactions` is null for READ_UNCOMMITTED and an empty list for READ_COMMITTED, as
//! Kafka sends them while no transaction has aborted.

use kafka_protocol::messages::{fetch_response, BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{
    self, ErrorCode, FetchPartition, FetchPartitionResponse, FetchRecords, FileRange,
    TopicPartition,
};

use super::fields::{current_leader_epoch, isolation_level, replica_id};
use super::grouping::{group_by_topic, keep_last, with_refused};
use super::{ConvertError, ResponseContext};

/// The session epoch of a full fetch that opens a session (`FetchMetadata.INITIAL_EPOCH`).
const INITIAL_EPOCH: i32 = 0;
/// The session epoch of a sessionless full fetch (`FetchMetadata.FINAL_EPOCH`).
const FINAL_EPOCH: i32 = -1;
/// The follower's broker epoch where the version carries none.
const NO_REPLICA_EPOCH: i64 = -1;
/// The log start offset a consumer, or a version without the field, leaves unknown.
const NO_LOG_START_OFFSET: i64 = -1;

/// The core request.
pub(super) fn request(
    body: &FetchRequest,
    version: i16,
) -> Result<api::FetchRequest, ConvertError> {
    let isolation_level = isolation_level(body.isolation_level)?;
    if version >= 7 && !matches!(body.session_epoch, INITIAL_EPOCH | FINAL_EPOCH) {
        return Err(ConvertError::IncrementalFetchSession {
            session_id: body.session_id,
            session_epoch: body.session_epoch,
        });
    }
    let entries = body
        .topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().map(|partition| {
                let tp = TopicPartition {
                    topic: topic.topic.0.to_string(),
                    partition: partition.partition,
                };
                (tp, partition)
            })
        })
        .collect();
    let partitions = keep_last(entries)
        .into_iter()
        .map(|(tp, partition)| FetchPartition {
            partition: tp,
            current_leader_epoch: if version >= 9 {
                current_leader_epoch(partition.current_leader_epoch)
            } else {
                None
            },
            fetch_offset: partition.fetch_offset,
            log_start_offset: if version >= 5 {
                partition.log_start_offset
            } else {
                NO_LOG_START_OFFSET
            },
            partition_max_bytes: partition.partition_max_bytes,
        })
        .collect();
    Ok(api::FetchRequest {
        replica_id: replica_id(body.replica_id.0),
        replica_epoch: NO_REPLICA_EPOCH,
        max_wait_ms: body.max_wait_ms,
        min_bytes: body.min_bytes,
        max_bytes: body.max_bytes,
        isolation_level,
        partitions,
    })
}

/// The answer at the context's version, the refused partitions after the broker's, and the
/// file range of each partition whose records lie in a file, in the order the body lists
/// partitions (topic by topic). Those partitions' records are left null in the body: only
/// [`crate::fetch_frame`] can encode it, filling them from the files.
pub(super) fn response(
    response: api::FetchResponse,
    context: &ResponseContext,
) -> (FetchResponse, Vec<Option<FileRange>>) {
    let version = context.api_version;
    let mut files = Vec::new();
    let partitions = with_refused(response.partitions, context, FetchPartitionResponse::error);
    // Before v7 there is no top-level error: clients read it from the partitions.
    let fallback = if version < 7 {
        response.error
    } else {
        ErrorCode::None
    };
    let responses = group_by_topic(partitions, |answer| &answer.partition.topic)
        .into_iter()
        .map(|(topic, answers)| {
            let partitions = answers
                .into_iter()
                .map(|answer| {
                    let (data, file) = partition_data(answer, context, fallback);
                    files.push(file);
                    data
                })
                .collect();
            fetch_response::FetchableTopicResponse::default()
                .with_topic(TopicName(StrBytes::from_string(topic)))
                .with_partitions(partitions)
        })
        .collect();
    let body = FetchResponse::default()
        .with_throttle_time_ms(0)
        .with_responses(responses);
    let body = if version >= 7 {
        body.with_error_code(response.error.code())
            .with_session_id(0)
    } else {
        body
    };
    (body, files)
}

fn partition_data(
    answer: FetchPartitionResponse,
    context: &ResponseContext,
    fallback: ErrorCode,
) -> (fetch_response::PartitionData, Option<FileRange>) {
    let error = if answer.error == ErrorCode::None {
        fallback
    } else {
        answer.error
    };
    let aborted_transactions = context.read_committed.then(Vec::new);
    let partition = fetch_response::PartitionData::default()
        .with_partition_index(answer.partition.partition)
        .with_error_code(error.code())
        .with_high_watermark(answer.high_watermark)
        .with_last_stable_offset(answer.last_stable_offset)
        .with_aborted_transactions(aborted_transactions)
        .with_preferred_read_replica(BrokerId(-1));
    let (records, file) = match answer.records {
        FetchRecords::Bytes(bytes) => (Some(bytes), None),
        FetchRecords::File(range) => (None, Some(range)),
    };
    let partition = partition.with_records(records);
    let partition = if context.api_version >= 5 {
        partition.with_log_start_offset(answer.log_start_offset)
    } else {
        partition
    };
    (partition, file)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{fetch_request, ApiKey};

    use super::*;
    use crate::convert::test_support::{decode_response, text, through_wire, tp};
    use crate::convert::{from_core, ClusterInfo, ResponseContext};
    use crate::request::RequestBody;
    use sluice_core::api::IsolationLevel;

    fn partition(index: i32, offset: i64, epoch: i32) -> fetch_request::FetchPartition {
        fetch_request::FetchPartition::default()
            .with_partition(index)
            .with_fetch_offset(offset)
            .with_partition_max_bytes(1 << 20)
            .with_current_leader_epoch(epoch)
    }

    /// A consumer's fetch of `partitions` of "orders", with only the fields `version` has.
    fn body(version: i16, partitions: Vec<fetch_request::FetchPartition>) -> FetchRequest {
        let partitions = partitions
            .into_iter()
            .map(|mut partition| {
                if version < 9 {
                    partition.current_leader_epoch = -1;
                }
                if version >= 5 {
                    partition.log_start_offset = -1;
                }
                partition
            })
            .collect();
        let topic = fetch_request::FetchTopic::default()
            .with_topic(TopicName(text("orders")))
            .with_partitions(partitions);
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(50 << 20)
            .with_isolation_level(1)
            .with_topics(vec![topic])
    }

    fn convert(body: FetchRequest, version: i16) -> Result<api::FetchRequest, ConvertError> {
        let converted = through_wire(RequestBody::Fetch(body), version)?;
        assert!(converted.context.read_committed);
        match converted.request {
            api::Request::Fetch(fetch) => Ok(fetch),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_version_converts() {
        for version in 4..=12 {
            let fetch = convert(body(version, vec![partition(0, 10, 7)]), version).unwrap();
            assert_eq!(fetch.replica_id, -1);
            assert_eq!(fetch.replica_epoch, -1);
            assert_eq!(fetch.max_wait_ms, 500);
            assert_eq!(fetch.min_bytes, 1);
            assert_eq!(fetch.max_bytes, 50 << 20);
            assert_eq!(fetch.isolation_level, IsolationLevel::ReadCommitted);
            assert_eq!(
                fetch.partitions,
                vec![FetchPartition {
                    partition: tp("orders", 0),
                    current_leader_epoch: (version >= 9).then_some(7),
                    fetch_offset: 10,
                    log_start_offset: -1,
                    partition_max_bytes: 1 << 20,
                }],
                "v{version}"
            );
        }
    }

    #[test]
    fn current_leader_epoch_exists_from_v9_and_minus_one_is_none() {
        // v4: the field is not on the wire at all.
        let v4 = convert(body(4, vec![partition(0, 0, -1)]), 4).unwrap();
        assert_eq!(v4.partitions[0].current_leader_epoch, None);
        // v9 and v12 (flexible): carried, and -1 skips the check.
        for version in [9, 12] {
            let fetch = convert(
                body(version, vec![partition(0, 0, 3), partition(1, 0, -1)]),
                version,
            )
            .unwrap();
            assert_eq!(fetch.partitions[0].current_leader_epoch, Some(3));
            assert_eq!(fetch.partitions[1].current_leader_epoch, None);
        }
    }

    #[test]
    fn a_follower_fetch_keeps_its_replica_id_and_log_start() {
        for version in [4, 5, 11] {
            let mut request = body(version, vec![partition(0, 40, 2)]);
            request.replica_id = BrokerId(3);
            if version >= 5 {
                request.topics[0].partitions[0].log_start_offset = 5;
            }
            let fetch = convert(request, version).unwrap();
            assert_eq!(fetch.replica_id, 3);
            // v4 has no log start offset on the wire.
            let start = if version >= 5 { 5 } else { -1 };
            assert_eq!(fetch.partitions[0].log_start_offset, start);
        }
        // A debugging tool's -2 is not a follower.
        let mut request = body(11, vec![partition(0, 40, 2)]);
        request.replica_id = BrokerId(-2);
        assert_eq!(convert(request, 11).unwrap().replica_id, -1);
    }

    #[test]
    fn unknown_isolation_levels_and_incremental_sessions_are_refused() {
        let request = body(10, vec![partition(0, 0, 1)]).with_isolation_level(2);
        let error = convert(request, 10).unwrap_err();
        assert_eq!(error, ConvertError::UnknownIsolationLevel { level: 2 });
        assert_eq!(error.error_code(), Some(ErrorCode::InvalidRequest));
        for (session_id, session_epoch, served) in [
            (0, -1, true),
            (0, 0, true),
            (77, 0, true),
            (77, -1, true),
            (77, 3, false),
        ] {
            let request = body(7, vec![partition(0, 0, -1)])
                .with_session_id(session_id)
                .with_session_epoch(session_epoch);
            let result = convert(request, 7);
            assert_eq!(result.is_ok(), served, "{session_id}/{session_epoch}");
            if let Err(error) = result {
                assert_eq!(error.error_code(), Some(ErrorCode::FetchSessionIdNotFound));
            }
        }
    }

    #[test]
    fn a_partition_named_twice_is_fetched_once_with_the_last_values() {
        let fetch = convert(
            body(
                12,
                vec![partition(0, 10, 1), partition(1, 5, 1), partition(0, 20, 2)],
            ),
            12,
        )
        .unwrap();
        let summary: Vec<(i32, i64)> = fetch
            .partitions
            .iter()
            .map(|p| (p.partition.partition, p.fetch_offset))
            .collect();
        assert_eq!(summary, vec![(0, 20), (1, 5)]);
    }

    fn core_response(error: ErrorCode) -> api::FetchResponse {
        api::FetchResponse {
            error,
            partitions: vec![
                FetchPartitionResponse {
                    partition: tp("orders", 0),
                    error: ErrorCode::None,
                    high_watermark: 30,
                    last_stable_offset: 30,
                    log_start_offset: 2,
                    records: vec![9; 80].into(),
                },
                FetchPartitionResponse::error(tp("payments", 4), ErrorCode::FencedLeaderEpoch),
            ],
        }
    }

    #[test]
    fn responses_at_every_version_decode_as_a_client_reads_them() {
        for version in 4..=12 {
            for read_committed in [false, true] {
                let mut context = ResponseContext::new(ApiKey::Fetch, version);
                context.read_committed = read_committed;
                let response = api::Response::Fetch(core_response(ErrorCode::None));
                let body = from_core(response, &context, &ClusterInfo::default()).unwrap();
                let decoded: FetchResponse = decode_response(&body, version);
                assert_eq!(decoded.throttle_time_ms, 0);
                assert_eq!(decoded.error_code, 0);
                assert_eq!(decoded.session_id, 0);
                assert_eq!(decoded.responses.len(), 2);
                let orders = &decoded.responses[0].partitions[0];
                assert_eq!(&*decoded.responses[0].topic.0, "orders");
                assert_eq!(orders.partition_index, 0);
                assert_eq!(orders.error_code, 0);
                assert_eq!(orders.high_watermark, 30);
                assert_eq!(orders.last_stable_offset, 30);
                let start = if version >= 5 { 2 } else { -1 };
                assert_eq!(orders.log_start_offset, start, "v{version}");
                // v12 carries records as COMPACT_RECORDS; they come back byte for byte.
                assert_eq!(orders.records.as_deref(), Some(&[9u8; 80][..]));
                assert_eq!(orders.preferred_read_replica, BrokerId(-1));
                let aborted = orders.aborted_transactions.as_ref().map(Vec::len);
                assert_eq!(aborted, read_committed.then_some(0), "v{version}");
                let payments = &decoded.responses[1].partitions[0];
                assert_eq!(payments.partition_index, 4);
                assert_eq!(payments.error_code, 74);
                assert_eq!(payments.high_watermark, -1);
                assert_eq!(payments.records.as_deref(), Some(&[][..]));
            }
        }
    }

    #[test]
    fn a_top_level_error_goes_on_the_partitions_before_v7() {
        for version in [4, 6, 7, 12] {
            let context = ResponseContext::new(ApiKey::Fetch, version);
            let response = api::Response::Fetch(core_response(ErrorCode::UnknownServerError));
            let body = from_core(response, &context, &ClusterInfo::default()).unwrap();
            let decoded: FetchResponse = decode_response(&body, version);
            let orders = decoded.responses[0].partitions[0].error_code;
            if version >= 7 {
                assert_eq!(decoded.error_code, -1);
                assert_eq!(orders, 0);
            } else {
                assert_eq!(orders, -1);
            }
            // A partition's own error is kept.
            assert_eq!(decoded.responses[1].partitions[0].error_code, 74);
        }
    }
}
