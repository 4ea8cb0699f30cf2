//! `sluice bench group-load --in-process`: how long a coordinator takes to load an offsets
//! partition, without a broker in the way. The partition's log is written to real files with
//! core's [`Log`] over [`FileDisk`], closed, reopened (recovery included), read back whole and
//! replayed by [`GroupCoordinator::lead`], the code a broker runs when it takes up an offsets
//! partition. The page cache is warm, as it is on a broker that just became leader of a
//! partition it followed.

use std::time::Instant;

use sluice_core::api::TopicPartition;
use sluice_core::group::records::{offset_key, offset_value, OffsetValue};
use sluice_core::group::{GroupConfig, GroupCoordinator};
use sluice_core::log::{Log, LogConfig};
use sluice_core::record::{Compression, RecordBatch, RecordBatchBuilder};
use sluice_core::rng::SplitMix64;

use crate::cli::CliError;
use crate::clock::wall_clock_ms;
use crate::file_disk::FileDisk;

/// Writes `groups` × `partitions` commits as one offsets partition's log, then times its load.
pub fn run(groups: usize, partitions: i32) -> Result<(), CliError> {
    let scratch = std::env::temp_dir().join(format!("sluice-group-load-{}", std::process::id()));
    let result = measure(&scratch, groups, partitions);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn measure(scratch: &std::path::Path, groups: usize, partitions: i32) -> Result<(), CliError> {
    let failed =
        |what: &str, error: &dyn std::fmt::Display| CliError::Failed(format!("{what}: {error}"));
    let mut disk = FileDisk::open(scratch).map_err(|e| failed("disk", &e))?;
    let now_ms = wall_clock_ms();
    let dir = "__consumer_offsets-0";
    let (mut log, _) =
        Log::open(&mut disk, dir, LogConfig::default(), now_ms).map_err(|e| failed("log", &e))?;
    let mut written = 0usize;
    for group in 0..groups {
        // One batch per group, as one OffsetCommit of every partition writes it.
        let mut builder = RecordBatchBuilder::new(Compression::None);
        for partition in 0..partitions {
            let tp = TopicPartition {
                topic: "sluice-bench-load".to_string(),
                partition,
            };
            let key = offset_key(&format!("sluice-bench-load-{group}"), &tp);
            let value = offset_value(&OffsetValue {
                offset: i64::from(partition) + 1,
                leader_epoch: -1,
                metadata: String::new(),
                commit_timestamp: now_ms,
            });
            builder.append(now_ms, Some(&key), Some(&value), &[]);
            written += 1;
        }
        log.append(&mut disk, &builder.build(), now_ms)
            .map_err(|e| failed("append", &e))?;
    }
    log.close(&mut disk, now_ms)
        .map_err(|e| failed("close", &e))?;

    let started = Instant::now();
    let (mut log, _) = Log::open(&mut disk, dir, LogConfig::default(), now_ms)
        .map_err(|e| failed("reopen", &e))?;
    let opened = started.elapsed();
    let end = log.log_end_offset();
    let mut records = Vec::with_capacity(written);
    let mut offset = log.log_start_offset();
    while offset < end {
        let slice = log
            .read(&mut disk, offset, 1 << 20, Some(end))
            .map_err(|e| failed("read", &e))?;
        let mut at = 0;
        while at < slice.bytes.len() {
            let batch = RecordBatch::parse(&slice.bytes[at..]).map_err(|e| failed("parse", &e))?;
            at += batch.header().total_bytes();
            records.extend(batch.records().map_err(|e| failed("records", &e))?);
        }
        offset = slice.next_offset;
    }
    let read = started.elapsed();
    let mut coordinator = GroupCoordinator::new(GroupConfig {
        offsets_topic_num_partitions: 1,
        ..GroupConfig::default()
    });
    let mut rng = SplitMix64::new(1);
    let now = sluice_core::time::Instant::ZERO;
    coordinator.lead(now, now_ms, &mut rng, 0, 0, records, end, end);
    let loaded = started.elapsed();
    let served = coordinator.groups().count();
    if served != groups || coordinator.stats().records_skipped != 0 {
        return Err(CliError::Failed(format!(
            "loaded {served} groups of {groups}, {} records skipped",
            coordinator.stats().records_skipped
        )));
    }
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!(
        "group-load in-process: {written} offsets ({groups} groups x {partitions} partitions, {} bytes) loaded in {:.1} ms: open {:.1} ms, read {:.1} ms, replay {:.1} ms",
        log.size_bytes(),
        ms(loaded),
        ms(opened),
        ms(read - opened),
        ms(loaded - read)
    );
    Ok(())
}
