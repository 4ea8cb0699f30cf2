//! Kafka RecordBatch v2 (magic 2): the wire format, which is also the on-disk format.

mod header;

pub use header::{
    compute_crc, stamp_base_offset, stamp_partition_leader_epoch, validate_batch, BatchError,
    BatchHeader, BATCH_HEADER_BYTES, LOG_OVERHEAD, MAGIC_V2,
};
