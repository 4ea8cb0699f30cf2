//! Flushes as outputs: the replica manager never syncs a log on its own thread. It asks the
//! driver with [`ReplicaOutput::Sync`], and an answer or request that promises synced records
//! (an acks=1 produce in fsync mode or under `flush.messages`, a follower's fetch offset in
//! fsync mode) waits on that sync with `after`. One sync per request covers every partition
//! the request wrote, and the driver merges syncs of one file (group commit).

use super::manager::{PartitionKey, ReplicaManager, ReplicaOutput};
use crate::disk::{Disk, DiskError};
use crate::time::Instant;

impl ReplicaManager {
    /// Starts one sync of every partition in `keys` that wants a flush now (see
    /// `Partition::flush_wanted`); returns its id, or `None` when none does.
    pub(super) fn flush_wanted(&mut self, keys: &[PartitionKey], wall_ms: i64) -> Option<u64> {
        let durability = self.config.durability;
        let wanted: Vec<PartitionKey> = keys
            .iter()
            .copied()
            .filter(|key| {
                self.partitions
                    .get(key)
                    .is_some_and(|p| p.flush_wanted(durability, wall_ms))
            })
            .collect();
        self.begin_sync(&wanted)
    }

    /// Starts one sync covering everything written so far to each partition in `keys` that
    /// has unsynced records; returns its id, or `None` when all of them are durable.
    pub(super) fn begin_sync(&mut self, keys: &[PartitionKey]) -> Option<u64> {
        let id = self.next_id();
        let mut files = Vec::new();
        let mut synced = Vec::new();
        for key in keys {
            let Some(partition) = self.partitions.get_mut(key) else {
                continue;
            };
            // A partition that cannot flush went offline: its answer says so already.
            if let Ok(Some(file)) = partition.flush_begin(id) {
                if !files.contains(&file) {
                    files.push(file);
                }
                synced.push(*key);
            }
        }
        if files.is_empty() {
            return None;
        }
        self.syncs.insert(id, synced);
        self.outputs.push_back(ReplicaOutput::Sync {
            id,
            files,
            dirs: Vec::new(),
        });
        Some(id)
    }

    /// The sync an answer promising every offset below `end` of each `(key, end)` must wait
    /// for: `None` when nothing under way is needed; the one sync when a single one covers
    /// them all; otherwise a new sync of those partitions, which covers every earlier one.
    pub(super) fn durable_after(&mut self, needs: &[(PartitionKey, i64)]) -> Option<u64> {
        let mut covering: Vec<u64> = Vec::new();
        let mut keys = Vec::new();
        for (key, end) in needs {
            let Some(id) = self
                .partitions
                .get(key)
                .and_then(|partition| partition.flush_covering(*end))
            else {
                continue;
            };
            if !covering.contains(&id) {
                covering.push(id);
            }
            keys.push(*key);
        }
        match covering.as_slice() {
            [] => None,
            [one] => Some(*one),
            _ => self.begin_sync(&keys),
        }
    }

    /// The driver finished the sync `id`: each partition it covered moves its durable end
    /// (or, when it failed, goes offline), and whatever waited for that moves on.
    pub fn handle_sync_done(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        id: u64,
        result: Result<(), DiskError>,
    ) {
        let Some(keys) = self.syncs.remove(&id) else {
            return;
        };
        for key in keys {
            let Some(partition) = self.partitions.get_mut(&key) else {
                continue;
            };
            let _ = partition.flush_done(disk, id, result.clone(), wall_ms);
            self.on_progress(key);
        }
        self.complete_woken_fetches(now, disk);
    }

    /// Starts the flushes `flush.ms` has made due.
    pub(super) fn flush_due(&mut self, wall_ms: i64) {
        let keys: Vec<PartitionKey> = self.partitions.keys().copied().collect();
        self.flush_wanted(&keys, wall_ms);
    }
}
