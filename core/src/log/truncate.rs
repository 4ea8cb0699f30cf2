//! Removing records from either end: truncation of the tail (a follower diverged from its
//! leader) and moving the log start offset (DeleteRecords, retention).

use std::collections::BTreeMap;

use super::append::create_segment_files;
use super::checkpoint::Checkpoint;
use super::segment::{probe_header, Probe, Segment};
use super::{Log, LogError};
use crate::disk::{Disk, DiskError};

impl Log {
    /// Kafka's `truncateTo`: removes every batch at or after the one holding `offset`, so that
    /// the log end becomes at most `offset` (a batch is never split: when `offset` falls inside
    /// one, the whole batch goes). The result is synced and checkpointed before this returns,
    /// so removed records cannot come back after a crash. Returns the new log end offset.
    ///
    /// Cost: the cut segment's indexes are rebuilt from its batch headers, so truncation reads
    /// the headers of the segment it cuts.
    pub fn truncate_to<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        now_ms: i64,
    ) -> Result<i64, LogError> {
        self.check_usable()?;
        if offset >= self.log_end_offset {
            return Ok(self.log_end_offset);
        }
        if offset < self.log_start_offset {
            return Err(self.out_of_range(offset));
        }
        let base = self.segment_holding(offset);
        self.ensure_indexes(disk, base)?;
        let (position, new_end) = self
            .locate(disk, base, offset)?
            .expect("offset below log end");
        // Recovery trusts every segment before the checkpoint's recovery segment. A crash
        // part way through removing the later segments would leave a gap in that trusted
        // range, so the recovery point first moves to the start of the segment being cut.
        self.recovery = Checkpoint::segment_start(self.log_start_offset, base);
        self.write_checkpoint(disk, now_ms)?;
        let result = self.cut_segments(disk, base, position, new_end);
        if let Err(error) = result {
            return Err(self.fail_disk(error));
        }
        self.log_end_offset = new_end;
        self.log_start_offset = self.log_start_offset.min(new_end);
        self.flushed_upto = new_end;
        self.recovery = self.snapshot_at_end();
        self.unflushed_messages = 0;
        self.first_unflushed_ms = None;
        self.write_checkpoint(disk, now_ms)?;
        self.check_invariants();
        Ok(new_end)
    }

    /// Cuts segment `base` at `position` and removes the segments after it, durably.
    fn cut_segments<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        base: i64,
        position: u64,
        new_end: i64,
    ) -> Result<(), DiskError> {
        let later: Vec<i64> = self.segments.range(base + 1..).map(|(b, _)| *b).collect();
        for later_base in later {
            self.segments
                .remove(&later_base)
                .expect("listed")
                .remove_files(disk)?;
        }
        let interval = self.config.index_interval_bytes;
        let segment = self.segments.get_mut(&base).expect("segment exists");
        disk.truncate(&segment.log_path, position)?;
        // Re-index the kept part from its headers: the tail state (max timestamp, bytes since
        // the last index entry) at the cut cannot be derived from the sparse indexes alone.
        let cut_size = position;
        segment.size = 0;
        segment.offset_index = Some(Default::default());
        segment.time_index = Some(Default::default());
        segment.tail = Some(super::segment::Tail::EMPTY);
        while segment.size < cut_size {
            let at = segment.size;
            match probe_header(disk, &segment.log_path, at, cut_size)? {
                Probe::Batch(header) => {
                    let size = header.total_bytes() as u64;
                    segment.index_batch(&header, header.base_offset, at, size, interval);
                }
                _ => {
                    return Err(DiskError::Io(format!(
                        "{}: unreadable header at {at}",
                        segment.log_path
                    )))
                }
            }
        }
        assert_eq!(segment.size, cut_size, "re-indexing stopped at the cut");
        assert!(new_end >= segment.base_offset, "cut below the segment");
        segment.cut_index_files(disk)?;
        segment.persist_indexes(disk)?;
        segment.sync(disk)?;
        disk.sync_dir(&self.dir)
    }

    /// Kafka's DeleteRecords: moves the log start offset up to `offset` (which may not pass
    /// the log end), durably, then removes the segments wholly below it. Returns the new log
    /// start offset.
    pub fn delete_records_before<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        now_ms: i64,
    ) -> Result<i64, LogError> {
        self.check_usable()?;
        if offset > self.log_end_offset {
            return Err(self.out_of_range(offset));
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        // Not durable, so not done (the caller answers KAFKA_STORAGE_ERROR).
        self.move_log_start(disk, offset, now_ms)?;
        let below: Vec<i64> = self
            .segments
            .keys()
            .copied()
            .filter(|base| *base != self.active().base_offset)
            .filter(|base| self.segment_next_offset(*base) <= offset)
            .collect();
        self.remove_segments(disk, &below)?;
        self.check_invariants();
        Ok(self.log_start_offset)
    }

    /// Kafka's `truncateFullyAndStartAt`: drops every record and starts the log over, empty,
    /// at `offset`. Either `offset` lies past the log end (a follower whose whole log is below
    /// its leader's log start offset), or the log is empty and `offset` is the base of the
    /// leader's batch that holds its log start. Crash-safe in three durable steps: the new
    /// segment's files (recovery drops a segment that does not continue the log, so a crash
    /// here keeps the old log), then the checkpoint naming `offset` as the log start
    /// (recovery then removes every segment wholly below it), then the old segments' files.
    pub fn truncate_fully_and_start_at<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        now_ms: i64,
    ) -> Result<(), LogError> {
        self.check_usable()?;
        assert!(
            offset > self.log_end_offset || self.log_start_offset == self.log_end_offset,
            "starting over at {offset}, not past the log end {} of a log that is not empty",
            self.log_end_offset
        );
        let segment = Segment::empty(&self.dir, offset);
        if let Err(error) = create_segment_files(disk, &self.dir, &segment) {
            return Err(self.fail_disk(error));
        }
        let mut fresh = Log {
            dir: self.dir.clone(),
            config: self.config.clone(),
            segments: BTreeMap::from([(offset, segment)]),
            log_start_offset: offset,
            log_end_offset: offset,
            recovery: self.recovery,
            flushed_upto: offset,
            unflushed_messages: 0,
            first_unflushed_ms: None,
            last_checkpoint_ms: self.last_checkpoint_ms,
            failure: None,
        };
        fresh.recovery = fresh.snapshot_at_end();
        if let Err(error) = fresh.write_checkpoint(disk, now_ms) {
            // On a full disk the old log stands, on disk and here (recovery drops the new
            // segment, which does not continue it), unless the new segment's files emptied an
            // old segment's in place.
            let old_stands = matches!(error, LogError::Disk(DiskError::NoSpace))
                && !self.segments.contains_key(&offset);
            return Err(match old_stands {
                true => error,
                false => self.fail(error),
            });
        }
        let old = std::mem::replace(self, fresh);
        // A segment already at `offset` was emptied in place by the creation above.
        for (base, segment) in old.segments {
            if base == offset {
                continue;
            }
            if let Err(error) = segment.remove_files(disk) {
                return Err(self.fail_disk(error));
            }
        }
        if let Err(error) = disk.sync_dir(&self.dir) {
            return Err(self.fail_disk(error));
        }
        self.check_invariants();
        Ok(())
    }

    /// Removes whole segments (never the active one) after the checkpoint already excludes
    /// them, so a crash half way leaves files that the next open removes.
    pub(super) fn remove_segments<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        bases: &[i64],
    ) -> Result<(), LogError> {
        if bases.is_empty() {
            return Ok(());
        }
        for base in bases {
            assert!(
                *base != self.active().base_offset,
                "removing the active segment"
            );
            let segment = self.segments.remove(base).expect("segment exists");
            if let Err(error) = segment.remove_files(disk) {
                return Err(self.fail_disk(error));
            }
        }
        if let Err(error) = disk.sync_dir(&self.dir) {
            return Err(self.fail_disk(error));
        }
        Ok(())
    }
}
