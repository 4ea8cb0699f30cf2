//! A Fetch response frame whose record bytes are left in segment files.
//!
//! kafka-protocol encodes a whole message into one buffer, so every record byte it carries is
//! copied into the frame. For a Fetch answer this module writes the frame itself, as a list of
//! [`FramePart`]s: encoded bytes, and in place of each file-backed partition's records a slot
//! that the driver fills from the file (with sendfile, the bytes never reach user space). It
//! writes exactly the bytes kafka-protocol would (a test compares the two for every version),
//! for the fields Sluice's Fetch answers use; a body that sets anything else (the v12 tagged
//! fields, unknown tagged fields) is refused, not half-encoded.

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{ApiKey, FetchResponse};
use sluice_core::api::FileRange;

use crate::frame::SIZE_PREFIX_BYTES;
use crate::header::{encode_response_header, response_header_version, RequestHeader};
use crate::response::EncodeError;

/// The Fetch versions this encoder writes: the ones Sluice serves.
const VERSIONS: std::ops::RangeInclusive<i16> = 4..=12;
/// The first flexible Fetch version.
const FLEXIBLE: i16 = 12;

/// One piece of a response frame, in the order they go on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FramePart {
    /// Bytes to write as they are.
    Bytes(Vec<u8>),
    /// The records of the `n`th file range passed to [`encode_fetch_frame`], counting only
    /// the `Some` entries of `files`: its whole range goes here. Its length prefix is already in the bytes before.
    File(usize),
}

/// The bytes of `parts` that are encoded already: the frame's length without its file slots.
pub fn encoded_len(parts: &[FramePart]) -> usize {
    parts
        .iter()
        .map(|part| match part {
            FramePart::Bytes(bytes) => bytes.len(),
            FramePart::File(_) => 0,
        })
        .sum()
}

/// Encodes the answer to the Fetch `request` from `body` and `files` (as
/// [`crate::convert::fetch_from_core`] returns them: one entry per partition in the order the
/// body lists them, `Some` where the records lie in a file and are null in the body).
pub fn encode_fetch_frame(
    request: &RequestHeader,
    body: &FetchResponse,
    files: &[Option<FileRange>],
) -> Result<Vec<FramePart>, EncodeError> {
    let version = request.api_version;
    let refuse = |message: &str| EncodeError::Body {
        api_key: ApiKey::Fetch,
        api_version: version,
        message: message.to_string(),
    };
    if request.api_key != ApiKey::Fetch as i16 {
        return Err(EncodeError::WrongApi {
            request: request.api_key,
            response: ApiKey::Fetch,
        });
    }
    if !VERSIONS.contains(&version) {
        return Err(refuse("the fetch frame encoder writes v4 to v12"));
    }
    let partitions: usize = body.responses.iter().map(|t| t.partitions.len()).sum();
    if partitions != files.len() {
        return Err(refuse("one file entry per partition is needed"));
    }
    if !body.unknown_tagged_fields.is_empty() || !body.node_endpoints.is_empty() {
        return Err(refuse("tagged fields are not written"));
    }
    let mut out = Parts::new(version);
    out.bytes.extend_from_slice(&[0; SIZE_PREFIX_BYTES]);
    let header_version = response_header_version(ApiKey::Fetch, version);
    encode_response_header(&mut out.bytes, header_version, request.correlation_id);
    out.i32(body.throttle_time_ms);
    if version >= 7 {
        out.i16(body.error_code);
        out.i32(body.session_id);
    }
    out.length(body.responses.len()).map_err(refuse)?;
    let mut files = files.iter();
    for topic in &body.responses {
        topic_response(&mut out, topic, &mut files).map_err(refuse)?;
    }
    out.tagged_fields();
    out.finish().map_err(EncodeError::TooLarge)
}

fn topic_response<'a>(
    out: &mut Parts,
    topic: &FetchableTopicResponse,
    files: &mut impl Iterator<Item = &'a Option<FileRange>>,
) -> Result<(), &'static str> {
    if !topic.unknown_tagged_fields.is_empty() {
        return Err("tagged fields are not written");
    }
    out.string(topic.topic.as_bytes())?;
    out.length(topic.partitions.len())?;
    for partition in &topic.partitions {
        let file = files.next().expect("counted");
        partition_data(out, partition, file.as_ref())?;
    }
    out.tagged_fields();
    Ok(())
}

