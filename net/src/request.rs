//! Decoding a request frame into its header and a typed body.
//!
//! [`decode_request`] is the only way bytes from a client become a request: it refuses
//! unserved keys and versions before reading the body, proves the body's array counts are sane
//! (see the `bounds` module), and only then lets kafka-protocol decode it. Every failure is a
//! [`RequestError`]; nothing here panics on input.
//!
//! What a driver does with an error, following Kafka (`RequestContext.parseRequest` and
//! `SocketServer.processCompletedReceives`):
//! - ApiVersions at a version Sluice does not serve: answer with the KIP-511 fallback, an
//!   ApiVersions v0 response carrying UNSUPPORTED_VERSION (35), which
//!   [`RequestError::response`] builds. Clients read it and retry with a version it lists.
//! - Anything else (unknown key, unsupported version of another API, malformed bytes): close the
//!   connection. Kafka has no generic error body for these: every response type carries its
//!   errors in its own fields, and a version the broker does not speak cannot be encoded at
//!   all. [`RequestError::response`] returns `None` for them.

use bytes::Bytes;
use kafka_protocol::messages::{
    AlterConfigsRequest, ApiKey, ApiVersionsRequest, CreatePartitionsRequest, CreateTopicsRequest,
    DeleteGroupsRequest, DeleteRecordsRequest, DeleteTopicsRequest, DescribeClusterRequest,
    DescribeConfigsRequest, DescribeGroupsRequest, FetchRequest, FindCoordinatorRequest,
    HeartbeatRequest, IncrementalAlterConfigsRequest, InitProducerIdRequest, JoinGroupRequest,
    LeaveGroupRequest, ListGroupsRequest, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest,
    OffsetDeleteRequest, OffsetFetchRequest, OffsetForLeaderEpochRequest, ProduceRequest,
    SyncGroupRequest,
};
use kafka_protocol::protocol::Decodable;

use crate::bounds::check_request_body;
use crate::header::RequestHeader;
use crate::header::{parse_request_header, read_header_prefix, request_header_version};
use crate::response::unsupported_api_versions_response;
use crate::versions::supported_range;

/// Declares the body enum over the served request types, with its key and decoder. Variant
/// names are kafka-protocol's `ApiKey` names.
macro_rules! request_bodies {
    ($($variant:ident($message:ty),)*) => {
        /// The typed body of a served request, as kafka-protocol decoded it. Fields that do not
        /// exist in the request's version hold kafka-protocol's defaults.
        #[derive(Debug, Clone, PartialEq)]
        pub enum RequestBody {
            $(
                #[doc = concat!("A ", stringify!($variant), " request.")]
                $variant($message),
            )*
        }

        impl RequestBody {
            /// The API this body belongs to.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $(RequestBody::$variant(_) => ApiKey::$variant,)*
                }
            }

            /// Decodes a body of `api_key` at `version`; `None` if the key is not served.
            fn decode(
                api_key: ApiKey,
                body: &mut Bytes,
                version: i16,
            ) -> Option<Result<RequestBody, String>> {
                match api_key {
                    $(ApiKey::$variant => Some(
                        <$message>::decode(body, version)
                            .map(RequestBody::$variant)
                            .map_err(|error| format!("{error:#}")),
                    ),)*
                    _ => None,
                }
            }

            /// The encoded body's size in bytes at `version`.
            pub fn compute_size(&self, version: i16) -> Result<usize, String> {
                use kafka_protocol::protocol::Encodable;
                match self {
                    $(RequestBody::$variant(body) => body.compute_size(version),)*
                }
                .map_err(|error| format!("{error:#}"))
            }

            /// Encodes the body as a client does.
            pub fn encode(
                &self,
                buffer: &mut bytes::BytesMut,
                version: i16,
            ) -> Result<(), String> {
                use kafka_protocol::protocol::Encodable;
                match self {
                    $(RequestBody::$variant(body) => body.encode(buffer, version),)*
                }
                .map_err(|error| format!("{error:#}"))
            }
        }
    };
}

