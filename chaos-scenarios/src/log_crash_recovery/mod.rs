//! `log-crash-recovery`: a writer appends random batches to one partition log on the simulated
//! disk, flushes, truncates and deletes at random, while process crashes, machine crashes and
//! crashes inside a disk call (mid-write, mid-roll, mid-recovery) strike; a full disk refuses
//! writes for a while; bit rot may strike once. After every recovery the log must be a prefix of
//! what was appended, hold every batch it promised to keep, read back byte for byte with valid
//! CRCs at contiguous offsets, and its indexes must agree with its data.

mod check;
mod model;
mod workload;

use sluice_core::log::{Log, LogError, RecoveryReport, TailCutReason};
use sluice_core::record::validate_batch;
use sluice_core::rng::Rng;
use sluice_core::time::Duration;
use sluice_sim::{CrashKind, DiskLatency, Kernel, SimDisk, SimRng};

use crate::swarm::{FaultMix, FaultSpec};
use crate::{Failure, Marks, RunOptions, RunOutcome, Scenario};
use model::{InFlight, Model, Stored};
use workload::Workload;

/// The scenario; see the module documentation.
pub struct LogCrashRecovery;

const DIR: &str = "orders-0";

const MARKS: &[&str] = &[
    "process-crash",
    "machine-crash",
    "crash-mid-write",
    "crash-mid-roll",
    "crash-during-recovery",
    "torn-tail-cut",
    "corrupt-tail-cut",
    "unsynced-tail-lost",
    "resumed-mid-segment",
    "segment-rolled",
    "enospc-refused",
    "latent-corruption-caught",
    "truncated",
    "log-start-moved",
    "clean-reopen-scanned-nothing",
];

const FAULTS: &[FaultSpec] = &[
    FaultSpec::new("process-crash", 5, 30),
    FaultSpec::new("machine-crash", 5, 30),
    FaultSpec::new("crash-mid-op", 10, 80),
    FaultSpec::new("torn-garbage", 1000, 1000),
    FaultSpec::new("bit-rot", 1000, 1000).enabled_per_mille(300),
    FaultSpec::new("enospc", 5, 30),
    FaultSpec::new("slow-fsync", 1000, 1000),
];

impl Scenario for LogCrashRecovery {
    fn name(&self) -> &'static str {
        "log-crash-recovery"
    }

    fn description(&self) -> &'static str {
        "random appends, flushes, truncations under process, machine and mid-call crashes, \
         full disk and bit rot; after each recovery the log is a checked prefix holding every \
         synced batch"
    }

    fn marks(&self) -> &'static [&'static str] {
        MARKS
    }

    fn run(&self, seed: u64, options: &RunOptions) -> RunOutcome {
        let mut run = Run::new(seed, options.keep_trace);
        let failure = run.execute().err();
        RunOutcome {
            seed,
            scenario: self.name(),
            events: run.kernel.trace().events(),
            trace_hash: run.kernel.trace().hash(),
            failure,
            marks_hit: run.marks.into_hit(),
            swarm: run.swarm,
            trace_lines: run.kernel.trace().lines().map(<[String]>::to_vec),
        }
    }
}

/// The simulator's events: a workload step, and the log's flush.ms deadline.
#[derive(Debug)]
enum Event {
    Step,
    FlushDeadline,
}

/// Whether the run goes on after a step.
enum Next {
    Continue,
    Done,
}

struct Run {
    kernel: Kernel<Event>,
    disk: SimDisk,
    rng: SimRng,
    crash_rng: SimRng,
    mix: FaultMix,
    workload: Workload,
    swarm: String,
    log: Option<Log>,
    model: Model,
    marks: Marks,
    step: u32,
    rot_step: Option<u32>,
    disk_full_until: Option<u32>,
    flush_timer_due: Option<i64>,
}

