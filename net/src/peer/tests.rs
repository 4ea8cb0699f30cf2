use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use sluice_core::api::{
    self as api, EpochEndOffset, FetchPartition, FetchPartitionResponse, FetchRecords,
    FetchRequest, FetchResponse, FileRange, IsolationLevel, OffsetForLeaderEpochPartition,
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, Request, Response, TopicPartition,
};
use sluice_core::broker::{ControllerRequest, ControllerResponse, NodeId, NodeMessage};
use sluice_core::controller::{
    AlterPartitionRequest, ControllerError, CreateTopicRequest, CreatedTopic, HeartbeatReply,
    HeartbeatRequest, LeaderRecoveryState, Listener, PartitionReply, RegisterBrokerRequest, Uuid,
};
use sluice_core::raft::{AppendOutcome, CommittedRead, Entry, Message};

use super::controller::CONTROLLER_ERRORS;
use super::*;
use crate::frame::FrameDecoder;

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._é-]{0,12}"
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..40)
}

fn entries() -> impl Strategy<Value = Vec<Entry>> {
    vec(
        (any::<u64>(), any::<u64>(), data()).prop_map(|(term, index, data)| Entry {
            term,
            index,
            data,
        }),
        0..4,
    )
}

fn raft() -> impl Strategy<Value = Message> {
    let outcome = prop_oneof![
        any::<u64>().prop_map(|match_index| AppendOutcome::Success { match_index }),
        (any::<u64>(), option::of(any::<u64>()), any::<u64>()).prop_map(|(p, c, f)| {
            AppendOutcome::Conflict {
                prev_index: p,
                conflict_term: c,
                first_index: f,
            }
        }),
        Just(AppendOutcome::StaleTerm),
    ];
    prop_oneof![
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(term, i, t)| Message::PreVote {
            term,
            last_log_index: i,
            last_log_term: t,
        }),
        (any::<u64>(), any::<bool>())
            .prop_map(|(term, granted)| Message::PreVoteResponse { term, granted }),
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(term, i, t)| {
            Message::RequestVote {
                term,
                last_log_index: i,
                last_log_term: t,
            }
        }),
        (any::<u64>(), any::<bool>())
            .prop_map(|(term, granted)| Message::RequestVoteResponse { term, granted }),
        (
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            entries(),
            any::<u64>()
        )
            .prop_map(|(term, prev_index, prev_term, entries, commit)| {
                Message::AppendEntries {
                    term,
                    prev_index,
                    prev_term,
                    entries,
                    commit,
                }
            }),
        (any::<u64>(), outcome)
            .prop_map(|(term, outcome)| Message::AppendEntriesResponse { term, outcome }),
        (any::<u64>(), any::<u64>()).prop_map(|(term, commit)| Message::Heartbeat { term, commit }),
        any::<u64>().prop_map(|term| Message::HeartbeatResponse { term }),
        (any::<u64>(), any::<u64>(), any::<u64>(), data()).prop_map(
            |(term, index, snapshot_term, data)| Message::InstallSnapshot {
                term,
                index,
                snapshot_term,
                data,
            }
        ),
        (any::<u64>(), any::<u64>()).prop_map(|(term, match_index)| {
            Message::InstallSnapshotResponse { term, match_index }
        }),
    ]
}

fn recovery() -> impl Strategy<Value = LeaderRecoveryState> {
    prop_oneof![
        Just(LeaderRecoveryState::Recovered),
        Just(LeaderRecoveryState::Recovering)
    ]
}