request_bodies! {
    Produce(ProduceRequest),
    Fetch(FetchRequest),
    ListOffsets(ListOffsetsRequest),
    Metadata(MetadataRequest),
    OffsetCommit(OffsetCommitRequest),
    OffsetFetch(OffsetFetchRequest),
    FindCoordinator(FindCoordinatorRequest),
    JoinGroup(JoinGroupRequest),
    Heartbeat(HeartbeatRequest),
    LeaveGroup(LeaveGroupRequest),
    SyncGroup(SyncGroupRequest),
    DescribeGroups(DescribeGroupsRequest),
    ListGroups(ListGroupsRequest),
    ApiVersions(ApiVersionsRequest),
    CreateTopics(CreateTopicsRequest),
    DeleteTopics(DeleteTopicsRequest),
    DeleteRecords(DeleteRecordsRequest),
    InitProducerId(InitProducerIdRequest),
    OffsetForLeaderEpoch(OffsetForLeaderEpochRequest),
    DescribeConfigs(DescribeConfigsRequest),
    AlterConfigs(AlterConfigsRequest),
    CreatePartitions(CreatePartitionsRequest),
    DeleteGroups(DeleteGroupsRequest),
    IncrementalAlterConfigs(IncrementalAlterConfigsRequest),
    OffsetDelete(OffsetDeleteRequest),
    DescribeCluster(DescribeClusterRequest),
}

/// A request that decoded: its header and typed body.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedRequest {
    /// The request header.
    pub header: RequestHeader,
    /// The body, of the API the header names.
    pub body: RequestBody,
}

/// Why a frame is not a request Sluice can serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The key is not one Sluice serves (whether or not Kafka defines it).
    UnknownApiKey {
        /// The key the client sent.
        api_key: i16,
        /// The correlation id, if the frame was long enough to hold it.
        correlation_id: Option<i32>,
    },
    /// The key is served, but not at this version.
    UnsupportedVersion {
        /// The key the client sent.
        api_key: i16,
        /// The version the client sent.
        api_version: i16,
        /// The correlation id, if the frame was long enough to hold it.
        correlation_id: Option<i32>,
    },
    /// The bytes do not form a valid request of the key and version they name.
    Malformed {
        /// The correlation id, if it could be read.
        correlation_id: Option<i32>,
        /// What was wrong.
        reason: Malformed,
    },
}

impl RequestError {
    /// The whole response frame (size prefix included) to send for this error, or `None` when
    /// Kafka's answer is to close the connection. Only an ApiVersions request at an unserved
    /// version gets an answer: the KIP-511 fallback, in v0 format.
    pub fn response(&self) -> Option<Vec<u8>> {
        match *self {
            RequestError::UnsupportedVersion {
                api_key,
                correlation_id: Some(correlation_id),
                ..
            } if api_key == ApiKey::ApiVersions as i16 => {
                Some(unsupported_api_versions_response(correlation_id))
            }
            _ => None,
        }
    }

    /// The correlation id of the failed request, if it could be read.
    pub fn correlation_id(&self) -> Option<i32> {
        match *self {
            RequestError::UnknownApiKey { correlation_id, .. }
            | RequestError::UnsupportedVersion { correlation_id, .. }
            | RequestError::Malformed { correlation_id, .. } => correlation_id,
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::UnknownApiKey { api_key, .. } => write!(f, "unknown api key {api_key}"),
            RequestError::UnsupportedVersion {
                api_key,
                api_version,
                ..
            } => write!(
                f,
                "api key {api_key} is not served at version {api_version}"
            ),
            RequestError::Malformed { reason, .. } => write!(f, "malformed request: {reason}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// What made a request malformed. Offsets count from the start of the part being read (the
/// frame for the header, the body after it for the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// Fewer bytes remain than a field needs.
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// Bytes the field needs.
        wanted: usize,
        /// Bytes that remain.
        remaining: usize,
    },
    /// A length or count below -1.
    Length {
        /// Where the length starts.
        offset: usize,
        /// The length read.
        length: i64,
    },
    /// An unsigned varint longer than 5 bytes or wider than 32 bits.
    Varint {
        /// Where the varint starts.
        offset: usize,
    },
    /// An array claims more elements than there are bytes left; every element takes at least
    /// one byte, so no valid request does this.
    ArrayCount {
        /// The array field.
        field: &'static str,
        /// Where the count starts.
        offset: usize,
        /// The count read.
        count: usize,
        /// Bytes left after the count.
        remaining: usize,
    },
    /// A tagged field that is known but not valid in this version, or whose value does not fill
    /// exactly its declared size.
    Tag {
        /// Where the tag starts.
        offset: usize,
        /// The tag number.
        tag: u32,
    },
    /// kafka-protocol refused the body (bad UTF-8, a null where none is allowed, …).
    Body(String),
    /// kafka-protocol consumed a different number of body bytes than the length pre-check
    /// walked: a bug in the pre-check's layout tables, refused rather than trusted.
    LayoutMismatch {
        /// Bytes the pre-check walked.
        checked: usize,
        /// Bytes kafka-protocol decoded.
        decoded: usize,
    },
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::Truncated {
                offset,
                wanted,
                remaining,
            } => write!(
                f,
                "field at {offset} needs {wanted} bytes, {remaining} remain"
            ),
            Malformed::Length { offset, length } => write!(f, "length {length} at {offset}"),
            Malformed::Varint { offset } => write!(f, "invalid varint at {offset}"),
            Malformed::ArrayCount {
                field,
                offset,
                count,
                remaining,
            } => write!(
                f,
                "array {field} at {offset} claims {count} elements, {remaining} bytes remain"
            ),
            Malformed::Tag { offset, tag } => write!(f, "invalid tagged field {tag} at {offset}"),
            Malformed::Body(message) => write!(f, "{message}"),
            Malformed::LayoutMismatch { checked, decoded } => write!(
                f,
                "pre-check walked {checked} body bytes, kafka-protocol decoded {decoded}"
            ),
        }
    }
}

