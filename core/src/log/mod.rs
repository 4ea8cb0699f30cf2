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
mod io;
mod read;
mod recovery;
mod retention;
mod segment;
mod timestamp;
mod truncate;
mod verify;

use std::collections::BTreeMap;

pub use config::{CleanupPolicy, LogConfig};
pub use error::LogError;
pub use io::LogIo;
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
    /// The files to sync.
    pub files: Vec<String>,
    /// The directories to sync (the log's own, when names changed in it).
    pub dirs: Vec<String>,
    /// Every offset below this is durable once the sync completes.
    pub upto: i64,
}

/// What the log remembers of a flush under way.
#[derive(Clone, Debug)]
struct FlushRecord {
    upto: i64,
    files: Vec<String>,
    /// The count of name changes in the directory the flush syncs, if it syncs it.
    dir_upto: Option<u64>,
    /// The checkpoint to write once the flush is done: the recovery point it makes true.
    checkpoint: Option<Checkpoint>,
    /// The log's generation when it began: a flush begun before a cut proves nothing.
    generation: u64,
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
    /// Files written since they were last synced that a flush covers besides the active
    /// segment's data: a rolled segment's files, a cut segment's.
    unsynced_files: Vec<String>,
    /// Name changes made in the directory (files created or removed), counted.
    dir_changes: u64,
    /// Name changes known durable: the next flush syncs the directory while this lags.
    dir_synced: u64,
    /// The next flush writes the checkpoint when it completes (after a roll or a cut).
    checkpoint_wanted: bool,
    /// Flushes under way, in issue order.
    flushes: Vec<FlushRecord>,
    /// Moves at every cut: flushes begun before it are not counted.
    generation: u64,
    /// Structural IO for the owner to carry out, and its continuations (see [`io`]).
    io: io::Outbox,
    /// The checkpoint's recovery point may not pass this offset: where the first leader
    /// epoch starts that the owner's epoch checkpoint does not yet hold durably (recovery
    /// assigns epochs again only to the records it scans, those past the recovery point).
    checkpoint_cap: i64,
    /// A checkpoint a flush made true but the cap held back.
    deferred_checkpoint: Option<Checkpoint>,
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

