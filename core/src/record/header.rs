//! The fixed 61-byte header of a Kafka RecordBatch v2 and the in-place edits a leader makes.
//!
//! Layout (big-endian), as in Kafka's `DefaultRecordBatch`:
//!
//! ```text
//! 0  baseOffset: i64            27 baseTimestamp: i64
//! 8  batchLength: i32           35 maxTimestamp: i64
//! 12 partitionLeaderEpoch: i32  43 producerId: i64
//! 16 magic: i8 (= 2)            51 producerEpoch: i16
//! 17 crc: u32 (CRC-32C)         53 baseSequence: i32
//! 21 attributes: i16            57 recordCount: i32
//! 23 lastOffsetDelta: i32       61 records...
//! ```
//!
//! `batchLength` counts the bytes after itself. The CRC covers `attributes` to the end, so the
//! base offset and the partition leader epoch can be stamped without recomputing it.

use core::fmt;

/// Bytes before `batchLength`'s coverage starts: baseOffset plus batchLength (Kafka's
/// `LOG_OVERHEAD`).
pub const LOG_OVERHEAD: usize = 12;
/// Size of the fixed header, up to the first record.
pub const BATCH_HEADER_BYTES: usize = 61;
/// The only magic value Sluice stores.
pub const MAGIC_V2: i8 = 2;

pub(crate) const BASE_OFFSET_AT: usize = 0;
pub(crate) const LENGTH_AT: usize = 8;
pub(crate) const LEADER_EPOCH_AT: usize = 12;
pub(crate) const MAGIC_AT: usize = 16;
pub(crate) const CRC_AT: usize = 17;
pub(crate) const ATTRIBUTES_AT: usize = 21;
pub(crate) const LAST_OFFSET_DELTA_AT: usize = 23;
pub(crate) const BASE_TIMESTAMP_AT: usize = 27;
pub(crate) const MAX_TIMESTAMP_AT: usize = 35;
pub(crate) const PRODUCER_ID_AT: usize = 43;
pub(crate) const PRODUCER_EPOCH_AT: usize = 51;
pub(crate) const BASE_SEQUENCE_AT: usize = 53;
pub(crate) const RECORD_COUNT_AT: usize = 57;

const _: () = assert!(RECORD_COUNT_AT + 4 == BATCH_HEADER_BYTES);
const _: () = assert!(CRC_AT + 4 == ATTRIBUTES_AT);

/// Why bytes are not a valid batch (header-level checks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer bytes than the header or than `batchLength` promises.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// `batchLength` is smaller than a header or larger than allowed.
    InvalidLength(i32),
    /// The magic byte is not 2.
    UnsupportedMagic(i8),
    /// The stored CRC does not match the bytes.
    CrcMismatch {
        /// CRC in the header.
        stored: u32,
        /// CRC computed over attributes..end.
        computed: u32,
    },
    /// A header field is inconsistent (negative counts, last offset delta beyond the records).
    InvalidHeader(&'static str),
    /// The records section does not parse (Kafka's CORRUPT_MESSAGE).
    CorruptRecords(String),
    /// The compression codec is not one Kafka defines.
    UnknownCompression(u8),
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Truncated { needed, available } => {
                write!(f, "batch truncated: need {needed} bytes, have {available}")
            }
            BatchError::InvalidLength(len) => write!(f, "invalid batch length {len}"),
            BatchError::UnsupportedMagic(magic) => write!(f, "unsupported magic {magic}"),
            BatchError::CrcMismatch { stored, computed } => {
                write!(
                    f,
                    "crc mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
            BatchError::InvalidHeader(what) => write!(f, "invalid batch header: {what}"),
            BatchError::CorruptRecords(what) => write!(f, "corrupt records: {what}"),
            BatchError::UnknownCompression(codec) => write!(f, "unknown compression codec {codec}"),
        }
    }
}

impl std::error::Error for BatchError {}

