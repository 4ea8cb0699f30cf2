//! Test helpers: requests through the wire as a client sends them, and responses back the
//! way a client reads them.

use bytes::Bytes;
use kafka_protocol::messages::ResponseHeader;
use kafka_protocol::protocol::{Decodable, StrBytes};
use sluice_core::api::TopicPartition;

use super::{to_core, ConvertError, Converted};
use crate::header::RequestHeader;
use crate::request::{decode_request, RequestBody};
use crate::response::{encode_response, ResponseBody};
use crate::samples::request_frame;

pub(super) fn text(value: &'static str) -> StrBytes {
    StrBytes::from_static_str(value)
}

pub(super) fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition {
        topic: topic.to_owned(),
        partition,
    }
}

/// Encodes `body` at `version` with kafka-protocol's client-side encoder, decodes the frame as
/// the broker does, and converts it.
pub(super) fn through_wire(body: RequestBody, version: i16) -> Result<Converted, ConvertError> {
    let frame = request_frame(7, Some("convert-test"), version, &body);
    let decoded = decode_request(frame)
        .unwrap_or_else(|error| panic!("{:?} v{version}: {error}", body.api_key()));
    assert_eq!(
        decoded.body, body,
        "the wire kept every field of v{version}"
    );
    to_core(&decoded.body, decoded.header.api_version)
}

/// Frames `body` with [`encode_response`] as the answer to a request at `version`, then reads
/// it back with kafka-protocol's client-side decoder, checking header and length.
pub(super) fn decode_response<R: Decodable>(body: &ResponseBody, version: i16) -> R {
    let api_key = body.api_key();
    let request = RequestHeader {
        api_key: api_key as i16,
        api_version: version,
        correlation_id: 99,
        client_id: None,
        header_version: api_key.request_header_version(version),
        unknown_tagged_fields: Default::default(),
    };
    let frame = encode_response(&request, body)
        .unwrap_or_else(|error| panic!("{api_key:?} v{version}: {error}"));
    let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
    assert_eq!(size as usize, frame.len() - 4);
    let mut bytes = Bytes::copy_from_slice(&frame[4..]);
    let header = ResponseHeader::decode(&mut bytes, api_key.response_header_version(version))
        .unwrap_or_else(|error| panic!("{api_key:?} v{version} header: {error:#}"));
    assert_eq!(header.correlation_id, 99);
    let decoded = R::decode(&mut bytes, version)
        .unwrap_or_else(|error| panic!("{api_key:?} v{version} body: {error:#}"));
    assert!(
        bytes.is_empty(),
        "{api_key:?} v{version}: bytes after the body"
    );
    decoded
}
