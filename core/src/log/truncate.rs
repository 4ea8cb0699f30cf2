//! Removing records from either end: truncation of the tail (a follower diverged from its
//! leader) and moving the log start offset (DeleteRecords, retention).

use std::collections::BTreeMap;

use super::append::create_segment_files;
use super::checkpoint::Checkpoint;
use super::io::PendingCut;
use super::segment::{probe_header, Probe, Segment};
use super::{Log, LogError};
use crate::disk::{Disk, DiskError};

impl Log {
    /// [`Log::truncate_to_unsynced`], then every sync and checkpoint it leads to, on the
    /// caller's thread: removed records cannot come back after a crash once this returns.
    pub fn truncate_to<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        now_ms: i64,
    ) -> Result<i64, LogError> {
        let end = self.truncate_to_unsynced(disk, offset, now_ms)?;
        self.flush(disk, now_ms)?;
        Ok(end)
    }

    /// Kafka's `truncateTo`: removes every batch at or after the one holding `offset`, so that
    /// the log end becomes at most `offset` (a batch is never split: when `offset` falls inside
    /// one, the whole batch goes). Returns the new log end offset.
    ///
    /// Nothing is synced here, and the files are not touched yet. Recovery trusts every byte
    /// below the checkpoint's recovery point without reading it, so a checkpoint with the
    /// recovery point lowered below the cut is queued first, and the files are cut only once
    /// it is durable (see the `io` module); appends and flushes wait until then
    /// ([`Log::cut_pending`]). The cut segment's files then join the next flush, whose
    /// completion writes the checkpoint at the new end.
    ///
    /// Cost: the cut segment's indexes are rebuilt from its batch headers, so truncation reads
    /// the headers of the segment it cuts.
    pub fn truncate_to_unsynced<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        _now_ms: i64,
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
        // The lowered recovery point starts a segment at or below the cut, below which
        // everything is durable already (a rolled segment may still wait for its flush).
        let low = self.flushed_upto.min(offset).max(self.log_start_offset);
        let floor = self.segment_holding(low);
        self.recovery = Checkpoint::segment_start(self.log_start_offset, floor);
        let seq = self.queue_checkpoint();
        let cut = match self.cut_segments(disk, base, position, new_end) {
            Ok(cut) => cut,
            Err(error) => return Err(self.fail_disk(error)),
        };
        self.guard_cut(seq, cut);
        self.generation += 1;
        self.deferred_checkpoint = None;
        self.flushes.clear();
        self.log_end_offset = new_end;
        self.log_start_offset = self.log_start_offset.min(new_end);
        self.flushed_upto = self.flushed_upto.min(new_end);
        self.unflushed_messages = 0;
        self.first_unflushed_ms = None;
        self.check_invariants();
        Ok(new_end)
    }

    /// Cuts segment `base` at `position` and takes the segments after it out of the log, in
    /// memory: the files change once the lowered checkpoint is durable ([`Log::finish_cut`]).
    fn cut_segments<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        base: i64,
        position: u64,
        new_end: i64,
    ) -> Result<PendingCut, DiskError> {
        let later: Vec<i64> = self.segments.range(base + 1..).map(|(b, _)| *b).collect();
        let mut removed = Vec::with_capacity(later.len());
        for later_base in later {
            let segment = self.segments.remove(&later_base).expect("listed");
            self.forget_unsynced(&segment);
            removed.push(segment);
        }
        let interval = self.config.index_interval_bytes;
        let segment = self.segments.get_mut(&base).expect("segment exists");
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
        Ok(PendingCut {
            base,
            position,
            removed,
        })
    }

    /// [`Log::delete_records_before_unsynced`], then the checkpoint and the removals, on the
    /// caller's thread. On a full disk nothing changes: the step fails whole.
    pub fn delete_records_before<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        _now_ms: i64,
    ) -> Result<i64, LogError> {
        let before = self.start_before();
        let (start, seq) = self.delete_records_before_unsynced(offset)?;
        if let Some(seq) = seq {
            self.settle_start_move(disk, before, seq)?;
        }
        Ok(start)
    }

    /// Kafka's DeleteRecords: moves the log start offset up to `offset` (which may not pass
    /// the log end) and takes the segments wholly below it out of the log. Returns the new
    /// log start offset and the checkpoint that makes it durable, if one was needed: the
    /// answer waits for it, and the segments' files are removed once it is durable.
    pub fn delete_records_before_unsynced(
        &mut self,
        offset: i64,
    ) -> Result<(i64, Option<u64>), LogError> {
        self.check_usable()?;
        if offset > self.log_end_offset {
            return Err(self.out_of_range(offset));
        }
        if offset <= self.log_start_offset {
            return Ok((self.log_start_offset, None));
        }
        let below: Vec<i64> = self
            .segments
            .keys()
            .copied()
            .filter(|base| *base != self.active().base_offset)
            .filter(|base| self.segment_next_offset(*base) <= offset)
            .collect();
        let seq = self.move_log_start(offset, &below);
        self.check_invariants();
        Ok((self.log_start_offset, Some(seq)))
    }

    /// [`Log::truncate_fully_and_start_at_unsynced`], then its syncs and checkpoint, on the
    /// caller's thread.
    pub fn truncate_fully_and_start_at<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        now_ms: i64,
    ) -> Result<(), LogError> {
        self.truncate_fully_and_start_at_unsynced(disk, offset, now_ms)?;
        self.flush(disk, now_ms)
    }

    /// Kafka's `truncateFullyAndStartAt`: drops every record and starts the log over, empty,
    /// at `offset`. Either `offset` lies past the log end (a follower whose whole log is below
    /// its leader's log start offset), or the log is empty and `offset` is the base of the
    /// leader's batch that holds its log start.
    ///
    /// Nothing is synced here. A checkpoint naming `offset` as the log start is queued, and
    /// the old segments' files are removed once it is durable. Until then a crash finds the old
    /// checkpoint, and recovery drops the new segment, which does not continue the old log;
    /// after it, recovery removes every old segment (they lie below the start), and keeps the
    /// new one if its name was synced, else starts an empty one at `offset`. Either way only
    /// records that were never synced are lost.
    pub fn truncate_fully_and_start_at_unsynced<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        offset: i64,
        _now_ms: i64,
    ) -> Result<(), LogError> {
        self.check_usable()?;
        assert!(
            offset > self.log_end_offset || self.log_start_offset == self.log_end_offset,
            "starting over at {offset}, not past the log end {} of a log that is not empty",
            self.log_end_offset
        );
        let segment = Segment::empty(&self.dir, offset);
        if let Err(error) = create_segment_files(disk, &segment) {
            return Err(self.fail_disk(error));
        }
        // A segment already at `offset` was emptied in place by the creation above.
        let old = std::mem::take(&mut self.segments);
        self.segments = BTreeMap::from([(offset, segment)]);
        self.log_start_offset = offset;
        self.log_end_offset = offset;
        self.flushed_upto = offset;
        self.recovery = Checkpoint::segment_start(offset, offset);
        self.unflushed_messages = 0;
        self.first_unflushed_ms = None;
        self.generation += 1;
        self.deferred_checkpoint = None;
        self.flushes.clear();
        self.unsynced_files.clear();
        self.dir_changes += 1;
        self.checkpoint_wanted = true;
        for (base, segment) in old {
            if base != offset {
                self.remove_after_checkpoint(segment);
            }
        }
        self.queue_checkpoint();
        self.check_invariants();
        Ok(())
    }
}