impl Run {
    fn new(seed: u64, keep_trace: bool) -> Run {
        let mut kernel = Kernel::new(seed, keep_trace);
        let mut rng = kernel.rng().fork();
        let disk_rng = kernel.rng().fork();
        let crash_rng = kernel.rng().fork();
        let mut fault_rng = kernel.rng().fork();
        let mix = FaultMix::draw(&mut fault_rng, FAULTS);
        let workload = Workload::draw(&mut rng);
        let mut disk = SimDisk::new(disk_rng);
        disk.set_torn_garbage(mix.enabled("torn-garbage"));
        let slow_sync_one_in = if mix.enabled("slow-fsync") { 10 } else { 0 };
        disk.set_latency(DiskLatency {
            slow_sync_one_in,
            ..DiskLatency::SSD
        });
        let rot_step = mix.enabled("bit-rot").then(|| {
            rng.range_inclusive(u64::from(workload.steps / 2), u64::from(workload.steps)) as u32
        });
        let config = &workload.config;
        let swarm = format!(
            "{mix} steps={} segment_bytes={} index_interval={} flush_messages={} flush_ms={} \
             codecs={}",
            workload.steps,
            config.segment_bytes,
            config.index_interval_bytes,
            config.flush_messages,
            config.flush_ms,
            workload
                .codecs
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join("+"),
        );
        Run {
            kernel,
            disk,
            rng,
            crash_rng,
            mix,
            workload,
            swarm,
            log: None,
            model: Model::default(),
            marks: Marks::new(MARKS),
            step: 0,
            rot_step,
            disk_full_until: None,
            flush_timer_due: None,
        }
    }

    fn execute(&mut self) -> Result<(), Failure> {
        self.recover()?;
        self.kernel.schedule_after(Duration::ZERO, Event::Step);
        while let Some((_, event)) = self.kernel.pop() {
            let next = match event {
                Event::Step => self.workload_step()?,
                Event::FlushDeadline => self.flush_deadline()?,
            };
            let busy = self.disk.take_busy_time();
            self.kernel.advance(busy);
            if let Next::Done = next {
                return Ok(());
            }
            if matches!(event, Event::Step) && self.step < self.workload.steps {
                let delay = Duration::from_micros(self.rng.below(20_000));
                self.kernel.schedule_after(delay, Event::Step);
            }
        }
        self.finish()
    }

    /// The end of every run: one more crash of a random kind, then a clean close, whose reopen
    /// must scan nothing.
    fn finish(&mut self) -> Result<(), Failure> {
        self.disk.set_capacity(None);
        let kind = CrashKind::random(&mut self.crash_rng);
        self.crash(kind)?;
        let log = self.log.take().expect("recovered");
        let now_ms = self.kernel.wall_ms();
        if let Err(error) = log.close(&mut self.disk, now_ms) {
            if self.disk.is_crashed() {
                // An armed crash hit the close; the final crash-and-check already ran.
                return Ok(());
            }
            return Err(Failure::new("close-failed", error.to_string()));
        }
        self.kernel.record("closed cleanly");
        let report = self.open_once()?;
        if report.bytes_scanned != 0 || report.tail_cut.is_some() {
            return Err(Failure::new(
                "clean-reopen-scanned",
                format!(
                    "{} bytes scanned, cut {:?}",
                    report.bytes_scanned, report.tail_cut
                ),
            ));
        }
        self.marks.hit("clean-reopen-scanned-nothing");
        Ok(())
    }

    fn open_once(&mut self) -> Result<RecoveryReport, Failure> {
        let now_ms = self.kernel.wall_ms();
        let config = self.workload.config.clone();
        match Log::open(&mut self.disk, DIR, config, now_ms) {
            Ok((mut log, report)) => {
                let model = check::recovered(&mut log, &mut self.disk, &mut self.rng, &self.model)?;
                self.model = model;
                self.log = Some(log);
                Ok(report)
            }
            Err(_) if self.disk.is_crashed() => Ok(RecoveryReport::default()),
            Err(error) => Err(Failure::new("reopen-failed", error.to_string())),
        }
    }

