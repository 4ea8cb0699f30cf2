//! The client's direction: core's requests as kafka-protocol bodies, and the broker's answers
//! back as core's responses. The `sluice` tools drive core's sans-IO producer and consumer
//! through these, so a tool speaks exactly the protocol real clients do; admin requests
//! ([`api::AdminRequest`]) go the same way (what each admin version carries is in the `admin`
//! submodule's notes, summed up at [`request_to_kafka`]).
//!
//! Requests are built at the version the caller negotiated (the highest both sides serve);
//! every field a version lacks keeps kafka-protocol's default. Answers keep what core's types
//! carry; an error code core does not name becomes UNKNOWN_SERVER_ERROR. Metadata and
//! DescribeCluster answers also give the brokers' addresses, which core's
//! [`api::MetadataResponse`] and [`api::AdminResponse::DescribeCluster`] leave to the driver.

use kafka_protocol::messages::{
    fetch_request, list_offsets_request, metadata_request, offset_for_leader_epoch_request,
    produce_request, ApiKey, BrokerId, FetchRequest, InitProducerIdRequest, ListOffsetsRequest,
    MetadataRequest, OffsetForLeaderEpochRequest, ProduceRequest, ProducerId, TopicName,
    TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use sluice_core::api::{
    self, EpochEndOffset, ErrorCode, FetchPartitionResponse, IsolationLevel, ListedOffset,
    PartitionMetadata, ProducePartitionResponse, Request, Response, TopicMetadata, TopicPartition,
};

use super::grouping::group_by_topic;
use crate::request::RequestBody;
use crate::response::ResponseBody;

mod admin;
#[cfg(test)]
mod admin_tests;
mod group;
mod group_answers;
#[cfg(test)]
mod group_tests;

/// A broker as a Metadata answer names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddress {
    /// Its `node.id`.
    pub id: i32,
    /// Host clients connect to.
    pub host: String,
    /// Port clients connect to.
    pub port: u16,
}

/// A broker's answer in core's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The response.
    pub response: Response,
    /// The brokers a Metadata or DescribeCluster answer named (empty for other APIs).
    pub brokers: Vec<BrokerAddress>,
}

/// Why an answer cannot be read into core's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundError {
    /// The answer is for another API than the request.
    WrongApi,
    /// A field is out of its range (a negative port, a topic without a name).
    Invalid(&'static str),
}

impl std::fmt::Display for OutboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutboundError::WrongApi => write!(f, "the answer is to another API"),
            OutboundError::Invalid(what) => write!(f, "invalid answer: {what}"),
        }
    }
}

impl std::error::Error for OutboundError {}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

fn error(code: i16) -> ErrorCode {
    ErrorCode::from_code(code).unwrap_or(ErrorCode::UnknownServerError)
}

/// `request` as kafka-protocol's body at `version` (a version [`crate::versions`] serves for
/// [`api_key_of`]`(&request)`). It takes the request by value so that a Produce's batches move
/// into the body uncopied.
///
/// Every admin request can be expressed but one: an AlterConfigs that is not incremental can only
/// set configs (a DELETE goes as a null value), so one with an APPEND or SUBTRACT gives
/// `None`; send it incremental instead. Fields a version lacks are left out, so a client must
/// not rely on them at those versions (the admin ones):
/// - DescribeConfigs v1–2: `include_documentation` (v3+).
/// - DescribeCluster v0: `endpoint_type` (v1+); v0 asks for brokers (1).
///
/// Admin requests with a timeout (CreateTopics, DeleteTopics, CreatePartitions,
/// DeleteRecords) ask for 30 s, since core's requests carry none.
///
/// A group request is not built (`None`) where its version would change what it asks:
/// FindCoordinator with other than one key before v4 (or a transactional id at v0),
/// LeaveGroup with other than one member before v3, OffsetFetch with other than one group
/// before v8 (or for every partition at v1), and ListGroups with a state filter before v4.
pub fn request_to_kafka(request: Request, version: i16) -> Option<RequestBody> {
    let body = match request {
        Request::Produce(request) => RequestBody::Produce(produce(request)),
        Request::Fetch(request) => RequestBody::Fetch(fetch(&request, version)),
        Request::ListOffsets(request) => RequestBody::ListOffsets(list_offsets(&request)),
        Request::Metadata(request) => RequestBody::Metadata(metadata(&request, version)),
        Request::OffsetForLeaderEpoch(request) => {
            RequestBody::OffsetForLeaderEpoch(offset_for_leader_epoch(&request))
        }
        Request::InitProducerId(request) => {
            RequestBody::InitProducerId(init_producer_id(&request, version))
        }
        Request::Admin(request) => return admin::request(request, version),
        Request::Group(request) => return group::request(request, version),
    };
    Some(body)
}

