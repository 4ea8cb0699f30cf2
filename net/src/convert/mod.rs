//! The one place where kafka-protocol's message types become `sluice-core`'s request and
//! response types ([`sluice_core::api`]) and back.
//!
//! A driver uses it between decoding and encoding:
//!
//! 1. [`decode_request`](crate::request::decode_request) gives a
//!    [`RequestBody`]; [`to_core`] turns a data-plane body (Produce, Fetch, ListOffsets,
//!    Metadata, InitProducerId, OffsetForLeaderEpoch), an admin body ([`ADMIN_APIS`]) or a
//!    consumer-group body ([`GROUP_APIS`]) into a [`Request`] for the broker, plus the
//!    [`ResponseContext`] the answer needs. [`identify_client`] adds what core records of a
//!    JoinGroup's sender, which the driver knows and the body does not say.
//! 2. The broker answers with a [`Response`]; [`from_core`] builds the kafka-protocol body at
//!    the request's version, filling every field that version has, and
//!    [`encode_response`](crate::response::encode_response) frames it.
//!
//! A produce with acks=0 gets no answer at all. That is the driver's call, not this module's:
//! [`expects_response`] tells it, and [`from_core`] still builds a body if asked.
//!
//! # What the broker does not see
//!
//! Some refusals are decided here, because they depend on the wire message rather than on the
//! broker's state:
//! - A whole request is refused with a [`ConvertError`]; its
//!   [`error_code`](ConvertError::error_code) goes on every partition (and at top level where
//!   the version has one) through [`error_response`](crate::error_response::error_response),
//!   as Kafka's `getErrorResponse` does. For a produce with acks=0, Kafka closes the connection
//!   instead, so the client notices and refreshes its metadata.
//! - Single partitions are refused in [`ResponseContext::answered`]: the broker never sees them
//!   and [`from_core`] adds their answers to its response.
//!
//! Each API's module lists what its versions carry and what core has no field for.
//!
//! # Errors never panic
//!
//! Every value from the wire is checked before it is used; a decodable but malformed body is a
//! [`ConvertError`] or a per-partition error, never a panic.

use std::collections::BTreeMap;

use kafka_protocol::messages::{ApiKey, FetchResponse};
use sluice_core::api::{AdminResponse, ErrorCode, Request, Response, TopicPartition};

use crate::request::RequestBody;
use crate::response::ResponseBody;
use crate::versions::is_supported;

mod admin_configs;
#[cfg(test)]
mod admin_tests;
mod admin_topics;
pub(crate) mod authorized_operations;
mod fetch;
mod fields;
mod find_coordinator;
mod group;
mod group_admin;
#[cfg(test)]
mod group_tests;
mod grouping;
mod init_producer_id;
mod join_group;
mod list_offsets;
mod membership;
mod metadata;
mod offset_commit;
mod offset_fetch;
mod offset_for_leader_epoch;
pub mod outbound;
mod produce;
#[cfg(test)]
mod test_support;

pub use group::identify_client;

/// The APIs this module converts.
pub const DATA_PLANE_APIS: [ApiKey; 6] = [
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::InitProducerId,
    ApiKey::OffsetForLeaderEpoch,
];

/// The admin APIs this module converts.
pub const ADMIN_APIS: [ApiKey; 8] = [
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::DeleteRecords,
    ApiKey::DescribeConfigs,
    ApiKey::AlterConfigs,
    ApiKey::CreatePartitions,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeCluster,
];

/// The consumer-group APIs this module converts (Kafka's classic group protocol).
pub const GROUP_APIS: [ApiKey; 11] = [
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::SyncGroup,
    ApiKey::DescribeGroups,
    ApiKey::ListGroups,
    ApiKey::DeleteGroups,
    ApiKey::OffsetDelete,
];