    fn workload_step(&mut self) -> Result<Next, Failure> {
        self.step += 1;
        if self.rot_step == Some(self.step) {
            return self.rot();
        }
        if self.mix.fires(&mut self.rng, "process-crash") {
            self.crash(CrashKind::Process)?;
            return Ok(Next::Continue);
        }
        if self.mix.fires(&mut self.rng, "machine-crash") {
            self.crash(CrashKind::Machine)?;
            return Ok(Next::Continue);
        }
        if self.mix.fires(&mut self.rng, "crash-mid-op") {
            let ops = self.rng.below(12);
            self.disk.arm_crash_after_ops(ops);
            self.kernel
                .record(format_args!("crash armed after {ops} disk ops"));
        }
        self.disk_pressure();
        self.operate()?;
        Ok(Next::Continue)
    }

    /// Fills the disk for a while (a refusal must lose nothing), then frees it.
    fn disk_pressure(&mut self) {
        if self.disk_full_until.is_some_and(|until| self.step >= until) {
            self.disk.set_capacity(None);
            self.disk_full_until = None;
            self.kernel.record("disk space freed");
        }
        if self.disk_full_until.is_none() && self.mix.fires(&mut self.rng, "enospc") {
            let capacity = self.disk.used_bytes() + self.rng.below(4096);
            self.disk.set_capacity(Some(capacity));
            self.disk_full_until = Some(self.step + self.rng.range_inclusive(1, 20) as u32);
            self.kernel
                .record(format_args!("disk full at {capacity} bytes"));
        }
    }

    /// One log operation, chosen by the workload's mix.
    fn operate(&mut self) -> Result<(), Failure> {
        let roll = self.rng.below(1000);
        let workload = &self.workload;
        let (flush, truncate, delete) = (
            workload.flush_per_mille,
            workload.truncate_per_mille,
            workload.delete_per_mille,
        );
        if roll < flush {
            self.flush()
        } else if roll < flush + truncate {
            self.truncate()
        } else if roll < flush + truncate + delete {
            self.delete_records()
        } else if roll < flush + truncate + delete + 20 {
            self.maintain()
        } else {
            self.append()
        }
    }

    fn append(&mut self) -> Result<(), Failure> {
        let now_ms = self.kernel.wall_ms();
        let mut bytes = self.workload.batch(&mut self.rng, now_ms);
        let intended = Stored::stamped(bytes.clone(), self.model.log_end);
        let log = self.log.as_mut().expect("open");
        let segments = log.segment_count();
        match log.append(&mut self.disk, &mut bytes, now_ms) {
            Ok(info) => {
                self.kernel.record(format_args!(
                    "append offsets {}..={} ({} bytes)",
                    info.base_offset,
                    info.last_offset,
                    bytes.len()
                ));
                if log.segment_count() > segments {
                    self.marks.hit("segment-rolled");
                }
                self.model.appended(Stored::from_bytes(bytes));
                self.after_success();
                Ok(())
            }
            Err(error) => self.failed(error, InFlight::Append(intended)),
        }
    }

    fn flush(&mut self) -> Result<(), Failure> {
        let now_ms = self.kernel.wall_ms();
        match self
            .log
            .as_mut()
            .expect("open")
            .flush(&mut self.disk, now_ms)
        {
            Ok(()) => {
                self.kernel
                    .record(format_args!("flushed up to {}", self.model.log_end));
                self.after_success();
                Ok(())
            }
            Err(error) => self.failed(error, InFlight::Other),
        }
    }

    fn flush_deadline(&mut self) -> Result<Next, Failure> {
        let due = self.log.as_ref().and_then(Log::flush_deadline_ms);
        if due.is_some_and(|due| due <= self.kernel.wall_ms()) {
            self.maintain()?;
        }
        Ok(Next::Continue)
    }