fn init_producer_id(request: &api::InitProducerIdRequest, version: i16) -> InitProducerIdRequest {
    let body = InitProducerIdRequest::default()
        .with_transactional_id(
            request
                .transactional_id
                .as_ref()
                .map(|id| TransactionalId(StrBytes::from_string(id.clone()))),
        )
        .with_transaction_timeout_ms(request.transaction_timeout_ms);
    // The producer's current id and epoch travel from v3 (KIP-360).
    match version >= 3 {
        true => body
            .with_producer_id(ProducerId(request.producer_id))
            .with_producer_epoch(request.producer_epoch),
        false => body,
    }
}

/// The API of a core request.
pub fn api_key_of(request: &Request) -> ApiKey {
    match request {
        Request::Produce(_) => ApiKey::Produce,
        Request::Fetch(_) => ApiKey::Fetch,
        Request::ListOffsets(_) => ApiKey::ListOffsets,
        Request::Metadata(_) => ApiKey::Metadata,
        Request::OffsetForLeaderEpoch(_) => ApiKey::OffsetForLeaderEpoch,
        Request::InitProducerId(_) => ApiKey::InitProducerId,
        Request::Admin(request) => match request {
            api::AdminRequest::CreateTopics(_) => ApiKey::CreateTopics,
            api::AdminRequest::DeleteTopics(_) => ApiKey::DeleteTopics,
            api::AdminRequest::CreatePartitions(_) => ApiKey::CreatePartitions,
            api::AdminRequest::DescribeConfigs(_) => ApiKey::DescribeConfigs,
            api::AdminRequest::AlterConfigs(alter) if alter.incremental => {
                ApiKey::IncrementalAlterConfigs
            }
            api::AdminRequest::AlterConfigs(_) => ApiKey::AlterConfigs,
            api::AdminRequest::DeleteRecords(_) => ApiKey::DeleteRecords,
            api::AdminRequest::DescribeCluster { .. } => ApiKey::DescribeCluster,
        },
        Request::Group(request) => match request {
            api::GroupRequest::FindCoordinator(_) => ApiKey::FindCoordinator,
            api::GroupRequest::JoinGroup(_) => ApiKey::JoinGroup,
            api::GroupRequest::Heartbeat(_) => ApiKey::Heartbeat,
            api::GroupRequest::LeaveGroup(_) => ApiKey::LeaveGroup,
            api::GroupRequest::SyncGroup(_) => ApiKey::SyncGroup,
            api::GroupRequest::OffsetCommit(_) => ApiKey::OffsetCommit,
            api::GroupRequest::OffsetFetch(_) => ApiKey::OffsetFetch,
            api::GroupRequest::DescribeGroups(_) => ApiKey::DescribeGroups,
            api::GroupRequest::ListGroups(_) => ApiKey::ListGroups,
            api::GroupRequest::DeleteGroups(_) => ApiKey::DeleteGroups,
            api::GroupRequest::OffsetDelete(_) => ApiKey::OffsetDelete,
        },
    }
}

fn produce(request: api::ProduceRequest) -> ProduceRequest {
    let topics = group_by_topic(request.partitions, |(tp, _)| &tp.topic)
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(tp, records)| {
                    produce_request::PartitionProduceData::default()
                        .with_index(tp.partition)
                        .with_records(Some(records))
                })
                .collect();
            produce_request::TopicProduceData::default()
                .with_name(topic_name(&topic))
                .with_partition_data(partitions)
        })
        .collect();
    ProduceRequest::default()
        .with_acks(request.acks)
        .with_timeout_ms(request.timeout_ms)
        .with_topic_data(topics)
}

fn isolation_byte(level: IsolationLevel) -> i8 {
    match level {
        IsolationLevel::ReadUncommitted => 0,
        IsolationLevel::ReadCommitted => 1,
    }
}

