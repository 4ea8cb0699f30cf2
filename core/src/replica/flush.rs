//! Flushes as outputs: the replica manager never syncs a log on its own thread. It asks the
//! driver with [`ReplicaOutput::Sync`], and an answer or request that promises synced records
//! (an acks=1 produce in fsync mode or under `flush.messages`, a follower's fetch offset in
//! fsync mode) waits on that sync with `after`. One sync per request covers every partition
//! the request wrote, and the driver merges syncs of one file (group commit).

use super::config::Durability;
use super::manager::{PartitionKey, ReplicaManager, ReplicaOutput};
use crate::disk::{Disk, DiskError};
use crate::time::Instant;

impl ReplicaManager {
    /// Starts one sync of every partition in `keys` that wants a flush now (see
    /// `Partition::flush_wanted`); returns its id, or `None` when none does.
    pub(super) fn flush_wanted(
        &mut self,
        disk: &mut dyn Disk,
        keys: &[PartitionKey],
        wall_ms: i64,
    ) -> Option<u64> {
        let durability = self.config.durability;
        let mut promised = Vec::new();
        let mut structural = Vec::new();
        for key in keys {
            match self
                .partitions
                .get(key)
                .and_then(|p| p.flush_wanted(durability, wall_ms))
            {
                Some(true) => promised.push(*key),
                Some(false) => structural.push(*key),
                None => {}
            }
        }
        // Answers wait on the promised flushes only: a roll's sync is not theirs to wait for.
        if !structural.is_empty() {
            self.begin_sync(Some(&mut *disk), &structural, wall_ms, false);
        }
        self.begin_sync(Some(disk), &promised, wall_ms, true)
    }

    /// Starts one sync covering everything written so far to each partition in `keys` that
    /// has unsynced records; returns its id, or `None` when all of them are durable. With a
    /// disk, each flush may carry its log's checkpoint. `promised`: answers may wait on it.
    pub(super) fn begin_sync(
        &mut self,
        mut disk: Option<&mut dyn Disk>,
        keys: &[PartitionKey],
        wall_ms: i64,
        promised: bool,
    ) -> Option<u64> {
        if keys.is_empty() {
            return None;
        }
        let id = self.next_id();
        let mut files: Vec<String> = Vec::new();
        let mut dirs: Vec<String> = Vec::new();
        let mut synced = Vec::new();
        for key in keys {
            let Some(partition) = self.partitions.get_mut(key) else {
                continue;
            };
            let disk: Option<&mut dyn Disk> = match disk {
                Some(ref mut disk) => Some(&mut **disk),
                None => None,
            };
            // A partition that cannot flush went offline: its answer says so already, and the
            // fetches held on it are woken.
            let begun = partition.flush_begin(id, disk, wall_ms, promised);
            if partition.take_wake() {
                self.woken.insert(*key);
            }
            if let Ok(Some(flush)) = begun {
                for file in flush.files {
                    if !files.contains(&file) {
                        files.push(file);
                    }
                }
                for dir in flush.dirs {
                    if !dirs.contains(&dir) {
                        dirs.push(dir);
                    }
                }
                synced.push(*key);
            }
        }
        if synced.is_empty() {
            return None;
        }
        self.syncs.insert(id, synced);
        self.outputs
            .push_back(ReplicaOutput::Sync { id, files, dirs });
        Some(id)
    }

    /// The sync an answer promising every offset below `end` of each `(key, end)` must wait
    /// for: `None` when nothing under way is needed; the one sync when a single one covers
    /// them all; otherwise a new sync of those partitions, which covers every earlier one.
    /// In fsync mode every promise is kept: records no flush covers yet (what a replica's
    /// recovery found in the page cache) get one.
    pub(super) fn durable_after(&mut self, needs: &[(PartitionKey, i64)]) -> Option<u64> {
        let every = self.config.durability == Durability::Fsync;
        let mut covering: Vec<u64> = Vec::new();
        let mut uncovered = false;
        let mut keys = Vec::new();
        for (key, end) in needs {
            let Some(partition) = self.partitions.get(key) else {
                continue;
            };
            match partition.flush_covering(*end) {
                Some(id) => {
                    if !covering.contains(&id) {
                        covering.push(id);
                    }
                }
                None if every && partition.log.recovery_point() < *end => uncovered = true,
                None => continue,
            }
            keys.push(*key);
        }
        match covering.as_slice() {
            [] if !uncovered => None,
            [one] if !uncovered => Some(*one),
            // No disk: this flush carries no checkpoint, which the next one will.
            _ => self.begin_sync(None, &keys, 0, true),
        }
    }