    fn maintain(&mut self) -> Result<(), Failure> {
        let now_ms = self.kernel.wall_ms();
        let log = self.log.as_mut().expect("open");
        let target = log.log_end_offset();
        match log.maintain(&mut self.disk, now_ms) {
            Ok(deleted) => {
                let start = log.log_start_offset();
                self.kernel.record(format_args!(
                    "maintained: deleted {deleted:?}, start {start}"
                ));
                if start > self.model.log_start {
                    self.marks.hit("log-start-moved");
                    self.model.start_moved(start);
                }
                self.after_success();
                Ok(())
            }
            Err(error) => self.failed(error, InFlight::MoveStart(target)),
        }
    }

    fn truncate(&mut self) -> Result<(), Failure> {
        let now_ms = self.kernel.wall_ms();
        let (start, end) = (self.model.log_start, self.model.log_end);
        let target = self.rng.range_inclusive(start as u64, end as u64) as i64;
        let log = self.log.as_mut().expect("open");
        match log.truncate_to(&mut self.disk, target, now_ms) {
            Ok(new_end) => {
                self.kernel
                    .record(format_args!("truncated to {target}: log end {new_end}"));
                // A batch is never split: the one holding the target goes whole.
                let holding = self.model.batches.iter().find(|batch| batch.next > target);
                let expected = holding.map_or(end, |batch| batch.base);
                if new_end != expected {
                    return Err(Failure::new(
                        "truncation-mismatch",
                        format!("truncate_to({target}) gave {new_end}, expected {expected}"),
                    ));
                }
                if new_end < end {
                    self.marks.hit("truncated");
                }
                self.model.truncated(new_end);
                self.model.log_start = log.log_start_offset();
                self.after_success();
                Ok(())
            }
            Err(error) => self.failed(error, InFlight::Truncate(target)),
        }
    }

    fn delete_records(&mut self) -> Result<(), Failure> {
        let now_ms = self.kernel.wall_ms();
        let (start, end) = (self.model.log_start, self.model.log_end);
        let target = self.rng.range_inclusive(start as u64, end as u64) as i64;
        let log = self.log.as_mut().expect("open");
        match log.delete_records_before(&mut self.disk, target, now_ms) {
            Ok(new_start) => {
                self.kernel
                    .record(format_args!("deleted records before {target}"));
                if new_start != target.max(start) {
                    return Err(Failure::new(
                        "log-start-mismatch",
                        format!("delete_records_before({target}) gave {new_start}"),
                    ));
                }
                if new_start > start {
                    self.marks.hit("log-start-moved");
                }
                self.model.start_moved(new_start);
                self.after_success();
                Ok(())
            }
            Err(error) => self.failed(error, InFlight::MoveStart(target)),
        }
    }

    /// After a successful operation: the log's state must match the model, and the flush.ms
    /// deadline gets a timer.
    fn after_success(&mut self) {
        let log = self.log.as_ref().expect("open");
        assert_eq!(
            log.log_end_offset(),
            self.model.log_end,
            "log end diverged from the model"
        );
        assert_eq!(
            log.log_start_offset(),
            self.model.log_start,
            "log start diverged"
        );
        self.model.durable_upto = log.recovery_point();
        // One timer per deadline; `flush.ms` left at its default never fires in a run.
        let due = log.flush_deadline_ms().filter(|due| *due < i64::MAX / 2);
        if let Some(deadline) = due.filter(|_| due != self.flush_timer_due) {
            let wait = deadline.saturating_sub(self.kernel.wall_ms()).max(0) as u64;
            self.kernel
                .schedule_after(Duration::from_millis(wait), Event::FlushDeadline);
            self.flush_timer_due = due;
        }
    }

