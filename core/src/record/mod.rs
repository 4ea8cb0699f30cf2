//! Kafka RecordBatch v2 (magic 2): the wire format, which is also the on-disk format.
//!
//! - [`BatchHeader`], [`validate_batch`], [`ValidatedHeader`] and the `stamp*` functions: the
//!   fixed 61-byte header, its checks, and the edits a leader makes.
//! - [`Attributes`], [`Compression`], [`TimestampType`]: the header's attributes field.
//! - [`RecordBatchBuilder`]: records in, batch bytes out.
//! - [`RecordBatch`]: batch bytes in, a validated view and decoded [`Record`]s out.
//! - [`compress`]/[`decompress`]: the records-section codecs, framed as Kafka's Java client
//!   frames them, with a cap on decompressed size.
//! - [`encode_varint`] and friends: the zig-zag varints records use.

mod attributes;
mod batch;
mod builder;
mod compression;
mod cursor;
mod header;
#[allow(clippy::module_inception)]
mod record;
mod snappy;
mod varint;

pub use attributes::{Attributes, Compression, TimestampType};
pub use batch::RecordBatch;
pub use builder::RecordBatchBuilder;
pub use compression::{compress, decompress, DECOMPRESSED_BYTES_MAX};
pub use header::{
    compute_crc, crc32c, stamp_base_offset, stamp_log_append_time, stamp_partition_leader_epoch,
    stamped_prefix, validate_batch, BatchError, BatchHeader, ValidatedHeader, BATCH_HEADER_BYTES,
    LOG_OVERHEAD, MAGIC_V2, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
    NO_SEQUENCE, STAMPED_PREFIX_BYTES,
};
pub use record::{Record, RecordHeader, RecordHeaderRef};
pub use varint::{
    decode_unsigned_varint, decode_unsigned_varlong, decode_varint, decode_varlong,
    encode_unsigned_varint, encode_unsigned_varlong, encode_varint, encode_varlong, varint_len,
    varlong_len, VarintError, VARINT_BYTES_MAX, VARLONG_BYTES_MAX,
};
