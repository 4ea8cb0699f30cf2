//! The segmented partition log: Kafka's on-disk log, sans-IO.
//!
//! A log is a directory of segments, each a `.log` file of whole RecordBatch v2 batches named by
//! its base offset, with a sparse offset index and a time index, plus a checkpoint holding the
//! log start offset and the recovery point. All IO goes through a [`Disk`] passed to each call,
//! so one disk can hold many logs and the simulator can crash it at any call.
//!
//! Call order: [`Log::open`] (which recovers), then any mix of [`Log::append`], [`Log::read`],
//! [`Log::flush`], [`Log::maintain`] (flush.ms and retention), [`Log::truncate_to`] and
//! [`Log::delete_records_before`], then [`Log::close`] for a clean shutdown. An owner that
//! does not sync on its own thread (a node) appends with [`Log::append_unsynced`], asks
//! [`Log::flush_wanted`], and hands the flush out with [`Log::flush_begin`], reporting it with
//! [`Log::flush_done`] or [`Log::flush_failed`]. After any storage
//! failure that leaves the log's state uncertain (a failed fsync, a crash mid-call) every call
//! returns [`LogError::Failed`]: the owner reopens the log, which recovers it.

mod append;
mod checkpoint;
mod config;
mod error;
mod index;
mod read;
mod recovery;
mod retention;
mod segment;
mod timestamp;
mod truncate;
mod verify;

use std::collections::BTreeMap;

pub use config::LogConfig;
pub use error::LogError;
pub use read::{ReadRange, ReadSlice};
pub use recovery::{RecoveryReport, TailCut, TailCutReason};
pub use timestamp::TimestampOffset;

use crate::disk::{Disk, DiskError};
use checkpoint::Checkpoint;
use segment::Segment;

/// Where an appended batch landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the batch's first record.
    pub base_offset: i64,
    /// Offset of its last record.
    pub last_offset: i64,
    /// The batch's max timestamp.
    pub max_timestamp: i64,
    /// Records in the batch.
    pub record_count: i32,
}

/// A flush begun by [`Log::flush_begin`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flush {
    /// The file to sync.
    pub file: String,
    /// Every offset below this is durable once the sync completes.
    pub upto: i64,
}

/// One partition's log. See the module documentation for the call order.
#[derive(Debug)]
pub struct Log {
    dir: String,
    config: LogConfig,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    log_end_offset: i64,
    /// Where the next open resumes scanning: written to the checkpoint file, with the index
    /// entry counts synced at that point.
    recovery: Checkpoint,
    /// Every offset below this is synced.
    flushed_upto: i64,
    unflushed_messages: i64,
    first_unflushed_ms: Option<i64>,
    last_checkpoint_ms: i64,
    failure: Option<String>,
}

impl Log {
    /// The log's directory on its disk.
    pub fn dir(&self) -> &str {
        &self.dir
    }

