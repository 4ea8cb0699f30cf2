//! Encoding responses into frames, and the ApiVersions answers built from the versions table.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    AlterConfigsResponse, ApiKey, ApiVersionsResponse, CreatePartitionsResponse,
    CreateTopicsResponse, DeleteGroupsResponse, DeleteRecordsResponse, DeleteTopicsResponse,
    DescribeClusterResponse, DescribeConfigsResponse, DescribeGroupsResponse, FetchResponse,
    FindCoordinatorResponse, HeartbeatResponse, IncrementalAlterConfigsResponse,
    InitProducerIdResponse, JoinGroupResponse, LeaveGroupResponse, ListGroupsResponse,
    ListOffsetsResponse, MetadataResponse, OffsetCommitResponse, OffsetDeleteResponse,
    OffsetFetchResponse, OffsetForLeaderEpochResponse, ProduceResponse, SyncGroupResponse,
};
use kafka_protocol::protocol::Encodable;

use crate::frame::SIZE_PREFIX_BYTES;
use crate::header::{encode_response_header, response_header_version, RequestHeader};
use crate::versions::{supported_range, SUPPORTED_APIS};

/// UNSUPPORTED_VERSION: "The version of API is not supported."
pub const UNSUPPORTED_VERSION: i16 = 35;

/// Declares the body enum over the served response types, with its key and encoder. The
/// variants after `; boxed:` hold their message in a box: a JoinGroup answer is half again as
/// large as any other, and every reply queued on a connection would pay for it.
macro_rules! response_bodies {
    (
        $($variant:ident($message:ty),)*
        ;
        boxed: $($boxed:ident($boxed_message:ty),)*
    ) => {
        /// The typed body of a response to a served request. Fields that do not exist in the
        /// response's version must keep kafka-protocol's defaults, or encoding fails.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ResponseBody {
            $(
                #[doc = concat!("A ", stringify!($variant), " response.")]
                $variant($message),
            )*
            $(
                #[doc = concat!("A ", stringify!($boxed), " response.")]
                $boxed(Box<$boxed_message>),
            )*
        }

        impl ResponseBody {
            /// The API this body answers.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $(ResponseBody::$variant(_) => ApiKey::$variant,)*
                    $(ResponseBody::$boxed(_) => ApiKey::$boxed,)*
                }
            }

            /// Decodes a body of `api_key` at `version`, as a client reads an answer; `None`
            /// if the key is not one Sluice serves.
            pub fn decode(
                api_key: ApiKey,
                body: &mut bytes::Bytes,
                version: i16,
            ) -> Option<Result<ResponseBody, String>> {
                use kafka_protocol::protocol::Decodable;
                let decoded = match api_key {
                    $(ApiKey::$variant => {
                        <$message>::decode(body, version).map(ResponseBody::$variant)
                    })*
                    $(ApiKey::$boxed => <$boxed_message>::decode(body, version)
                        .map(|message| ResponseBody::$boxed(Box::new(message))),)*
                    _ => return None,
                };
                Some(decoded.map_err(|error| format!("{error:#}")))
            }

            fn compute_size(&self, version: i16) -> Result<usize, String> {
                match self {
                    $(ResponseBody::$variant(body) => body.compute_size(version),)*
                    $(ResponseBody::$boxed(body) => body.compute_size(version),)*
                }
                .map_err(|error| format!("{error:#}"))
            }

            fn encode(&self, buffer: &mut Vec<u8>, version: i16) -> Result<(), String> {
                match self {
                    $(ResponseBody::$variant(body) => body.encode(buffer, version),)*
                    $(ResponseBody::$boxed(body) => body.encode(buffer, version),)*
                }
                .map_err(|error| format!("{error:#}"))
            }
        }

        $(
            impl From<$message> for ResponseBody {
                fn from(body: $message) -> ResponseBody {
                    ResponseBody::$variant(body)
                }
            }
        )*
        $(
            impl From<$boxed_message> for ResponseBody {
                fn from(body: $boxed_message) -> ResponseBody {
                    ResponseBody::$boxed(Box::new(body))
                }
            }
        )*
    };
}

response_bodies! {
    Produce(ProduceResponse),
    Fetch(FetchResponse),
    ListOffsets(ListOffsetsResponse),
    Metadata(MetadataResponse),
    OffsetCommit(OffsetCommitResponse),
    OffsetFetch(OffsetFetchResponse),
    FindCoordinator(FindCoordinatorResponse),
    Heartbeat(HeartbeatResponse),
    LeaveGroup(LeaveGroupResponse),
    SyncGroup(SyncGroupResponse),
    DescribeGroups(DescribeGroupsResponse),
    ListGroups(ListGroupsResponse),
    ApiVersions(ApiVersionsResponse),
    CreateTopics(CreateTopicsResponse),
    DeleteTopics(DeleteTopicsResponse),
    DeleteRecords(DeleteRecordsResponse),
    InitProducerId(InitProducerIdResponse),
    OffsetForLeaderEpoch(OffsetForLeaderEpochResponse),
    DescribeConfigs(DescribeConfigsResponse),
    AlterConfigs(AlterConfigsResponse),
    CreatePartitions(CreatePartitionsResponse),
    DeleteGroups(DeleteGroupsResponse),
    IncrementalAlterConfigs(IncrementalAlterConfigsResponse),
    OffsetDelete(OffsetDeleteResponse),
    DescribeCluster(DescribeClusterResponse),
    ;
    boxed:
    JoinGroup(JoinGroupResponse),
}