fn fetch(request: &api::FetchRequest, version: i16) -> FetchRequest {
    let topics = group_by_topic(request.partitions.iter().collect(), |p| &p.partition.topic)
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|p| {
                    let partition = fetch_request::FetchPartition::default()
                        .with_partition(p.partition.partition)
                        .with_fetch_offset(p.fetch_offset)
                        .with_partition_max_bytes(p.partition_max_bytes);
                    let partition = match version >= 5 {
                        true => partition.with_log_start_offset(p.log_start_offset),
                        false => partition,
                    };
                    match version >= 9 {
                        true => partition
                            .with_current_leader_epoch(p.current_leader_epoch.unwrap_or(-1)),
                        false => partition,
                    }
                })
                .collect();
            fetch_request::FetchTopic::default()
                .with_topic(topic_name(&topic))
                .with_partitions(partitions)
        })
        .collect();
    let body = FetchRequest::default()
        .with_replica_id(BrokerId(request.replica_id))
        .with_max_wait_ms(request.max_wait_ms)
        .with_min_bytes(request.min_bytes)
        .with_max_bytes(request.max_bytes)
        .with_isolation_level(isolation_byte(request.isolation_level))
        .with_topics(topics);
    // Sessionless (KIP-227): epoch -1 asks for no session.
    match version >= 7 {
        true => body.with_session_id(0).with_session_epoch(-1),
        false => body,
    }
}

fn list_offsets(request: &api::ListOffsetsRequest) -> ListOffsetsRequest {
    let topics = group_by_topic(request.partitions.iter().collect(), |p| &p.partition.topic)
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|p| {
                    list_offsets_request::ListOffsetsPartition::default()
                        .with_partition_index(p.partition.partition)
                        .with_timestamp(p.timestamp)
                        .with_current_leader_epoch(p.current_leader_epoch.unwrap_or(-1))
                })
                .collect();
            list_offsets_request::ListOffsetsTopic::default()
                .with_name(topic_name(&topic))
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsRequest::default()
        .with_replica_id(BrokerId(request.replica_id))
        .with_isolation_level(isolation_byte(request.isolation_level))
        .with_topics(topics)
}

fn metadata(request: &api::MetadataRequest, version: i16) -> MetadataRequest {
    let topics = request.topics.as_ref().map(|names| {
        names
            .iter()
            .map(|name| {
                metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name(name)))
            })
            .collect()
    });
    let body = MetadataRequest::default().with_topics(topics);
    match version >= 4 {
        true => body.with_allow_auto_topic_creation(request.allow_auto_topic_creation),
        false => body,
    }
}

fn offset_for_leader_epoch(
    request: &api::OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochRequest {
    let topics = group_by_topic(request.partitions.iter().collect(), |p| &p.partition.topic)
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|p| {
                    offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                        .with_partition(p.partition.partition)
                        .with_current_leader_epoch(p.current_leader_epoch.unwrap_or(-1))
                        .with_leader_epoch(p.leader_epoch)
                })
                .collect();
            offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                .with_topic(topic_name(&topic))
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(request.replica_id))
        .with_topics(topics)
}

fn tp(topic: &TopicName, partition: i32) -> TopicPartition {
    TopicPartition {
        topic: topic.0.to_string(),
        partition,
    }
}