/// Decodes one request frame (the bytes after the size prefix).
///
/// Order of checks: the key and version come first, so that an unserved API is refused
/// without reading further; then the header (its version fixed by key and version), the body's
/// lengths, and the body itself. Bytes after the body are ignored, as kafka-protocol does.
pub fn decode_request(frame: Bytes) -> Result<DecodedRequest, RequestError> {
    let Some(prefix) = read_header_prefix(&frame) else {
        return Err(RequestError::Malformed {
            correlation_id: None,
            reason: Malformed::Truncated {
                offset: 0,
                wanted: 4,
                remaining: frame.len(),
            },
        });
    };
    let correlation_id = prefix.correlation_id;
    let Some(range) = supported_range(prefix.api_key) else {
        return Err(RequestError::UnknownApiKey {
            api_key: prefix.api_key,
            correlation_id,
        });
    };
    if !range.contains(prefix.api_version) {
        return Err(RequestError::UnsupportedVersion {
            api_key: prefix.api_key,
            api_version: prefix.api_version,
            correlation_id,
        });
    }
    let malformed = |reason| RequestError::Malformed {
        correlation_id,
        reason,
    };
    let api_key = range.api_key;
    let version = prefix.api_version;
    let header_version = request_header_version(api_key, version);
    let (header, header_bytes) = parse_request_header(&frame, header_version).map_err(malformed)?;
    let mut body = frame.slice(header_bytes..);
    let checked = check_request_body(api_key, version, &body).map_err(malformed)?;
    let body_bytes = body.len();
    let decoded = RequestBody::decode(api_key, &mut body, version)
        .unwrap_or_else(|| panic!("served key {api_key:?} has no body variant"))
        .map_err(|error| malformed(Malformed::Body(error)))?;
    let decoded_bytes = body_bytes - body.len();
    if decoded_bytes != checked {
        return Err(malformed(Malformed::LayoutMismatch {
            checked,
            decoded: decoded_bytes,
        }));
    }
    Ok(DecodedRequest {
        header,
        body: decoded,
    })
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiVersionsResponse;
    use kafka_protocol::protocol::Decodable;
    use proptest::prelude::*;

    use super::*;
    use crate::response::{api_versions_body, api_versions_response};
    use crate::samples::{request_frame, sample_request};
    use crate::versions::SUPPORTED_APIS;

    /// ApiVersions v3 as librdkafka sends it (KIP-511): header v2 with the client id as an INT16
    /// string, then the body's compact strings and tagged-field sections.
    fn librdkafka_api_versions_v3() -> Vec<u8> {
        let mut frame = vec![0, 18, 0, 3, 0, 0, 0, 1];
        frame.extend_from_slice(&[0, 7]);
        frame.extend_from_slice(b"rdkafka");
        frame.push(0); // header tagged fields
        frame.push(11); // compact length of "librdkafka" + 1
        frame.extend_from_slice(b"librdkafka");
        frame.push(6);
        frame.extend_from_slice(b"2.3.0");
        frame.push(0); // body tagged fields
        frame
    }

    #[test]
    fn librdkafka_api_versions_v3_round_trips() {
        let frame = librdkafka_api_versions_v3();
        let request = decode_request(Bytes::from(frame.clone())).unwrap();
        assert_eq!(request.header.api_key, 18);
        assert_eq!(request.header.api_version, 3);
        assert_eq!(request.header.correlation_id, 1);
        assert_eq!(request.header.header_version, 2);
        assert_eq!(request.header.client_id.as_deref(), Some("rdkafka"));
        let RequestBody::ApiVersions(body) = &request.body else {
            panic!("{:?}", request.body);
        };
        assert_eq!(&*body.client_software_name, "librdkafka");
        assert_eq!(&*body.client_software_version, "2.3.0");
        // Encoding the decoded request as a client gives back the same bytes.
        assert_eq!(request_frame(1, Some("rdkafka"), 3, &request.body), frame);
    }

    #[test]
    fn api_versions_v3_answer_has_a_v0_header() {
        // Trap 1: after the correlation id comes the error code, not a tagged-field byte.
        let response = api_versions_response(1, 3);
        assert_eq!(&response[..4], &(response.len() as i32 - 4).to_be_bytes());
        assert_eq!(&response[4..8], &[0, 0, 0, 1]);
        assert_eq!(&response[8..10], &[0, 0]);
        assert_eq!(response[10], SUPPORTED_APIS.len() as u8 + 1);
        let mut body = Bytes::copy_from_slice(&response[8..]);
        let decoded = ApiVersionsResponse::decode(&mut body, 3).unwrap();
        assert!(body.is_empty());
        assert_eq!(decoded, api_versions_body());
        assert_eq!(decoded.api_keys.len(), SUPPORTED_APIS.len());
    }

    #[test]
    fn api_versions_v0_request_and_answer() {
        let mut frame = vec![0, 18, 0, 0, 0, 0, 0, 2, 0, 4];
        frame.extend_from_slice(b"kcat");
        let request = decode_request(Bytes::from(frame)).unwrap();
        assert_eq!(request.header.header_version, 1);
        assert_eq!(request.header.client_id.as_deref(), Some("kcat"));
        assert_eq!(
            request.body,
            RequestBody::ApiVersions(ApiVersionsRequest::default())
        );
        // v0: error code, INT32 count, (key, min, max) per API, no throttle time.
        let response = api_versions_response(2, 0);
        let rows = SUPPORTED_APIS.len();
        assert_eq!(response.len(), 4 + 4 + 2 + 4 + 6 * rows);
        assert_eq!(&response[4..14], &[0, 0, 0, 2, 0, 0, 0, 0, 0, rows as u8]);
        assert_eq!(&response[14..20], &[0, 0, 0, 3, 0, 11]); // Produce 3..=11
    }

    #[test]
    fn api_versions_at_an_unknown_version_gets_the_v0_fallback() {
        // A future client's ApiVersions v127, header v2 and a body Sluice cannot know.
        let mut frame = vec![0, 18, 0, 127, 0, 0, 0, 3, 0, 7];
        frame.extend_from_slice(b"rdkafka");
        frame.extend_from_slice(&[0, 0xde, 0xad]);
        let error = decode_request(Bytes::from(frame)).unwrap_err();
        assert_eq!(
            error,
            RequestError::UnsupportedVersion {
                api_key: 18,
                api_version: 127,
                correlation_id: Some(3)
            }
        );
        // KIP-511: v0 format, UNSUPPORTED_VERSION, and the ApiVersions row so the client can
        // retry at a version the broker speaks.
        let expected = [
            0, 0, 0, 16, // size
            0, 0, 0, 3, // correlation id (header v0)
            0, 35, // error code
            0, 0, 0, 1, // one row
            0, 18, 0, 0, 0, 4, // ApiVersions 0..=4
        ];
        assert_eq!(error.response().unwrap(), expected);
        assert_eq!(api_versions_response(3, 127), expected);
        assert_eq!(api_versions_response(3, -1), expected);
    }

    #[test]
    fn unknown_keys_and_unserved_versions_close_the_connection() {
        let unknown =
            decode_request(Bytes::from_static(&[0x27, 0x0f, 0, 0, 0, 0, 0, 5])).unwrap_err();
        assert_eq!(
            unknown,
            RequestError::UnknownApiKey {
                api_key: 9999,
                correlation_id: Some(5)
            }
        );
        assert_eq!(unknown.response(), None);
        // ConsumerGroupHeartbeat (KIP-848) exists in Kafka but is not served.
        let heartbeat = decode_request(Bytes::from_static(&[0, 68, 0, 0, 0, 0, 0, 6])).unwrap_err();
        assert!(matches!(
            heartbeat,
            RequestError::UnknownApiKey { api_key: 68, .. }
        ));
        // Fetch v13 needs topic ids.
        let fetch = decode_request(Bytes::from_static(&[0, 1, 0, 13, 0, 0, 0, 7])).unwrap_err();
        assert_eq!(
            fetch,
            RequestError::UnsupportedVersion {
                api_key: 1,
                api_version: 13,
                correlation_id: Some(7)
            }
        );
        assert_eq!(fetch.response(), None);
        assert_eq!(fetch.correlation_id(), Some(7));
    }

    #[test]
    fn short_frames_are_malformed() {
        for frame in [&[][..], &[0], &[0, 18, 0]] {
            assert!(matches!(
                decode_request(Bytes::copy_from_slice(frame)),
                Err(RequestError::Malformed {
                    correlation_id: None,
                    ..
                })
            ));
        }
        // Key and version but no correlation id: the error has none to echo.
        let error = decode_request(Bytes::from_static(&[0, 18, 0, 127, 0])).unwrap_err();
        assert_eq!(error.correlation_id(), None);
        assert_eq!(error.response(), None);
        // A v1 header cut inside the client id.
        let error =
            decode_request(Bytes::from_static(&[0, 3, 0, 1, 0, 0, 0, 9, 0, 5, b'a'])).unwrap_err();
        assert!(matches!(
            error,
            RequestError::Malformed {
                correlation_id: Some(9),
                reason: Malformed::Truncated { .. }
            }
        ));
    }

    #[test]
    fn a_huge_array_count_is_refused_not_allocated() {
        // Metadata v1 claiming 2^31 - 1 topics in a 14-byte frame.
        let frame = [0, 3, 0, 1, 0, 0, 0, 4, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff];
        let error = decode_request(Bytes::copy_from_slice(&frame)).unwrap_err();
        assert_eq!(
            error,
            RequestError::Malformed {
                correlation_id: Some(4),
                reason: Malformed::ArrayCount {
                    field: "topics",
                    offset: 0,
                    count: i32::MAX as usize,
                    remaining: 0
                }
            }
        );
    }

    /// Group requests claiming absurd arrays, top-level and nested, in both layouts: each is
    /// refused by the pre-check, naming the field, before kafka-protocol reserves anything.
    #[test]
    fn group_requests_with_absurd_counts_are_refused() {
        // Header v1 (key, version, correlation id 8, null client id), then the body.
        let frame = |key: u8, version: u8, body: &[u8]| {
            let mut frame = vec![0, key, 0, version, 0, 0, 0, 8, 0xff, 0xff];
            frame.extend_from_slice(body);
            Bytes::from(frame)
        };
        let huge = [0x7f, 0xff, 0xff, 0xff];
        // JoinGroup v5: group "g", timeouts, no member id, null instance id, "consumer", then
        // 2^31 - 1 protocols.
        let mut join = vec![
            0, 1, b'g', 0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10, 0, 0, 0xff, 0xff,
        ];
        join.extend_from_slice(&[0, 8]);
        join.extend_from_slice(b"consumer");
        join.extend_from_slice(&huge);
        // OffsetCommit v2: group, generation, member, retention, one topic "t" whose
        // partitions claim 2^31 - 1 entries.
        let mut commit = vec![0, 1, b'g', 0, 0, 0, 1, 0, 0];
        commit.extend_from_slice(&[0xff; 8]);
        commit.extend_from_slice(&[0, 0, 0, 1, 0, 1, b't']);
        commit.extend_from_slice(&huge);
        // LeaveGroup v3: group, then 2^31 - 1 members.
        let mut leave = vec![0, 1, b'g'];
        leave.extend_from_slice(&huge);
        let cases = [
            (frame(11, 5, &join), "protocols"),
            (frame(8, 2, &commit), "partitions"),
            (frame(13, 3, &leave), "members"),
            (frame(15, 0, &huge), "groups"),
            (frame(42, 1, &huge), "groups_names"),
        ];
        for (frame, field) in cases {
            let error = decode_request(frame).unwrap_err();
            assert!(
                matches!(
                    error,
                    RequestError::Malformed {
                        correlation_id: Some(8),
                        reason: Malformed::ArrayCount { field: f, .. },
                    } if f == field
                ),
                "{error:?}"
            );
            assert_eq!(error.response(), None);
        }
        // OffsetFetch v8, flexible: header v2 (tagged fields after the client id), then a
        // compact count of 2^32 - 2 groups.
        let fetch = [
            0, 9, 0, 8, 0, 0, 0, 8, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0x0f,
        ];
        let error = decode_request(Bytes::copy_from_slice(&fetch)).unwrap_err();
        assert!(
            matches!(
                error,
                RequestError::Malformed {
                    reason: Malformed::ArrayCount {
                        field: "groups",
                        ..
                    },
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn metadata_v9_header_v2_reads_the_client_id_as_int16_string() {
        let body = sample_request(ApiKey::Metadata, 9);
        let frame = request_frame(11, Some("console-consumer"), 9, &body);
        // The client id's INT16 length follows the correlation id.
        assert_eq!(&frame[8..10], &[0, 16]);
        let request = decode_request(frame).unwrap();
        assert_eq!(request.header.header_version, 2);
        assert_eq!(
            request.header.client_id.as_deref(),
            Some("console-consumer")
        );
        assert_eq!(request.body, body);
    }

    /// Every served API at every advertised version: a populated request encoded by
    /// kafka-protocol decodes to the same value, and the length pre-check walks exactly its
    /// body (the pre-check's tables agree with kafka-protocol's layout).
    #[test]
    fn every_served_version_decodes_what_a_client_encodes() {
        for row in SUPPORTED_APIS {
            for version in row.min_version..=row.max_version {
                let body = sample_request(row.api_key, version);
                let frame = request_frame(42, Some("sluice-test"), version, &body);
                let request = decode_request(frame.clone())
                    .unwrap_or_else(|error| panic!("{:?} v{version}: {error}", row.api_key));
                assert_eq!(request.header.correlation_id, 42);
                assert_eq!(request.header.client_id.as_deref(), Some("sluice-test"));
                assert_eq!(request.body, body, "{:?} v{version}", row.api_key);
                let header_bytes =
                    8 + 2 + "sluice-test".len() + usize::from(request.header.header_version == 2);
                assert_eq!(
                    check_request_body(row.api_key, version, &frame[header_bytes..]),
                    Ok(frame.len() - header_bytes),
                    "{:?} v{version}",
                    row.api_key
                );
            }
        }
    }

    /// Each served (api, version) pair, for strategies to pick from.
    fn served_versions() -> Vec<(ApiKey, i16)> {
        SUPPORTED_APIS
            .iter()
            .flat_map(|row| (row.min_version..=row.max_version).map(|v| (row.api_key, v)))
            .collect()
    }

    fn assert_no_layout_mismatch(result: &Result<DecodedRequest, RequestError>) {
        if let Err(RequestError::Malformed {
            reason: reason @ Malformed::LayoutMismatch { .. },
            ..
        }) = result
        {
            panic!("pre-check and kafka-protocol disagree: {reason}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Arbitrary bytes never panic the decoder.
        #[test]
        fn arbitrary_frames_never_panic(frame in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_request(Bytes::from(frame));
        }

        /// Arbitrary bodies behind a valid header of a served version never panic, and the
        /// pre-check never lets through a body kafka-protocol reads differently.
        #[test]
        fn arbitrary_bodies_of_served_versions_never_panic(
            pick in any::<prop::sample::Index>(),
            body in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let served = served_versions();
            let (api_key, version) = served[pick.index(served.len())];
            let mut frame = request_frame(1, Some("p"), version, &sample_request(api_key, version))
                .to_vec();
            let header_bytes = 8 + 3 + usize::from(api_key.request_header_version(version) == 2);
            frame.truncate(header_bytes);
            frame.extend_from_slice(&body);
            assert_no_layout_mismatch(&decode_request(Bytes::from(frame)));
        }

        /// Valid frames with bits flipped, bytes overwritten or the tail cut never panic.
        #[test]
        fn damaged_valid_frames_never_panic(
            pick in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..6),
            overwrites in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            keep in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let served = served_versions();
            let (api_key, version) = served[pick.index(served.len())];
            let mut frame = request_frame(1, Some("p"), version, &sample_request(api_key, version))
                .to_vec();
            for (position, bit) in flips {
                let position = position.index(frame.len());
                frame[position] ^= 1 << bit;
            }
            for (position, byte) in overwrites {
                let position = position.index(frame.len());
                frame[position] = byte;
            }
            if truncate {
                frame.truncate(keep.index(frame.len() + 1));
            }
            assert_no_layout_mismatch(&decode_request(Bytes::from(frame)));
        }
    }
}
