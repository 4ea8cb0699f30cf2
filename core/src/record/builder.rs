//! Building one RecordBatch v2 from records, as a producer (or a broker writing control
//! markers) does.

use super::attributes::{Attributes, Compression, TimestampType};
use super::compression::compress;
use super::header::{
    compute_crc, BatchHeader, BATCH_HEADER_BYTES, CRC_AT, LOG_OVERHEAD, MAGIC_V2,
    NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};
use super::record::{encode_record, RecordHeaderRef};

/// Accumulates records and encodes them as one batch.
///
/// Call order: [`RecordBatchBuilder::new`], the optional settings ([`producer`],
/// [`transactional`], [`control`], [`timestamp_type`], [`partition_leader_epoch`]), any number
/// of [`append`]s, then [`build`]. Records get consecutive offset deltas from 0; the batch's
/// base offset is 0 until the leader stamps it.
///
/// Timestamps are taken as given: Kafka's producer refuses negative ones other than -1
/// (`NO_TIMESTAMP`), but that is a policy for the caller, and the format carries any `i64`
/// because deltas wrap exactly as Java's `long` arithmetic does.
///
/// [`producer`]: RecordBatchBuilder::producer
/// [`transactional`]: RecordBatchBuilder::transactional
/// [`control`]: RecordBatchBuilder::control
/// [`timestamp_type`]: RecordBatchBuilder::timestamp_type
/// [`partition_leader_epoch`]: RecordBatchBuilder::partition_leader_epoch
/// [`append`]: RecordBatchBuilder::append
/// [`build`]: RecordBatchBuilder::build
#[derive(Clone, Debug)]
pub struct RecordBatchBuilder {
    compression: Compression,
    timestamp_type: TimestampType,
    transactional: bool,
    control: bool,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    /// Room for the batch header (written by [`RecordBatchBuilder::build`]), then the encoded
    /// records: an uncompressed batch is built in place, without copying its records.
    records: Vec<u8>,
    record_count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
}

impl RecordBatchBuilder {
    /// An empty builder whose records section will be compressed with `compression`.
    pub fn new(compression: Compression) -> RecordBatchBuilder {
        RecordBatchBuilder::with_capacity(compression, 0)
    }

    /// [`RecordBatchBuilder::new`], with room for a batch of `bytes` before it must grow.
    pub fn with_capacity(compression: Compression, bytes: usize) -> RecordBatchBuilder {
        let mut records = Vec::with_capacity(bytes.max(BATCH_HEADER_BYTES));
        records.resize(BATCH_HEADER_BYTES, 0);
        RecordBatchBuilder {
            compression,
            timestamp_type: TimestampType::CreateTime,
            transactional: false,
            control: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            records,
            record_count: 0,
            base_timestamp: 0,
            max_timestamp: 0,
        }
    }

    /// Sets the idempotent producer's id, epoch and the sequence of the first record (KIP-98).
    pub fn producer(
        mut self,
        producer_id: i64,
        producer_epoch: i16,
        base_sequence: i32,
    ) -> RecordBatchBuilder {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Marks the batch as part of a transaction; it then needs a producer id.
    pub fn transactional(mut self, transactional: bool) -> RecordBatchBuilder {
        self.transactional = transactional;
        self
    }

    /// Marks the batch as holding control records (transaction markers).
    pub fn control(mut self, control: bool) -> RecordBatchBuilder {
        self.control = control;
        self
    }

    /// Sets the timestamp type. With [`TimestampType::LogAppendTime`] readers report the
    /// batch's max timestamp for every record, so brokers normally use
    /// [`super::stamp_log_append_time`] on a CreateTime batch instead.
    pub fn timestamp_type(mut self, timestamp_type: TimestampType) -> RecordBatchBuilder {
        self.timestamp_type = timestamp_type;
        self
    }

    /// Sets the partition leader epoch (otherwise -1 until a leader stamps it).
    pub fn partition_leader_epoch(mut self, epoch: i32) -> RecordBatchBuilder {
        self.partition_leader_epoch = epoch;
        self
    }

    /// Appends a record with the next offset delta.
    ///
    /// Panics past `i32::MAX` records or if a key, value or header is 2 GiB or larger: the
    /// format cannot express them, and the caller bounds batches by [`estimated_bytes`].
    ///
    /// [`estimated_bytes`]: RecordBatchBuilder::estimated_bytes
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[RecordHeaderRef<'_>],
    ) {
        assert!(
            self.record_count < i32::MAX,
            "batch record count overflows i32"
        );
        if self.record_count == 0 {
            self.base_timestamp = timestamp;
            self.max_timestamp = timestamp;
        }
        let timestamp_delta = timestamp.wrapping_sub(self.base_timestamp);
        let offset_delta = self.record_count;
        encode_record(
            &mut self.records,
            offset_delta,
            timestamp_delta,
            key,
            value,
            headers,
        );
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.record_count += 1;
        assert!(self.max_timestamp >= self.base_timestamp);
    }

    /// Records appended so far.
    pub fn record_count(&self) -> usize {
        usize::try_from(self.record_count).expect("record count is never negative")
    }

    /// Whether no record has been appended.
    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }

