//! Retention: deleting the oldest whole segments by age (`retention.ms`) and by total size
//! (`retention.bytes`), as Kafka's log cleaner thread does in its delete policy.

use super::{Log, LogError};
use crate::disk::Disk;

impl Log {
    /// Deletes the oldest segments that are past `retention.ms` or beyond `retention.bytes`,
    /// or wholly below the log start offset. When every segment qualifies, the log first
    /// rolls, as Kafka does, so an empty active segment remains. The log start offset moves to
    /// the first kept segment, durably, before any file is removed. Returns the deleted bases.
    pub(super) fn enforce_retention<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        now_ms: i64,
        upper: i64,
    ) -> Result<Vec<i64>, LogError> {
        let deletable = self.deletable_segments(disk, now_ms, upper)?;
        let Some(&last) = deletable.last() else {
            return Ok(Vec::new());
        };
        if last == self.active().base_offset {
            self.roll(disk, now_ms)?;
        }
        let new_start = self.segment_next_offset(last).max(self.log_start_offset);
        // The segments leave the log now; their files stay until the checkpoint naming the
        // new start is durable.
        self.move_log_start(new_start, &deletable);
        self.check_invariants();
        Ok(deletable)
    }

    /// The oldest segments, in order, that retention may delete: none holding an offset at
    /// or above `upper`.
    fn deletable_segments<D: Disk + ?Sized>(
        &mut self,
        disk: &mut D,
        now_ms: i64,
        upper: i64,
    ) -> Result<Vec<i64>, LogError> {
        let bases: Vec<i64> = self.segments.keys().copied().collect();
        // A log whose cleanup policy lacks `delete` keeps every segment whatever its age or
        // size, as in Kafka: only compaction may remove its records. `__consumer_offsets` is
        // such a log, and deleting its old segments would lose the commits they hold.
        let retained = self.config.cleanup_policy.delete;
        let mut over_size = match self.config.retention_bytes {
            _ if !retained => None,
            -1 => None,
            limit => Some(self.size_bytes() as i64 - limit),
        };
        let mut deletable = Vec::new();
        for (index, base) in bases.iter().copied().enumerate() {
            let is_active = index + 1 == bases.len();
            let size = self.segments[&base].size as i64;
            if (is_active && size == 0) || self.segment_next_offset(base) > upper {
                break;
            }
            let below_start = !is_active && self.segment_next_offset(base) <= self.log_start_offset;
            let by_size = over_size.is_some_and(|over| over - size >= 0);
            let by_time = retained && self.config.retention_ms >= 0 && {
                self.ensure_indexes(disk, base)?;
                let newest = self.segments[&base].max_timestamp();
                now_ms.saturating_sub(newest) > self.config.retention_ms
            };
            if !(below_start || by_size || by_time) {
                break;
            }
            over_size = over_size.map(|over| over - size);
            deletable.push(base);
        }
        Ok(deletable)
    }
}
