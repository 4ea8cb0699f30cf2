//! A validated view of one RecordBatch v2 in a byte buffer, and decoding its records.

use super::attributes::{Attributes, Compression, TimestampType};
use super::compression::{decompress, DECOMPRESSED_BYTES_MAX};
use super::cursor::{corrupt, Cursor};
use super::header::{BatchError, BatchHeader, ValidatedHeader, BATCH_HEADER_BYTES};
use super::record::{decode_record, Record, RecordHeader, RecordHeaderRef, RecordRef};

/// The smallest encoded record: a one-byte length and six one-byte fields.
const RECORD_BYTES_MIN: usize = 7;

/// One batch whose header, length and CRC have been checked; its records are decoded on
/// demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordBatch<'a> {
    bytes: &'a [u8],
    header: ValidatedHeader,
    compression: Compression,
}

impl<'a> RecordBatch<'a> {
    /// Checks the batch at the start of `bytes` (header, length, CRC and codec id) and returns
    /// a view of exactly its bytes; anything after the batch is left alone.
    pub fn parse(bytes: &'a [u8]) -> Result<RecordBatch<'a>, BatchError> {
        let header = ValidatedHeader::check(bytes)?;
        let compression = Attributes::from_bits(header.header().attributes).compression()?;
        let bytes = &bytes[..header.header().total_bytes()];
        assert!(bytes.len() >= BATCH_HEADER_BYTES);
        Ok(RecordBatch {
            bytes,
            header,
            compression,
        })
    }

    /// The batch's bytes, exactly `LOG_OVERHEAD + batch_length` of them.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The decoded header.
    pub fn header(&self) -> &BatchHeader {
        self.header.header()
    }

    /// The decoded header, as proof that the batch's CRC was checked.
    pub fn validated_header(&self) -> ValidatedHeader {
        self.header
    }

    /// The attributes field.
    pub fn attributes(&self) -> Attributes {
        Attributes::from_bits(self.header().attributes)
    }

    /// The codec of the records section.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The records section as stored, compressed or not.
    pub fn records_section(&self) -> &'a [u8] {
        &self.bytes[BATCH_HEADER_BYTES..]
    }

    /// Decodes every record, decompressing with the default cap of
    /// [`DECOMPRESSED_BYTES_MAX`] bytes.
    pub fn records(&self) -> Result<Vec<Record>, BatchError> {
        self.records_with_limit(DECOMPRESSED_BYTES_MAX)
    }

    /// Decodes every record, refusing a records section that decompresses to more than
    /// `decompressed_bytes_max` bytes.
    ///
    /// Fails with [`BatchError::CorruptRecords`] if the section does not decompress, holds
    /// fewer or more records than the header's count, has bytes after the last record, or has
    /// a record that is malformed or whose offset delta lies outside `0..=last_offset_delta`.
    pub fn records_with_limit(
        &self,
        decompressed_bytes_max: usize,
    ) -> Result<Vec<Record>, BatchError> {
        let capacity = self.records_capacity();
        let mut records = Vec::with_capacity(capacity);
        self.for_each_record(
            decompressed_bytes_max,
            |offset, timestamp, record, headers| {
                records.push(Record {
                    offset,
                    timestamp,
                    key: record.key.map(<[u8]>::to_vec),
                    value: record.value.map(<[u8]>::to_vec),
                    headers: headers.iter().copied().map(RecordHeader::from).collect(),
                });
            },
        )?;
        assert_eq!(records.len(), self.record_count());
        Ok(records)
    }

    /// Runs every check [`RecordBatch::records`] runs without keeping the records: what a
    /// leader does before appending a produced batch.
    pub fn validate_records(&self) -> Result<(), BatchError> {
        self.for_each_record(DECOMPRESSED_BYTES_MAX, |_, _, _, _| {})
    }

    /// [`RecordBatch::validate_records`] in the same pass, answering whether every record has a
    /// key (a compacted topic refuses a batch with a keyless record).
    pub fn validate_keyed_records(&self) -> Result<bool, BatchError> {
        let mut keyed = true;
        self.for_each_record(DECOMPRESSED_BYTES_MAX, |_, _, record, _| {
            keyed &= record.key.is_some();
        })?;
        Ok(keyed)
    }

