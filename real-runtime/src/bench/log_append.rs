//! `sluice bench log-append`: the partition log appending pre-built batches to real files,
//! against plain sequential `write`s of the same bytes to one file.
//!
//! Each case writes the same batches in several rounds, each round both with `std::fs` alone
//! (the baseline) and through `Log::append` over [`FileDisk`](crate::file_disk::FileDisk),
//! interleaved slice by slice (see [`super::passes`]), into a fresh directory that is deleted
//! afterwards. The figures are medians over the rounds. The final `fdatasync` / `Log::flush` of each pass is timed separately, so the
//! throughput figures compare the write paths. With `--sync-every-bytes N` both passes also sync
//! every `N` bytes (the baseline with `fdatasync`, the log with `Log::flush`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sluice_core::record::BATCH_HEADER_BYTES;

use super::batches::BatchPool;
use super::passes::{interleaved_passes, Pass};
use crate::clock::wall_clock_ms;

const MIB: f64 = (1 << 20) as f64;

/// The settings of one `sluice bench log-append` run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogAppendOptions {
    /// Where the scratch directory goes; the system's temporary directory by default.
    pub dir: Option<PathBuf>,
    /// Value bytes per record; one case per entry.
    pub record_sizes: Vec<usize>,
    /// The most bytes per batch (a batch always holds at least one record).
    pub batch_bytes: usize,
    /// Bytes to append per case, rounded up to whole batches.
    pub total_bytes: u64,
    /// Sync every this many appended bytes; never (until the end) when `None`.
    pub sync_every_bytes: Option<u64>,
    /// Rounds per case; each round runs both passes once.
    pub rounds: usize,
    /// Bytes of distinct batches built up front and cycled through. The default, larger than
    /// the last-level cache, makes both sides read every batch from memory; a pool that fits
    /// the cache stands for a broker appending a request it has just received.
    pub pool_bytes: usize,
}

impl Default for LogAppendOptions {
    fn default() -> Self {
        LogAppendOptions {
            dir: None,
            record_sizes: vec![200, 1024],
            batch_bytes: 16 * 1024,
            total_bytes: 512 << 20,
            sync_every_bytes: None,
            rounds: 5,
            pool_bytes: super::batches::POOL_BYTES_MAX,
        }
    }
}

impl LogAppendOptions {
    /// Checks relationships between the settings.
    pub fn check(&self) -> Result<(), String> {
        if self.batch_bytes <= BATCH_HEADER_BYTES {
            return Err(format!(
                "--batch-bytes must exceed the {BATCH_HEADER_BYTES}-byte header"
            ));
        }
        if self.rounds == 0 {
            return Err("--rounds must be at least 1".to_string());
        }
        if self.record_sizes.is_empty() {
            return Err("no record size to run".to_string());
        }
        Ok(())
    }
}

/// Runs every case of `options`, printing one line per case.
pub fn run(options: &LogAppendOptions) -> Result<(), String> {
    options.check()?;
    let scratch = Scratch::create(options.dir.as_deref())
        .map_err(|error| format!("cannot create a scratch directory: {error}"))?;
    for &record_size in &options.record_sizes {
        let case_dir = scratch.path.join(format!("records-{record_size}"));
        run_case(options, record_size, &case_dir)?;
    }
    Ok(())
}

/// Builds the batches for one record size, runs the rounds and prints the case's line.
fn run_case(options: &LogAppendOptions, record_size: usize, dir: &Path) -> Result<(), String> {
    let now_ms = wall_clock_ms();
    let pool = BatchPool::build(
        record_size,
        options.batch_bytes,
        options.total_bytes.min(options.pool_bytes as u64),
        now_ms,
    );
    let batch_count = options.total_bytes.div_ceil(pool.batch_len() as u64);
    let mut baselines = Vec::with_capacity(options.rounds);
    let mut logs = Vec::with_capacity(options.rounds);
    for round in 0..options.rounds {
        let round_dir = dir.join(format!("round-{round}"));
        fs::create_dir_all(&round_dir)
            .map_err(|error| format!("cannot create {}: {error}", round_dir.display()))?;
        let passes = interleaved_passes(&round_dir, &pool, batch_count, options.sync_every_bytes)
            .map_err(|error| format!("{}: {error}", round_dir.display()))?;
        baselines.push(passes.0);
        logs.push(passes.1);
        // Deleting the files drops their pages, so every round starts from the same state.
        remove_dir(&round_dir)?;
    }
    let report = CaseReport {
        record_size,
        pool: &pool,
        batch_count,
        baseline: summarize(&baselines),
        log: summarize(&logs),
        ratios: ratios(&baselines, &logs),
    };
    println!("{}", report.line(options));
    Ok(())
}