    /// The driver finished the sync or replace `id`: each partition a sync covered moves its
    /// durable end (or, when it failed, goes offline), a replace lets what waited on it go,
    /// and whatever waited for that moves on.
    pub fn handle_sync_done(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        id: u64,
        result: Result<(), DiskError>,
    ) {
        if let Some(dir) = self.deleted_dirs.remove(&id) {
            // A topic of the same name may have its replica here again: then it is not empty
            // and stays.
            let _ = disk.remove_empty_dir(&dir);
            return;
        }
        if let Some((key, io)) = self.replaces.remove(&id) {
            if let Some(partition) = self.partitions.get_mut(&key) {
                let _ = partition.io_done(disk, io, result);
                // A failed replace takes the replica offline.
                self.wake_if_changed(key);
                // A cut's checkpoint is durable: its files are cut, they want their flush,
                // and the follower fetches again. (Reads never waited for it: the cut moved
                // the log end in memory at once.)
                self.flush_structural(disk, &[key], wall_ms);
                self.drive_fetchers(now);
                self.complete_woken_fetches(now, disk);
            }
            return;
        }
        let Some(keys) = self.syncs.remove(&id) else {
            return;
        };
        for key in &keys {
            let Some(partition) = self.partitions.get_mut(key) else {
                continue;
            };
            let _ = partition.flush_done(id, result.clone());
            // Woken just below in any case; this takes a failed flush's note with it.
            self.wake_if_changed(*key);
            self.on_progress(*key);
        }
        // The flushes may have let more flushes or checkpoints go (only these partitions'
        // changed: this runs on every sync's completion).
        self.flush_structural(disk, &keys, wall_ms);
        self.complete_woken_fetches(now, disk);
    }

    /// Starts the flushes `flush.ms` has made due, and those rolls and cuts want.
    pub(super) fn flush_due(&mut self, disk: &mut dyn Disk, wall_ms: i64) {
        let keys: Vec<PartitionKey> = self.partitions.keys().copied().collect();
        self.flush_wanted(disk, &keys, wall_ms);
    }

    /// Starts the flushes of the partitions among `keys` whose rolls or cuts want one and
    /// have none under way.
    fn flush_structural(&mut self, disk: &mut dyn Disk, keys: &[PartitionKey], wall_ms: i64) {
        let keys: Vec<PartitionKey> = keys
            .iter()
            .copied()
            .filter(|key| {
                self.partitions
                    .get(key)
                    .is_some_and(|p| p.log.structural_flush_wanted() && !p.flushing())
            })
            .collect();
        self.begin_sync(Some(disk), &keys, wall_ms, false);
    }

    /// Issues the checkpoint replaces of partition `key`'s log. With `chain`, each is reported
    /// after the one before it, the first after `after`, and the last one's id (or `after`)
    /// comes back: an answer that waits on it waits on them all.
    pub(super) fn issue_log_io(
        &mut self,
        key: PartitionKey,
        mut after: Option<u64>,
        chain: bool,
    ) -> Option<u64> {
        let Some(partition) = self.partitions.get_mut(&key) else {
            return after;
        };
        let dir = partition.log.dir().to_string();
        for (io, name, bytes) in partition.take_io() {
            let id = self.next_id();
            self.replaces.insert(id, (key, io));
            self.outputs.push_back(ReplicaOutput::Replace {
                id,
                dir: dir.clone(),
                name: name.to_string(),
                bytes,
                after: after.filter(|_| chain),
            });
            after = Some(id);
        }
        after.filter(|_| chain)
    }

    /// Issues every log's queued checkpoint replaces.
    pub(super) fn issue_all_log_io(&mut self) {
        let keys: Vec<PartitionKey> = self
            .partitions
            .iter()
            .filter(|(_, p)| p.has_io())
            .map(|(key, _)| *key)
            .collect();
        for key in keys {
            self.issue_log_io(key, None, false);
        }
    }
}