fn controller_request() -> impl Strategy<Value = ControllerRequest> {
    let listener =
        (text(), text(), any::<u16>()).prop_map(|(name, host, port)| Listener { name, host, port });
    prop_oneof![
        (
            any::<i32>(),
            any::<u128>(),
            vec(listener, 0..3),
            option::of(text()),
            any::<i64>()
        )
            .prop_map(|(broker_id, incarnation, listeners, rack, previous)| {
                ControllerRequest::Register(RegisterBrokerRequest {
                    broker_id,
                    incarnation_id: Uuid(incarnation),
                    listeners,
                    rack,
                    previous_broker_epoch: previous,
                })
            }),
        (any::<i32>(), any::<i64>(), any::<[bool; 3]>()).prop_map(|(id, epoch, flags)| {
            ControllerRequest::Heartbeat(HeartbeatRequest {
                broker_id: id,
                broker_epoch: epoch,
                caught_up: flags[0],
                want_fence: flags[1],
                want_shutdown: flags[2],
            })
        }),
        (
            text(),
            any::<i32>(),
            any::<i16>(),
            option::of(any::<bool>())
        )
            .prop_map(|(name, partitions, replication_factor, unclean)| {
                ControllerRequest::CreateTopic(CreateTopicRequest {
                    name,
                    partitions,
                    replication_factor,
                    unclean_leader_election_enable: unclean,
                })
            }),
        (
            (any::<i32>(), any::<i64>(), any::<u128>(), any::<i32>()),
            (
                any::<i32>(),
                any::<i32>(),
                vec(any::<i32>(), 0..4),
                recovery()
            )
        )
            .prop_map(|((broker_id, broker_epoch, topic, partition), rest)| {
                let (leader_epoch, partition_epoch, new_isr, leader_recovery) = rest;
                ControllerRequest::AlterPartition(AlterPartitionRequest {
                    broker_id,
                    broker_epoch,
                    topic_id: Uuid(topic),
                    partition,
                    leader_epoch,
                    partition_epoch,
                    new_isr,
                    leader_recovery,
                })
            }),
        any::<u64>().prop_map(|from_index| ControllerRequest::MetadataFetch { from_index }),
        (any::<i32>(), any::<i64>()).prop_map(|(broker_id, broker_epoch)| {
            ControllerRequest::AllocateProducerIds {
                broker_id,
                broker_epoch,
            }
        }),
        admin_request().prop_map(ControllerRequest::Admin),
    ]
}

fn resource() -> impl Strategy<Value = api::ConfigResource> {
    (any::<i8>(), text()).prop_map(|(resource_type, name)| api::ConfigResource {
        resource_type,
        name,
    })
}

fn admin_request() -> impl Strategy<Value = api::AdminRequest> {
    let topic = (
        text(),
        any::<i32>(),
        any::<i16>(),
        vec((any::<i32>(), vec(any::<i32>(), 0..3)), 0..3),
        vec((text(), option::of(text())), 0..3),
    )
        .prop_map(
            |(name, num_partitions, replication_factor, assignments, configs)| {
                api::CreatableTopic {
                    name,
                    num_partitions,
                    replication_factor,
                    assignments,
                    configs,
                }
            },
        );
    let new_partitions = (
        text(),
        any::<i32>(),
        option::of(vec(vec(any::<i32>(), 0..3), 0..3)),
    )
        .prop_map(|(topic, count, assignments)| api::NewPartitions {
            topic,
            count,
            assignments,
        });
    let op = prop_oneof![
        Just(api::AlterConfigOp::Set),
        Just(api::AlterConfigOp::Delete),
        Just(api::AlterConfigOp::Append),
        Just(api::AlterConfigOp::Subtract),
    ];
    let alter = (resource(), vec((text(), op, option::of(text())), 0..3))
        .prop_map(|(resource, ops)| api::AlterConfigsResource { resource, ops });
    prop_oneof![
        (vec(topic, 0..3), any::<bool>()).prop_map(|(topics, validate_only)| {
            api::AdminRequest::CreateTopics(api::CreateTopicsRequest {
                topics,
                validate_only,
            })
        }),
        vec(text(), 0..3)
            .prop_map(|names| api::AdminRequest::DeleteTopics(api::DeleteTopicsRequest { names })),
        (vec(new_partitions, 0..3), any::<bool>()).prop_map(|(topics, validate_only)| {
            api::AdminRequest::CreatePartitions(api::CreatePartitionsRequest {
                topics,
                validate_only,
            })
        }),
        (vec(alter, 0..3), any::<bool>(), any::<bool>()).prop_map(
            |(resources, validate_only, incremental)| {
                api::AdminRequest::AlterConfigs(api::AlterConfigsRequest {
                    resources,
                    validate_only,
                    incremental,
                })
            }
        ),
    ]
}