    /// The settings in force.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Replaces the settings, when a topic's configs change: sizes and ages apply from the
    /// next append, roll or retention run.
    pub fn set_config(&mut self, config: LogConfig) -> Result<(), LogError> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// The first offset a reader may fetch.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The offset the next appended record gets (Kafka's LEO).
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }

    /// Every offset below this is synced to the disk: it survives a machine crash. (Kafka
    /// calls this the recovery point; Sluice's checkpoint file may lag it, which only means
    /// recovery scans a little more.)
    pub fn recovery_point(&self) -> i64 {
        self.flushed_upto
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Base offsets of the segments, oldest first.
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.segments.keys().copied().collect()
    }

    /// Total bytes in all segments' data files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(|segment| segment.size).sum()
    }

    /// Why the log failed, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Syncs every unsynced byte of the log, so everything appended so far survives a machine
    /// crash (Kafka's flush). Rolled segments were synced whole when they rolled, so only the
    /// active segment's data file needs it; its index entries wait for the next checkpoint
    /// (recovery rebuilds them from the data past it), so a flush costs one fsync.
    pub fn flush<D: Disk + ?Sized>(&mut self, disk: &mut D, now_ms: i64) -> Result<(), LogError> {
        let Some(flush) = self.flush_begin()? else {
            return self.flush_done(disk, None, now_ms);
        };
        if let Err(error) = disk.sync(&flush.file) {
            return Err(self.flush_failed(error));
        }
        self.flush_done(disk, Some(flush.upto), now_ms)
    }

    /// Whether `flush.messages` or `flush.ms` ask for a flush now.
    pub fn flush_wanted(&self, now_ms: i64) -> bool {
        self.unflushed_messages >= self.config.flush_messages || self.flush_due(now_ms)
    }

    /// Starts a flush that someone else carries out: the file to sync and the offset below
    /// which it makes everything durable, or `None` when nothing is unsynced. The counters of
    /// `flush.messages` and `flush.ms` start over. Hand the outcome to [`Log::flush_done`] or
    /// [`Log::flush_failed`]; several flushes may be under way, and complete in any order.
    pub fn flush_begin(&mut self) -> Result<Option<Flush>, LogError> {
        self.check_usable()?;
        self.unflushed_messages = 0;
        self.first_unflushed_ms = None;
        if self.flushed_upto >= self.log_end_offset {
            return Ok(None);
        }
        // Rolled segments were synced whole when they rolled: only the active one is dirty.
        let file = self.active().log_path.clone();
        Ok(Some(Flush {
            file,
            upto: self.log_end_offset,
        }))
    }

    /// A flush from [`Log::flush_begin`] completed: everything below `upto` is durable (a
    /// sync covers the writes issued before it, so a later one completing first covers an
    /// earlier one's too). With `None`, only the periodic checkpoint runs if due. The caller
    /// must not report a flush begun before a truncation of this log.
    pub fn flush_done<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        upto: Option<i64>,
        now_ms: i64,
    ) -> Result<(), LogError> {
        self.check_usable()?;
        if let Some(upto) = upto {
            assert!(
                upto <= self.log_end_offset,
                "a flush covers only what was written"
            );
            self.flushed_upto = self.flushed_upto.max(upto);
        }
        if now_ms.saturating_sub(self.last_checkpoint_ms)
            >= self.config.recovery_point_checkpoint_interval_ms
        {
            match self.checkpoint(disk, now_ms) {
                // The data is synced; a checkpoint that lags only makes recovery scan more.
                Ok(()) | Err(LogError::Disk(DiskError::NoSpace)) => {}
                Err(error) => return Err(error),
            }
        }
        self.check_invariants();
        Ok(())
    }

    /// Syncs the active segment with its indexes and records the log end as the recovery
    /// point, so the next open resumes from here.
    fn checkpoint<D: Disk + ?Sized>(&mut self, disk: &mut D, now_ms: i64) -> Result<(), LogError> {
        let active = self.active_mut();
        let synced = active
            .persist_indexes(disk)
            .and_then(|()| active.sync(disk));
        // On a full disk the index files are rewritten whole next time; recovery checks them.
        if let Err(error) = synced {
            return Err(self.fail_disk_unless_full(error));
        }
        self.flushed_upto = self.log_end_offset;
        self.recovery = self.snapshot_at_end();
        self.write_checkpoint(disk, now_ms)
    }

    /// A flush from [`Log::flush_begin`] failed. After a failed fsync the kernel may have
    /// dropped the dirty pages: retrying could report success over lost data, so the log
    /// stops here.
    pub fn flush_failed(&mut self, error: DiskError) -> LogError {
        self.fail_disk(error)
    }

    /// Flushes and checkpoints, so that the next open scans nothing.
    pub fn close<D: Disk + ?Sized>(mut self, disk: &mut D, now_ms: i64) -> Result<(), LogError> {
        self.check_usable()?;
        self.checkpoint(disk, now_ms)
    }

    /// Runs the time-driven work: a flush once `flush.ms` has passed since the oldest unflushed
    /// append, and retention by `retention.ms` and `retention.bytes`. Returns the base offsets
    /// of the segments retention deleted.
    pub fn maintain<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        now_ms: i64,
    ) -> Result<Vec<i64>, LogError> {
        self.maintain_below(disk, now_ms, i64::MAX)
    }

    /// [`Log::maintain`], deleting no segment that holds an offset at or above `upper`: a
    /// replica passes its high watermark, as Kafka deletes only committed segments.
    pub fn maintain_below<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        now_ms: i64,
        upper: i64,
    ) -> Result<Vec<i64>, LogError> {
        self.check_usable()?;
        if self.flush_due(now_ms) {
            self.flush(disk, now_ms)?;
        }
        self.retain_below(disk, now_ms, upper)
    }

    /// Retention alone (no flush), deleting no segment that holds an offset at or above
    /// `upper`: for an owner that runs `flush.ms` flushes itself.
    pub fn retain_below<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        now_ms: i64,
        upper: i64,
    ) -> Result<Vec<i64>, LogError> {
        self.check_usable()?;
        self.enforce_retention(disk, now_ms, upper)
    }

    /// When [`Log::maintain`] next has a flush to do, if ever.
    pub fn flush_deadline_ms(&self) -> Option<i64> {
        self.first_unflushed_ms
            .map(|first| first.saturating_add(self.config.flush_ms))
    }

    fn flush_due(&self, now_ms: i64) -> bool {
        self.flush_deadline_ms()
            .is_some_and(|deadline| now_ms >= deadline)
    }

    fn check_usable(&self) -> Result<(), LogError> {
        match &self.failure {
            Some(why) => Err(LogError::Failed(why.clone())),
            None => Ok(()),
        }
    }

    /// Marks the log failed and hands the error back for returning.
    fn fail(&mut self, error: LogError) -> LogError {
        if self.failure.is_none() {
            self.failure = Some(error.to_string());
        }
        error
    }

    /// Maps a storage error of a step that cannot be undone: the log fails.
    fn fail_disk(&mut self, error: DiskError) -> LogError {
        self.fail(LogError::Disk(error))
    }

    /// Maps a storage error of a step that leaves the log whole when the disk is merely full
    /// (nothing was renamed or cut yet): a full disk is the caller's to refuse or retry, any
    /// other error fails the log.
    fn fail_disk_unless_full(&mut self, error: DiskError) -> LogError {
        match error {
            DiskError::NoSpace => LogError::Disk(DiskError::NoSpace),
            error => self.fail_disk(error),
        }
    }

    /// Moves the log start offset to `offset` durably (the checkpoint names it), or not at
    /// all: on a full disk it stays where it was.
    fn move_log_start<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let old_start = std::mem::replace(&mut self.log_start_offset, offset);
        let written = self.write_checkpoint(disk, now_ms);
        if written.is_err() {
            self.log_start_offset = old_start;
        }
        written
    }

    /// Base offset of the segment that holds `offset` (at or after the log start).
    fn segment_holding(&self, offset: i64) -> i64 {
        let (base, _) = self
            .segments
            .range(..=offset)
            .next_back()
            .expect("a segment below offset");
        *base
    }

    fn active(&self) -> &Segment {
        self.segments
            .values()
            .next_back()
            .expect("a log always has a segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .expect("a log always has a segment")
    }

    /// The recovery point at the current log end.
    fn snapshot_at_end(&self) -> Checkpoint {
        let active = self.active();
        Checkpoint {
            log_start_offset: self.log_start_offset,
            recovery_point: self.log_end_offset,
            recovery_segment: active.base_offset,
            recovery_position: active.size,
            offset_entries: active
                .offset_index
                .as_ref()
                .map_or(0, |i| i.persisted as u32),
            time_entries: active.time_index.as_ref().map_or(0, |i| i.persisted as u32),
            tail: active.tail.expect("the active segment's tail is known"),
        }
    }

    fn write_checkpoint<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let checkpoint = Checkpoint {
            log_start_offset: self.log_start_offset,
            ..self.recovery
        };
        // The new checkpoint is written beside the old one and renamed over it, so a full disk
        // leaves the old one whole: still a true account of the files, only an older one. The
        // caller decides whether its step stands without it.
        if let Err(error) = checkpoint::store(disk, &self.dir, &checkpoint) {
            return Err(self.fail_disk_unless_full(error));
        }
        self.last_checkpoint_ms = now_ms;
        Ok(())
    }

    fn check_invariants(&self) {
        assert!(
            self.log_start_offset <= self.log_end_offset,
            "log start beyond log end"
        );
        assert!(
            self.recovery.recovery_point <= self.log_end_offset,
            "recovery point beyond end"
        );
        let active = self.active();
        assert!(
            active.base_offset <= self.log_end_offset,
            "active segment beyond log end"
        );
        assert!(active.tail.is_some(), "active segment without a tail");
        // Rolled segments are synced whole, so only the active one may hold unsynced bytes.
        assert!(
            self.flushed_upto >= active.base_offset,
            "unsynced bytes before the active segment"
        );
        assert!(
            self.segments.contains_key(&self.recovery.recovery_segment),
            "lost rp segment"
        );
    }
}

#[cfg(test)]
mod tests;