    /// An operation failed: a crash inside a disk call, a full disk, or a log that stopped.
    fn failed(&mut self, error: LogError, in_flight: InFlight) -> Result<(), Failure> {
        self.kernel
            .record(format_args!("operation failed: {error}"));
        let log_failed = self.log.as_ref().is_some_and(|log| log.failure().is_some());
        if self.disk.is_crashed() {
            self.model.in_flight = Some(in_flight);
            let kind = CrashKind::random(&mut self.crash_rng);
            return self.crash(kind);
        }
        if log_failed {
            // A full disk during a roll or flush: the log stops, the broker would take the log
            // directory offline and restart it once space is freed.
            self.model.in_flight = Some(in_flight);
            self.disk.set_capacity(None);
            self.disk_full_until = None;
            self.log = None;
            return self.recover();
        }
        match error {
            LogError::Disk(sluice_core::disk::DiskError::NoSpace) => {
                self.marks.hit("enospc-refused");
                let log = self.log.as_ref().expect("open");
                assert_eq!(
                    log.log_end_offset(),
                    self.model.log_end,
                    "a refused write changed the log"
                );
                Ok(())
            }
            // A batch that cannot fit a segment is refused, as Kafka's MESSAGE_TOO_LARGE.
            LogError::BatchTooLarge { .. } => Ok(()),
            other => Err(Failure::new("unexpected-error", other.to_string())),
        }
    }

    /// Crashes the process or the machine and recovers.
    fn crash(&mut self, kind: CrashKind) -> Result<(), Failure> {
        if let Some(op) = self.disk.interrupted_op().map(str::to_string) {
            self.mark_interrupted(&op);
            self.kernel.record(format_args!("{kind} during {op}"));
        } else {
            self.kernel.record(format_args!("{kind}"));
        }
        match kind {
            CrashKind::Process => {
                self.marks.hit("process-crash");
                self.disk.crash_process();
            }
            CrashKind::Machine => {
                self.marks.hit("machine-crash");
                self.model.machine_crashed = true;
                self.disk.crash_machine(&mut self.crash_rng);
            }
        }
        self.log = None;
        self.recover()
    }

    fn mark_interrupted(&mut self, op: &str) {
        let segment_file = [".log", ".index", ".timeindex"]
            .iter()
            .any(|s| op.ends_with(s));
        if op.starts_with("write_at ") && op.contains(".log ") {
            self.marks.hit("crash-mid-write");
        }
        if op.starts_with("create ") && segment_file {
            self.marks.hit("crash-mid-roll");
        }
    }

    /// Opens the log until it recovers: a crash may strike during recovery itself.
    fn recover(&mut self) -> Result<(), Failure> {
        for _attempt in 0..50 {
            if self.mix.enabled("crash-mid-op") && self.rng.chance(1, 4) {
                self.disk.arm_crash_after_ops(self.rng.below(8));
            }
            let now_ms = self.kernel.wall_ms();
            let config = self.workload.config.clone();
            match Log::open(&mut self.disk, DIR, config, now_ms) {
                Ok((mut log, report)) => {
                    self.note_report(&report);
                    self.kernel.record(format_args!(
                        "log start {} end {} segments {:?}",
                        log.log_start_offset(),
                        log.log_end_offset(),
                        log.segment_base_offsets()
                    ));
                    let model =
                        check::recovered(&mut log, &mut self.disk, &mut self.rng, &self.model);
                    if self.disk.is_crashed() {
                        // The armed crash hit during the check's reads: recover again.
                        self.crash_again()?;
                        continue;
                    }
                    let model = model?;
                    if self.model.machine_crashed && model.log_end < self.model.log_end {
                        self.marks.hit("unsynced-tail-lost");
                    }
                    self.model = model;
                    self.log = Some(log);
                    return Ok(());
                }
                Err(_) if self.disk.is_crashed() => {
                    self.marks.hit("crash-during-recovery");
                    self.crash_again()?;
                }
                Err(LogError::Disk(sluice_core::disk::DiskError::NoSpace)) => {
                    self.disk.set_capacity(None);
                }
                Err(error) => return Err(Failure::new("recovery-failed", error.to_string())),
            }
        }
        Err(Failure::new(
            "recovery-failed",
            "no successful open in 50 attempts",
        ))
    }

