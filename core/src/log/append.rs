//! Appending batches and rolling segments.

use super::index::TIME_ENTRY_BYTES;
use super::segment::Segment;
use super::{AppendInfo, Log, LogError};
use crate::disk::{Disk, DiskError};
use crate::record::{
    stamped_prefix, BatchError, BatchHeader, ValidatedHeader, STAMPED_PREFIX_BYTES,
};

impl Log {
    /// Appends one whole batch, checking all of it (sizes, header, CRC), at the next offsets:
    /// its base offset is stored as the log end, its leader epoch as the caller set it. The
    /// batch's own bytes are not edited. For followers, tools and tests; a leader, which checked
    /// the batch when it validated its records, calls [`Log::append_validated_unsynced`].
    ///
    /// Validating the records themselves is the broker's job before it calls this. A batch that
    /// fails its checks, or a write that fails cleanly (a full disk), changes nothing. The
    /// append is durable after the next flush; [`Log::flush_wanted`] says when `flush.messages`
    /// or `flush.ms` ask for one.
    pub fn append_unsynced<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        batch: &[u8],
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        self.check_appendable(batch)?;
        let checked = ValidatedHeader::check(batch).map_err(LogError::InvalidBatch)?;
        let epoch = checked.header().partition_leader_epoch;
        self.write_batch(disk, batch, checked.header(), epoch, now_ms)
    }

    /// Appends, as the leader of epoch `epoch`, one whole batch whose header and CRC were
    /// checked: the batch is stored at the next offsets, stamped with them and the epoch (the
    /// CRC covers neither). Only what is the log's is checked: the size against
    /// `max.message.bytes` and the segment size, that `batch` is exactly the batch, and that
    /// its record count fits its offsets. Otherwise as [`Log::append_unsynced`].
    pub fn append_validated_unsynced<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        batch: &[u8],
        checked: ValidatedHeader,
        epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        self.check_appendable(batch)?;
        self.write_batch(disk, batch, checked.header(), epoch, now_ms)
    }

    /// [`Log::append_unsynced`], then [`Log::flush`] at once when `flush.messages` or
    /// `flush.ms` say so: for callers that own their thread. A node hands the sync to its
    /// driver instead ([`Log::flush_begin`]).
    pub fn append<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        batch: &[u8],
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let info = self.append_unsynced(disk, batch, now_ms)?;
        if self.flush_wanted(now_ms) || self.structural_flush_wanted() {
            self.flush(disk, now_ms)?;
        }
        Ok(info)
    }

    /// What refuses an append before its batch is looked at: a failed log, a cut waiting for
    /// its checkpoint, a batch larger than `max.message.bytes` or a segment.
    fn check_appendable(&self, batch: &[u8]) -> Result<(), LogError> {
        self.check_usable()?;
        if self.cut_pending().is_some() {
            return Err(LogError::CutPending);
        }
        let max = u64::from(self.config.max_message_bytes).min(self.config.segment_bytes);
        if batch.len() as u64 > max {
            return Err(LogError::BatchTooLarge {
                size: batch.len(),
                max,
            });
        }
        Ok(())
    }

    /// Writes `batch`, whose header is `header`, at the log end, stamped with its offset and
    /// `epoch`: the stamped bytes from the stack and the rest straight from `batch`, in one
    /// gathered write.
    fn write_batch<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        batch: &[u8],
        header: &BatchHeader,
        epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        debug_assert_eq!(BatchHeader::parse(batch).as_ref(), Ok(header));
        check_whole(header, batch.len())?;
        let size = batch.len() as u64;
        if self.should_roll(header, size, now_ms) {
            self.roll(disk, now_ms)?;
        }
        let base_offset = self.log_end_offset;
        let prefix = stamped_prefix(batch, base_offset, epoch);
        let parts = [&prefix[..], &batch[STAMPED_PREFIX_BYTES..]];
        let position = self.active().size;
        let path = &self.active().log_path;
        if let Err(error) = disk.write_vectored_at(path, position, &parts) {
            return Err(self.undo_partial_write(disk, error));
        }
        let interval = self.config.index_interval_bytes;
        self.active_mut()
            .index_batch(header, base_offset, position, size, interval);
        let info = AppendInfo {
            base_offset,
            last_offset: base_offset + i64::from(header.last_offset_delta),
            max_timestamp: header.max_timestamp,
            record_count: header.record_count,
        };
        self.log_end_offset = info.last_offset + 1;
        self.unflushed_messages += i64::from(header.record_count);
        self.first_unflushed_ms.get_or_insert(now_ms);
        self.check_invariants();
        Ok(info)
    }

    /// Kafka's `maybeRoll`: a full segment, an old one, a full index, or offsets that would not
    /// fit an index entry relative to the segment's base.
    fn should_roll(&self, header: &BatchHeader, size: u64, now_ms: i64) -> bool {
        let active = self.active();
        if active.size == 0 {
            return false;
        }
        let tail = active.tail.as_ref().expect("active tail");
        let rolling_base = tail.rolling_base_timestamp.unwrap_or(now_ms);
        let last_offset = self.log_end_offset + i64::from(header.last_offset_delta);
        let offsets = active
            .offset_index
            .as_ref()
            .map_or(0, |index| index.entries.len());
        let times = active
            .time_index
            .as_ref()
            .map_or(0, |index| index.entries.len());
        let times_max = (self.config.segment_index_bytes / TIME_ENTRY_BYTES as u64) as usize;
        active.size + size > self.config.segment_bytes
            || now_ms.saturating_sub(rolling_base) >= self.config.segment_ms
            || offsets >= self.config.index_entries_max()
            || times >= times_max
            || last_offset - active.base_offset > i64::from(i32::MAX)
    }

    /// A write failed: cut the file back to its last good length so nothing half-written stays.
    /// If even that fails the log's tail is unknown and the log fails.
    fn undo_partial_write<D: Disk + ?Sized>(&mut self, disk: &mut D, error: DiskError) -> LogError {
        if error == DiskError::Crashed {
            return self.fail_disk(error);
        }
        let active = self.active();
        match disk.truncate(&active.log_path, active.size) {
            Ok(()) => LogError::Disk(error),
            Err(_) => self.fail_disk(error),
        }
    }

    /// Closes the active segment (its final time index entry, its indexes written) and starts
    /// a new one at the log end. Nothing is synced here: the old segment's files and the new
    /// names join the next flush, whose completion moves the recovery point past the old
    /// segment and writes the checkpoint, so recovery never rescans a rolled segment.
    pub(super) fn roll<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        _now_ms: i64,
    ) -> Result<(), LogError> {
        let base_offset = self.log_end_offset;
        assert!(
            base_offset > self.active().base_offset,
            "rolling an empty segment"
        );
        let finished = {
            let active = self.active_mut();
            active.push_final_time_entry();
            active.persist_indexes(disk)
        };
        // Nothing has moved yet: after a full disk the next append rolls again.
        if let Err(error) = finished {
            return Err(self.fail_disk_unless_full(error));
        }
        let segment = Segment::empty(&self.dir, base_offset);
        let created = create_segment_files(disk, &segment);
        if let Err(error) = created {
            return Err(self.fail_disk(error));
        }
        self.mark_unsynced(self.active().base_offset);
        self.segments.insert(base_offset, segment);
        self.dir_changes += 1;
        self.checkpoint_wanted = true;
        Ok(())
    }
}

/// The log's checks of a batch whose header and CRC are right: `len` bytes are exactly the
/// batch, and it counts at least one record and no more than its offsets hold.
fn check_whole(header: &BatchHeader, len: usize) -> Result<(), LogError> {
    if header.total_bytes() != len {
        return Err(LogError::InvalidBatch(BatchError::InvalidHeader(
            "bytes beyond the batch's length",
        )));
    }
    if header.record_count == 0 || header.record_count - 1 > header.last_offset_delta {
        return Err(LogError::InvalidBatch(BatchError::InvalidHeader(
            "record count does not fit the last offset delta",
        )));
    }
    Ok(())
}

/// Creates a segment's three empty files. Their names are durable once the directory is
/// synced (the next flush does it).
pub(super) fn create_segment_files<D: Disk + ?Sized>(
    disk: &mut D,
    segment: &Segment,
) -> Result<(), DiskError> {
    for path in segment.files() {
        match disk.create(path) {
            Ok(()) => {}
            // A leftover from an interrupted roll that recovery did not adopt; start it empty.
            Err(DiskError::AlreadyExists(_)) => disk.truncate(path, 0)?,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