    /// The size of the batch if it were built uncompressed: the header plus the encoded
    /// records. Compression usually shrinks it, but may add a few bytes of framing to
    /// incompressible records.
    pub fn estimated_bytes(&self) -> usize {
        self.records.len()
    }

    /// Encodes the batch: base offset 0, CRC-32C over attributes..end.
    ///
    /// An empty builder yields no bytes at all, the empty record set, as Kafka's
    /// `MemoryRecordsBuilder` yields `MemoryRecords.EMPTY`: Kafka never writes a batch with no
    /// records from a producer.
    ///
    /// Panics on producer settings Kafka's builder also refuses: transactional without a
    /// producer id, or a producer id without an epoch or (outside control batches) without a
    /// base sequence. Panics if the batch would exceed the i32 length field.
    pub fn build(self) -> Vec<u8> {
        if self.record_count == 0 {
            return Vec::new();
        }
        self.assert_producer_state();
        let compressed = (self.compression != Compression::None)
            .then(|| compress(self.compression, &self.records[BATCH_HEADER_BYTES..]));
        let section_len = compressed
            .as_ref()
            .map_or(self.records.len() - BATCH_HEADER_BYTES, Vec::len);
        let total = BATCH_HEADER_BYTES + section_len;
        let batch_length = i32::try_from(total - LOG_OVERHEAD).expect("batch exceeds 2 GiB");
        let mut header = Vec::with_capacity(BATCH_HEADER_BYTES);
        self.write_header(&mut header, batch_length);
        let mut batch = match compressed {
            None => self.records,
            Some(section) => {
                let mut batch = Vec::with_capacity(total);
                batch.resize(BATCH_HEADER_BYTES, 0);
                batch.extend_from_slice(&section);
                batch
            }
        };
        batch[..BATCH_HEADER_BYTES].copy_from_slice(&header);
        let crc = compute_crc(&batch);
        batch[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        let header = BatchHeader::parse(&batch).expect("a built batch parses");
        assert_eq!(header.total_bytes(), batch.len());
        batch
    }

    fn assert_producer_state(&self) {
        assert!(
            !self.transactional || self.producer_id != NO_PRODUCER_ID,
            "a transactional batch needs a producer id"
        );
        if self.producer_id != NO_PRODUCER_ID {
            assert!(
                self.producer_epoch != NO_PRODUCER_EPOCH,
                "a producer id needs an epoch"
            );
            assert!(
                self.base_sequence >= 0 || self.control,
                "a producer id needs a base sequence"
            );
        }
    }

    fn write_header(&self, out: &mut Vec<u8>, batch_length: i32) {
        assert!(out.is_empty());
        let attributes = Attributes::new(self.compression, self.timestamp_type)
            .with_transactional(self.transactional)
            .with_control(self.control);
        out.extend_from_slice(&0i64.to_be_bytes());
        out.extend_from_slice(&batch_length.to_be_bytes());
        out.extend_from_slice(&self.partition_leader_epoch.to_be_bytes());
        out.extend_from_slice(&MAGIC_V2.to_be_bytes());
        // The CRC covers the bytes after it, so it is filled in once they are all written.
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&attributes.bits().to_be_bytes());
        out.extend_from_slice(&(self.record_count - 1).to_be_bytes());
        out.extend_from_slice(&self.base_timestamp.to_be_bytes());
        out.extend_from_slice(&self.max_timestamp.to_be_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.producer_epoch.to_be_bytes());
        out.extend_from_slice(&self.base_sequence.to_be_bytes());
        out.extend_from_slice(&self.record_count.to_be_bytes());
        assert_eq!(out.len(), BATCH_HEADER_BYTES);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{stamp_base_offset, RecordBatch};

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(core::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    /// A batch from a Kafka 3.x KRaft metadata log (a FeatureLevelRecord at offset 1, leader
    /// epoch 1, no producer). Its CRC was checked with an independent bitwise CRC-32C.
    const KAFKA_METADATA_BATCH: &str = "
        0000000000000001 0000004f 00000001 02 b069457c 0000 00000000
        00000191e05af818 00000191e05af818 ffffffffffffffff ffff ffffffff 00000001
        3a 00 00 00 01 2e 010c00116d657461646174612e76657273696f6e00140000";

    /// A one-record batch with producer id 0, epoch 0, sequence 0 and value "Hello Kafka!",
    /// from a public Kafka-protocol exercise's log fixture; CRC checked the same way.
    const HELLO_BATCH: &str = "
        0000000000000000 00000044 00000000 02 abfd0491 0000 00000000
        00000191e05b6d8b 00000191e05b6d8b 0000000000000000 0000 00000000 00000001
        24 00 00 00 01 18 48656c6c6f204b61666b6121 00";

    #[test]
    fn reproduces_a_batch_kafka_wrote_byte_for_byte() {
        let expected = hex(KAFKA_METADATA_BATCH);
        let value = &expected[67..90];
        let mut builder = RecordBatchBuilder::new(Compression::None).partition_leader_epoch(1);
        builder.append(0x191_e05a_f818, None, Some(value), &[]);
        let mut built = builder.build();
        stamp_base_offset(&mut built, 1);
        assert_eq!(built, expected);
    }

    #[test]
    fn reproduces_a_producer_batch_byte_for_byte() {
        let mut builder = RecordBatchBuilder::new(Compression::None)
            .partition_leader_epoch(0)
            .producer(0, 0, 0);
        builder.append(0x191_e05b_6d8b, None, Some(b"Hello Kafka!"), &[]);
        assert_eq!(builder.build(), hex(HELLO_BATCH));
    }

    #[test]
    fn an_empty_builder_builds_the_empty_record_set() {
        let builder = RecordBatchBuilder::new(Compression::Zstd);
        assert!(builder.is_empty());
        assert_eq!(builder.estimated_bytes(), BATCH_HEADER_BYTES);
        assert!(builder.build().is_empty());
    }

    #[test]
    fn header_defaults_and_timestamps() {
        let mut builder = RecordBatchBuilder::new(Compression::Gzip);
        builder.append(100, Some(b"k"), None, &[]);
        builder.append(300, None, Some(b"v"), &[]);
        builder.append(200, None, None, &[]);
        assert_eq!(builder.record_count(), 3);
        let bytes = builder.build();
        let batch = RecordBatch::parse(&bytes).unwrap();
        let header = batch.header();
        assert_eq!(header.base_offset, 0);
        assert_eq!(header.partition_leader_epoch, -1);
        assert_eq!(header.producer_id, -1);
        assert_eq!(header.producer_epoch, -1);
        assert_eq!(header.base_sequence, -1);
        assert_eq!(header.base_timestamp, 100);
        assert_eq!(header.max_timestamp, 300);
        assert_eq!(header.last_offset_delta, 2);
        assert_eq!(header.record_count, 3);
        assert_eq!(batch.compression(), Compression::Gzip);
    }

    #[test]
    fn estimated_bytes_is_exact_without_compression() {
        let mut builder = RecordBatchBuilder::new(Compression::None);
        builder.append(1, Some(b"key"), Some(&[0; 1000]), &[]);
        let estimate = builder.estimated_bytes();
        assert_eq!(builder.build().len(), estimate);
    }

    #[test]
    #[should_panic(expected = "transactional batch needs a producer id")]
    fn transactional_without_a_producer_is_a_caller_bug() {
        let mut builder = RecordBatchBuilder::new(Compression::None).transactional(true);
        builder.append(0, None, None, &[]);
        builder.build();
    }

    #[test]
    #[should_panic(expected = "needs a base sequence")]
    fn a_producer_without_a_sequence_is_a_caller_bug() {
        let mut builder = RecordBatchBuilder::new(Compression::None).producer(7, 0, -1);
        builder.append(0, None, None, &[]);
        builder.build();
    }
}
