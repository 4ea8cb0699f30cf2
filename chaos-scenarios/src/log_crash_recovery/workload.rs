//! What the writer does under one seed: the log settings it draws and the batches it appends.

use sluice_core::log::LogConfig;
use sluice_core::record::{Compression, RecordBatchBuilder, RecordHeaderRef};
use sluice_core::rng::Rng;

/// The seed's workload parameters, drawn once at the start of a run.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Log settings: small segments and indexes so that rolls and index entries happen often.
    pub config: LogConfig,
    /// Workload steps before the final crash and check.
    pub steps: u32,
    /// Per mille of steps that flush explicitly.
    pub flush_per_mille: u64,
    /// Per mille of steps that truncate the tail.
    pub truncate_per_mille: u64,
    /// Per mille of steps that move the log start (DeleteRecords).
    pub delete_per_mille: u64,
    /// The codecs this seed uses.
    pub codecs: Vec<Compression>,
    /// The largest value, in bytes.
    pub value_bytes_max: u64,
}

impl Workload {
    /// Draws the parameters from `rng`.
    pub fn draw(rng: &mut impl Rng) -> Workload {
        let segment_bytes = [2 << 10, 8 << 10, 64 << 10, 1 << 20][rng.below(4) as usize];
        let config = LogConfig {
            segment_bytes,
            index_interval_bytes: [64, 512, 4096][rng.below(3) as usize],
            segment_index_bytes: [64, 4096, 10 << 20][rng.below(3) as usize],
            flush_messages: if rng.chance(1, 2) {
                i64::MAX
            } else {
                rng.range_inclusive(1, 200) as i64
            },
            flush_ms: if rng.chance(1, 2) {
                i64::MAX
            } else {
                rng.range_inclusive(10, 500) as i64
            },
            recovery_point_checkpoint_interval_ms: [0, 100, 60_000][rng.below(3) as usize],
            retention_bytes: if rng.chance(1, 5) {
                (segment_bytes * 4) as i64
            } else {
                -1
            },
            segment_ms: if rng.chance(1, 5) {
                200
            } else {
                LogConfig::default().segment_ms
            },
            ..LogConfig::default()
        };
        let codecs = if rng.chance(1, 3) {
            vec![Compression::None]
        } else {
            Compression::ALL
                .iter()
                .copied()
                .filter(|_| rng.chance(2, 3))
                .collect()
        };
        Workload {
            config,
            steps: rng.range_inclusive(150, 600) as u32,
            flush_per_mille: rng.range_inclusive(0, 300),
            truncate_per_mille: if rng.chance(1, 2) {
                rng.range_inclusive(1, 20)
            } else {
                0
            },
            delete_per_mille: if rng.chance(1, 2) {
                rng.range_inclusive(1, 20)
            } else {
                0
            },
            codecs: if codecs.is_empty() {
                vec![Compression::None]
            } else {
                codecs
            },
            value_bytes_max: [16, 256, 2048][rng.below(3) as usize],
        }
    }

    /// A random batch: 1 to 20 records, random keys (some null), values and headers.
    pub fn batch(&self, rng: &mut impl Rng, timestamp: i64) -> Vec<u8> {
        let codec = self.codecs[rng.below(self.codecs.len() as u64) as usize];
        let mut builder = RecordBatchBuilder::new(codec);
        let records = rng.range_inclusive(1, 20);
        let bytes_max = (self.config.segment_bytes / 2) as usize;
        for i in 0..records {
            if builder.estimated_bytes() > bytes_max {
                break;
            }
            let key = rng.next_u64().to_be_bytes();
            let key = (!rng.chance(1, 5)).then_some(&key[..rng.range_inclusive(1, 8) as usize]);
            let mut value = vec![0u8; rng.below(self.value_bytes_max + 1) as usize];
            // Half random, half repetitive, so that compression has something to do.
            if rng.chance(1, 2) {
                rng.fill_bytes(&mut value);
            } else {
                value
                    .iter_mut()
                    .enumerate()
                    .for_each(|(j, b)| *b = (j % 7) as u8);
            }
            let header_value = i.to_be_bytes();
            let headers = [RecordHeaderRef {
                key: "seq",
                value: Some(&header_value[..]),
            }];
            let headers = if rng.chance(1, 4) {
                &headers[..]
            } else {
                &[][..]
            };
            let skew = rng.below(50) as i64 - 25;
            builder.append(timestamp + skew, key, Some(&value), headers);
        }
        builder.build()
    }
}