fn admin_response() -> impl Strategy<Value = api::AdminResponse> {
    let source = prop_oneof![
        Just(api::ConfigSource::DynamicTopic),
        Just(api::ConfigSource::StaticBroker),
        Just(api::ConfigSource::Default),
    ];
    let synonym = (text(), option::of(text()), source.clone()).prop_map(|(name, value, source)| {
        api::ConfigSynonym {
            name,
            value,
            source,
        }
    });
    let config_type = prop_oneof![
        Just(api::ConfigType::Boolean),
        Just(api::ConfigType::String),
        Just(api::ConfigType::Int),
        Just(api::ConfigType::Long),
        Just(api::ConfigType::Double),
        Just(api::ConfigType::List),
    ];
    let described = (
        (text(), option::of(text()), any::<[bool; 2]>(), source),
        (vec(synonym, 0..2), config_type, option::of(text())),
    )
        .prop_map(
            |((name, value, flags, source), (synonyms, config_type, documentation))| {
                api::DescribedConfig {
                    name,
                    value,
                    read_only: flags[0],
                    source,
                    sensitive: flags[1],
                    synonyms,
                    config_type,
                    documentation,
                }
            },
        );
    let created = (
        (text(), any::<u128>(), error_code(), option::of(text())),
        (any::<i32>(), any::<i16>(), vec(described, 0..2)),
    )
        .prop_map(
            |((name, id, error, message), (num_partitions, replication_factor, configs))| {
                api::CreateTopicResult {
                    name,
                    topic_id: Uuid(id),
                    error,
                    message,
                    num_partitions,
                    replication_factor,
                    configs,
                }
            },
        );
    let deleted = (text(), any::<u128>(), error_code()).prop_map(|(name, id, error)| {
        api::DeleteTopicResult {
            name,
            topic_id: Uuid(id),
            error,
        }
    });
    let topic_error =
        (text(), error_code(), option::of(text())).prop_map(|(name, error, message)| {
            api::TopicError {
                name,
                error,
                message,
            }
        });
    let altered =
        (resource(), error_code(), option::of(text())).prop_map(|(resource, error, message)| {
            api::AlterConfigsResult {
                resource,
                error,
                message,
            }
        });
    prop_oneof![
        vec(created, 0..3).prop_map(api::AdminResponse::CreateTopics),
        vec(deleted, 0..3).prop_map(api::AdminResponse::DeleteTopics),
        vec(topic_error, 0..3).prop_map(api::AdminResponse::CreatePartitions),
        vec(altered, 0..3).prop_map(api::AdminResponse::AlterConfigs),
    ]
}

fn refusal() -> impl Strategy<Value = ControllerError> {
    proptest::sample::select(CONTROLLER_ERRORS)
}

fn result<T: core::fmt::Debug>(
    ok: impl Strategy<Value = T>,
) -> impl Strategy<Value = Result<T, ControllerError>> {
    prop_oneof![ok.prop_map(Ok), refusal().prop_map(Err)]
}

fn controller_response() -> impl Strategy<Value = ControllerResponse> {
    let read = prop_oneof![
        (entries(), any::<u64>())
            .prop_map(|(entries, commit)| CommittedRead::Entries { entries, commit }),
        (any::<u64>(), any::<u64>(), data())
            .prop_map(|(index, term, data)| CommittedRead::Snapshot { index, term, data }),
        any::<u64>().prop_map(|commit| CommittedRead::UpToDate { commit }),
    ];
    prop_oneof![
        result(any::<i64>()).prop_map(ControllerResponse::Registered),
        result(any::<[bool; 3]>().prop_map(|flags| HeartbeatReply {
            is_caught_up: flags[0],
            is_fenced: flags[1],
            should_shut_down: flags[2],
        }))
        .prop_map(ControllerResponse::Heartbeat),
        result(
            (any::<u128>(), any::<i32>()).prop_map(|(id, partitions)| CreatedTopic {
                topic_id: Uuid(id),
                partitions,
            })
        )
        .prop_map(ControllerResponse::TopicCreated),
        result(
            (
                any::<i32>(),
                any::<i32>(),
                vec(any::<i32>(), 0..4),
                any::<i32>(),
                recovery()
            )
                .prop_map(|(leader, leader_epoch, isr, partition_epoch, recovery)| {
                    PartitionReply {
                        leader,
                        leader_epoch,
                        isr,
                        partition_epoch,
                        leader_recovery: recovery,
                    }
                })
        )
        .prop_map(ControllerResponse::AlterPartition),
        read.prop_map(ControllerResponse::Metadata),
        admin_response().prop_map(ControllerResponse::Admin),
        result(any::<(i64, i64)>()).prop_map(ControllerResponse::ProducerIds),
    ]
}

fn partition() -> impl Strategy<Value = TopicPartition> {
    (text(), any::<i32>()).prop_map(|(topic, partition)| TopicPartition { topic, partition })
}

fn error_code() -> impl Strategy<Value = sluice_core::api::ErrorCode> {
    proptest::sample::select(&sluice_core::api::ErrorCode::ALL[..])
}