/// Why a decoded request cannot go to the broker. The driver answers the ones with an
/// [`error_code`](ConvertError::error_code) with
/// [`error_response`](crate::error_response::error_response); the others are bugs in the
/// driver (it routed a request here that is not the data plane's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertError {
    /// The API is not one of [`DATA_PLANE_APIS`], [`ADMIN_APIS`] or [`GROUP_APIS`].
    NotDataPlane {
        /// The request's API.
        api_key: ApiKey,
    },
    /// The version is not one Sluice serves for this API (decode_request refuses these first).
    UnsupportedVersion {
        /// The request's API.
        api_key: ApiKey,
        /// The version given.
        api_version: i16,
    },
    /// An isolation level other than 0 (READ_UNCOMMITTED) or 1 (READ_COMMITTED).
    UnknownIsolationLevel {
        /// The byte on the wire.
        level: i8,
    },
    /// A fetch that continues a fetch session (KIP-227); Sluice never grants sessions (it
    /// answers session id 0), so no session can be found.
    IncrementalFetchSession {
        /// The session id sent.
        session_id: i32,
        /// The session epoch sent (neither 0, which opens a session, nor -1, sessionless).
        session_epoch: i32,
    },
    /// A produce from a transactional producer; Sluice has no transaction coordinator yet.
    TransactionalProduce {
        /// The transactional id sent.
        transactional_id: String,
    },
    /// Produce acks other than -1, 0 or 1.
    InvalidRequiredAcks {
        /// The acks sent.
        acks: i16,
    },
    /// A Metadata topic named by id, which Sluice does not have yet (v12 lookups).
    TopicIdLookup,
    /// A Metadata topic without a name (any version), or with a topic id in v10 or v11, which
    /// Kafka refuses.
    InvalidMetadataTopic {
        /// The request's version.
        api_version: i16,
    },
    /// An IncrementalAlterConfigs operation other than SET, DELETE, APPEND and SUBTRACT.
    UnknownConfigOperation {
        /// The byte on the wire.
        operation: i8,
    },
    /// A FindCoordinator key type other than a group (0) or a transactional id (1).
    UnknownCoordinatorType {
        /// The byte on the wire.
        key_type: i8,
    },
    /// An OffsetFetch before v2 with null topics, which only v2+ read as "every partition".
    NullOffsetFetchTopics {
        /// The request's version.
        api_version: i16,
    },
}

impl ConvertError {
    /// The error code that refuses the whole request, or `None` when the error is the
    /// driver's (an API or version it should not have routed here).
    ///
    /// Where Kafka's own answer comes from an uncaught exception rather than a rule, Sluice
    /// says what is wrong instead: Kafka answers an unknown isolation level with
    /// UNKNOWN_SERVER_ERROR (`IsolationLevel.forId` throws), Sluice with INVALID_REQUEST.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            ConvertError::NotDataPlane { .. } | ConvertError::UnsupportedVersion { .. } => None,
            ConvertError::UnknownIsolationLevel { .. } => Some(ErrorCode::InvalidRequest),
            // Kafka's FetchManager answers an incremental fetch for an unknown session so;
            // clients then start over with a full fetch.
            ConvertError::IncrementalFetchSession { .. } => Some(ErrorCode::FetchSessionIdNotFound),
            // Kafka's answer to a transactional producer it does not let write. Clients treat
            // it as fatal, which is right while Sluice cannot run transactions at all; they
            // normally fail earlier, finding no coordinator for their transactional id.
            ConvertError::TransactionalProduce { .. } => {
                Some(ErrorCode::TransactionalIdAuthorizationFailed)
            }
            ConvertError::InvalidRequiredAcks { .. } => Some(ErrorCode::InvalidRequiredAcks),
            // Kafka answers an id it does not know with UNKNOWN_TOPIC_ID; Sluice knows none.
            ConvertError::TopicIdLookup => Some(ErrorCode::UnknownTopicId),
            // Kafka's KafkaApis throws InvalidRequestException for these.
            ConvertError::InvalidMetadataTopic { .. } => Some(ErrorCode::InvalidRequest),
            ConvertError::UnknownConfigOperation { .. } => Some(ErrorCode::InvalidRequest),
            // Kafka's `CoordinatorType.forId` throws InvalidRequestException.
            ConvertError::UnknownCoordinatorType { .. } => Some(ErrorCode::InvalidRequest),
            // Kafka cannot parse it at all; the request is refused rather than the connection
            // closed, as for the other malformed values.
            ConvertError::NullOffsetFetchTopics { .. } => Some(ErrorCode::InvalidRequest),
        }
    }
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConvertError::NotDataPlane { api_key } => {
                write!(f, "{api_key:?} is not a data-plane request")
            }
            ConvertError::UnsupportedVersion {
                api_key,
                api_version,
            } => write!(f, "{api_key:?} v{api_version} is not served"),
            ConvertError::UnknownIsolationLevel { level } => {
                write!(f, "unknown isolation level {level}")
            }
            ConvertError::IncrementalFetchSession {
                session_id,
                session_epoch,
            } => write!(
                f,
                "incremental fetch in session {session_id} epoch {session_epoch}, which does not exist"
            ),
            ConvertError::TransactionalProduce { transactional_id } => write!(
                f,
                "transactional produce (id {transactional_id:?}) is not supported"
            ),
            ConvertError::InvalidRequiredAcks { acks } => write!(f, "invalid acks {acks}"),
            ConvertError::TopicIdLookup => write!(f, "metadata lookup by topic id"),
            ConvertError::InvalidMetadataTopic { api_version } => write!(
                f,
                "a Metadata v{api_version} topic without a name, or with an id before v12"
            ),
            ConvertError::UnknownConfigOperation { operation } => {
                write!(f, "unknown config operation {operation}")
            }
            ConvertError::UnknownCoordinatorType { key_type } => {
                write!(f, "unknown coordinator key type {key_type}")
            }
            ConvertError::NullOffsetFetchTopics { api_version } => {
                write!(f, "null topics in an OffsetFetch v{api_version}")
            }
        }
    }
}

