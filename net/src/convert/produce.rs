//! Produce (key 0), v3–11: one RecordBatch v2 per partition, by topic name.
//!
//! Request, per version: v3–8 are the same fields; v9+ is flexible (compact strings, arrays and
//! records), which kafka-protocol decodes. Every version has `transactional_id`, `acks`,
//! `timeout_ms` and per partition its index and records.
//!
//! Refused here, before the broker:
//! - A non-null `transactional_id`: the whole request gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED
//!   (see [`ConvertError::error_code`]). Kafka checks the id only when a batch is
//!   transactional; Sluice refuses it outright because it has no transaction coordinator, and
//!   a non-transactional producer never sends one (Java, librdkafka, kafka-python).
//! - `acks` outside {-1, 0, 1}: the whole request gets INVALID_REQUIRED_ACKS, as Kafka's
//!   `ReplicaManager.appendRecords` answers every partition (Kafka answers an unknown topic's
//!   partitions with UNKNOWN_TOPIC_OR_PARTITION first; Sluice does not look topics up here).
//! - A partition with null or empty records: INVALID_RECORD for that partition. Kafka's
//!   `ProduceRequest.validateRecords` refuses a partition with no batch so; for null it has no
//!   rule and fails later with UNKNOWN_SERVER_ERROR, which says less.
//! - A partition named twice: INVALID_REQUEST for each occurrence, and neither batch is
//!   appended. Kafka keeps only the last batch (its produce path fills a map keyed by
//!   partition) and acknowledges it, silently dropping the other; Sluice applies instead the
//!   rule Kafka has for ListOffsets duplicates, so that no batch is lost without an error.
//!
//! Everything else about the batch (CRC, magic, one batch per partition, sizes, sequence
//! numbers) is the broker's to check. A negative partition index goes to the broker, which
//! answers UNKNOWN_TOPIC_OR_PARTITION as Kafka does.
//!
//! Copies of the record bytes between the socket and the file: two, both the kernel's. The read
//! into the frame buffer (`FrameDecoder::read_buffer`), since the bytes must reach user space to
//! be checked, and the write into the page cache (`Disk::write_vectored_at`, a `pwritev`), since
//! that is how a file gets them. Between the two the records stay in the frame: kafka-protocol's
//! decoder slices them out of it, this conversion shares the slice, and the log writes the 16
//! header bytes it stamps (base offset, the length field between, leader epoch) from the stack
//! and the rest from the slice.
//!
//! Response, per version: `log_start_offset` from v5, `record_errors` and `error_message` from
//! v8 (left empty: core reports no per-record errors), `current_leader` and `node_endpoints`
//! from v10 (KIP-951; left at "unknown": core's answer does not name the new leader, so clients
//! refresh metadata as before v10).

