//! The writer's operations on the log, and how the model follows each outcome.

use sluice_core::log::{Log, LogError};
use sluice_core::rng::Rng;
use sluice_core::time::Duration;
use sluice_sim::CrashKind;

use super::model::{InFlight, Stored};
use super::{Event, Next, Run};
use crate::Failure;

impl Run {
    /// One log operation, chosen by the workload's mix.
    pub(super) fn operate(&mut self) -> Result<(), Failure> {
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

    pub(super) fn append(&mut self) -> Result<(), Failure> {
        let now_ms = self.kernel.wall_ms();
        let bytes = self.workload.batch(&mut self.rng, now_ms);
        let intended = Stored::stamped(bytes.clone(), self.model.log_end);
        let log = self.log.as_mut().expect("open");
        let segments = log.segment_count();
        match log.append(&mut self.disk, &bytes, now_ms) {
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
                // The log stores the batch under the offset it reports; the checks after
                // each recovery compare that with what the files hold.
                self.model
                    .appended(Stored::stamped(bytes, info.base_offset));
                self.after_success();
                Ok(())
            }
            Err(error) => self.failed(error, InFlight::Append(intended)),
        }
    }

    pub(super) fn flush(&mut self) -> Result<(), Failure> {
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

    pub(super) fn flush_deadline(&mut self) -> Result<Next, Failure> {
        let due = self.log.as_ref().and_then(Log::flush_deadline_ms);
        if due.is_some_and(|due| due <= self.kernel.wall_ms()) {
            self.maintain()?;
        }
        Ok(Next::Continue)
    }

    pub(super) fn maintain(&mut self) -> Result<(), Failure> {
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

    pub(super) fn truncate(&mut self) -> Result<(), Failure> {
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

    pub(super) fn delete_records(&mut self) -> Result<(), Failure> {
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
    pub(super) fn after_success(&mut self) {
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
    pub(super) fn failed(&mut self, error: LogError, in_flight: InFlight) -> Result<(), Failure> {
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
}