fn partition_data(
    out: &mut Parts,
    partition: &PartitionData,
    file: Option<&FileRange>,
) -> Result<(), &'static str> {
    let defaults = PartitionData::default();
    if partition.diverging_epoch != defaults.diverging_epoch
        || partition.current_leader != defaults.current_leader
        || partition.snapshot_id != defaults.snapshot_id
        || !partition.unknown_tagged_fields.is_empty()
    {
        return Err("tagged fields are not written");
    }
    let version = out.version;
    out.i32(partition.partition_index);
    out.i16(partition.error_code);
    out.i64(partition.high_watermark);
    out.i64(partition.last_stable_offset);
    if version >= 5 {
        out.i64(partition.log_start_offset);
    }
    match &partition.aborted_transactions {
        None => out.null(),
        Some(aborted) => {
            out.length(aborted.len())?;
            for transaction in aborted {
                if !transaction.unknown_tagged_fields.is_empty() {
                    return Err("tagged fields are not written");
                }
                out.i64(transaction.producer_id.0);
                out.i64(transaction.first_offset);
                out.tagged_fields();
            }
        }
    }
    if version >= 11 {
        out.i32(partition.preferred_read_replica.0);
    }
    match (file, &partition.records) {
        (Some(_), Some(_)) => return Err("records both in the body and in a file"),
        (Some(range), None) => out.file(range.len as usize)?,
        (None, Some(records)) => {
            out.length(records.len())?;
            out.bytes.extend_from_slice(records);
        }
        (None, None) => out.null(),
    }
    out.tagged_fields();
    Ok(())
}

/// The frame being written: finished parts, and the bytes of the current one.
struct Parts {
    version: i16,
    parts: Vec<FramePart>,
    bytes: Vec<u8>,
    /// Bytes in files, counted for the size prefix.
    file_bytes: usize,
    files: usize,
}

impl Parts {
    fn new(version: i16) -> Parts {
        Parts {
            version,
            parts: Vec::new(),
            bytes: Vec::with_capacity(256),
            file_bytes: 0,
            files: 0,
        }
    }

    fn flexible(&self) -> bool {
        self.version >= FLEXIBLE
    }