    fn crash_again(&mut self) -> Result<(), Failure> {
        let kind = CrashKind::random(&mut self.crash_rng);
        self.kernel.record(format_args!("{kind} during recovery"));
        match kind {
            CrashKind::Process => self.disk.crash_process(),
            CrashKind::Machine => {
                self.model.machine_crashed = true;
                self.disk.crash_machine(&mut self.crash_rng);
            }
        }
        Ok(())
    }

    fn note_report(&mut self, report: &RecoveryReport) {
        self.kernel.record(format_args!(
            "recovered from offset {}: {} bytes scanned, cut {:?}, removed {:?}",
            report.scanned_from_offset,
            report.bytes_scanned,
            report.tail_cut,
            report.segments_removed
        ));
        if let Some(cut) = &report.tail_cut {
            match cut.reason {
                TailCutReason::Torn => self.marks.hit("torn-tail-cut"),
                TailCutReason::Corrupt => self.marks.hit("corrupt-tail-cut"),
            }
        }
        let segment_start = self
            .model
            .batches
            .iter()
            .any(|b| b.base == report.scanned_from_offset);
        if report.checkpoint_valid && report.scanned_from_offset > 0 && !segment_start {
            self.marks.hit("resumed-mid-segment");
        }
    }

    /// Bit rot strikes a synced byte of a segment; after a restart every read must return the
    /// appended bytes or report the corruption. The run ends here: the log keeps the rot.
    fn rot(&mut self) -> Result<Next, Failure> {
        let filter = |path: &str| path.ends_with(".log");
        let Some((path, position)) = self.disk.corrupt_durable_byte(&mut self.crash_rng, filter)
        else {
            return Ok(Next::Continue);
        };
        self.kernel
            .record(format_args!("bit rot in {path} at byte {position}"));
        let rot_base = self.rotted_base(&path, position).unwrap_or(i64::MAX);
        self.log = None;
        self.disk.crash_process();
        let now_ms = self.kernel.wall_ms();
        let config = self.workload.config.clone();
        self.disk.set_capacity(None);
        let (mut log, report) = match Log::open(&mut self.disk, DIR, config, now_ms) {
            Ok(opened) => opened,
            Err(_) if self.disk.is_crashed() => return Ok(Next::Done),
            Err(error) => return Err(Failure::new("reopen-after-rot-failed", error.to_string())),
        };
        self.note_report(&report);
        if log.log_end_offset() < rot_base.min(self.model.log_end) {
            return Err(Failure::new(
                "lost-intact-batch",
                format!(
                    "log end {} below the rotted batch at {rot_base}",
                    log.log_end_offset()
                ),
            ));
        }
        let caught = check::after_rot(&mut log, &mut self.disk, &self.model, rot_base)?;
        if caught
            || report
                .tail_cut
                .is_some_and(|cut| cut.reason == TailCutReason::Corrupt)
        {
            self.marks.hit("latent-corruption-caught");
        }
        Ok(Next::Done)
    }

    /// The base offset of the batch holding byte `position` of segment file `path`, found by
    /// walking the file's batches: the first one failing its CRC holds the flip (a flip in the
    /// length field moves the walk, but that batch then fails its CRC).
    fn rotted_base(&self, path: &str, position: u64) -> Option<i64> {
        let name = path.rsplit('/').next()?;
        let mut base: i64 = name.split('.').next()?.parse().ok()?;
        let bytes = self.disk.contents(path)?;
        let mut at = 0usize;
        while at < bytes.len() {
            let Ok(header) = validate_batch(&bytes[at..]) else {
                return Some(base);
            };
            let end = at + header.total_bytes();
            if position < end as u64 {
                return Some(base);
            }
            base = header.next_offset();
            at = end;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays_to_the_same_trace() {
        let options = RunOptions { keep_trace: true };
        let first = LogCrashRecovery.run(7, &options);
        let second = LogCrashRecovery.run(7, &options);
        assert!(first.passed(), "{:?}", first.failure);
        assert_eq!(first.trace_hash, second.trace_hash);
        assert_eq!(first.trace_lines, second.trace_lines);
        assert!(first.events > 100);
    }
}
