//! One record inside a batch and its encoding, as Kafka's `DefaultRecord`:
//!
//! ```text
//! length: varint            bytes after this field
//! attributes: i8            unused, written as 0
//! timestampDelta: varlong   timestamp - batch base timestamp
//! offsetDelta: varint       offset - batch base offset
//! keyLength: varint         -1 for a null key
//! key: bytes
//! valueLength: varint       -1 for a null value
//! value: bytes
//! headersCount: varint
//! headers: [headerKeyLength: varint, headerKey: UTF-8, headerValueLength: varint (-1 null),
//!           headerValue: bytes]
//! ```
//!
//! Decoding is stricter than Kafka's in two places: a key, value or header value length below
//! -1 is an error (Kafka reads any negative length as null), and a header key that is not UTF-8
//! is an error (Java replaces the bad bytes). Only a broken writer produces either.

use super::cursor::{corrupt, Cursor};
use super::header::BatchError;
use super::varint::{encode_varint, encode_varlong, varint_len, varlong_len};

/// A decoded record, owning its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The batch's base offset plus the record's offset delta.
    pub offset: i64,
    /// The batch's base timestamp plus the record's timestamp delta, or the batch's max
    /// timestamp when the batch uses [`super::TimestampType::LogAppendTime`].
    pub timestamp: i64,
    /// The key, or `None` when the producer sent a null key.
    pub key: Option<Vec<u8>>,
    /// The value, or `None` for a null value (a tombstone under compaction).
    pub value: Option<Vec<u8>>,
    /// Application headers, in the order they were written.
    pub headers: Vec<RecordHeader>,
}

/// A record header, owning its bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordHeader {
    /// The header name.
    pub key: String,
    /// The header value, or `None` for null.
    pub value: Option<Vec<u8>>,
}

/// A record header borrowing its bytes, for appending without copying and for decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordHeaderRef<'a> {
    /// The header name.
    pub key: &'a str,
    /// The header value, or `None` for null.
    pub value: Option<&'a [u8]>,
}

impl RecordHeader {
    /// Borrows this header.
    pub fn borrowed(&self) -> RecordHeaderRef<'_> {
        RecordHeaderRef {
            key: &self.key,
            value: self.value.as_deref(),
        }
    }
}

impl From<RecordHeaderRef<'_>> for RecordHeader {
    fn from(header: RecordHeaderRef<'_>) -> RecordHeader {
        RecordHeader {
            key: header.key.to_owned(),
            value: header.value.map(<[u8]>::to_vec),
        }
    }
}

/// A decoded record borrowing from the (decompressed) records section; its headers are
/// decoded into a buffer the caller reuses across records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordRef<'b> {
    pub(crate) timestamp_delta: i64,
    pub(crate) offset_delta: i32,
    pub(crate) key: Option<&'b [u8]>,
    pub(crate) value: Option<&'b [u8]>,
}

/// Appends one encoded record to `out` and returns the bytes written.
///
/// Panics if a length does not fit Kafka's i32 fields: the caller must bound what it appends.
pub(crate) fn encode_record(
    out: &mut Vec<u8>,
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[RecordHeaderRef<'_>],
) -> usize {
    let body_len = body_len(offset_delta, timestamp_delta, key, value, headers);
    let start = out.len();
    encode_varint(i32_len(body_len), out);
    let body_start = out.len();
    // Kafka defines no record-level attributes yet and always writes zero.
    out.push(0);
    encode_varlong(timestamp_delta, out);
    encode_varint(offset_delta, out);
    encode_nullable(key, out);
    encode_nullable(value, out);
    encode_varint(i32_len(headers.len()), out);
    for header in headers {
        encode_varint(i32_len(header.key.len()), out);
        out.extend_from_slice(header.key.as_bytes());
        encode_nullable(header.value, out);
    }
    assert_eq!(
        out.len() - body_start,
        body_len,
        "record length disagrees with its fields"
    );
    out.len() - start
}

fn body_len(
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[RecordHeaderRef<'_>],
) -> usize {
    let mut len = 1 + varlong_len(timestamp_delta) + varint_len(offset_delta);
    len += nullable_len(key) + nullable_len(value);
    len += varint_len(i32_len(headers.len()));
    for header in headers {
        len += varint_len(i32_len(header.key.len())) + header.key.len();
        len += nullable_len(header.value);
    }
    len
}

fn nullable_len(bytes: Option<&[u8]>) -> usize {
    match bytes {
        None => varint_len(-1),
        Some(bytes) => varint_len(i32_len(bytes.len())) + bytes.len(),
    }
}

fn encode_nullable(bytes: Option<&[u8]>, out: &mut Vec<u8>) {
    match bytes {
        None => encode_varint(-1, out),
        Some(bytes) => {
            encode_varint(i32_len(bytes.len()), out);
            out.extend_from_slice(bytes);
        }
    }
}

fn i32_len(len: usize) -> i32 {
    i32::try_from(len).expect("a record length must fit Kafka's i32 fields")
}

/// Decodes one record from the front of `input`, replacing the contents of `headers` with its
/// headers. Fails with [`BatchError::CorruptRecords`] on any malformed field.
pub(crate) fn decode_record<'b>(
    input: &mut Cursor<'b>,
    headers: &mut Vec<RecordHeaderRef<'b>>,
) -> Result<RecordRef<'b>, BatchError> {
    let body_len = input.length("record length")?;
    let mut body = Cursor::new(input.bytes(body_len, "record body")?);
    // The record attributes byte carries nothing yet; Kafka reads and ignores it.
    body.byte("record attributes")?;
    let timestamp_delta = body.varlong("timestamp delta")?;
    let offset_delta = body.varint("offset delta")?;
    let key = body.nullable_bytes("key")?;
    let value = body.nullable_bytes("value")?;
    decode_headers(&mut body, headers)?;
    if !body.is_empty() {
        return Err(corrupt(format!(
            "record length {body_len} leaves {} bytes after the headers",
            body.remaining()
        )));
    }
    Ok(RecordRef {
        timestamp_delta,
        offset_delta,
        key,
        value,
    })
}

