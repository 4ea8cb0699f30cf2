//! Request and response headers.
//!
//! Request header versions (`RequestHeader.json`):
//! - v0: api_key INT16, api_version INT16, correlation_id INT32.
//! - v1: v0 + client_id, a nullable string with an INT16 length.
//! - v2: v1 + a tagged-field section. The client id keeps its INT16 length even here: the
//!   field is declared `"flexibleVersions": "none"` (KAFKA-APIS.md trap 3).
//!
//! Which version a request carries depends on its key and version: v2 exactly when the request
//! version is flexible (trap 4). kafka-protocol's generated `header_version` tables decide it.
//!
//! Response header versions (`ResponseHeader.json`): v0 is the correlation id; v1 adds a
//! tagged-field section. ApiVersions responses always use v0, whatever the request version
//! (trap 1), which kafka-protocol's table also encodes.
//!
//! Sluice reads the header itself rather than through kafka-protocol's `RequestHeader` because
//! that type does not know header v0 and its helper slices the frame without a length check.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::StrBytes;

use crate::request::Malformed;
use crate::wire::Reader;

/// A parsed request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// The API key (18 is ApiVersions, 0 Produce, …).
    pub api_key: i16,
    /// The version of the request body.
    pub api_version: i16,
    /// Echoed in the response so the client can match it to this request.
    pub correlation_id: i32,
    /// The client's id; `None` for a null id or a v0 header.
    pub client_id: Option<StrBytes>,
    /// The header version the request was read with (0, 1 or 2).
    pub header_version: i16,
    /// Tagged fields of a v2 header. Kafka defines none yet, so all are kept as unknown bytes.
    pub unknown_tagged_fields: BTreeMap<i32, Bytes>,
}

/// The header version a request of `api_key` at `api_version` carries.
pub fn request_header_version(api_key: ApiKey, api_version: i16) -> i16 {
    api_key.request_header_version(api_version)
}

/// The header version of the response to a request of `api_key` at `api_version`.
pub fn response_header_version(api_key: ApiKey, api_version: i16) -> i16 {
    api_key.response_header_version(api_version)
}

/// The first 8 bytes of every request header (all versions), readable before the key is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderPrefix {
    pub(crate) api_key: i16,
    pub(crate) api_version: i16,
    pub(crate) correlation_id: Option<i32>,
}

/// Reads the key, version and (if present) correlation id; `None` if even the key and version
/// are cut off.
pub(crate) fn read_header_prefix(frame: &[u8]) -> Option<HeaderPrefix> {
    let mut reader = Reader::new(frame);
    let api_key = reader.i16().ok()?;
    let api_version = reader.i16().ok()?;
    let correlation_id = reader.i32().ok();
    Some(HeaderPrefix {
        api_key,
        api_version,
        correlation_id,
    })
}

/// Parses a request header of `header_version` (0 to 2) from the start of `frame`, and returns
/// it with the number of bytes it took; the body starts there.
pub fn parse_request_header(
    frame: &Bytes,
    header_version: i16,
) -> Result<(RequestHeader, usize), Malformed> {
    assert!(
        (0..=2).contains(&header_version),
        "request header v{header_version}"
    );
    let mut reader = Reader::new(frame);
    let api_key = reader.i16()?;
    let api_version = reader.i16()?;
    let correlation_id = reader.i32()?;
    let client_id = if header_version >= 1 {
        read_client_id(frame, &mut reader)?
    } else {
        None
    };
    let unknown_tagged_fields = if header_version >= 2 {
        read_unknown_tagged_fields(frame, &mut reader)?
    } else {
        BTreeMap::new()
    };
    let header = RequestHeader {
        api_key,
        api_version,
        correlation_id,
        client_id,
        header_version,
        unknown_tagged_fields,
    };
    Ok((header, reader.position()))
}

/// The client id: INT16 length, -1 for null. Invalid UTF-8 is replaced rather than refused, as
/// Kafka's Java reader does, because the id only labels logs and quotas.
fn read_client_id(frame: &Bytes, reader: &mut Reader<'_>) -> Result<Option<StrBytes>, Malformed> {
    let offset = reader.position();
    let length = reader.i16()?;
    if length == -1 {
        return Ok(None);
    }
    let Ok(length) = usize::try_from(length) else {
        return Err(Malformed::Length {
            offset,
            length: i64::from(length),
        });
    };
    let range = reader.take(length)?;
    let bytes = frame.slice(range);
    let client_id = match StrBytes::from_utf8(bytes.clone()) {
        Ok(text) => text,
        Err(_) => StrBytes::from_string(String::from_utf8_lossy(&bytes).into_owned()),
    };
    Ok(Some(client_id))
}

/// A tagged-field section whose tags are all unknown: a count, then (tag, size, bytes) triples.
/// Each entry takes at least 2 bytes, so a false count fails on the frame's end, and nothing is
/// reserved from the count.
fn read_unknown_tagged_fields(
    frame: &Bytes,
    reader: &mut Reader<'_>,
) -> Result<BTreeMap<i32, Bytes>, Malformed> {
    let count = reader.unsigned_varint()?;
    let mut fields = BTreeMap::new();
    for _ in 0..count {
        let tag = reader.unsigned_varint()?;
        let size = reader.unsigned_varint()?;
        let range = reader.take(size as usize)?;
        // Kafka's tag numbers are 31-bit; a larger one is kept under its two's-complement value,
        // as kafka-protocol does, since it is never interpreted.
        fields.insert(tag as i32, frame.slice(range));
    }
    Ok(fields)
}