/// The decoded fixed header of one batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the length field; the whole batch is `LOG_OVERHEAD + batch_length` bytes.
    pub batch_length: i32,
    /// Epoch of the leader that appended the batch.
    pub partition_leader_epoch: i32,
    /// Always [`MAGIC_V2`] once parsed.
    pub magic: i8,
    /// CRC-32C of attributes..end.
    pub crc: u32,
    /// Codec, timestamp type, transactional and control flags.
    pub attributes: i16,
    /// Offset of the last record minus the base offset.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch (or the log-append time).
    pub max_timestamp: i64,
    /// Idempotent/transactional producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records.
    pub record_count: i32,
}

impl BatchHeader {
    /// Decodes the fixed header from the first [`BATCH_HEADER_BYTES`] of `bytes`, checking the
    /// magic byte, the length and the counts but not the CRC.
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
        if bytes.len() < BATCH_HEADER_BYTES {
            return Err(BatchError::Truncated {
                needed: BATCH_HEADER_BYTES,
                available: bytes.len(),
            });
        }
        let header = BatchHeader {
            base_offset: i64_at(bytes, BASE_OFFSET_AT),
            batch_length: i32_at(bytes, LENGTH_AT),
            partition_leader_epoch: i32_at(bytes, LEADER_EPOCH_AT),
            magic: bytes[MAGIC_AT] as i8,
            crc: u32::from_be_bytes(bytes[CRC_AT..CRC_AT + 4].try_into().unwrap()),
            attributes: i16::from_be_bytes(
                bytes[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].try_into().unwrap(),
            ),
            last_offset_delta: i32_at(bytes, LAST_OFFSET_DELTA_AT),
            base_timestamp: i64_at(bytes, BASE_TIMESTAMP_AT),
            max_timestamp: i64_at(bytes, MAX_TIMESTAMP_AT),
            producer_id: i64_at(bytes, PRODUCER_ID_AT),
            producer_epoch: i16::from_be_bytes(
                bytes[PRODUCER_EPOCH_AT..PRODUCER_EPOCH_AT + 2]
                    .try_into()
                    .unwrap(),
            ),
            base_sequence: i32_at(bytes, BASE_SEQUENCE_AT),
            record_count: i32_at(bytes, RECORD_COUNT_AT),
        };
        if header.batch_length < (BATCH_HEADER_BYTES - LOG_OVERHEAD) as i32 {
            return Err(BatchError::InvalidLength(header.batch_length));
        }
        if header.magic != MAGIC_V2 {
            return Err(BatchError::UnsupportedMagic(header.magic));
        }
        if header.last_offset_delta < 0 {
            return Err(BatchError::InvalidHeader("negative last offset delta"));
        }
        if header.record_count < 0 {
            return Err(BatchError::InvalidHeader("negative record count"));
        }
        Ok(header)
    }

    /// Total bytes of the batch, header included.
    pub fn total_bytes(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// The offset after the batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
}

/// Computes the CRC-32C that Kafka stores: over attributes..end of one whole batch.
pub fn compute_crc(batch: &[u8]) -> u32 {
    assert!(batch.len() >= BATCH_HEADER_BYTES, "crc of a partial header");
    crc32c::crc32c(&batch[ATTRIBUTES_AT..])
}

/// Parses the header of the batch at the start of `bytes`, checks that `bytes` holds the whole
/// batch, and verifies its CRC. Returns the header.
pub fn validate_batch(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = BatchHeader::parse(bytes)?;
    let total = header.total_bytes();
    if bytes.len() < total {
        return Err(BatchError::Truncated {
            needed: total,
            available: bytes.len(),
        });
    }
    let computed = compute_crc(&bytes[..total]);
    if computed != header.crc {
        return Err(BatchError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    Ok(header)
}

/// Writes `base_offset` into the batch header in place (not covered by the CRC).
pub fn stamp_base_offset(batch: &mut [u8], base_offset: i64) {
    assert!(
        batch.len() >= BATCH_HEADER_BYTES,
        "stamping a partial header"
    );
    batch[BASE_OFFSET_AT..BASE_OFFSET_AT + 8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Writes the partition leader epoch into the batch header in place (not covered by the CRC).
pub fn stamp_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    assert!(
        batch.len() >= BATCH_HEADER_BYTES,
        "stamping a partial header"
    );
    batch[LEADER_EPOCH_AT..LEADER_EPOCH_AT + 4].copy_from_slice(&epoch.to_be_bytes());
}

fn i64_at(bytes: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn i32_at(bytes: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
}
