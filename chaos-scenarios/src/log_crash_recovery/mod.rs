//! `log-crash-recovery`: a writer appends random batches to one partition log on the simulated
//! disk, flushes, truncates and deletes at random, while process crashes, machine crashes and
//! crashes inside a disk call (mid-write, mid-roll, mid-recovery) strike; a full disk refuses
//! writes for a while; bit rot may strike once. After every recovery the log must be a prefix of
//! what was appended, hold every batch it promised to keep, read back byte for byte with valid
//! CRCs at contiguous offsets, and its indexes must agree with its data.

mod check;
mod faults;
mod model;
mod ops;
mod workload;

use sluice_core::log::{Log, RecoveryReport};
use sluice_core::rng::Rng;
use sluice_core::time::Duration;
use sluice_sim::{CrashKind, DiskLatency, Kernel, SimDisk, SimRng};

use crate::swarm::{FaultMix, FaultSpec};
use crate::{Failure, Marks, RunOptions, RunOutcome, Scenario};
use model::Model;
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