/// Why a response could not be encoded. Each is a bug in the code that built the response,
/// not something a client caused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The body answers a different API than the request.
    WrongApi {
        /// The request's key.
        request: i16,
        /// The body's key.
        response: ApiKey,
    },
    /// kafka-protocol refused the body at this version (a field set that the version lacks, a
    /// string over its length limit, …).
    Body {
        /// The API.
        api_key: ApiKey,
        /// The version encoded.
        api_version: i16,
        /// kafka-protocol's message.
        message: String,
    },
    /// The frame would be larger than a size prefix can say.
    TooLarge(usize),
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::WrongApi { request, response } => {
                write!(f, "a {response:?} response to a request of key {request}")
            }
            EncodeError::Body {
                api_key,
                api_version,
                message,
            } => write!(f, "cannot encode {api_key:?} v{api_version}: {message}"),
            EncodeError::TooLarge(size) => write!(f, "response of {size} bytes is too large"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Encodes the response to `request`: size prefix, response header (its version fixed by the
/// request's key and version), then `body` at the request's version.
pub fn encode_response(
    request: &RequestHeader,
    body: &ResponseBody,
) -> Result<Vec<u8>, EncodeError> {
    if body.api_key() as i16 != request.api_key {
        return Err(EncodeError::WrongApi {
            request: request.api_key,
            response: body.api_key(),
        });
    }
    encode_response_at(request.correlation_id, request.api_version, body)
}

/// Encodes `body` at `api_version` as the response to the request with `correlation_id`,
/// size prefix included. [`encode_response`] is the usual entry; this one serves answers whose
/// version differs from the request's (the ApiVersions fallback).
pub fn encode_response_at(
    correlation_id: i32,
    api_version: i16,
    body: &ResponseBody,
) -> Result<Vec<u8>, EncodeError> {
    let api_key = body.api_key();
    let body_error = |message| EncodeError::Body {
        api_key,
        api_version,
        message,
    };
    let header_version = response_header_version(api_key, api_version);
    let header_bytes = if header_version >= 1 { 5 } else { 4 };
    let size = header_bytes + body.compute_size(api_version).map_err(body_error)?;
    let prefix = i32::try_from(size).map_err(|_| EncodeError::TooLarge(size))?;
    let mut buffer = Vec::with_capacity(SIZE_PREFIX_BYTES + size);
    buffer.extend_from_slice(&prefix.to_be_bytes());
    encode_response_header(&mut buffer, header_version, correlation_id);
    assert_eq!(buffer.len(), SIZE_PREFIX_BYTES + header_bytes);
    body.encode(&mut buffer, api_version).map_err(body_error)?;
    assert_eq!(
        buffer.len(),
        SIZE_PREFIX_BYTES + size,
        "{api_key:?} v{api_version}"
    );
    Ok(buffer)
}

/// The ApiVersions body listing every row of the versions table, with no error.
pub fn api_versions_body() -> ApiVersionsResponse {
    api_versions_body_for(|_| true)
}

/// The ApiVersions body listing the rows of the versions table whose key `served` accepts: a
/// broker advertises only what it answers, since a client that sees an API listed uses it.
pub fn api_versions_body_for(served: impl Fn(ApiKey) -> bool) -> ApiVersionsResponse {
    let api_keys = SUPPORTED_APIS
        .iter()
        .filter(|row| served(row.api_key))
        .map(|row| {
            ApiVersion::default()
                .with_api_key(row.api_key as i16)
                .with_min_version(row.min_version)
                .with_max_version(row.max_version)
        })
        .collect();
    ApiVersionsResponse::default().with_api_keys(api_keys)
}

/// The whole answer (size prefix included) to an ApiVersions request of `request_version`:
/// the table at that version if it is served, otherwise the KIP-511 fallback.
pub fn api_versions_response(correlation_id: i32, request_version: i16) -> Vec<u8> {
    let served = supported_range(ApiKey::ApiVersions as i16)
        .is_some_and(|range| range.contains(request_version));
    if !served {
        return unsupported_api_versions_response(correlation_id);
    }
    let body = ResponseBody::ApiVersions(api_versions_body());
    encode_response_at(correlation_id, request_version, &body)
        .expect("the versions table encodes at every served ApiVersions version")
}

/// The KIP-511 answer to an ApiVersions request at a version Sluice does not serve: a v0
/// response (header v0, no throttle time, no tagged fields) with UNSUPPORTED_VERSION and, like
/// Kafka's `ApiVersionsRequest.getErrorResponse`, only the ApiVersions row of the table, so the
/// client can retry at a version the broker speaks.
pub fn unsupported_api_versions_response(correlation_id: i32) -> Vec<u8> {
    let own_row = api_versions_body()
        .api_keys
        .into_iter()
        .filter(|row| row.api_key == ApiKey::ApiVersions as i16)
        .collect();
    let body = ApiVersionsResponse::default()
        .with_error_code(UNSUPPORTED_VERSION)
        .with_api_keys(own_row);
    encode_response_at(correlation_id, 0, &ResponseBody::ApiVersions(body))
        .expect("an ApiVersions v0 error response encodes")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queued reply holds a body: none may make every one of them large.
    #[test]
    fn a_body_is_no_larger_than_the_largest_unboxed_message() {
        assert!(std::mem::size_of::<ResponseBody>() <= 136);
    }

    /// A broker lists only the rows it serves, each with the table's range.
    #[test]
    fn the_versions_body_lists_only_what_is_served() {
        let body = api_versions_body_for(|key| key == ApiKey::Metadata || key == ApiKey::Fetch);
        let keys: Vec<i16> = body.api_keys.iter().map(|row| row.api_key).collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        for row in &body.api_keys {
            let range = supported_range(row.api_key).expect("a table row");
            assert_eq!(
                (row.min_version, row.max_version),
                (range.min_version, range.max_version)
            );
        }
        assert_eq!(api_versions_body().api_keys.len(), SUPPORTED_APIS.len());
    }
}