use kafka_protocol::messages::{produce_response, ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{self, ErrorCode, ProducePartitionResponse, TopicPartition};

use super::grouping::{duplicates, group_by_topic, with_refused};
use super::{ConvertError, ResponseContext};

/// The core request, and the partitions refused here.
pub(super) fn request(
    body: &ProduceRequest,
) -> Result<(api::ProduceRequest, Vec<(TopicPartition, ErrorCode)>), ConvertError> {
    if let Some(id) = &body.transactional_id {
        return Err(ConvertError::TransactionalProduce {
            transactional_id: id.0.to_string(),
        });
    }
    if !matches!(body.acks, -1..=1) {
        return Err(ConvertError::InvalidRequiredAcks { acks: body.acks });
    }
    let entries: Vec<(TopicPartition, Option<&bytes::Bytes>)> = body
        .topic_data
        .iter()
        .flat_map(|topic| {
            topic.partition_data.iter().map(|partition| {
                let tp = TopicPartition {
                    topic: topic.name.0.to_string(),
                    partition: partition.index,
                };
                (tp, partition.records.as_ref())
            })
        })
        .collect();
    let twice = duplicates(entries.iter().map(|(tp, _)| tp));
    let mut partitions = Vec::with_capacity(entries.len());
    let mut answered = Vec::new();
    for (tp, records) in entries {
        if twice.contains(&tp) {
            answered.push((tp, ErrorCode::InvalidRequest));
            continue;
        }
        match records {
            // Shared, not copied: see the module documentation.
            Some(records) if !records.is_empty() => partitions.push((tp, records.clone())),
            _ => answered.push((tp, ErrorCode::InvalidRecord)),
        }
    }
    let request = api::ProduceRequest {
        acks: body.acks,
        timeout_ms: body.timeout_ms,
        partitions,
    };
    Ok((request, answered))
}

/// The answer at the context's version, the refused partitions after the broker's.
pub(super) fn response(
    response: api::ProduceResponse,
    context: &ResponseContext,
) -> ProduceResponse {
    let version = context.api_version;
    let partitions = with_refused(
        response.partitions,
        context,
        ProducePartitionResponse::error,
    );
    let responses = group_by_topic(partitions, |answer| &answer.partition.topic)
        .into_iter()
        .map(|(topic, answers)| {
            let partitions = answers
                .into_iter()
                .map(|answer| partition_response(answer, version))
                .collect();
            produce_response::TopicProduceResponse::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partition_responses(partitions)
        })
        .collect();
    ProduceResponse::default()
        .with_responses(responses)
        .with_throttle_time_ms(0)
}

fn partition_response(
    answer: ProducePartitionResponse,
    version: i16,
) -> produce_response::PartitionProduceResponse {
    let partition = produce_response::PartitionProduceResponse::default()
        .with_index(answer.partition.partition)
        .with_error_code(answer.error.code())
        .with_base_offset(answer.base_offset)
        .with_log_append_time_ms(answer.log_append_time_ms);
    if version >= 5 {
        partition.with_log_start_offset(answer.log_start_offset)
    } else {
        partition
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::messages::{produce_request, ApiKey, TransactionalId};
    use proptest::prelude::*;

    use super::*;
    use crate::convert::test_support::{decode_response, text, through_wire, tp};
    use crate::convert::{from_core, ClusterInfo, Converted};
    use crate::request::RequestBody;

    fn partition(index: i32, records: Option<&[u8]>) -> produce_request::PartitionProduceData {
        produce_request::PartitionProduceData::default()
            .with_index(index)
            .with_records(records.map(Bytes::copy_from_slice))
    }

    fn topic(
        name: &'static str,
        partitions: Vec<produce_request::PartitionProduceData>,
    ) -> produce_request::TopicProduceData {
        produce_request::TopicProduceData::default()
            .with_name(TopicName(text(name)))
            .with_partition_data(partitions)
    }

    fn body(acks: i16, topics: Vec<produce_request::TopicProduceData>) -> RequestBody {
        RequestBody::Produce(
            ProduceRequest::default()
                .with_acks(acks)
                .with_timeout_ms(1500)
                .with_topic_data(topics),
        )
    }

    /// The records reach core as a slice of the request frame, not a copy of it.
    #[test]
    fn records_stay_in_the_request_frame() {
        for version in [3, 8, 9, 11] {
            let request = body(1, vec![topic("orders", vec![partition(0, Some(&[5; 90]))])]);
            let frame = crate::samples::request_frame(7, None, version, &request);
            let decoded = crate::request::decode_request(frame.clone()).unwrap();
            let converted = crate::convert::to_core(&decoded.body, version).unwrap();
            let api::Request::Produce(produce) = &converted.request else {
                panic!("v{version}: {:?}", converted.request)
            };
            let records = &produce.partitions[0].1;
            assert_eq!(&records[..], &[5; 90][..]);
            let inside = frame.as_ptr_range();
            assert!(
                inside.contains(&records.as_ptr()),
                "v{version}: the records were copied out of the frame"
            );
        }
    }

    #[test]
    fn every_version_converts_batches_by_partition() {
        for version in 3..=11 {
            let request = body(
                -1,
                vec![
                    topic(
                        "orders",
                        vec![partition(0, Some(&[1; 70])), partition(2, Some(&[2; 9]))],
                    ),
                    topic("payments", vec![partition(1, Some(&[3; 61]))]),
                ],
            );
            let converted = through_wire(request, version).unwrap();
            let expected = api::ProduceRequest {
                acks: -1,
                timeout_ms: 1500,
                partitions: vec![
                    (tp("orders", 0), vec![1; 70].into()),
                    (tp("orders", 2), vec![2; 9].into()),
                    (tp("payments", 1), vec![3; 61].into()),
                ],
            };
            assert_eq!(
                converted.request,
                api::Request::Produce(expected),
                "v{version}"
            );
            assert!(converted.context.answered.is_empty());
            assert_eq!(converted.context.api_version, version);
        }
    }

    #[test]
    fn null_and_empty_records_are_invalid_records() {
        for version in [3, 8, 9, 11] {
            let request = body(
                1,
                vec![topic(
                    "orders",
                    vec![
                        partition(0, None),
                        partition(1, Some(&[])),
                        partition(2, Some(&[7])),
                    ],
                )],
            );
            let converted = through_wire(request, version).unwrap();
            let api::Request::Produce(produce) = &converted.request else {
                panic!("{:?}", converted.request);
            };
            assert_eq!(produce.partitions, vec![(tp("orders", 2), vec![7].into())]);
            assert_eq!(
                converted.context.answered,
                vec![
                    (tp("orders", 0), ErrorCode::InvalidRecord),
                    (tp("orders", 1), ErrorCode::InvalidRecord),
                ]
            );
        }
    }

    #[test]
    fn a_partition_named_twice_is_refused_every_time() {
        let request = body(
            1,
            vec![
                topic(
                    "orders",
                    vec![partition(0, Some(&[1])), partition(1, Some(&[2]))],
                ),
                topic("orders", vec![partition(0, Some(&[3]))]),
            ],
        );
        let converted = through_wire(request, 9).unwrap();
        let api::Request::Produce(produce) = &converted.request else {
            panic!("{:?}", converted.request);
        };
        assert_eq!(produce.partitions, vec![(tp("orders", 1), vec![2].into())]);
        assert_eq!(
            converted.context.answered,
            vec![
                (tp("orders", 0), ErrorCode::InvalidRequest),
                (tp("orders", 0), ErrorCode::InvalidRequest),
            ]
        );
    }

    #[test]
    fn negative_partitions_go_to_the_broker() {
        let request = body(1, vec![topic("orders", vec![partition(-1, Some(&[1]))])]);
        let converted = through_wire(request, 7).unwrap();
        let api::Request::Produce(produce) = &converted.request else {
            panic!("{:?}", converted.request);
        };
        assert_eq!(produce.partitions, vec![(tp("orders", -1), vec![1].into())]);
    }

    #[test]
    fn bad_acks_and_transactional_ids_refuse_the_request() {
        for acks in [2, -2, i16::MAX] {
            let request = body(acks, vec![topic("orders", vec![partition(0, Some(&[1]))])]);
            let error = through_wire(request, 5).unwrap_err();
            assert_eq!(error, ConvertError::InvalidRequiredAcks { acks });
            assert_eq!(error.error_code(), Some(ErrorCode::InvalidRequiredAcks));
        }
        let RequestBody::Produce(produce) =
            body(-1, vec![topic("orders", vec![partition(0, Some(&[1]))])])
        else {
            unreachable!()
        };
        let transactional = produce.with_transactional_id(Some(TransactionalId(text("txn-1"))));
        let error = through_wire(RequestBody::Produce(transactional), 11).unwrap_err();
        assert_eq!(
            error,
            ConvertError::TransactionalProduce {
                transactional_id: "txn-1".into()
            }
        );
        assert_eq!(
            error.error_code(),
            Some(ErrorCode::TransactionalIdAuthorizationFailed)
        );
    }

    fn answer(topic: &str, partition: i32, base_offset: i64) -> ProducePartitionResponse {
        ProducePartitionResponse {
            partition: tp(topic, partition),
            error: ErrorCode::None,
            base_offset,
            log_append_time_ms: -1,
            log_start_offset: 4,
        }
    }

    #[test]
    fn responses_at_every_version_decode_as_a_client_reads_them() {
        for version in 3..=11 {
            let mut context = crate::convert::ResponseContext::new(ApiKey::Produce, version);
            context.answered = vec![(tp("orders", 9), ErrorCode::InvalidRecord)];
            let core = api::ProduceResponse {
                partitions: vec![
                    answer("orders", 0, 100),
                    answer("payments", 1, 7),
                    ProducePartitionResponse::error(
                        tp("orders", 2),
                        ErrorCode::NotLeaderOrFollower,
                    ),
                ],
            };
            let body = from_core(
                api::Response::Produce(core),
                &context,
                &ClusterInfo::default(),
            )
            .unwrap();
            let decoded: ProduceResponse = decode_response(&body, version);
            assert_eq!(decoded.throttle_time_ms, 0);
            assert_eq!(decoded.responses.len(), 2, "v{version}");
            let orders = &decoded.responses[0];
            assert_eq!(&*orders.name.0, "orders");
            let summary: Vec<(i32, i16, i64, i64)> = orders
                .partition_responses
                .iter()
                .map(|p| (p.index, p.error_code, p.base_offset, p.log_start_offset))
                .collect();
            // log_start_offset exists from v5; a client reading v3 or v4 sees the default.
            let start = if version >= 5 { 4 } else { -1 };
            assert_eq!(
                summary,
                vec![(0, 0, 100, start), (2, 6, -1, -1), (9, 87, -1, -1)],
                "v{version}"
            );
            assert_eq!(&*decoded.responses[1].name.0, "payments");
            assert_eq!(decoded.responses[1].partition_responses[0].base_offset, 7);
            assert!(orders.partition_responses[0].error_message.is_none());
            assert!(orders.partition_responses[0].record_errors.is_empty());
        }
    }

    proptest! {
        /// Whatever partitions and records a client sends, every partition ends up either in
        /// the broker's request or refused here, exactly once per occurrence, and nothing
        /// panics.
        #[test]
        fn every_partition_is_served_or_answered(
            entries in proptest::collection::vec(
                (0usize..3, -2i32..4, proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4))),
                0..12,
            ),
            version in 3i16..=11,
        ) {
            let names = ["a", "b", "c"];
            let topics = entries
                .iter()
                .map(|(name, index, records)| topic(names[*name], vec![partition(*index, records.as_deref())]))
                .collect();
            let Converted { request, context } = through_wire(body(1, topics), version).unwrap();
            let api::Request::Produce(produce) = request else { panic!() };
            prop_assert_eq!(produce.partitions.len() + context.answered.len(), entries.len());
        }
    }
}