/// Each round's log throughput as a share of its baseline's, sorted.
fn ratios(baselines: &[Pass], logs: &[Pass]) -> Vec<f64> {
    let mut ratios: Vec<f64> = (baselines.iter().zip(logs))
        .map(|(baseline, log)| baseline.elapsed.as_secs_f64() / log.elapsed.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

/// The medians of one side's passes.
#[derive(Clone, Copy, Debug)]
struct Summary {
    elapsed_median: Duration,
    final_sync_median: Duration,
}

fn summarize(passes: &[Pass]) -> Summary {
    assert!(!passes.is_empty());
    let mut elapsed: Vec<Duration> = passes.iter().map(|pass| pass.elapsed).collect();
    let mut syncs: Vec<Duration> = passes.iter().map(|pass| pass.final_sync).collect();
    elapsed.sort_unstable();
    syncs.sort_unstable();
    Summary {
        elapsed_median: median(&elapsed),
        final_sync_median: median(&syncs),
    }
}

/// The median of sorted durations (the mean of the middle two for an even count).
fn median(sorted: &[Duration]) -> Duration {
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// The median of sorted ratios.
fn ratio_median(sorted: &[f64]) -> f64 {
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// Everything one case's line reports.
struct CaseReport<'a> {
    record_size: usize,
    pool: &'a BatchPool,
    batch_count: u64,
    baseline: Summary,
    log: Summary,
    ratios: Vec<f64>,
}

impl CaseReport<'_> {
    /// The case's one output line. Rates use each side's median over the rounds; `ratio` is
    /// the median of the rounds' ratios (each round's two sides ran side by side, so their
    /// ratio is the steadiest figure) and `ratio_range` the lowest and highest of them.
    fn line(&self, options: &LogAppendOptions) -> String {
        let bytes = (self.batch_count * self.pool.batch_len() as u64) as f64;
        let records = (self.batch_count * self.pool.records_per_batch as u64) as f64;
        let per_s = |count: f64, time: Duration| count / time.as_secs_f64();
        let (baseline, log) = (self.baseline, self.log);
        let ms = |time: Duration| time.as_secs_f64() * 1e3;
        let sync = options
            .sync_every_bytes
            .map_or("none".to_string(), |every| every.to_string());
        format!(
            "log-append record_size={} batch_bytes={} batch_len={} records_per_batch={} \
             total_mb={:.0} pool_mb={:.0} sync_every_bytes={sync} rounds={} baseline_mb_s={:.1} \
             baseline_records_s={:.0} log_mb_s={:.1} log_records_s={:.0} ratio={:.1}% \
             ratio_range={:.1}%..{:.1}% baseline_final_sync_ms={:.1} log_final_flush_ms={:.1}",
            self.record_size,
            options.batch_bytes,
            self.pool.batch_len(),
            self.pool.records_per_batch,
            bytes / MIB,
            (self.pool.batch_len() * self.pool.batches.len()) as f64 / MIB,
            options.rounds,
            per_s(bytes, baseline.elapsed_median) / MIB,
            per_s(records, baseline.elapsed_median),
            per_s(bytes, log.elapsed_median) / MIB,
            per_s(records, log.elapsed_median),
            100.0 * ratio_median(&self.ratios),
            100.0 * self.ratios[0],
            100.0 * self.ratios[self.ratios.len() - 1],
            ms(baseline.final_sync_median),
            ms(log.final_sync_median),
        )
    }
}

fn remove_dir(dir: &Path) -> Result<(), String> {
    fs::remove_dir_all(dir).map_err(|error| format!("cannot remove {}: {error}", dir.display()))
}

/// A fresh directory for one run, removed with everything in it when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates `sluice-bench-<pid>-<nanos>` under `base` (or the temporary directory).
    fn create(base: Option<&Path>) -> io::Result<Scratch> {
        let base = base.map_or_else(std::env::temp_dir, Path::to_path_buf);
        fs::create_dir_all(&base)?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let path = base.join(format!("sluice-bench-{}-{stamp}", std::process::id()));
        // `create_dir` (not `_all`) fails on an existing directory, so the run starts fresh.
        fs::create_dir(&path)?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(error) = fs::remove_dir_all(&self.path) {
            eprintln!("sluice: cannot remove {}: {error}", self.path.display());
        }
    }
}