impl std::error::Error for ConvertError {}

/// A request converted for the broker, and what its answer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// What the broker serves.
    pub request: Request,
    /// What [`from_core`] needs to build the answer.
    pub context: ResponseContext,
}

/// What a response needs from its request beyond what core's [`Response`] carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseContext {
    /// The request's API.
    pub api_key: ApiKey,
    /// The request's version, which the response uses.
    pub api_version: i16,
    /// Partitions refused here, each with its error, in request order. The broker never saw
    /// them; [`from_core`] appends their answers to the broker's.
    pub answered: Vec<(TopicPartition, ErrorCode)>,
    /// Fetch: whether the consumer reads committed data. Kafka lists aborted transactions
    /// (an empty list while Sluice has none) only then, and sends null otherwise.
    pub read_committed: bool,
    /// Metadata v8+: whether to fill each topic's authorized operations.
    pub include_topic_authorized_operations: bool,
    /// Metadata v8–10: whether to fill the cluster's authorized operations.
    pub include_cluster_authorized_operations: bool,
    /// DescribeGroups v3+: whether to fill each group's authorized operations.
    pub include_group_authorized_operations: bool,
    /// OffsetFetch v1: the partitions asked for, in request order. v1 has no top-level error,
    /// so a group-level one goes on each of them, as Kafka answers it.
    pub requested: Vec<TopicPartition>,
}

impl ResponseContext {
    /// A context with nothing refused and no flags set.
    pub fn new(api_key: ApiKey, api_version: i16) -> ResponseContext {
        ResponseContext {
            api_key,
            api_version,
            answered: Vec::new(),
            read_committed: false,
            include_topic_authorized_operations: false,
            include_cluster_authorized_operations: false,
            include_group_authorized_operations: false,
            requested: Vec::new(),
        }
    }
}

/// Where clients reach one broker, for Metadata answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerEndpoint {
    /// The advertised host.
    pub host: String,
    /// The advertised port.
    pub port: i32,
    /// The broker's `broker.rack`, if set.
    pub rack: Option<String>,
}

/// What Metadata, DescribeCluster and FindCoordinator answers say about the cluster that
/// core's [`Response`] does not carry: the driver knows its listeners and the cluster's
/// identity, net does not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterInfo {
    /// The cluster id (Metadata v2+), or `None` if not known yet.
    pub cluster_id: Option<String>,
    /// The broker clients should treat as the controller (Metadata v1+), or -1. In KRaft mode
    /// Kafka names a live broker here, since clients cannot reach the controllers.
    pub controller_id: i32,
    /// The advertised endpoint of each broker, by broker id, on the listener the request came
    /// in on.
    pub brokers: BTreeMap<i32, BrokerEndpoint>,
}