    fn i16(&mut self, value: i16) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    fn i32(&mut self, value: i32) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    fn i64(&mut self, value: i64) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    fn unsigned_varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    /// The length of an array or of bytes: int32, or in flexible versions an unsigned varint
    /// of length + 1.
    fn length(&mut self, len: usize) -> Result<(), &'static str> {
        let len = i32::try_from(len).map_err(|_| "a field over 2 GiB")?;
        if self.flexible() {
            self.unsigned_varint(len as u64 + 1);
        } else {
            self.i32(len);
        }
        Ok(())
    }

    /// A null array or null bytes.
    fn null(&mut self) {
        if self.flexible() {
            self.unsigned_varint(0);
        } else {
            self.i32(-1);
        }
    }

    fn string(&mut self, text: &[u8]) -> Result<(), &'static str> {
        if self.flexible() {
            self.unsigned_varint(text.len() as u64 + 1);
        } else {
            let len = i16::try_from(text.len()).map_err(|_| "a string over 32767 bytes")?;
            self.i16(len);
        }
        self.bytes.extend_from_slice(text);
        Ok(())
    }

    /// An empty tagged-field section, in flexible versions.
    fn tagged_fields(&mut self) {
        if self.flexible() {
            self.unsigned_varint(0);
        }
    }

    /// The length prefix of a file's records, then a slot for them.
    fn file(&mut self, len: usize) -> Result<(), &'static str> {
        self.length(len)?;
        let bytes = std::mem::take(&mut self.bytes);
        self.parts.push(FramePart::Bytes(bytes));
        self.parts.push(FramePart::File(self.files));
        self.files += 1;
        self.file_bytes += len;
        Ok(())
    }

    /// The parts, with the size prefix written into the first.
    fn finish(mut self) -> Result<Vec<FramePart>, usize> {
        if !self.bytes.is_empty() {
            let bytes = std::mem::take(&mut self.bytes);
            self.parts.push(FramePart::Bytes(bytes));
        }
        let size = encoded_len(&self.parts) + self.file_bytes - SIZE_PREFIX_BYTES;
        let prefix = i32::try_from(size).map_err(|_| size)?;
        let Some(FramePart::Bytes(first)) = self.parts.first_mut() else {
            unreachable!("the header is the first part");
        };
        first[..SIZE_PREFIX_BYTES].copy_from_slice(&prefix.to_be_bytes());
        Ok(self.parts)
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;
    use proptest::prelude::*;
    use sluice_core::api::{
        ErrorCode, FetchPartitionResponse, FetchRecords, FetchResponse as CoreFetchResponse,
        Response, TopicPartition,
    };

    use super::*;
    use crate::convert::{fetch_from_core, from_core, ClusterInfo, ResponseContext};
    use crate::response::encode_response;

    fn header(version: i16) -> RequestHeader {
        RequestHeader {
            api_key: ApiKey::Fetch as i16,
            api_version: version,
            correlation_id: 0x0102_0304,
            client_id: None,
            header_version: 1,
            unknown_tagged_fields: Default::default(),
        }
    }

    /// The frame with every file slot filled with `contents[slot]`.
    fn assemble(parts: &[FramePart], contents: &[Vec<u8>]) -> Vec<u8> {
        let mut frame = Vec::new();
        for part in parts {
            match part {
                FramePart::Bytes(bytes) => frame.extend_from_slice(bytes),
                FramePart::File(slot) => frame.extend_from_slice(&contents[*slot]),
            }
        }
        frame
    }

    /// One partition's answer: its topic (of three), index, error, offsets, records, and
    /// whether the records lie in a file.
    fn answer() -> impl Strategy<Value = (FetchPartitionResponse, bool)> {
        (
            0..3usize,
            0..4i32,
            prop::sample::select(vec![ErrorCode::None, ErrorCode::NotLeaderOrFollower]),
            -1..1_000_000i64,
            prop::collection::vec(any::<u8>(), 0..300),
            any::<bool>(),
        )
            .prop_map(|(topic, partition, error, hw, records, in_file)| {
                let answer = FetchPartitionResponse {
                    partition: TopicPartition {
                        topic: ["orders", "payments", "a-topic-name-of-some-length"][topic]
                            .to_string(),
                        partition,
                    },
                    error,
                    high_watermark: hw,
                    last_stable_offset: hw,
                    log_start_offset: hw / 2,
                    records: FetchRecords::from(records),
                };
                (answer, in_file)
            })
    }

    proptest! {
        /// The frame is byte for byte what kafka-protocol writes for the same answer with the
        /// records in memory, at every version, whichever records lie in files.
        #[test]
        fn frames_equal_kafka_protocols(
            version in 4i16..=12,
            read_committed in any::<bool>(),
            error in prop::sample::select(vec![ErrorCode::None, ErrorCode::UnknownServerError]),
            answers in prop::collection::vec(answer(), 0..8),
        ) {
            let mut context = ResponseContext::new(ApiKey::Fetch, version);
            context.read_committed = read_committed;
            let in_memory = CoreFetchResponse {
                error,
                partitions: answers.iter().map(|(answer, _)| answer.clone()).collect(),
            };
            let expected = from_core(Response::Fetch(in_memory), &context, &ClusterInfo::default()).unwrap();
            let expected = encode_response(&header(version), &expected).unwrap();

            // The same answer with the chosen records moved to "files": each range's position
            // is the index of its bytes in `stored`.
            let mut stored = Vec::new();
            let mut partitions = Vec::new();
            for (mut answer, in_file) in answers {
                if in_file {
                    let bytes = answer.records.into_bytes();
                    answer.records = FetchRecords::File(FileRange {
                        path: "orders-0/00000000000000000000.log".to_string(),
                        position: stored.len() as u64,
                        len: bytes.len() as u32,
                    });
                    stored.push(bytes);
                }
                partitions.push(answer);
            }
            let (body, files) = fetch_from_core(CoreFetchResponse { error, partitions }, &context);
            // The frame's slots, in the body's order.
            let contents: Vec<Vec<u8>> = files
                .iter()
                .flatten()
                .map(|range| stored[range.position as usize].clone())
                .collect();
            let parts = encode_fetch_frame(&header(version), &body, &files).unwrap();
            let slots = parts.iter().filter(|p| matches!(p, FramePart::File(_))).count();
            prop_assert_eq!(slots, contents.len());
            let frame = assemble(&parts, &contents);
            prop_assert_eq!(frame, expected);
        }
    }

    #[test]
    fn what_it_cannot_write_is_refused() {
        let context = ResponseContext::new(ApiKey::Fetch, 12);
        let answer = FetchPartitionResponse::error(
            TopicPartition {
                topic: "orders".to_string(),
                partition: 0,
            },
            ErrorCode::None,
        );
        let response = CoreFetchResponse {
            error: ErrorCode::None,
            partitions: vec![answer],
        };
        let (body, files) = fetch_from_core(response, &context);
        assert!(encode_fetch_frame(&header(12), &body, &files).is_ok());
        assert!(encode_fetch_frame(&header(13), &body, &files).is_err());
        assert!(encode_fetch_frame(&header(12), &body, &[]).is_err());
        let mut tagged = body.clone();
        tagged.responses[0].partitions[0].current_leader.leader_id.0 = 3;
        assert!(encode_fetch_frame(&header(12), &tagged, &files).is_err());
        let mut produce = header(12);
        produce.api_key = ApiKey::Produce as i16;
        assert!(encode_fetch_frame(&produce, &body, &files).is_err());
    }
}
