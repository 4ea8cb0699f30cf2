//! Crashes, recovery and bit rot: what happens to the log between the writer's operations.

use sluice_core::log::{Log, LogError, RecoveryReport, TailCutReason};
use sluice_core::record::validate_batch;
use sluice_core::rng::Rng;
use sluice_sim::CrashKind;

use super::{check, Next, Run, DIR};
use crate::Failure;

impl Run {
    /// Crashes the process or the machine and recovers.
    pub(super) fn crash(&mut self, kind: CrashKind) -> Result<(), Failure> {
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

    pub(super) fn mark_interrupted(&mut self, op: &str) {
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
    pub(super) fn recover(&mut self) -> Result<(), Failure> {
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

    pub(super) fn crash_again(&mut self) -> Result<(), Failure> {
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

    pub(super) fn note_report(&mut self, report: &RecoveryReport) {
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
    pub(super) fn rot(&mut self) -> Result<Next, Failure> {
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
    pub(super) fn rotted_base(&self, path: &str, position: u64) -> Option<i64> {
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