    /// The first offset the log still stores: the base of its first segment, below the log
    /// start offset when DeleteRecords or retention moved that inside the segment (see
    /// [`Log::read_stored`]).
    pub fn first_stored_offset(&self) -> i64 {
        let first = self.segments.keys().next().copied();
        first.map_or(self.log_start_offset, |base| {
            base.min(self.log_start_offset)
        })
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
    /// crash (Kafka's flush), and carries out every checkpoint it leads to, on the caller's
    /// thread: for owners that have one ([`Log::flush_begin`] is for those that do not).
    pub fn flush<D: Disk + ?Sized>(&mut self, disk: &mut D, now_ms: i64) -> Result<(), LogError> {
        // A cut's checkpoint goes first, then the cut's own flush and checkpoint: three rounds
        // at most.
        for _ in 0..3 {
            if let Some(flush) = self.flush_begin(Some(&mut *disk), now_ms)? {
                let mut synced = Ok(());
                for file in &flush.files {
                    // A file removed since (a cut) has nothing left to sync.
                    match disk.sync(file) {
                        Ok(()) | Err(DiskError::NotFound(_)) => {}
                        Err(error) => {
                            synced = Err(error);
                            break;
                        }
                    }
                }
                let synced =
                    synced.and_then(|()| flush.dirs.iter().try_for_each(|dir| disk.sync_dir(dir)));
                if let Err(error) = synced {
                    return Err(self.flush_failed(error));
                }
                self.flush_done(flush.upto)?;
            }
            match self.run_io_inline(disk) {
                // The data is synced; a checkpoint that lags only makes recovery scan more,
                // and the next flush writes it.
                Err(LogError::Disk(DiskError::NoSpace)) if self.failure.is_none() => return Ok(()),
                Err(error) => return Err(error),
                Ok(()) => {}
            }
            let more = self.structural_flush_wanted() || self.flushed_upto < self.log_end_offset;
            if !more {
                break;
            }
        }
        Ok(())
    }

    /// Whether `flush.messages` or `flush.ms` ask for a flush now.
    pub fn flush_wanted(&self, now_ms: i64) -> bool {
        self.unflushed_messages >= self.config.flush_messages || self.flush_due(now_ms)
    }

    /// Whether a roll or a cut left files, names or a checkpoint that only a flush makes
    /// durable: the owner starts one soon, whatever `flush.messages` says.
    pub fn structural_flush_wanted(&self) -> bool {
        !self.unsynced_files.is_empty()
            || self.dir_synced < self.dir_changes
            || self.checkpoint_wanted
    }

    /// Starts a flush that someone else carries out: the files and directories to sync and
    /// the offset below which it makes everything durable, or `None` when nothing is
    /// unsynced. The counters of `flush.messages` and `flush.ms` start over. When a
    /// checkpoint is wanted (a roll, a cut, or `log.flush.offset.checkpoint.interval.ms`
    /// passed) and a disk is given to write the active segment's indexes on, the flush also
    /// covers those, and its completion writes the checkpoint. Hand the outcome to [`Log::flush_done`] or
    /// [`Log::flush_failed`]; several flushes may be under way, and complete in any order.
    pub fn flush_begin<D: Disk + ?Sized>(
        &mut self,
        disk: Option<&mut D>,
        now_ms: i64,
    ) -> Result<Option<Flush>, LogError> {
        self.check_usable()?;
        if self.cut_pending().is_some() {
            // The files are not cut yet: nothing to flush until they are.
            return Ok(None);
        }
        self.unflushed_messages = 0;
        self.first_unflushed_ms = None;
        if self.flushed_upto >= self.log_end_offset && !self.structural_flush_wanted() {
            return Ok(None);
        }
        let due = now_ms.saturating_sub(self.last_checkpoint_ms)
            >= self.config.recovery_point_checkpoint_interval_ms;
        let mut files = self.unsynced_files.clone();
        let active = self.active().log_path.clone();
        if !files.contains(&active) {
            files.push(active);
        }
        let mut record = FlushRecord {
            upto: self.log_end_offset,
            files: Vec::new(),
            dir_upto: (self.dir_synced < self.dir_changes).then_some(self.dir_changes),
            checkpoint: None,
            generation: self.generation,
        };
        let disk = disk.filter(|_| self.checkpoint_wanted || due);
        if let Some(disk) = disk {
            let active = self.active_mut();
            // On a full disk the index files are rewritten whole next time; recovery checks
            // them. The data flush goes ahead without the checkpoint.
            match active.persist_indexes(disk) {
                Ok(()) => {
                    for path in [active.index_path.clone(), active.time_index_path.clone()] {
                        if !files.contains(&path) {
                            files.push(path);
                        }
                    }
                    record.checkpoint = Some(self.snapshot_at_end());
                    self.checkpoint_wanted = false;
                    self.last_checkpoint_ms = now_ms;
                }
                Err(DiskError::NoSpace) => {}
                Err(error) => return Err(self.fail_disk(error)),
            }
        }
        record.files = files.clone();
        let dirs = match record.dir_upto {
            Some(_) => vec![self.dir.clone()],
            None => Vec::new(),
        };
        self.flushes.push(record);
        Ok(Some(Flush {
            files,
            dirs,
            upto: self.log_end_offset,
        }))
    }

    /// A flush from [`Log::flush_begin`] completed: everything below `upto` is durable (a
    /// sync covers the writes issued before it, so a later one completing first covers an
    /// earlier one's too), and the checkpoint it carried, if any, goes out
    /// ([`Log::take_io`]). A flush begun before a cut of this log counts for nothing.
    pub fn flush_done(&mut self, upto: i64) -> Result<(), LogError> {
        self.check_usable()?;
        let Some(index) = self
            .flushes
            .iter()
            .position(|record| record.upto == upto && record.generation == self.generation)
        else {
            return Ok(());
        };
        let record = self.flushes.remove(index);
        assert!(
            upto <= self.log_end_offset,
            "a flush covers only what was written"
        );
        self.flushed_upto = self.flushed_upto.max(upto);
        self.unsynced_files
            .retain(|file| !record.files.contains(file));
        if let Some(upto) = record.dir_upto {
            self.dir_synced = self.dir_synced.max(upto);
        }
        if let Some(checkpoint) = record.checkpoint {
            self.write_checkpoint_of(checkpoint);
        }
        self.check_invariants();
        Ok(())
    }

    /// A flush from [`Log::flush_begin`] failed. After a failed fsync the kernel may have
    /// dropped the dirty pages: retrying could report success over lost data, so the log
    /// stops here.
    pub fn flush_failed(&mut self, error: DiskError) -> LogError {
        self.fail_disk(error)
    }

    /// Flushes and checkpoints, so that the next open scans nothing: for an owner with a
    /// thread of its own. (A node just drops the log: the next open scans from the last
    /// checkpoint.)
    pub fn close<D: Disk + ?Sized>(mut self, disk: &mut D, now_ms: i64) -> Result<(), LogError> {
        self.check_usable()?;
        self.checkpoint_wanted = true;
        self.flush(disk, now_ms)
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
        let before = self.start_before();
        let seq = self.io.next_seq();
        let deleted = self.retain_below(disk, now_ms, upper)?;
        if self.io.next_seq() > seq {
            self.settle_start_move(disk, before, seq)?;
        }
        Ok(deleted)
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

    /// Moves the log start offset to `offset` and takes the segments wholly below it out of
    /// the log; their files go once the checkpoint naming the new start, queued here, is
    /// durable. Returns that checkpoint's seq.
    fn move_log_start(&mut self, offset: i64, below: &[i64]) -> u64 {
        self.log_start_offset = offset;
        for base in below {
            assert!(
                *base != self.active().base_offset,
                "removing the active segment"
            );
            let segment = self.segments.remove(base).expect("segment exists");
            self.forget_unsynced(&segment);
            self.remove_after_checkpoint(segment);
        }
        // What lies below the start is gone, durable or not (page-cache mode deletes up to
        // the high watermark, which counts records not yet synced).
        self.flushed_upto = self.flushed_upto.max(offset);
        self.queue_checkpoint()
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
        assert!(
            self.recovery.recovery_point <= self.flushed_upto,
            "a recovery point past what is durable"
        );
        assert!(
            self.segments.contains_key(&self.recovery.recovery_segment),
            "lost rp segment"
        );
    }
}

#[cfg(test)]
mod tests;