fn replica_request() -> impl Strategy<Value = Request> {
    let fetch_partition = (
        partition(),
        option::of(any::<i32>()),
        any::<i64>(),
        any::<i64>(),
        any::<i32>(),
    )
        .prop_map(|(partition, epoch, offset, start, max)| FetchPartition {
            partition,
            current_leader_epoch: epoch,
            fetch_offset: offset,
            log_start_offset: start,
            partition_max_bytes: max,
        });
    let epoch_partition = (partition(), option::of(any::<i32>()), any::<i32>()).prop_map(
        |(partition, current, epoch)| OffsetForLeaderEpochPartition {
            partition,
            current_leader_epoch: current,
            leader_epoch: epoch,
        },
    );
    prop_oneof![
        (
            (any::<i32>(), any::<i64>(), any::<i32>()),
            (any::<i32>(), any::<i32>(), any::<bool>()),
            vec(fetch_partition, 0..3)
        )
            .prop_map(|((replica_id, replica_epoch, wait), rest, partitions)| {
                let (min_bytes, max_bytes, committed) = rest;
                Request::Fetch(FetchRequest {
                    replica_id,
                    replica_epoch,
                    max_wait_ms: wait,
                    min_bytes,
                    max_bytes,
                    isolation_level: match committed {
                        true => IsolationLevel::ReadCommitted,
                        false => IsolationLevel::ReadUncommitted,
                    },
                    partitions,
                })
            }),
        (any::<i32>(), vec(epoch_partition, 0..3)).prop_map(|(replica_id, partitions)| {
            Request::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest {
                replica_id,
                partitions,
            })
        }),
    ]
}

fn replica_response() -> impl Strategy<Value = Response> {
    let fetched = (partition(), error_code(), any::<[i64; 3]>(), data()).prop_map(
        |(partition, error, offsets, records)| FetchPartitionResponse {
            partition,
            error,
            high_watermark: offsets[0],
            last_stable_offset: offsets[1],
            log_start_offset: offsets[2],
            records: records.into(),
        },
    );
    let end = (partition(), error_code(), any::<i32>(), any::<i64>()).prop_map(
        |(partition, error, leader_epoch, end_offset)| EpochEndOffset {
            partition,
            error,
            leader_epoch,
            end_offset,
        },
    );
    prop_oneof![
        (error_code(), vec(fetched, 0..3))
            .prop_map(|(error, partitions)| Response::Fetch(FetchResponse { error, partitions })),
        vec(end, 0..3).prop_map(|partitions| {
            Response::OffsetForLeaderEpoch(OffsetForLeaderEpochResponse { partitions })
        }),
    ]
}

fn messages() -> impl Strategy<Value = NodeMessage> {
    prop_oneof![
        raft().prop_map(NodeMessage::Raft),
        (any::<u64>(), controller_request())
            .prop_map(|(id, request)| NodeMessage::ControllerRequest { id, request }),
        (any::<u64>(), controller_response())
            .prop_map(|(id, response)| NodeMessage::ControllerResponse { id, response }),
        (any::<u64>(), replica_request())
            .prop_map(|(id, request)| NodeMessage::ReplicaRequest { id, request }),
        (any::<u64>(), replica_response())
            .prop_map(|(id, response)| NodeMessage::ReplicaResponse { id, response }),
    ]
}

/// A position in a body and the byte to put there.
fn flip() -> impl Strategy<Value = (prop::sample::Index, u8)> {
    (any::<prop::sample::Index>(), any::<u8>())
}

/// The frame's body, checked to be exactly what its size prefix says.
fn body(frame: &[u8]) -> &[u8] {
    let mut decoder = FrameDecoder::new(1 << 20);
    decoder.push(frame);
    let whole = decoder.next_frame().unwrap().expect("one whole frame");
    assert_eq!(whole.len() + 4, frame.len());
    &frame[4..]
}