/// The broker's `body` to a request of `api_key`, in core's terms. Admin answers become
/// [`Response::Admin`]; an (Incremental)AlterConfigs answer is
/// [`api::AdminResponse::AlterConfigs`] either way.
pub fn response_to_core(api_key: ApiKey, body: ResponseBody) -> Result<Answer, OutboundError> {
    let plain = |response| Answer {
        response,
        brokers: Vec::new(),
    };
    match (api_key, body) {
        (ApiKey::Produce, ResponseBody::Produce(body)) => {
            let partitions = body
                .responses
                .iter()
                .flat_map(|topic| {
                    topic
                        .partition_responses
                        .iter()
                        .map(|p| ProducePartitionResponse {
                            partition: tp(&topic.name, p.index),
                            error: error(p.error_code),
                            base_offset: p.base_offset,
                            log_append_time_ms: p.log_append_time_ms,
                            log_start_offset: p.log_start_offset,
                        })
                })
                .collect();
            Ok(plain(Response::Produce(api::ProduceResponse {
                partitions,
            })))
        }
        (ApiKey::Fetch, ResponseBody::Fetch(body)) => {
            let partitions = body
                .responses
                .into_iter()
                .flat_map(|topic| {
                    let name = topic.topic;
                    topic
                        .partitions
                        .into_iter()
                        .map(move |p| FetchPartitionResponse {
                            partition: tp(&name, p.partition_index),
                            error: error(p.error_code),
                            high_watermark: p.high_watermark,
                            last_stable_offset: p.last_stable_offset,
                            log_start_offset: p.log_start_offset,
                            records: p.records.unwrap_or_default().into(),
                        })
                })
                .collect();
            Ok(plain(Response::Fetch(api::FetchResponse {
                error: error(body.error_code),
                partitions,
            })))
        }
        (ApiKey::ListOffsets, ResponseBody::ListOffsets(body)) => {
            let partitions = body
                .topics
                .iter()
                .flat_map(|topic| {
                    topic.partitions.iter().map(|p| ListedOffset {
                        partition: tp(&topic.name, p.partition_index),
                        error: error(p.error_code),
                        timestamp: p.timestamp,
                        offset: p.offset,
                        leader_epoch: p.leader_epoch,
                    })
                })
                .collect();
            Ok(plain(Response::ListOffsets(api::ListOffsetsResponse {
                partitions,
            })))
        }
        (ApiKey::OffsetForLeaderEpoch, ResponseBody::OffsetForLeaderEpoch(body)) => {
            let partitions = body
                .topics
                .iter()
                .flat_map(|topic| {
                    topic.partitions.iter().map(|p| EpochEndOffset {
                        partition: tp(&topic.topic, p.partition),
                        error: error(p.error_code),
                        leader_epoch: p.leader_epoch,
                        end_offset: p.end_offset,
                    })
                })
                .collect();
            Ok(plain(Response::OffsetForLeaderEpoch(
                api::OffsetForLeaderEpochResponse { partitions },
            )))
        }
        (ApiKey::Metadata, ResponseBody::Metadata(body)) => metadata_answer(body),
        (ApiKey::InitProducerId, ResponseBody::InitProducerId(body)) => Ok(plain(
            Response::InitProducerId(api::InitProducerIdResponse {
                error: error(body.error_code),
                producer_id: body.producer_id.0,
                producer_epoch: body.producer_epoch,
            }),
        )),
        (ApiKey::CreateTopics, ResponseBody::CreateTopics(body)) => {
            Ok(admin::create_topics_answer(body))
        }
        (ApiKey::DeleteTopics, ResponseBody::DeleteTopics(body)) => {
            admin::delete_topics_answer(body)
        }
        (ApiKey::CreatePartitions, ResponseBody::CreatePartitions(body)) => {
            Ok(admin::create_partitions_answer(body))
        }
        (ApiKey::DeleteRecords, ResponseBody::DeleteRecords(body)) => {
            Ok(admin::delete_records_answer(body))
        }
        (ApiKey::DescribeConfigs, ResponseBody::DescribeConfigs(body)) => {
            Ok(admin::describe_configs_answer(body))
        }
        (ApiKey::AlterConfigs, ResponseBody::AlterConfigs(body)) => {
            Ok(admin::alter_configs_answer(body))
        }
        (ApiKey::IncrementalAlterConfigs, ResponseBody::IncrementalAlterConfigs(body)) => {
            Ok(admin::incremental_alter_configs_answer(body))
        }
        (ApiKey::DescribeCluster, ResponseBody::DescribeCluster(body)) => {
            admin::describe_cluster_answer(body)
        }
        (ApiKey::FindCoordinator, ResponseBody::FindCoordinator(body)) => {
            group_answers::find_coordinator(body)
        }
        (ApiKey::JoinGroup, ResponseBody::JoinGroup(body)) => Ok(group_answers::join_group(*body)),
        (ApiKey::SyncGroup, ResponseBody::SyncGroup(body)) => Ok(group_answers::sync_group(body)),
        (ApiKey::Heartbeat, ResponseBody::Heartbeat(body)) => Ok(plain(Response::Group(
            api::GroupResponse::Heartbeat(api::HeartbeatResponse {
                error: error(body.error_code),
            }),
        ))),
        (ApiKey::LeaveGroup, ResponseBody::LeaveGroup(body)) => {
            Ok(group_answers::leave_group(body))
        }
        (ApiKey::OffsetCommit, ResponseBody::OffsetCommit(body)) => {
            Ok(group_answers::offset_commit(body))
        }
        (ApiKey::OffsetFetch, ResponseBody::OffsetFetch(body)) => {
            Ok(group_answers::offset_fetch(body))
        }
        (ApiKey::DescribeGroups, ResponseBody::DescribeGroups(body)) => {
            Ok(group_answers::describe_groups(body))
        }
        (ApiKey::ListGroups, ResponseBody::ListGroups(body)) => {
            Ok(group_answers::list_groups(body))
        }
        (ApiKey::DeleteGroups, ResponseBody::DeleteGroups(body)) => {
            Ok(group_answers::delete_groups(body))
        }
        (ApiKey::OffsetDelete, ResponseBody::OffsetDelete(body)) => {
            Ok(group_answers::offset_delete(body))
        }
        _ => Err(OutboundError::WrongApi),
    }
}

