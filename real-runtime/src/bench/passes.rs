//! The two sides of `sluice bench log-append`, timed in interleaved slices.
//!
//! A shared machine's speed drifts by tens of percent from one second to the next (other
//! builds, page cache reclaim, a neighbour's I/O). Running the baseline and the log one after
//! the other lets that drift land on one side only, so both run at once instead: the loop
//! alternates slices of [`SLICE_BATCHES`] batches between them, timing each slice, and whatever
//! the machine does lands on both sides alike.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use sluice_core::log::{Log, LogConfig};

use super::batches::BatchPool;
use crate::clock::wall_clock_ms;
use crate::file_disk::FileDisk;

/// Batches per timed slice: about 1 MiB, long enough that reading the clock costs nothing.
pub const SLICE_BATCHES: u64 = 64;

/// The time one side spent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pass {
    /// Time spent writing or appending, including the periodic syncs.
    pub elapsed: Duration,
    /// Time of the final sync (or flush), measured separately.
    pub final_sync: Duration,
}

/// Which side of the comparison a slice runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Baseline,
    Log,
}

/// Plain `write_all` of each batch to one file, with `fdatasync` every `sync_every` bytes.
struct Baseline {
    file: File,
    sync_every: Option<u64>,
    unsynced: u64,
}

impl Baseline {
    fn write(&mut self, batch: &[u8]) -> Result<(), String> {
        self.file
            .write_all(batch)
            .map_err(|error| format!("baseline write: {error}"))?;
        self.unsynced += batch.len() as u64;
        if self.sync_every.is_some_and(|every| self.unsynced >= every) {
            self.sync()?;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), String> {
        self.unsynced = 0;
        self.file
            .sync_data()
            .map_err(|error| format!("baseline fdatasync: {error}"))
    }
}

/// `Log::append` of each batch over [`FileDisk`], with `Log::flush` every `sync_every` bytes.
struct LogSide {
    disk: FileDisk,
    log: Log,
    sync_every: Option<u64>,
    unsynced: u64,
}

impl LogSide {
    fn write(&mut self, batch: &[u8]) -> Result<(), String> {
        let appended = self.log.append(&mut self.disk, batch, wall_clock_ms());
        appended.map_err(|error| format!("log append: {error}"))?;
        self.unsynced += batch.len() as u64;
        if self.sync_every.is_some_and(|every| self.unsynced >= every) {
            self.sync()?;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), String> {
        self.unsynced = 0;
        let flushed = self.log.flush(&mut self.disk, wall_clock_ms());
        flushed.map_err(|error| format!("log flush: {error}"))
    }
}

/// Writes `batch_count` batches from `pool` through both sides under `dir`, interleaved by
/// slice; returns (baseline, log).
///
/// The log reads the pool from its middle, so neither side finds the batches the other just
/// read still warm in the CPU caches.
pub fn interleaved_passes(
    dir: &Path,
    pool: &BatchPool,
    batch_count: u64,
    sync_every: Option<u64>,
) -> Result<(Pass, Pass), String> {
    let file = File::create_new(dir.join("baseline.log"))
        .map_err(|error| format!("cannot create the baseline file: {error}"))?;
    let mut baseline = Baseline {
        file,
        sync_every,
        unsynced: 0,
    };
    let disk = FileDisk::open(dir.join("log")).map_err(|error| format!("log disk: {error}"))?;
    let mut log = open_log(disk, sync_every)?;
    let (mut baseline_pass, mut log_pass) = (Pass::default(), Pass::default());
    let batches = pool.batches.len() as u64;
    let log_start = batches / 2;
    // Swapping the order every slice keeps either side from always running on a cache the
    // other just cooled.
    let mut order = [Side::Baseline, Side::Log];
    let mut done = 0;
    while done < batch_count {
        let slice = done..batch_count.min(done + SLICE_BATCHES);
        for side in order {
            let start = Instant::now();
            for index in slice.clone() {
                match side {
                    Side::Baseline => baseline.write(&pool.batches[(index % batches) as usize])?,
                    Side::Log => {
                        log.write(&pool.batches[((log_start + index) % batches) as usize])?
                    }
                }
            }
            let pass = match side {
                Side::Baseline => &mut baseline_pass,
                Side::Log => &mut log_pass,
            };
            pass.elapsed += start.elapsed();
        }
        order.reverse();
        done = slice.end;
    }
    baseline_pass.final_sync = timed(|| baseline.sync())?;
    log_pass.final_sync = timed(|| log.sync())?;
    Ok((baseline_pass, log_pass))
}

fn open_log(mut disk: FileDisk, sync_every: Option<u64>) -> Result<LogSide, String> {
    let opened = Log::open(&mut disk, "bench-0", LogConfig::default(), wall_clock_ms());
    let (log, _report) = opened.map_err(|error| format!("log open: {error}"))?;
    Ok(LogSide {
        disk,
        log,
        sync_every,
        unsynced: 0,
    })
}

fn timed(work: impl FnOnce() -> Result<(), String>) -> Result<Duration, String> {
    let start = Instant::now();
    work()?;
    Ok(start.elapsed())
}