/// Why a core response could not become a kafka-protocol body: a bug in the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromCoreError {
    /// The response answers a different API than the request.
    WrongApi {
        /// The request's API.
        request: ApiKey,
        /// Kafka's name of the response's API.
        response: &'static str,
    },
    /// A Fetch answer has records in files, which only [`fetch_from_core`] and
    /// [`crate::fetch_frame`] handle.
    RecordsInFiles,
}

impl std::fmt::Display for FromCoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FromCoreError::WrongApi { request, response } => {
                write!(f, "a {response} response to a {request:?} request")
            }
            FromCoreError::RecordsInFiles => {
                write!(
                    f,
                    "a Fetch answer with records in files needs the fetch frame encoder"
                )
            }
        }
    }
}

impl std::error::Error for FromCoreError {}

/// Converts a decoded data-plane, admin or group request at `api_version` into core's
/// request. A JoinGroup's client id and host are not in its body: the driver adds them with
/// [`identify_client`].
pub fn to_core(body: &RequestBody, api_version: i16) -> Result<Converted, ConvertError> {
    let api_key = body.api_key();
    if !DATA_PLANE_APIS.contains(&api_key)
        && !ADMIN_APIS.contains(&api_key)
        && !GROUP_APIS.contains(&api_key)
    {
        return Err(ConvertError::NotDataPlane { api_key });
    }
    if !is_supported(api_key as i16, api_version) {
        return Err(ConvertError::UnsupportedVersion {
            api_key,
            api_version,
        });
    }
    let mut context = ResponseContext::new(api_key, api_version);
    let request = match body {
        RequestBody::Produce(body) => {
            let (request, answered) = produce::request(body)?;
            context.answered = answered;
            Request::Produce(request)
        }
        RequestBody::Fetch(body) => {
            let request = fetch::request(body, api_version)?;
            context.read_committed =
                request.isolation_level == sluice_core::api::IsolationLevel::ReadCommitted;
            Request::Fetch(request)
        }
        RequestBody::ListOffsets(body) => {
            let (request, answered) = list_offsets::request(body, api_version)?;
            context.answered = answered;
            Request::ListOffsets(request)
        }
        RequestBody::Metadata(body) => {
            let request = metadata::request(body, api_version)?;
            context.include_topic_authorized_operations =
                api_version >= 8 && body.include_topic_authorized_operations;
            context.include_cluster_authorized_operations =
                (8..=10).contains(&api_version) && body.include_cluster_authorized_operations;
            Request::Metadata(request)
        }
        RequestBody::OffsetForLeaderEpoch(body) => {
            Request::OffsetForLeaderEpoch(offset_for_leader_epoch::request(body, api_version))
        }
        RequestBody::InitProducerId(body) => {
            Request::InitProducerId(init_producer_id::request(body, api_version))
        }
        RequestBody::CreateTopics(body) => Request::Admin(admin_topics::create_topics(body)),
        RequestBody::DeleteTopics(body) => {
            Request::Admin(admin_topics::delete_topics(body, api_version)?)
        }
        RequestBody::CreatePartitions(body) => {
            Request::Admin(admin_topics::create_partitions(body))
        }
        RequestBody::DeleteRecords(body) => Request::Admin(admin_topics::delete_records(body)),
        RequestBody::DescribeConfigs(body) => Request::Admin(admin_configs::describe_configs(body)),
        RequestBody::AlterConfigs(body) => Request::Admin(admin_configs::alter_configs(body)),
        RequestBody::IncrementalAlterConfigs(body) => {
            Request::Admin(admin_configs::incremental_alter_configs(body)?)
        }
        RequestBody::DescribeCluster(body) => {
            Request::Admin(admin_configs::describe_cluster(body, api_version))
        }
        body => match group::request(body, api_version, &mut context) {
            Some(request) => Request::Group(request?),
            None => return Err(ConvertError::NotDataPlane { api_key }),
        },
    };
    Ok(Converted { request, context })
}

