//! The client's side of the wire: a request framed as clients send it, and an answer read back
//! as clients read it. The `sluice` tools and tests use it; the broker never does.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader as CodecRequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::request::RequestBody;
use crate::response::ResponseBody;

/// Why a request could not be framed or an answer not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCodecError {
    /// The body does not fit its version (a field the version lacks was set).
    Encode(String),
    /// The answer's header or body does not decode at the version asked for.
    Decode(String),
    /// The answer carries bytes after its body.
    TrailingBytes(usize),
    /// The answer is to an API Sluice has no decoder for.
    UnknownApi(ApiKey),
}

impl std::fmt::Display for ClientCodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientCodecError::Encode(message) => write!(f, "cannot encode the request: {message}"),
            ClientCodecError::Decode(message) => write!(f, "cannot decode the answer: {message}"),
            ClientCodecError::TrailingBytes(left) => {
                write!(f, "{left} bytes after the answer's body")
            }
            ClientCodecError::UnknownApi(api_key) => write!(f, "no decoder for {api_key:?}"),
        }
    }
}

impl std::error::Error for ClientCodecError {}

/// `body` at `version` as one frame: size prefix, request header (its version fixed by the key
/// and version), body.
pub fn encode_request(
    correlation_id: i32,
    client_id: &str,
    version: i16,
    body: &RequestBody,
) -> Result<BytesMut, ClientCodecError> {
    let api_key = body.api_key();
    let header = CodecRequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_string())));
    // Sized up front: a Produce body is mostly its batches, and growing the buffer as it is
    // written would copy them again at every doubling.
    let body_size = body
        .compute_size(version)
        .map_err(ClientCodecError::Encode)?;
    let mut buffer = BytesMut::with_capacity(64 + client_id.len() + body_size);
    buffer.extend_from_slice(&[0; 4]);
    header
        .encode(&mut buffer, api_key.request_header_version(version))
        .map_err(|error| ClientCodecError::Encode(format!("{error:#}")))?;
    body.encode(&mut buffer, version)
        .map_err(ClientCodecError::Encode)?;
    let size = i32::try_from(buffer.len() - 4)
        .map_err(|_| ClientCodecError::Encode("the request is over 2 GiB".to_string()))?;
    buffer[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buffer)
}

/// The correlation id of an answer, read from a frame (size prefix already removed).
pub fn response_correlation_id(frame: &[u8]) -> Option<i32> {
    let bytes: [u8; 4] = frame.get(..4)?.try_into().ok()?;
    Some(i32::from_be_bytes(bytes))
}

/// Reads the answer to a request of `api_key` at `version` from `frame` (size prefix already
/// removed): its correlation id and body.
pub fn decode_response(
    api_key: ApiKey,
    version: i16,
    mut frame: Bytes,
) -> Result<(i32, ResponseBody), ClientCodecError> {
    let header = ResponseHeader::decode(&mut frame, api_key.response_header_version(version))
        .map_err(|error| ClientCodecError::Decode(format!("header: {error:#}")))?;
    let body = ResponseBody::decode(api_key, &mut frame, version)
        .ok_or(ClientCodecError::UnknownApi(api_key))?
        .map_err(ClientCodecError::Decode)?;
    if frame.has_remaining() {
        return Err(ClientCodecError::TrailingBytes(frame.remaining()));
    }
    Ok((header.correlation_id, body))
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{ApiVersionsRequest, MetadataResponse};

    use super::*;
    use crate::request::decode_request;
    use crate::response::{api_versions_body, encode_response_at};

    #[test]
    fn a_framed_request_decodes_as_the_broker_reads_it() {
        let body = RequestBody::ApiVersions(ApiVersionsRequest::default());
        let frame = encode_request(5, "tool", 3, &body).unwrap();
        let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        assert_eq!(size as usize, frame.len() - 4);
        let decoded = decode_request(Bytes::copy_from_slice(&frame[4..])).unwrap();
        assert_eq!(decoded.header.correlation_id, 5);
        assert_eq!(decoded.header.client_id.as_deref(), Some("tool"));
        assert_eq!(decoded.body, body);
    }

    #[test]
    fn an_answer_decodes_with_its_correlation_id() {
        let body = ResponseBody::ApiVersions(api_versions_body());
        let frame = encode_response_at(9, 3, &body).unwrap();
        let frame = Bytes::copy_from_slice(&frame[4..]);
        assert_eq!(response_correlation_id(&frame), Some(9));
        let (correlation_id, decoded) = decode_response(ApiKey::ApiVersions, 3, frame).unwrap();
        assert_eq!((correlation_id, decoded), (9, body));
    }

    #[test]
    fn a_truncated_or_padded_answer_is_an_error_not_a_panic() {
        let body = ResponseBody::Metadata(MetadataResponse::default());
        let frame = encode_response_at(1, 9, &body).unwrap();
        let whole = &frame[4..];
        for cut in 0..whole.len() {
            let part = Bytes::copy_from_slice(&whole[..cut]);
            assert!(decode_response(ApiKey::Metadata, 9, part).is_err());
        }
        let mut padded = whole.to_vec();
        padded.push(0);
        assert_eq!(
            decode_response(ApiKey::Metadata, 9, Bytes::from(padded)),
            Err(ClientCodecError::TrailingBytes(1))
        );
    }
}
