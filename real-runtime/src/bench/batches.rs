//! Pre-built record batches for the append benchmarks, so that building them is not measured.

use sluice_core::record::{Compression, RecordBatchBuilder};

/// The most bytes of distinct batches built up front, which bounds the benchmark's memory. A
/// longer run cycles through them: the log writes each under its own base offset without
/// editing it, as the CRC does not cover that field. 64 MiB is far larger than per-core caches, so every batch is read from
/// the last-level cache or from memory rather than from L1/L2 (a broker's freshly received
/// request would sit in L2, so both sides here pay a little more than a broker would).
pub const POOL_BYTES_MAX: usize = 64 << 20;

/// Distinct, valid, uncompressed batches of equal shape.
#[derive(Debug)]
pub struct BatchPool {
    /// The encoded batches, all of the same length.
    pub batches: Vec<Vec<u8>>,
    /// Records in each batch.
    pub records_per_batch: usize,
}

impl BatchPool {
    /// Builds enough batches of `record_size`-byte values, each at most `batch_bytes` long
    /// (or a single record when one does not fit), to cover `total_bytes`, up to
    /// [`POOL_BYTES_MAX`].
    pub fn build(record_size: usize, batch_bytes: usize, total_bytes: u64, now_ms: i64) -> Self {
        let mut values = ValueSource::new(record_size);
        let records_per_batch = records_fitting(batch_bytes, now_ms, &mut values);
        let first = build_batch(records_per_batch, now_ms, &mut values);
        let pool_bytes = total_bytes.min(POOL_BYTES_MAX as u64) as usize;
        let count = pool_bytes.div_ceil(first.len()).max(1);
        let mut batches = Vec::with_capacity(count);
        batches.push(first);
        while batches.len() < count {
            batches.push(build_batch(records_per_batch, now_ms, &mut values));
        }
        assert!(batches.iter().all(|batch| batch.len() == batches[0].len()));
        BatchPool {
            batches,
            records_per_batch,
        }
    }

    /// The length of every batch in the pool.
    pub fn batch_len(&self) -> usize {
        self.batches[0].len()
    }
}

/// The most records from `values` whose batch stays within `batch_bytes`; at least one.
fn records_fitting(batch_bytes: usize, now_ms: i64, values: &mut ValueSource) -> usize {
    let one = build_batch(1, now_ms, values).len();
    let two = build_batch(2, now_ms, values).len();
    let per_record = two - one;
    let header = one - per_record;
    let mut count = (batch_bytes.saturating_sub(header) / per_record).max(1);
    // Record framing grows by a varint byte now and then, so correct the estimate downwards.
    while count > 1 && build_batch(count, now_ms, values).len() > batch_bytes {
        count -= 1;
    }
    assert!(count >= 1);
    count
}

/// Encodes one batch of `count` records whose values come from `values`.
fn build_batch(count: usize, now_ms: i64, values: &mut ValueSource) -> Vec<u8> {
    let mut builder = RecordBatchBuilder::new(Compression::None);
    for _ in 0..count {
        builder.append(now_ms, None, Some(values.next_value()), &[]);
    }
    builder.build()
}

/// Incompressible-looking record values from a xorshift generator, so no two batches match.
struct ValueSource {
    state: u64,
    value: Vec<u8>,
}

impl ValueSource {
    fn new(record_size: usize) -> Self {
        ValueSource {
            state: 0x9E37_79B9_7F4A_7C15,
            value: vec![0; record_size],
        }
    }

    fn next_value(&mut self) -> &[u8] {
        for chunk in self.value.chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            chunk.copy_from_slice(&self.state.to_le_bytes()[..chunk.len()]);
        }
        &self.value
    }
}