/// Builds the kafka-protocol answer to the request `context` describes from the broker's
/// `response`, with the partitions refused in [`to_core`] added.
pub fn from_core(
    response: Response,
    context: &ResponseContext,
    cluster: &ClusterInfo,
) -> Result<ResponseBody, FromCoreError> {
    let body = match (context.api_key, response) {
        (ApiKey::Produce, Response::Produce(response)) => {
            produce::response(response, context).into()
        }
        (ApiKey::Fetch, Response::Fetch(response)) => match fetch::response(response, context) {
            (body, files) if files.iter().all(Option::is_none) => body.into(),
            _ => return Err(FromCoreError::RecordsInFiles),
        },
        (ApiKey::ListOffsets, Response::ListOffsets(response)) => {
            list_offsets::response(response, context).into()
        }
        (ApiKey::Metadata, Response::Metadata(response)) => {
            metadata::response(response, context, cluster).into()
        }
        (ApiKey::OffsetForLeaderEpoch, Response::OffsetForLeaderEpoch(response)) => {
            offset_for_leader_epoch::response(response, context).into()
        }
        (ApiKey::InitProducerId, Response::InitProducerId(response)) => {
            init_producer_id::response(response).into()
        }
        (api_key, Response::Admin(response)) => {
            admin_response(api_key, response, context, cluster)?
        }
        (_, Response::Group(response)) => group::response(response, context, cluster)?,
        (request, response) => {
            return Err(FromCoreError::WrongApi {
                request,
                response: response.name(),
            })
        }
    };
    Ok(body)
}

/// Builds the kafka-protocol Fetch answer to the request `context` describes, with the
/// partitions refused in [`to_core`] added, and the file range of each partition whose records
/// lie in a segment file, in the order the body lists partitions. Those partitions' records are
/// null in the body; [`crate::fetch_frame::encode_fetch_frame`] encodes it with the ranges.
pub fn fetch_from_core(
    response: sluice_core::api::FetchResponse,
    context: &ResponseContext,
) -> (FetchResponse, Vec<Option<sluice_core::api::FileRange>>) {
    fetch::response(response, context)
}

fn admin_response(
    api_key: ApiKey,
    response: AdminResponse,
    context: &ResponseContext,
    cluster: &ClusterInfo,
) -> Result<ResponseBody, FromCoreError> {
    let body = match (api_key, response) {
        (ApiKey::CreateTopics, AdminResponse::CreateTopics(results)) => {
            admin_topics::create_topics_response(results, context).into()
        }
        (ApiKey::DeleteTopics, AdminResponse::DeleteTopics(results)) => {
            admin_topics::delete_topics_response(results, context).into()
        }
        (ApiKey::CreatePartitions, AdminResponse::CreatePartitions(results)) => {
            admin_topics::create_partitions_response(results).into()
        }
        (ApiKey::DeleteRecords, AdminResponse::DeleteRecords(results)) => {
            admin_topics::delete_records_response(results).into()
        }
        (ApiKey::DescribeConfigs, AdminResponse::DescribeConfigs(results)) => {
            admin_configs::describe_configs_response(results, context).into()
        }
        (ApiKey::AlterConfigs, AdminResponse::AlterConfigs(results)) => {
            admin_configs::alter_configs_response(results).into()
        }
        (ApiKey::IncrementalAlterConfigs, AdminResponse::AlterConfigs(results)) => {
            admin_configs::incremental_alter_configs_response(results).into()
        }
        (ApiKey::DescribeCluster, AdminResponse::DescribeCluster { error }) => {
            admin_configs::describe_cluster_response(error, context, cluster).into()
        }
        (request, response) => {
            return Err(FromCoreError::WrongApi {
                request,
                response: response.name(),
            })
        }
    };
    Ok(body)
}