fn metadata_answer(
    body: kafka_protocol::messages::MetadataResponse,
) -> Result<Answer, OutboundError> {
    let mut brokers = Vec::with_capacity(body.brokers.len());
    for broker in &body.brokers {
        let port = u16::try_from(broker.port).map_err(|_| OutboundError::Invalid("broker port"))?;
        brokers.push(BrokerAddress {
            id: broker.node_id.0,
            host: broker.host.to_string(),
            port,
        });
    }
    let mut topics = Vec::with_capacity(body.topics.len());
    for topic in body.topics {
        let name = topic
            .name
            .ok_or(OutboundError::Invalid("a topic without a name"))?;
        let partitions = topic
            .partitions
            .into_iter()
            .map(|p| PartitionMetadata {
                error: error(p.error_code),
                partition: p.partition_index,
                leader: p.leader_id.0,
                leader_epoch: p.leader_epoch,
                replicas: p.replica_nodes.into_iter().map(|id| id.0).collect(),
                isr: p.isr_nodes.into_iter().map(|id| id.0).collect(),
            })
            .collect();
        topics.push(TopicMetadata {
            error: error(topic.error_code),
            name: name.0.to_string(),
            partitions,
        });
    }
    let response = api::MetadataResponse {
        brokers: brokers.iter().map(|broker| broker.id).collect(),
        topics,
    };
    Ok(Answer {
        response: Response::Metadata(response),
        brokers,
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;
    use sluice_core::api::{FetchPartition, ListOffsetsPartition, OffsetForLeaderEpochPartition};

    use super::*;
    use crate::convert::test_support::through_wire;
    use crate::convert::{from_core, ClusterInfo, Converted};
    use crate::response::encode_response_at;

    fn partition(topic: &str, index: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.to_string(),
            partition: index,
        }
    }

    /// Sends `request` as a client at `version`, lets the broker's converter read it back,
    /// and checks it arrives as sent.
    fn round_trip(request: Request, version: i16) -> Converted {
        let converted = through_wire(request_to_kafka(request.clone(), version).unwrap(), version)
            .unwrap_or_else(|error| panic!("v{version}: {error}"));
        assert_eq!(converted.request, request, "v{version}");
        converted
    }

    /// The broker's `response` to `converted` as a client reads it back.
    fn answer(converted: &Converted, response: Response, cluster: &ClusterInfo) -> Answer {
        let body = from_core(response, &converted.context, cluster).unwrap();
        let version = converted.context.api_version;
        let frame = encode_response_at(1, version, &body).unwrap();
        let (_, body) = crate::client::decode_response(
            converted.context.api_key,
            version,
            Bytes::copy_from_slice(&frame[4..]),
        )
        .unwrap();
        response_to_core(converted.context.api_key, body).unwrap()
    }

    #[test]
    fn produce_goes_and_comes_back_at_every_version() {
        let request = Request::Produce(api::ProduceRequest {
            acks: -1,
            timeout_ms: 1500,
            partitions: vec![
                (partition("a", 0), vec![1, 2, 3].into()),
                (partition("b", 2), vec![4].into()),
                (partition("a", 1), vec![5].into()),
            ],
        });
        for version in 3..=11 {
            // Grouped by topic on the wire, so the order within a topic is what survives.
            let sent =
                through_wire(request_to_kafka(request.clone(), version).unwrap(), version).unwrap();
            let Request::Produce(got) = &sent.request else {
                panic!()
            };
            assert_eq!(got.partitions.len(), 3);
            let response = Response::Produce(api::ProduceResponse {
                partitions: vec![ProducePartitionResponse {
                    partition: partition("a", 0),
                    error: ErrorCode::NotLeaderOrFollower,
                    base_offset: 7,
                    log_append_time_ms: -1,
                    log_start_offset: if version >= 5 { 3 } else { -1 },
                }],
            });
            let back = answer(&sent, response.clone(), &ClusterInfo::default());
            assert_eq!(back.response, response, "v{version}");
        }
    }

    #[test]
    fn fetch_list_offsets_and_epochs_survive_the_wire() {
        for version in 9..=12 {
            round_trip(
                Request::Fetch(api::FetchRequest {
                    replica_id: -1,
                    replica_epoch: -1,
                    max_wait_ms: 500,
                    min_bytes: 1,
                    max_bytes: 1 << 20,
                    isolation_level: IsolationLevel::ReadCommitted,
                    partitions: vec![FetchPartition {
                        partition: partition("a", 0),
                        current_leader_epoch: Some(4),
                        fetch_offset: 10,
                        log_start_offset: -1,
                        partition_max_bytes: 4096,
                    }],
                }),
                version,
            );
        }
        for version in 4..=7 {
            round_trip(
                Request::ListOffsets(api::ListOffsetsRequest {
                    replica_id: -1,
                    isolation_level: IsolationLevel::ReadUncommitted,
                    partitions: vec![ListOffsetsPartition {
                        partition: partition("a", 1),
                        current_leader_epoch: Some(2),
                        timestamp: api::EARLIEST_TIMESTAMP,
                    }],
                }),
                version,
            );
        }
        for version in 3..=4 {
            round_trip(
                Request::OffsetForLeaderEpoch(api::OffsetForLeaderEpochRequest {
                    replica_id: -1,
                    partitions: vec![OffsetForLeaderEpochPartition {
                        partition: partition("a", 1),
                        current_leader_epoch: Some(3),
                        leader_epoch: 2,
                    }],
                }),
                version,
            );
        }
    }

    #[test]
    fn init_producer_id_goes_and_comes_back_at_every_version() {
        for version in 0..=4 {
            let mut request = api::InitProducerIdRequest::idempotent();
            request.transaction_timeout_ms = 60_000;
            let sent = round_trip(Request::InitProducerId(request), version);
            let response = Response::InitProducerId(api::InitProducerIdResponse::fresh(4000));
            let back = answer(&sent, response.clone(), &ClusterInfo::default());
            assert_eq!(back.response, response, "v{version}");
        }
    }

    #[test]
    fn metadata_answers_name_the_brokers_addresses() {
        let request = Request::Metadata(api::MetadataRequest {
            topics: Some(vec!["a".to_string()]),
            allow_auto_topic_creation: true,
        });
        let sent = round_trip(request, 12);
        let mut cluster = ClusterInfo::default();
        cluster.brokers.insert(
            1,
            crate::convert::BrokerEndpoint {
                host: "h1".to_string(),
                port: 9092,
                rack: None,
            },
        );
        let response = Response::Metadata(api::MetadataResponse {
            brokers: vec![1],
            topics: vec![TopicMetadata {
                error: ErrorCode::None,
                name: "a".to_string(),
                partitions: vec![PartitionMetadata {
                    error: ErrorCode::None,
                    partition: 0,
                    leader: 1,
                    leader_epoch: 3,
                    replicas: vec![1],
                    isr: vec![1],
                }],
            }],
        });
        let back = answer(&sent, response.clone(), &cluster);
        assert_eq!(back.response, response);
        assert_eq!(
            back.brokers,
            vec![BrokerAddress {
                id: 1,
                host: "h1".to_string(),
                port: 9092
            }]
        );
    }

    proptest! {
        #[test]
        fn every_fetch_partition_survives(
            offsets in proptest::collection::vec((0i32..4, 0i64..1_000_000, 1i32..1 << 20), 1..8),
            version in 4i16..=12,
        ) {
            let mut seen = std::collections::BTreeSet::new();
            let partitions: Vec<FetchPartition> = offsets
                .into_iter()
                .filter(|(index, _, _)| seen.insert(*index))
                .map(|(index, offset, max)| FetchPartition {
                    partition: partition("t", index),
                    current_leader_epoch: if version >= 9 { Some(1) } else { None },
                    fetch_offset: offset,
                    log_start_offset: if version >= 5 { 0 } else { -1 },
                    partition_max_bytes: max,
                })
                .collect();
            round_trip(Request::Fetch(api::FetchRequest {
                replica_id: -1,
                replica_epoch: -1,
                max_wait_ms: 100,
                min_bytes: 1,
                max_bytes: 1 << 24,
                isolation_level: IsolationLevel::ReadUncommitted,
                partitions,
            }), version);
        }
    }
}