fn decode_headers<'b>(
    body: &mut Cursor<'b>,
    headers: &mut Vec<RecordHeaderRef<'b>>,
) -> Result<(), BatchError> {
    headers.clear();
    let count = body.varint("header count")?;
    // Every header takes at least two bytes, so a count above the remaining bytes cannot be
    // honest; Kafka checks the same before reading headers.
    let count = match usize::try_from(count) {
        Ok(count) if count <= body.remaining() => count,
        _ => return Err(corrupt(format!("invalid header count {count}"))),
    };
    for _ in 0..count {
        let key_len = body.length("header key length")?;
        let key = body.bytes(key_len, "header key")?;
        let Ok(key) = core::str::from_utf8(key) else {
            return Err(corrupt("header key is not UTF-8".to_owned()));
        };
        let value = body.nullable_bytes("header value")?;
        headers.push(RecordHeaderRef { key, value });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[RecordHeaderRef<'_>],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let written = encode_record(&mut out, 3, -7, key, value, headers);
        assert_eq!(written, out.len());
        out
    }

    fn decode(bytes: &[u8]) -> Result<(RecordRef<'_>, Vec<RecordHeaderRef<'_>>), BatchError> {
        let mut cursor = Cursor::new(bytes);
        let mut headers = Vec::new();
        let record = decode_record(&mut cursor, &mut headers)?;
        assert!(cursor.is_empty());
        Ok((record, headers))
    }

    /// A FeatureLevelRecord value written by a Kafka KRaft controller (null key, 23-byte
    /// value, no headers): the bytes after the batch header of a real metadata log batch.
    #[test]
    fn decodes_a_record_written_by_kafka() {
        let mut bytes = vec![0x3a, 0x00, 0x00, 0x00, 0x01, 0x2e, 0x01, 0x0c, 0x00, 0x11];
        bytes.extend_from_slice(b"metadata.version");
        bytes.extend_from_slice(&[0x00, 0x14, 0x00, 0x00]);
        let (record, headers) = decode(&bytes).unwrap();
        assert_eq!(record.offset_delta, 0);
        assert_eq!(record.timestamp_delta, 0);
        assert_eq!(record.key, None);
        assert_eq!(record.value.unwrap().len(), 23);
        assert!(headers.is_empty());
        let mut again = Vec::new();
        encode_record(&mut again, 0, 0, None, record.value, &[]);
        assert_eq!(again, bytes);
    }

    #[test]
    fn round_trips_null_empty_and_headers() {
        let headers = [
            RecordHeaderRef {
                key: "trace",
                value: Some(b"abc"),
            },
            RecordHeaderRef {
                key: "",
                value: None,
            },
            RecordHeaderRef {
                key: "ünï",
                value: Some(b""),
            },
        ];
        let bytes = encode(Some(b""), None, &headers);
        let (record, decoded) = decode(&bytes).unwrap();
        assert_eq!(record.offset_delta, 3);
        assert_eq!(record.timestamp_delta, -7);
        assert_eq!(record.key, Some(&b""[..]));
        assert_eq!(record.value, None);
        assert_eq!(decoded, headers);
    }

    #[test]
    fn rejects_a_length_that_disagrees_with_the_fields() {
        let mut bytes = encode(Some(b"k"), Some(b"v"), &[]);
        bytes[0] += 2; // zig-zag: one more byte of body than the fields use
        bytes.push(0);
        assert!(matches!(decode(&bytes), Err(BatchError::CorruptRecords(_))));
        let mut short = encode(Some(b"k"), Some(b"v"), &[]);
        short[0] -= 2;
        short.pop();
        assert!(matches!(decode(&short), Err(BatchError::CorruptRecords(_))));
    }

    #[test]
    fn rejects_bad_header_count_and_non_utf8_keys() {
        let headers = [RecordHeaderRef {
            key: "k",
            value: None,
        }];
        let bytes = encode(None, None, &headers);
        let count_at = bytes.len() - 4;
        let mut negative = bytes.clone();
        negative[count_at] = 0x01;
        assert!(decode(&negative).is_err());
        let mut too_many = bytes.clone();
        too_many[count_at] = 0x7e;
        assert!(decode(&too_many).is_err());
        let mut bad_utf8 = bytes;
        bad_utf8[count_at + 2] = 0xff;
        assert!(matches!(
            decode(&bad_utf8),
            Err(BatchError::CorruptRecords(_))
        ));
    }

    #[test]
    fn rejects_a_key_length_below_minus_one() {
        let mut bytes = encode(None, None, &[]);
        bytes[4] = 0x03; // key length -2
        assert!(decode(&bytes).is_err());
    }

    #[test]
    fn owned_and_borrowed_headers_convert() {
        let header = RecordHeader {
            key: "a".to_owned(),
            value: Some(vec![1]),
        };
        assert_eq!(RecordHeader::from(header.borrowed()), header);
    }
}