/// Whether the client waits for an answer: every request but a produce with acks=0.
pub fn expects_response(body: &RequestBody) -> bool {
    !matches!(body, RequestBody::Produce(produce) if produce.acks == 0)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::messages::{ApiVersionsRequest, ProduceRequest};
    use proptest::prelude::*;
    use sluice_core::api::{
        EpochEndOffset, FetchPartitionResponse, ListedOffset, MetadataResponse, PartitionMetadata,
        ProducePartitionResponse, TopicMetadata,
    };

    use super::*;
    use crate::request::decode_request;
    use crate::response::encode_response;
    use crate::samples::{request_frame, sample_request};

    /// A broker's answer to `request` that names every partition it was asked about.
    fn answer_everything(request: &Request) -> Response {
        let error = ErrorCode::NotLeaderOrFollower;
        match request {
            Request::Produce(request) => Response::Produce(sluice_core::api::ProduceResponse {
                partitions: request
                    .partitions
                    .iter()
                    .map(|(tp, _)| ProducePartitionResponse::error(tp.clone(), error))
                    .collect(),
            }),
            Request::Fetch(request) => Response::Fetch(sluice_core::api::FetchResponse {
                error: ErrorCode::None,
                partitions: request
                    .partitions
                    .iter()
                    .map(|p| FetchPartitionResponse::error(p.partition.clone(), error))
                    .collect(),
            }),
            Request::ListOffsets(request) => {
                Response::ListOffsets(sluice_core::api::ListOffsetsResponse {
                    partitions: request
                        .partitions
                        .iter()
                        .map(|p| ListedOffset::error(p.partition.clone(), error))
                        .collect(),
                })
            }
            Request::Metadata(request) => Response::Metadata(MetadataResponse {
                brokers: vec![1],
                topics: request
                    .topics
                    .iter()
                    .flatten()
                    .map(|name| TopicMetadata {
                        error: ErrorCode::None,
                        name: name.clone(),
                        partitions: vec![PartitionMetadata {
                            error: ErrorCode::None,
                            partition: 0,
                            leader: 1,
                            leader_epoch: 0,
                            replicas: vec![1],
                            isr: vec![1],
                        }],
                    })
                    .collect(),
            }),
            Request::OffsetForLeaderEpoch(request) => {
                Response::OffsetForLeaderEpoch(sluice_core::api::OffsetForLeaderEpochResponse {
                    partitions: request
                        .partitions
                        .iter()
                        .map(|p| EpochEndOffset::error(p.partition.clone(), error))
                        .collect(),
                })
            }
            Request::InitProducerId(_) => {
                Response::InitProducerId(sluice_core::api::InitProducerIdResponse::fresh(1))
            }
            Request::Admin(request) => Response::Admin(request.refuse(error)),
            Request::Group(request) => Response::Group(group_tests::answer_everything(request)),
        }
    }

    /// Every served (api, version) pair that converts.
    fn data_plane_versions() -> Vec<(ApiKey, i16)> {
        DATA_PLANE_APIS
            .iter()
            .chain(ADMIN_APIS.iter())
            .chain(GROUP_APIS.iter())
            .filter_map(|&api_key| crate::versions::supported_range(api_key as i16))
            .flat_map(|row| (row.min_version..=row.max_version).map(move |v| (row.api_key, v)))
            .collect()
    }

    /// Whatever decodes either converts or is refused with a reason, and whatever converts
    /// gets an answer that encodes at the request's version.
    fn convert_and_answer(frame: Vec<u8>) {
        let Ok(decoded) = decode_request(Bytes::from(frame)) else {
            return;
        };
        match to_core(&decoded.body, decoded.header.api_version) {
            Ok(converted) => {
                let response = answer_everything(&converted.request);
                let cluster = ClusterInfo {
                    brokers: [(
                        1,
                        BrokerEndpoint {
                            host: "b1".into(),
                            port: 9092,
                            rack: None,
                        },
                    )]
                    .into(),
                    ..ClusterInfo::default()
                };
                let body = from_core(response, &converted.context, &cluster).unwrap();
                encode_response(&decoded.header, &body).unwrap();
            }
            Err(error) => assert!(error.error_code().is_some(), "{error}"),
        }
    }

    /// The sample request, minus what Sluice refuses outright (a transactional id, an
    /// incremental fetch session), so that conversion gets past the first checks.
    fn servable_sample(api_key: ApiKey, version: i16) -> RequestBody {
        match sample_request(api_key, version) {
            RequestBody::Produce(body) => RequestBody::Produce(body.with_transactional_id(None)),
            RequestBody::Fetch(body) if version >= 7 => {
                RequestBody::Fetch(body.with_session_epoch(0))
            }
            body => body,
        }
    }

    #[test]
    fn every_sample_request_converts_and_its_answer_encodes() {
        for (api_key, version) in data_plane_versions() {
            let body = servable_sample(api_key, version);
            assert!(to_core(&body, version).is_ok(), "{api_key:?} v{version}");
            let frame = request_frame(1, Some("p"), version, &body).to_vec();
            convert_and_answer(frame);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Damaged data-plane requests never panic the conversion, and their answers encode.
        #[test]
        fn damaged_requests_convert_or_are_refused(
            pick in any::<prop::sample::Index>(),
            overwrites in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        ) {
            let served = data_plane_versions();
            let (api_key, version) = served[pick.index(served.len())];
            let body = servable_sample(api_key, version);
            let mut frame = request_frame(1, Some("p"), version, &body).to_vec();
            // Leave the 8-byte key/version/correlation prefix alone so the API stays put.
            for (position, byte) in overwrites {
                let position = 8 + position.index(frame.len() - 8);
                frame[position] = byte;
            }
            convert_and_answer(frame);
        }
    }

    #[test]
    fn only_data_plane_apis_at_served_versions_convert() {
        let body = RequestBody::ApiVersions(ApiVersionsRequest::default());
        assert_eq!(
            to_core(&body, 3),
            Err(ConvertError::NotDataPlane {
                api_key: ApiKey::ApiVersions
            })
        );
        for (api_key, version) in [
            (ApiKey::Produce, 2),
            (ApiKey::Fetch, 13),
            (ApiKey::ListOffsets, 8),
            (ApiKey::Metadata, 13),
            (ApiKey::OffsetForLeaderEpoch, 1),
            (ApiKey::InitProducerId, 5),
        ] {
            let served = crate::versions::supported_range(api_key as i16).unwrap();
            let body = sample_request(api_key, served.min_version);
            let error = to_core(&body, version).unwrap_err();
            assert_eq!(
                error,
                ConvertError::UnsupportedVersion {
                    api_key,
                    api_version: version
                }
            );
            assert_eq!(error.error_code(), None);
        }
    }

    #[test]
    fn only_acks_zero_produces_go_unanswered() {
        for (acks, expected) in [(0, false), (1, true), (-1, true), (5, true)] {
            let body = RequestBody::Produce(ProduceRequest::default().with_acks(acks));
            assert_eq!(expects_response(&body), expected, "acks {acks}");
        }
        for api_key in DATA_PLANE_APIS.into_iter().skip(1) {
            assert!(expects_response(&sample_request(api_key, 4)));
        }
        for api_key in GROUP_APIS {
            let served = crate::versions::supported_range(api_key as i16).unwrap();
            assert!(expects_response(&sample_request(
                api_key,
                served.max_version
            )));
        }
    }

    #[test]
    fn a_response_of_the_wrong_api_is_refused() {
        let context = ResponseContext::new(ApiKey::Fetch, 12);
        let response = Response::ListOffsets(sluice_core::api::ListOffsetsResponse {
            partitions: Vec::new(),
        });
        assert_eq!(
            from_core(response, &context, &ClusterInfo::default()),
            Err(FromCoreError::WrongApi {
                request: ApiKey::Fetch,
                response: "ListOffsets"
            })
        );
    }

    #[test]
    fn every_refusal_names_kafkas_code() {
        let codes = [
            (ConvertError::UnknownIsolationLevel { level: 2 }, 42),
            (
                ConvertError::IncrementalFetchSession {
                    session_id: 5,
                    session_epoch: 3,
                },
                70,
            ),
            (
                ConvertError::TransactionalProduce {
                    transactional_id: "t".into(),
                },
                53,
            ),
            (ConvertError::InvalidRequiredAcks { acks: 2 }, 21),
            (ConvertError::TopicIdLookup, 100),
            (ConvertError::InvalidMetadataTopic { api_version: 10 }, 42),
            (ConvertError::UnknownCoordinatorType { key_type: 2 }, 42),
            (ConvertError::NullOffsetFetchTopics { api_version: 1 }, 42),
        ];
        for (error, code) in codes {
            assert_eq!(
                error.error_code().map(ErrorCode::code),
                Some(code),
                "{error}"
            );
        }
    }
}