proptest! {
    #[test]
    fn messages_round_trip(message in messages()) {
        let frame = encode_message(&message).unwrap();
        prop_assert!(!is_hello(body(&frame)));
        prop_assert_eq!(decode_message(body(&frame)).unwrap(), message.clone());
        let shared = bytes::Bytes::copy_from_slice(body(&frame));
        prop_assert_eq!(decode_message_shared(&shared).unwrap(), message);
    }

    #[test]
    fn hellos_round_trip(id in any::<u32>(), names in (text(), text()), port in any::<u16>()) {
        let (cluster_id, host) = names;
        let hello = Hello { node_id: NodeId(id), cluster_id, host, port };
        let frame = encode_hello(&hello).unwrap();
        prop_assert!(is_hello(body(&frame)));
        prop_assert_eq!(decode_hello(body(&frame)).unwrap(), hello);
    }

    #[test]
    fn every_truncation_is_an_error(message in messages()) {
        let frame = encode_message(&message).unwrap();
        let body = body(&frame);
        for len in 0..body.len() {
            let decoded = decode_message(&body[..len]);
            prop_assert!(decoded.is_err(), "decoded {} of {} bytes", len, body.len());
        }
        let mut longer = body.to_vec();
        longer.push(0);
        prop_assert_eq!(decode_message(&longer), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        let _ = decode_message(&bytes);
        let _ = decode_hello(&bytes);
    }

    /// Garbage after a valid type prefix reaches the deeper decoders, which random bytes
    /// alone rarely do.
    #[test]
    fn mutated_messages_never_panic(message in messages(), flips in vec(flip(), 1..4)) {
        let frame = encode_message(&message).unwrap();
        let mut body = body(&frame).to_vec();
        for (at, byte) in flips {
            let at = at.index(body.len());
            body[at] = byte;
        }
        let _ = decode_message(&body);
    }
}

#[test]
fn a_huge_count_is_refused_before_allocating() {
    // AppendEntries claiming u32::MAX entries in a frame of a few bytes.
    let mut body = vec![RAFT, 4];
    body.extend_from_slice(&[0; 24]);
    body.extend_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        decode_message(&body),
        Err(DecodeError::TooLong { what: "entries" })
    );
}

#[test]
fn error_tables_hold_each_code_once() {
    for (index, error) in CONTROLLER_ERRORS.iter().enumerate() {
        assert!(CONTROLLER_ERRORS[..index]
            .iter()
            .all(|e| e.code() != error.code()));
    }
    use sluice_core::api::ErrorCode;
    for (index, error) in ErrorCode::ALL.iter().enumerate() {
        assert!(ErrorCode::ALL[..index]
            .iter()
            .all(|e| e.code() != error.code()));
    }
}

#[test]
fn non_replica_requests_are_not_encoded() {
    let request = Request::Metadata(sluice_core::api::MetadataRequest {
        topics: None,
        allow_auto_topic_creation: false,
    });
    let message = NodeMessage::ReplicaRequest { id: 1, request };
    assert_eq!(
        encode_message(&message),
        Err(EncodeError::NotReplicaTraffic("Metadata"))
    );
}

#[test]
fn a_hello_of_another_version_is_refused() {
    let hello = Hello {
        node_id: NodeId(1),
        cluster_id: "c".into(),
        host: "h".into(),
        port: 1,
    };
    let mut frame = encode_hello(&hello).unwrap();
    frame[4 + HELLO_MAGIC.len()] = PEER_PROTOCOL_VERSION + 1;
    assert_eq!(decode_hello(&frame[4..]), Err(DecodeError::NotAHello));
}

proptest! {
    /// A fetch answer whose records lie in a file is, once its slots are filled from the
    /// file, byte for byte the frame of the same answer holding the bytes.
    #[test]
    fn file_slots_filled_make_the_frame_of_the_bytes(
        id in any::<u64>(),
        response in replica_response(),
        in_file in vec(any::<bool>(), 3),
        padding in 0..64usize,
    ) {
        let whole = NodeMessage::ReplicaResponse { id, response: response.clone() };
        let mut file = vec![0xEE; padding];
        let mut sliced = response;
        if let Response::Fetch(fetch) = &mut sliced {
            for (partition, in_file) in fetch.partitions.iter_mut().zip(&in_file) {
                if *in_file {
                    let range = FileRange {
                        path: "segment".to_string(),
                        position: file.len() as u64,
                        len: partition.records.len() as u32,
                    };
                    file.extend_from_slice(partition.records.bytes());
                    partition.records = FetchRecords::File(range);
                }
            }
        }
        let sliced = NodeMessage::ReplicaResponse { id, response: sliced };
        let frame = encode_message_parts(&sliced).unwrap();
        let mut filled = Vec::new();
        for part in &frame.parts {
            match part {
                FramePart::Bytes(bytes) => filled.extend_from_slice(bytes),
                FramePart::File(index) => {
                    let range = &frame.files[*index];
                    let start = range.position as usize;
                    filled.extend_from_slice(&file[start..start + range.len as usize]);
                }
            }
        }
        prop_assert_eq!(filled.len(), frame.wire_len());
        prop_assert_eq!(&filled, &encode_message(&whole).unwrap());
        let has_files = !frame.files.is_empty();
        prop_assert_eq!(encode_message(&sliced).is_err(), has_files);
    }
}
