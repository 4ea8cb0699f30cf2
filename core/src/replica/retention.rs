//! Kafka's log retention thread: every `log.retention.check.interval.ms` each replica drops
//! the segments its topic's `retention.ms` and `retention.bytes` no longer keep (never past
//! its high watermark), and syncs a write `flush.ms` has made due.

use super::manager::ReplicaManager;
use crate::disk::Disk;
use crate::time::{Duration, Instant};

/// Kafka's default `log.retention.check.interval.ms` (five minutes).
pub const RETENTION_CHECK_INTERVAL_MS: u64 = 300_000;
/// The same, as a duration.
pub const RETENTION_CHECK_INTERVAL: Duration = Duration::from_millis(RETENTION_CHECK_INTERVAL_MS);

impl ReplicaManager {
    /// Schedules the next retention run, if none is due yet.
    pub(super) fn schedule_retention(&mut self, now: Instant) {
        let every = Duration::from_millis(self.config.retention_check_interval_ms);
        let at = now.checked_add(every).unwrap_or(now);
        self.next_retention_check.get_or_insert(at);
    }

    /// Runs retention on every replica if it is due at `now`. A failure takes only that
    /// replica offline, as any other log failure does.
    pub(super) fn retention_due(&mut self, now: Instant, wall_ms: i64, disk: &mut dyn Disk) {
        if self.next_retention_check.is_none_or(|at| at > now) {
            return;
        }
        self.next_retention_check = None;
        self.flush_due(disk, wall_ms);
        for (key, partition) in &mut self.partitions {
            let _ = partition.maintain(disk, wall_ms);
            // Fetches held below the new log start are out of range now.
            if partition.take_wake() {
                self.woken.insert(*key);
            }
        }
        if !self.partitions.is_empty() {
            self.schedule_retention(now);
        }
    }
}