/// Appends a response header of `header_version` (0 or 1) to `buffer`.
pub fn encode_response_header(buffer: &mut Vec<u8>, header_version: i16, correlation_id: i32) {
    assert!(
        (0..=1).contains(&header_version),
        "response header v{header_version}"
    );
    buffer.extend_from_slice(&correlation_id.to_be_bytes());
    if header_version >= 1 {
        // An empty tagged-field section.
        buffer.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_v2(client_id: Option<&[u8]>, tags: &[u8]) -> Bytes {
        let mut bytes = vec![0, 18, 0, 3, 0, 0, 0, 7];
        match client_id {
            Some(id) => {
                bytes.extend_from_slice(&(id.len() as i16).to_be_bytes());
                bytes.extend_from_slice(id);
            }
            None => bytes.extend_from_slice(&[0xff, 0xff]),
        }
        bytes.extend_from_slice(tags);
        bytes.extend_from_slice(b"body");
        Bytes::from(bytes)
    }

    #[test]
    fn v2_client_id_keeps_its_int16_length() {
        // Trap 3: a compact string would read 0x00 as null and 0x07 as a 6-byte string.
        let frame = header_v2(Some(b"rdkafka"), &[0]);
        let (header, length) = parse_request_header(&frame, 2).unwrap();
        assert_eq!(header.api_key, 18);
        assert_eq!(header.api_version, 3);
        assert_eq!(header.correlation_id, 7);
        assert_eq!(header.client_id.as_deref(), Some("rdkafka"));
        assert!(header.unknown_tagged_fields.is_empty());
        assert_eq!(&frame[length..], b"body");
    }

    #[test]
    fn v2_null_client_id_and_unknown_tags() {
        // Two tags: 5 with 2 bytes, 9 with none.
        let frame = header_v2(None, &[2, 5, 2, 0xaa, 0xbb, 9, 0]);
        let (header, length) = parse_request_header(&frame, 2).unwrap();
        assert_eq!(header.client_id, None);
        assert_eq!(header.unknown_tagged_fields.len(), 2);
        assert_eq!(header.unknown_tagged_fields[&5], &[0xaa, 0xbb][..]);
        assert_eq!(header.unknown_tagged_fields[&9], &b""[..]);
        assert_eq!(&frame[length..], b"body");
    }

    #[test]
    fn v1_has_no_tag_section_and_v0_no_client_id() {
        let frame = Bytes::from_static(&[0, 3, 0, 1, 0, 0, 0, 9, 0, 1, b'x', 0xee]);
        let (header, length) = parse_request_header(&frame, 1).unwrap();
        assert_eq!(header.client_id.as_deref(), Some("x"));
        assert_eq!(length, 11);
        let (header, length) = parse_request_header(&frame, 0).unwrap();
        assert_eq!(header.client_id, None);
        assert_eq!(header.correlation_id, 9);
        assert_eq!(length, 8);
    }

    #[test]
    fn bad_headers_are_errors_not_panics() {
        let too_long_id = Bytes::from_static(&[0, 3, 0, 1, 0, 0, 0, 9, 0x7f, 0xff, b'x']);
        assert!(matches!(
            parse_request_header(&too_long_id, 1),
            Err(Malformed::Truncated { .. })
        ));
        let negative_id = Bytes::from_static(&[0, 3, 0, 1, 0, 0, 0, 9, 0xff, 0xfe]);
        assert_eq!(
            parse_request_header(&negative_id, 1),
            Err(Malformed::Length {
                offset: 8,
                length: -2
            })
        );
        // A tag section claiming 2^32-1 tags with nothing behind it.
        let many_tags = header_v2(None, &[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(parse_request_header(&many_tags, 2).is_err());
        let invalid_utf8 = header_v2(Some(&[0xff, b'a']), &[0]);
        let (header, _) = parse_request_header(&invalid_utf8, 2).unwrap();
        assert_eq!(header.client_id.as_deref(), Some("\u{fffd}a"));
    }

    #[test]
    fn header_versions_follow_flexibility() {
        assert_eq!(request_header_version(ApiKey::ApiVersions, 2), 1);
        assert_eq!(request_header_version(ApiKey::ApiVersions, 3), 2);
        assert_eq!(request_header_version(ApiKey::Metadata, 8), 1);
        assert_eq!(request_header_version(ApiKey::Metadata, 9), 2);
        assert_eq!(request_header_version(ApiKey::Fetch, 12), 2);
        assert_eq!(response_header_version(ApiKey::Fetch, 11), 0);
        assert_eq!(response_header_version(ApiKey::Fetch, 12), 1);
        // Trap 1: ApiVersions answers with header v0 even when the request was flexible.
        assert_eq!(response_header_version(ApiKey::ApiVersions, 3), 0);
        assert_eq!(response_header_version(ApiKey::ApiVersions, 4), 0);
    }

    #[test]
    fn response_headers() {
        let mut buffer = Vec::new();
        encode_response_header(&mut buffer, 0, 0x01020304);
        assert_eq!(buffer, [1, 2, 3, 4]);
        buffer.clear();
        encode_response_header(&mut buffer, 1, -1);
        assert_eq!(buffer, [0xff, 0xff, 0xff, 0xff, 0]);
    }
}