    fn record_count(&self) -> usize {
        usize::try_from(self.header().record_count).expect("parse rejects negative counts")
    }

    /// Room for the records without trusting the header's count beyond what the section's
    /// size allows (compression can shrink records, so this is only an initial guess).
    fn records_capacity(&self) -> usize {
        let fit = self.records_section().len() / RECORD_BYTES_MIN;
        self.record_count().min(fit.max(1))
    }

    fn for_each_record(
        &self,
        decompressed_bytes_max: usize,
        mut visit: impl FnMut(i64, i64, RecordRef<'_>, &[RecordHeaderRef<'_>]),
    ) -> Result<(), BatchError> {
        let section = self.records_section();
        // Kafka skips the records section of a batch that counts no records (compaction can
        // leave such batches to keep producer state); an empty section is all they can hold.
        if self.record_count() == 0 && section.is_empty() {
            return Ok(());
        }
        let decompressed;
        let records = if self.compression == Compression::None {
            section
        } else {
            decompressed = decompress(self.compression, section, decompressed_bytes_max)?;
            &decompressed[..]
        };
        let mut cursor = Cursor::new(records);
        let mut headers = Vec::new();
        for index in 0..self.record_count() {
            if cursor.is_empty() {
                return Err(corrupt(format!(
                    "records end after {index} of {} records",
                    self.record_count()
                )));
            }
            let record = decode_record(&mut cursor, &mut headers)?;
            let (offset, timestamp) = self.position(&record)?;
            visit(offset, timestamp, record, &headers);
        }
        if !cursor.is_empty() {
            return Err(corrupt(format!(
                "{} bytes follow the last of {} records",
                cursor.remaining(),
                self.record_count()
            )));
        }
        Ok(())
    }

    /// The record's absolute offset and the timestamp a reader reports for it.
    fn position(&self, record: &RecordRef<'_>) -> Result<(i64, i64), BatchError> {
        let delta = record.offset_delta;
        if !(0..=self.header().last_offset_delta).contains(&delta) {
            return Err(corrupt(format!(
                "offset delta {delta} outside 0..={}",
                self.header().last_offset_delta
            )));
        }
        // Cannot overflow: parse checked base_offset + last_offset_delta + 1.
        let offset = self.header().base_offset + i64::from(delta);
        let timestamp = match self.attributes().timestamp_type() {
            TimestampType::LogAppendTime => self.header().max_timestamp,
            // Java's long arithmetic wraps, and writers compute the delta the same way.
            TimestampType::CreateTime => self
                .header()
                .base_timestamp
                .wrapping_add(record.timestamp_delta),
        };
        Ok((offset, timestamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::header::ATTRIBUTES_AT;
    use crate::record::{
        compute_crc, stamp_base_offset, stamp_log_append_time, stamp_partition_leader_epoch,
        RecordBatchBuilder,
    };
    use proptest::prelude::*;

    /// A record as a test wants to append it, and as it must come back.
    #[derive(Clone, Debug)]
    struct Input {
        timestamp: i64,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        headers: Vec<RecordHeader>,
    }

    fn build(builder: RecordBatchBuilder, inputs: &[Input]) -> Vec<u8> {
        let mut builder = builder;
        for input in inputs {
            let headers: Vec<_> = input.headers.iter().map(RecordHeader::borrowed).collect();
            let key = input.key.as_deref();
            builder.append(input.timestamp, key, input.value.as_deref(), &headers);
        }
        builder.build()
    }

    fn input(timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Input {
        Input {
            timestamp,
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            headers: Vec::new(),
        }
    }

    /// Rewrites the records section of a built batch and fixes up length and CRC, so tests can
    /// reach the record decoder with bytes the builder would never write.
    fn with_section(batch: &[u8], section: &[u8], record_count: i32) -> Vec<u8> {
        let mut out = batch[..BATCH_HEADER_BYTES].to_vec();
        out.extend_from_slice(section);
        let length = i32::try_from(out.len() - 12).unwrap();
        out[8..12].copy_from_slice(&length.to_be_bytes());
        out[57..61].copy_from_slice(&record_count.to_be_bytes());
        let crc = compute_crc(&out);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        out
    }

    fn assert_corrupt(bytes: &[u8]) {
        let batch = RecordBatch::parse(bytes).unwrap();
        let result = batch.records();
        assert!(
            matches!(result, Err(BatchError::CorruptRecords(_))),
            "{result:?}"
        );
        assert_eq!(batch.validate_records(), Err(result.unwrap_err()));
    }

    #[test]
    fn round_trips_every_codec_with_nulls_headers_and_large_records() {
        let large = vec![0x5a; 200_000];
        let inputs = vec![
            input(1_000, None, None),
            input(999, Some(b""), Some(b"")),
            Input {
                timestamp: 5_000,
                key: Some(b"key".to_vec()),
                value: Some(large),
                headers: vec![
                    RecordHeader {
                        key: "h1".into(),
                        value: Some(b"v1".to_vec()),
                    },
                    RecordHeader {
                        key: "h2".into(),
                        value: None,
                    },
                ],
            },
        ];
        for compression in Compression::ALL {
            let bytes = build(RecordBatchBuilder::new(compression), &inputs);
            let batch = RecordBatch::parse(&bytes).unwrap();
            let records = batch.records().unwrap();
            assert_eq!(records.len(), inputs.len());
            for (index, (record, input)) in records.iter().zip(&inputs).enumerate() {
                assert_eq!(record.offset, index as i64);
                assert_eq!(record.timestamp, input.timestamp);
                assert_eq!(record.key, input.key);
                assert_eq!(record.value, input.value);
                assert_eq!(record.headers, input.headers);
            }
            assert_eq!(batch.validate_records(), Ok(()));
        }
    }

    /// Reference: KIP-98 producer fields and the transactional/control attribute bits.
    #[test]
    fn producer_fields_and_flags_survive() {
        let builder = RecordBatchBuilder::new(Compression::Lz4)
            .producer(42, 7, 1_000)
            .transactional(true)
            .control(true)
            .partition_leader_epoch(9);
        let bytes = build(builder, &[input(1, Some(&[0, 0, 0, 1]), Some(b""))]);
        let batch = RecordBatch::parse(&bytes).unwrap();
        let header = batch.header();
        assert_eq!((header.producer_id, header.producer_epoch), (42, 7));
        assert_eq!(header.base_sequence, 1_000);
        assert_eq!(header.partition_leader_epoch, 9);
        assert!(batch.attributes().is_transactional());
        assert!(batch.attributes().is_control());
        assert_eq!(batch.compression(), Compression::Lz4);
    }

    #[test]
    fn parse_exposes_exactly_the_batch_and_stamps_keep_it_valid() {
        let mut bytes = build(
            RecordBatchBuilder::new(Compression::None),
            &[input(5, None, None)],
        );
        let len = bytes.len();
        stamp_base_offset(&mut bytes, 1_000);
        stamp_partition_leader_epoch(&mut bytes, 3);
        bytes.extend_from_slice(b"next batch");
        let batch = RecordBatch::parse(&bytes).unwrap();
        assert_eq!(batch.bytes().len(), len);
        assert_eq!(batch.header().base_offset, 1_000);
        assert_eq!(batch.records().unwrap()[0].offset, 1_000);
    }

    /// Reference: Kafka's `DefaultRecordBatch` reports the max timestamp for every record of a
    /// LogAppendTime batch, and `setMaxTimestamp` recomputes the CRC.
    #[test]
    fn log_append_time_overrides_record_timestamps() {
        let inputs = [input(10, None, None), input(20, None, None)];
        let mut bytes = build(RecordBatchBuilder::new(Compression::Snappy), &inputs);
        stamp_log_append_time(&mut bytes, 777);
        let batch = RecordBatch::parse(&bytes).unwrap();
        assert_eq!(
            batch.attributes().timestamp_type(),
            TimestampType::LogAppendTime
        );
        assert_eq!(batch.header().base_timestamp, 10);
        let timestamps: Vec<_> = batch
            .records()
            .unwrap()
            .iter()
            .map(|r| r.timestamp)
            .collect();
        assert_eq!(timestamps, [777, 777]);
    }

    #[test]
    fn extreme_timestamps_round_trip_through_wrapping_deltas() {
        let inputs = [input(i64::MAX, None, None), input(i64::MIN, None, None)];
        let bytes = build(RecordBatchBuilder::new(Compression::None), &inputs);
        let records = RecordBatch::parse(&bytes).unwrap().records().unwrap();
        assert_eq!(records[0].timestamp, i64::MAX);
        assert_eq!(records[1].timestamp, i64::MIN);
    }

    #[test]
    fn rejects_count_mismatches_and_trailing_bytes() {
        let bytes = build(
            RecordBatchBuilder::new(Compression::None),
            &[input(1, None, None)],
        );
        let section = bytes[BATCH_HEADER_BYTES..].to_vec();
        assert_corrupt(&with_section(&bytes, &section, 2));
        let mut trailing = section.clone();
        trailing.push(0);
        assert_corrupt(&with_section(&bytes, &trailing, 1));
        assert_corrupt(&with_section(&bytes, &[], 1));
    }

    #[test]
    fn rejects_offset_deltas_outside_the_header_range() {
        let inputs = [input(1, None, None), input(1, None, None)];
        let bytes = build(RecordBatchBuilder::new(Compression::None), &inputs);
        let mut section = bytes[BATCH_HEADER_BYTES..].to_vec();
        // Second record: length, attributes, timestamp delta, then its offset delta (1 = 0x02).
        let second = section[0] as usize / 2 + 1;
        assert_eq!(section[second + 3], 0x02);
        section[second + 3] = 0x04;
        assert_corrupt(&with_section(&bytes, &section, 2));
        section[second + 3] = 0x01;
        assert_corrupt(&with_section(&bytes, &section, 2));
    }

    #[test]
    fn compressed_garbage_and_oversized_sections_are_corrupt() {
        let inputs = [input(1, None, Some(&[0; 10_000]))];
        let bytes = build(RecordBatchBuilder::new(Compression::Zstd), &inputs);
        let batch = RecordBatch::parse(&bytes).unwrap();
        let over = batch.records_with_limit(9_000);
        assert!(matches!(over, Err(BatchError::CorruptRecords(_))));
        assert!(batch.records_with_limit(20_000).is_ok());
        let garbage = with_section(&bytes, b"not zstd at all", 1);
        assert_corrupt(&garbage);
    }

    #[test]
    fn an_empty_batch_with_an_empty_section_has_no_records() {
        let bytes = build(
            RecordBatchBuilder::new(Compression::Gzip),
            &[input(1, None, None)],
        );
        let empty = with_section(&bytes, &[], 0);
        let batch = RecordBatch::parse(&empty).unwrap();
        assert_eq!(batch.records(), Ok(Vec::new()));
    }

    #[test]
    fn unknown_codecs_and_overflowing_offsets_fail_parse() {
        let bytes = build(
            RecordBatchBuilder::new(Compression::None),
            &[input(1, None, None)],
        );
        let mut unknown = bytes.clone();
        unknown[ATTRIBUTES_AT + 1] = 6;
        let crc = compute_crc(&unknown);
        unknown[17..21].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            RecordBatch::parse(&unknown),
            Err(BatchError::UnknownCompression(6))
        );
        let mut overflowing = bytes;
        stamp_base_offset(&mut overflowing, i64::MAX);
        assert!(matches!(
            RecordBatch::parse(&overflowing),
            Err(BatchError::InvalidHeader(_))
        ));
    }

    fn header_strategy() -> impl Strategy<Value = RecordHeader> {
        (
            "[a-z\u{e9}\u{4e2d}]{0,8}",
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..16)),
        )
            .prop_map(|(key, value)| RecordHeader { key, value })
    }

    fn input_strategy() -> impl Strategy<Value = Input> {
        let bytes = || proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64));
        let headers = proptest::collection::vec(header_strategy(), 0..3);
        (any::<i64>(), bytes(), bytes(), headers).prop_map(|(timestamp, key, value, headers)| {
            Input {
                timestamp,
                key,
                value,
                headers,
            }
        })
    }

    fn codec_strategy() -> impl Strategy<Value = Compression> {
        proptest::sample::select(Compression::ALL.to_vec())
    }

    fn built_batch() -> impl Strategy<Value = Vec<u8>> {
        (
            codec_strategy(),
            proptest::collection::vec(input_strategy(), 1..6),
        )
            .prop_map(|(compression, inputs)| build(RecordBatchBuilder::new(compression), &inputs))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn build_then_parse_round_trips_every_field(
            compression in codec_strategy(),
            inputs in proptest::collection::vec(input_strategy(), 1..12),
            producer in proptest::option::of((0..i64::MAX, 0..i16::MAX, 0..i32::MAX)),
            epoch: i32,
        ) {
            let mut builder = RecordBatchBuilder::new(compression).partition_leader_epoch(epoch);
            if let Some((id, producer_epoch, sequence)) = producer {
                builder = builder.producer(id, producer_epoch, sequence);
            }
            let bytes = build(builder, &inputs);
            let batch = RecordBatch::parse(&bytes).unwrap();
            prop_assert_eq!(batch.bytes().len(), bytes.len());
            prop_assert_eq!(batch.compression(), compression);
            let header = batch.header();
            let (id, producer_epoch, sequence) = producer.unwrap_or((-1, -1, -1));
            prop_assert_eq!((header.producer_id, header.producer_epoch), (id, producer_epoch));
            prop_assert_eq!(header.base_sequence, sequence);
            prop_assert_eq!(header.partition_leader_epoch, epoch);
            prop_assert_eq!(header.base_timestamp, inputs[0].timestamp);
            let max = inputs.iter().map(|input| input.timestamp).max().unwrap();
            prop_assert_eq!(header.max_timestamp, max);
            prop_assert_eq!(header.last_offset_delta as usize, inputs.len() - 1);
            let records = batch.records().unwrap();
            prop_assert_eq!(records.len(), inputs.len());
            for (index, (record, input)) in records.iter().zip(&inputs).enumerate() {
                prop_assert_eq!(record.offset, index as i64);
                prop_assert_eq!(record.timestamp, input.timestamp);
                prop_assert_eq!(&record.key, &input.key);
                prop_assert_eq!(&record.value, &input.value);
                prop_assert_eq!(&record.headers, &input.headers);
            }
        }

        #[test]
        fn any_bit_flip_in_the_crc_range_fails_parse(
            bytes in built_batch(),
            at in any::<proptest::sample::Index>(),
            bit in 0u8..8,
        ) {
            let mut damaged = bytes.clone();
            let at = ATTRIBUTES_AT + at.index(bytes.len() - ATTRIBUTES_AT);
            damaged[at] ^= 1 << bit;
            prop_assert!(RecordBatch::parse(&damaged).is_err());
        }

        #[test]
        fn bit_flips_in_magic_and_crc_fail_parse(
            bytes in built_batch(),
            at in 16usize..21,
            bit in 0u8..8,
        ) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << bit;
            prop_assert!(RecordBatch::parse(&damaged).is_err());
        }

        #[test]
        fn bit_flips_in_base_offset_and_leader_epoch_keep_the_crc(
            bytes in built_batch(),
            at in prop_oneof![0usize..8, 12usize..16],
            bit in 0u8..8,
        ) {
            let mut stamped = bytes.clone();
            stamped[at] ^= 1 << bit;
            let batch = RecordBatch::parse(&stamped);
            prop_assert!(batch.is_ok(), "{:?}", batch);
            prop_assert!(batch.unwrap().validate_records().is_ok());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(batch) = RecordBatch::parse(&bytes) {
                let _ = batch.records();
            }
        }

        #[test]
        fn arbitrary_sections_in_a_valid_envelope_never_panic(
            bytes in built_batch(),
            section in proptest::collection::vec(any::<u8>(), 0..300),
            count in -1i32..8,
            codec in 0u8..8,
            damage_existing: bool,
        ) {
            let original = &bytes[BATCH_HEADER_BYTES..];
            let section = if damage_existing {
                let mut damaged = original.to_vec();
                for (at, byte) in section.iter().enumerate().take(4) {
                    let len = damaged.len();
                    damaged[(at * 7919 + usize::from(*byte)) % len] ^= byte | 1;
                }
                damaged
            } else {
                section
            };
            let mut envelope = bytes.clone();
            envelope[ATTRIBUTES_AT + 1] = (envelope[ATTRIBUTES_AT + 1] & !7) | codec;
            let envelope = with_section(&envelope, &section, count);
            if let Ok(batch) = RecordBatch::parse(&envelope) {
                let _ = batch.records();
                let _ = batch.validate_records();
            }
        }
    }
}
