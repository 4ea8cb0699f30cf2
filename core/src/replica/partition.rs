//! One partition replica on one broker: its log, its leader epoch cache, its high watermark
//! and its role. The replica manager routes requests here; the rules of each role are in
//! [`super::leader`] and [`super::follower`].

use super::config::{Durability, ReplicaConfig};
use super::epoch_cache::{EpochCacheError, LeaderEpochCache};
use super::follower::FollowerState;
use super::leader::LeaderState;
use super::producer_state::{ProducerStates, SequenceCheck};
use crate::api::{ErrorCode, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};
use crate::bugs::{self, Bug};
use crate::controller::Uuid;
use crate::disk::Disk;
use crate::log::{AppendInfo, Log, LogError, ReadRange, ReadSlice};
use crate::record::{BatchHeader, RecordBatch};

/// A leader's append of a producer's batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaderAppend {
    /// Where the batch is: where it was just written, or where its original is.
    pub info: AppendInfo,
    /// The batch repeated one the log holds, and nothing was written.
    pub duplicate: bool,
}

/// Whose replace a completion is: the log's checkpoint's or the epoch checkpoint's, by seq.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaIo {
    /// [`Log::take_io`]'s.
    Log(u64),
    /// The leader epoch checkpoint's.
    Epochs(u64),
}

/// What the replica does in its current epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaRole {
    /// It leads.
    Leader(LeaderState),
    /// It follows.
    Follower(FollowerState),
}

/// One partition replica.
#[derive(Debug)]
pub struct Partition {
    /// The topic's name.
    pub topic: String,
    /// The topic's id.
    pub topic_id: Uuid,
    /// The partition index.
    pub index: i32,
    /// The log.
    pub log: Log,
    /// Which epoch started where in the log.
    pub epochs: LeaderEpochCache,
    /// Every offset below this is committed (the local view: a follower's lags the leader's).
    pub high_watermark: i64,
    /// Its role.
    pub role: ReplicaRole,
    /// Why the log is offline, after a storage failure.
    pub offline: Option<String>,
    /// The idempotent producers' epochs and latest batches, as the log holds them.
    pub producers: ProducerStates,
    /// The topic's `min.insync.replicas`, when it overrides the broker's.
    pub min_insync_replicas: Option<usize>,
    /// Replaces of the leader epoch checkpoint not yet taken by the replica manager.
    epoch_io: Vec<(u64, Vec<u8>)>,
    /// Replaces of the leader epoch checkpoint under way, in order, each with the first offset
    /// of an epoch it adds (`i64::MAX` when it adds none): the log's checkpoint may not pass
    /// the least of them (see [`Log::cap_checkpoints`]).
    epochs_pending: Vec<(u64, i64)>,
    next_epoch_seq: u64,
    /// A replace of the epoch checkpoint failed on a full disk: it is tried again.
    epochs_retry: bool,
    /// Flushes of the log under way: the replica manager's sync id, the offset below which
    /// each makes the log durable, and whether an answer may wait on it (see
    /// [`Partition::flush_wanted`]), in issue order.
    flushes: Vec<(u64, i64, bool)>,
    /// The fetches held on this leader would be answered differently now, for a change the
    /// replica manager cannot see from where it calls: the log start moved past offsets they
    /// may wait at (retention, DeleteRecords), or the replica went offline (from any call
    /// that met a storage failure). Taken by [`Partition::take_wake`]. The high watermark's
    /// moves and the role changes are the manager's own, and it wakes their fetches itself.
    wake: bool,
}

impl Partition {
    /// The log directory of a partition, named as Kafka names it.
    pub fn dir(config: &ReplicaConfig, topic: &str, index: i32) -> String {
        format!("{}/{topic}-{index}", config.log_dir)
    }

    /// Opens (recovering) the replica's log and epoch cache, syncing nothing. The cache is cut
    /// to the log, whose unsynced tail a crash may have taken.
    pub fn open(
        disk: &mut dyn Disk,
        config: &ReplicaConfig,
        topic: &str,
        topic_id: Uuid,
        index: i32,
        role: ReplicaRole,
        now_ms: i64,
    ) -> Result<Partition, LogError> {
        let dir = Partition::dir(config, topic, index);
        // Nothing is synced here: what recovery found joins the log's first flush (see
        // `Log::open_unsynced`), so opening a replica never stalls the node's loop.
        let (log, report) = Log::open_unsynced(disk, &dir, config.log.clone(), now_ms)?;
        let mut epochs = match LeaderEpochCache::load(disk, &dir) {
            Ok(epochs) => epochs,
            // A damaged checkpoint: its records are refetched from the leader (see
            // `ReplicaManager::apply_role`), never trusted without epochs.
            Err(EpochCacheError::Corrupt(_)) => LeaderEpochCache::new(),
            Err(EpochCacheError::Disk(error)) => return Err(LogError::Disk(error)),
        };
        epochs.truncate_from_end(log.log_end_offset());
        epochs.truncate_from_start(log.log_start_offset());
        // The epochs of the records recovery scanned (those past the recovery point): a crash
        // may have kept their starts out of the checkpoint, which a flush of them never waits
        // for.
        let mut first_new = None;
        for (epoch, offset) in report.epoch_starts {
            if epochs.assign(epoch, offset) {
                first_new.get_or_insert(offset);
            }
        }
        let mut partition = Partition {
            topic: topic.to_string(),
            topic_id,
            index,
            high_watermark: log.log_start_offset(),
            log,
            epochs,
            role,
            offline: None,
            producers: ProducerStates::new(config.producer_id_expiration_ms),
            min_insync_replicas: None,
            epoch_io: Vec::new(),
            epochs_pending: Vec::new(),
            next_epoch_seq: 0,
            epochs_retry: false,
            flushes: Vec::new(),
            wake: false,
        };
        if let Some(offset) = first_new {
            partition.flush_epochs(offset);
        }
        partition.rebuild_producers(disk);
        Ok(partition)
    }

    /// Rebuilds the producers' state from every batch header the log stores (see
    /// [`super::producer_state`] for why a scan and not a snapshot), from the first stored
    /// batch and not from the log start offset: DeleteRecords moves that past batches whose
    /// producers may still retry them, and a replica that forgot them would take such a retry
    /// from an unknown producer and append it a second time. A log that cannot be read
    /// through there is scanned from its log start; one that cannot be read through at all
    /// leaves every producer unknown: their next batches are taken at any sequence, which
    /// loses duplicate detection for them but never refuses a good batch; the read error
    /// itself surfaces when the records are next served.
    /// Returns the offset the scan started from, `None` when it failed.
    fn rebuild_producers(&mut self, disk: &mut dyn Disk) -> Option<i64> {
        let stored = self.log.first_stored_offset();
        if self.scan_producers(disk, stored).is_ok() {
            return Some(stored);
        }
        let start = self.log.log_start_offset();
        if stored != start && self.scan_producers(disk, start).is_ok() {
            return Some(start);
        }
        self.producers.clear();
        None
    }

    fn scan_producers(&mut self, disk: &mut dyn Disk, from: i64) -> Result<(), LogError> {
        self.producers.clear();
        let end = self.log.log_end_offset();
        let mut offset = from;
        while offset < end {
            let slice = self.log.read_stored(disk, offset, 1 << 20)?;
            let mut at = 0;
            while let Ok(header) = BatchHeader::parse(&slice.bytes[at..]) {
                self.producers.record(&header);
                at += header.total_bytes();
                if at >= slice.bytes.len() {
                    break;
                }
            }
            if slice.next_offset <= offset {
                break;
            }
            offset = slice.next_offset;
        }
        Ok(())
    }

    /// The leader epoch this replica acts in.
    pub fn leader_epoch(&self) -> i32 {
        match &self.role {
            ReplicaRole::Leader(state) => state.leader_epoch,
            ReplicaRole::Follower(state) => state.leader_epoch,
        }
    }

    /// The leader state, when leading.
    pub fn leader(&self) -> Option<&LeaderState> {
        match &self.role {
            ReplicaRole::Leader(state) => Some(state),
            ReplicaRole::Follower(_) => None,
        }
    }

    /// The leader state, when leading.
    pub fn leader_mut(&mut self) -> Option<&mut LeaderState> {
        match &mut self.role {
            ReplicaRole::Leader(state) => Some(state),
            ReplicaRole::Follower(_) => None,
        }
    }

    /// The log end offset.
    pub fn log_end_offset(&self) -> i64 {
        self.log.log_end_offset()
    }

    /// Checks a request's leader epoch against this replica's (KIP-320): older is fenced,
    /// newer means this replica has not heard of it yet.
    pub fn check_epoch(&self, requested: Option<i32>) -> Result<(), ErrorCode> {
        match requested {
            Some(epoch) if epoch < self.leader_epoch() => Err(ErrorCode::FencedLeaderEpoch),
            Some(epoch) if epoch > self.leader_epoch() => Err(ErrorCode::UnknownLeaderEpoch),
            _ => Ok(()),
        }
    }

    /// Checks that this replica leads, in the epoch the request names (if any), with a usable
    /// log: the checks every request to a leader passes first.
    pub fn check_leads(&self, current_leader_epoch: Option<i32>) -> Result<(), ErrorCode> {
        self.check_epoch(current_leader_epoch)?;
        if self.leader().is_none() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        self.usable()
    }

    /// Records that this replica's epoch starts at its log end. The epoch checkpoint is
    /// written as an output; until it is durable, the log's checkpoint stays below the epoch's
    /// start, so a crash has recovery scan (and assign again) every record of the epoch.
    pub fn start_epoch(&mut self, epoch: i32) {
        let end = self.log.log_end_offset();
        self.start_epoch_at(epoch, end);
    }

    /// Appends a producer's batch as leader: checks its records, CRC and its producer's epoch
    /// and sequence, and writes it stamped with the leader epoch and its offsets (to the page
    /// cache: the caller starts the flush, see [`Partition::flush_wanted`]). `batch` is not
    /// edited: it is a slice of the request frame. A retry of a batch the log already holds is
    /// not written again: the answer carries the original's offsets and `duplicate`.
    pub fn append_as_leader(
        &mut self,
        disk: &mut dyn Disk,
        batch: &[u8],
        now_ms: i64,
    ) -> Result<LeaderAppend, ErrorCode> {
        self.usable()?;
        // The one CRC computation of the append: the log takes the header as proof of it.
        let (checked, keyed) = RecordBatch::parse(batch)
            .and_then(|parsed| {
                parsed
                    .validate_keyed_records()
                    .map(|keyed| (parsed.validated_header(), keyed))
            })
            .map_err(|_| ErrorCode::CorruptMessage)?;
        // Kafka's LogValidator: compaction keeps each key's latest record, so a record without
        // a key could never be kept or removed by it.
        if !keyed && self.log.config().cleanup_policy.compact {
            return Err(ErrorCode::InvalidRecord);
        }
        let header = *checked.header();
        self.producers.maybe_expire(now_ms);
        if let SequenceCheck::Duplicate(original) = self.producers.check(&header)? {
            let info = AppendInfo {
                base_offset: original.first_offset,
                last_offset: original.last_offset,
                max_timestamp: header.max_timestamp,
                record_count: header.record_count,
            };
            return Ok(LeaderAppend {
                info,
                duplicate: true,
            });
        }
        let epoch = self.leader_epoch();
        let info = self
            .log
            .append_validated_unsynced(disk, batch, checked, epoch, now_ms)
            .map_err(|e| self.log_error(e))?;
        self.record_producer(&header, &info);
        Ok(LeaderAppend {
            info,
            duplicate: false,
        })
    }

    /// Notes an appended batch, whose header is `header` but which the log stored at `info`'s
    /// offsets, in the producers' state.
    fn record_producer(&mut self, header: &BatchHeader, info: &AppendInfo) {
        assert!(info.base_offset < self.log.log_end_offset());
        let stored = BatchHeader {
            base_offset: info.base_offset,
            ..*header
        };
        self.producers.record(&stored);
    }

    /// Appends the batches a leader sent, keeping their offsets and epochs, to the page cache
    /// (as for [`Partition::append_as_leader`], the caller starts the flush). Each must start
    /// exactly at the log end; a batch of a newer epoch first records that epoch's start.
    pub fn append_as_follower(
        &mut self,
        disk: &mut dyn Disk,
        records: &[u8],
        leader_log_start: i64,
        now_ms: i64,
    ) -> Result<(), ErrorCode> {
        self.usable()?;
        self.producers.maybe_expire(now_ms);
        if let Ok(first) = BatchHeader::parse(records) {
            let end = self.log.log_end_offset();
            let empty = self.log.log_start_offset() == end;
            // Everything this log holds lies below the leader's log start: deleted there.
            let all_deleted = end <= leader_log_start;
            if (empty || all_deleted) && first.base_offset < end && first.last_offset() >= end {
                // The leader's log start falls inside its first batch (DeleteRecords moved it
                // there) and this log is empty at it, or holds only records the leader
                // deleted: the batch cannot continue it, so the log starts over at the batch's
                // base, as Kafka's follower does (KAFKA-6179). Found non-empty by
                // whole-cluster-crash seed 189: after an unclean election the epochs agreed up
                // to the leader's log start, where this log ended inside the leader's batch.
                // A log that is not empty is first cut below the batch (whole batches go), so
                // it never holds two segments for one offset.
                let base = first.base_offset;
                if !empty {
                    let cut = base.max(self.log.log_start_offset());
                    self.truncate_to(disk, cut, now_ms)?;
                }
                let end = self.log.log_end_offset();
                let empty = self.log.log_start_offset() == end;
                if base > end || (empty && base != end) {
                    self.truncate_fully_and_start_at(disk, base, now_ms)?;
                }
            }
        }
        let mut start = 0;
        while start < records.len() {
            let Ok(header) = BatchHeader::parse(&records[start..]) else {
                break;
            };
            let end = start + header.total_bytes();
            if end > records.len() {
                // A fetch may end inside a batch when the leader's limit cut it: drop the part.
                break;
            }
            if header.base_offset != self.log.log_end_offset() {
                return Err(ErrorCode::OffsetOutOfRange);
            }
            let epoch = header.partition_leader_epoch;
            if self
                .epochs
                .latest_epoch()
                .is_none_or(|latest| epoch > latest)
            {
                self.start_epoch_at(epoch, header.base_offset);
            }
            let info = self
                .log
                .append_unsynced(disk, &records[start..end], now_ms)
                .map_err(|e| self.log_error(e))?;
            self.record_producer(&header, &info);
            start = end;
        }
        Ok(())
    }

    /// Whether the log wants a flush now, and whether answers may wait on it: every append in
    /// fsync mode, or when `flush.messages` or `flush.ms` say so, is a flush answers wait on
    /// (`Some(true)`); a roll or a cut also wants one, for its files and checkpoint, which no
    /// answer waits on in page-cache mode (`Some(false)`), as Kafka flushes a rolled segment
    /// in the background.
    pub fn flush_wanted(&self, durability: Durability, now_ms: i64) -> Option<bool> {
        let unsynced = self.log.recovery_point() < self.log.log_end_offset();
        let promised = match durability {
            Durability::Fsync => unsynced,
            Durability::PageCache => unsynced && self.log.flush_wanted(now_ms),
        };
        match promised {
            true => Some(true),
            false => self.log.structural_flush_wanted().then_some(false),
        }
    }

    /// Starts a flush of everything written so far as the replica manager's sync `id`: the
    /// files and directories to sync, or `None` when all is durable already. With `disk`,
    /// the flush may also carry the log's checkpoint (see [`Log::flush_begin`]). `promised`
    /// says whether answers may wait on it ([`Partition::flush_covering`]).
    pub fn flush_begin(
        &mut self,
        id: u64,
        disk: Option<&mut dyn Disk>,
        now_ms: i64,
        promised: bool,
    ) -> Result<Option<crate::log::Flush>, ErrorCode> {
        self.usable()?;
        let begun = self.log.flush_begin(disk, now_ms);
        let Some(flush) = begun.map_err(|e| self.log_error(e))? else {
            return Ok(None);
        };
        assert!(self
            .flushes
            .last()
            .is_none_or(|(_, upto, _)| *upto <= flush.upto));
        self.flushes.push((id, flush.upto, promised));
        Ok(Some(flush))
    }

    /// The sync `id` completed. A flush begun before the log was cut is forgotten.
    pub fn flush_done(
        &mut self,
        id: u64,
        result: Result<(), crate::disk::DiskError>,
    ) -> Result<(), ErrorCode> {
        let Some(index) = self.flushes.iter().position(|(flush, _, _)| *flush == id) else {
            return Ok(());
        };
        let (_, upto, _) = self.flushes.remove(index);
        self.usable()?;
        self.retry_epochs();
        let done = match result {
            Ok(()) => self.log.flush_done(upto),
            Err(error) => Err(self.log.flush_failed(error)),
        };
        done.map_err(|e| self.log_error(e))
    }

    /// The flush under way that answers must wait on to promise every offset below `end`
    /// durable, when one is needed: `None` when they are durable already, or when no such
    /// flush was asked for them (page-cache mode between `flush.messages`).
    pub fn flush_covering(&self, end: i64) -> Option<u64> {
        if self.log.recovery_point() >= end {
            return None;
        }
        self.flushes
            .iter()
            .find(|(_, upto, promised)| *promised && *upto >= end)
            .map(|(id, _, _)| *id)
    }

    /// Whether a flush of the log is under way.
    pub fn flushing(&self) -> bool {
        !self.flushes.is_empty()
    }

    /// Whether replaces wait for [`Partition::take_io`].
    pub fn has_io(&self) -> bool {
        self.log.has_io() || !self.epoch_io.is_empty()
    }

    /// The replaces of the log's checkpoint and of the epoch checkpoint to carry out, in the
    /// order of each file's, as `(whose, file name, contents)`.
    pub fn take_io(&mut self) -> Vec<(ReplicaIo, &'static str, Vec<u8>)> {
        let mut io: Vec<(ReplicaIo, &'static str, Vec<u8>)> = self
            .log
            .take_io()
            .into_iter()
            .map(|io| (ReplicaIo::Log(io.seq), io.name, io.bytes))
            .collect();
        for (seq, bytes) in self.epoch_io.drain(..) {
            io.push((ReplicaIo::Epochs(seq), LeaderEpochCache::FILE_NAME, bytes));
        }
        io
    }

    /// A replace from [`Partition::take_io`] completed.
    pub fn io_done(
        &mut self,
        disk: &mut dyn Disk,
        io: ReplicaIo,
        result: Result<(), crate::disk::DiskError>,
    ) -> Result<(), ErrorCode> {
        self.usable()?;
        match io {
            ReplicaIo::Log(seq) => self
                .log
                .io_done(disk, seq, result)
                .map_err(|e| self.log_error(e)),
            ReplicaIo::Epochs(seq) => self.epochs_done(seq, result),
        }
    }

    /// The log end a leader counts toward its high watermark: in fsync mode only what is
    /// durable, so that an acknowledged acks=all write survives every broker crashing at once.
    pub fn held_end(&self, durability: Durability) -> i64 {
        match durability {
            Durability::Fsync if !bugs::active(Bug::ReplicaAckBeforeSync) => {
                self.log.recovery_point()
            }
            _ => self.log.log_end_offset(),
        }
    }

    /// DeleteRecords: [`Partition::raise_log_start`], refused with POLICY_VIOLATION for a
    /// topic whose cleanup policy lacks `delete`.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<(i64, Option<u64>), ErrorCode> {
        self.usable()?;
        // As Kafka's ReplicaManager: records of a topic whose cleanup policy lacks `delete`
        // are removed by compaction only.
        if !self.log.config().cleanup_policy.delete {
            return Err(ErrorCode::PolicyViolation);
        }
        self.raise_log_start(offset)
    }

    /// Moves the log start offset up to `offset` and drops the epochs below it (a follower
    /// takes up its leader's this way, whatever the cleanup policy). Returns the new start and
    /// the log's checkpoint replace that makes it durable, if one was needed.
    pub fn raise_log_start(&mut self, offset: i64) -> Result<(i64, Option<u64>), ErrorCode> {
        self.usable()?;
        let (start, seq) = match self.log.delete_records_before_unsynced(offset) {
            Ok(moved) => moved,
            Err(error) => return Err(self.log_error(error)),
        };
        if seq.is_some() {
            self.note_wake();
        }
        self.high_watermark = self.high_watermark.max(start);
        if self.epochs.truncate_from_start(start) {
            self.flush_epochs(i64::MAX);
        }
        Ok((start, seq))
    }

    /// Retention (`retention.ms`, `retention.bytes`), deleting only segments below the high
    /// watermark. (A due `flush.ms` is the replica manager's to start, as a sync output.)
    pub fn maintain(&mut self, disk: &mut dyn Disk, now_ms: i64) -> Result<(), ErrorCode> {
        self.usable()?;
        let start = self.log.log_start_offset();
        let deleted = match self.log.retain_below(disk, now_ms, self.high_watermark) {
            Ok(deleted) => deleted,
            Err(error) => return Err(self.log_error(error)),
        };
        if self.log.log_start_offset() > start {
            self.note_wake();
        }
        if !deleted.is_empty() && self.epochs.truncate_from_start(self.log.log_start_offset()) {
            self.flush_epochs(i64::MAX);
        }
        self.retry_epochs();
        Ok(())
    }

    fn start_epoch_at(&mut self, epoch: i32, offset: i64) {
        if self.epochs.assign(epoch, offset) {
            self.flush_epochs(offset);
        }
    }

    /// Queues a replace of the epoch checkpoint with the cache as it is; `first_new` is the
    /// start of the first epoch it adds (`i64::MAX` for none), which the log's checkpoint may
    /// not pass until the replace is durable.
    fn flush_epochs(&mut self, first_new: i64) {
        let seq = self.next_epoch_seq;
        self.next_epoch_seq += 1;
        self.epoch_io.push((seq, self.epochs.encode().into_bytes()));
        self.epochs_pending.push((seq, first_new));
        self.epochs_retry = false;
        self.cap_log_checkpoints();
    }

    fn cap_log_checkpoints(&mut self) {
        let cap = self
            .epochs_pending
            .iter()
            .map(|(_, first_new)| *first_new)
            .min()
            .unwrap_or(i64::MAX);
        self.log.cap_checkpoints(cap);
    }

    /// The epoch checkpoint's replace `seq` completed: it holds every epoch the cache held
    /// when it was queued, and every earlier replace completed before it. A full disk has it
    /// tried again; any other failure takes the replica offline, since its records could no
    /// longer be checked against a leader's after a crash.
    fn epochs_done(
        &mut self,
        seq: u64,
        result: Result<(), crate::disk::DiskError>,
    ) -> Result<(), ErrorCode> {
        match result {
            Ok(()) => {
                self.epochs_pending.retain(|(pending, _)| *pending > seq);
                self.cap_log_checkpoints();
                Ok(())
            }
            Err(crate::disk::DiskError::NoSpace) => {
                self.epochs_retry = self
                    .epochs_pending
                    .last()
                    .is_some_and(|(last, _)| *last == seq);
                Err(ErrorCode::KafkaStorageError)
            }
            Err(error) => Err(self.fail(format!("leader epoch checkpoint: {error}"))),
        }
    }

    /// Tries a replace of the epoch checkpoint again after a full disk refused the last one.
    fn retry_epochs(&mut self) {
        if self.epochs_retry {
            let first_new = self
                .epochs_pending
                .iter()
                .map(|(_, first_new)| *first_new)
                .min()
                .unwrap_or(i64::MAX);
            self.flush_epochs(first_new);
        }
    }

    /// Removes every record at or after `offset` (a follower diverged from its leader), with
    /// the epochs that started there.
    pub fn truncate_to(
        &mut self,
        disk: &mut dyn Disk,
        offset: i64,
        now_ms: i64,
    ) -> Result<(), ErrorCode> {
        self.usable()?;
        let offset = offset.max(self.log.log_start_offset());
        let before = self.log.log_end_offset();
        self.log
            .truncate_to_unsynced(disk, offset, now_ms)
            .map_err(|e| self.log_error(e))?;
        if self.log.log_end_offset() < before {
            // Flushes under way covered records that are gone: the log counts them for
            // nothing, and nothing may wait on them.
            self.flushes.clear();
        }
        if self.epochs.truncate_from_end(self.log.log_end_offset()) {
            self.flush_epochs(i64::MAX);
        }
        self.high_watermark = self.high_watermark.min(self.log.log_end_offset());
        // The removed batches may have been any producer's latest: start over from the log,
        // keeping what was known of the batches whose segments are gone (Kafka's producer
        // snapshots keep it likewise).
        let earlier = self.producers.clone();
        if let Some(scanned_from) = self.rebuild_producers(disk) {
            self.producers.keep_below(&earlier, scanned_from);
        }
        Ok(())
    }

    /// A follower whose whole log lies below its leader's log start offset (the leader
    /// deleted records this replica never got): drops its log and starts over, empty, at
    /// `offset`, with no epochs and no producers, as Kafka's `truncateFullyAndStartAt`.
    pub fn truncate_fully_and_start_at(
        &mut self,
        disk: &mut dyn Disk,
        offset: i64,
        now_ms: i64,
    ) -> Result<(), ErrorCode> {
        self.usable()?;
        self.log
            .truncate_fully_and_start_at_unsynced(disk, offset, now_ms)
            .map_err(|e| self.log_error(e))?;
        self.flushes.clear();
        self.high_watermark = offset;
        self.producers.clear();
        self.epochs.clear();
        self.flush_epochs(i64::MAX);
        Ok(())
    }

    /// Whole batches from `offset`, none at or past `max_offset`.
    pub fn read(
        &mut self,
        disk: &mut dyn Disk,
        offset: i64,
        max_bytes: usize,
        max_offset: Option<i64>,
    ) -> Result<ReadSlice, ErrorCode> {
        self.usable()?;
        self.log
            .read(disk, offset, max_bytes, max_offset)
            .map_err(|e| self.log_error(e))
    }

    /// [`Partition::read`] as a byte range of the segment file (see [`Log::read_range`]).
    pub fn read_range(
        &mut self,
        disk: &mut dyn Disk,
        offset: i64,
        max_bytes: usize,
        max_offset: Option<i64>,
    ) -> Result<ReadRange, ErrorCode> {
        self.usable()?;
        self.log
            .read_range(disk, offset, max_bytes, max_offset)
            .map_err(|e| self.log_error(e))
    }

    /// OffsetForLeaderEpoch's answer from this replica's log: the largest epoch at or below
    /// `epoch` and where it ends here.
    pub fn end_offset_for(&self, epoch: i32) -> (i32, i64) {
        let (found, end) = self.epochs.end_offset_for(epoch, self.log.log_end_offset());
        if found == UNDEFINED_EPOCH {
            (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
        } else {
            (found, end)
        }
    }

    /// Raises the high watermark to `candidate`, never past the log end and never down.
    pub fn raise_high_watermark(&mut self, candidate: i64) -> bool {
        let candidate = candidate.min(self.log.log_end_offset());
        if candidate > self.high_watermark {
            self.high_watermark = candidate;
            true
        } else {
            false
        }
    }

    fn usable(&self) -> Result<(), ErrorCode> {
        match self.offline {
            Some(_) => Err(ErrorCode::KafkaStorageError),
            None => Ok(()),
        }
    }

    fn log_error(&mut self, error: LogError) -> ErrorCode {
        match error {
            LogError::InvalidBatch(_) | LogError::CorruptData { .. } => ErrorCode::CorruptMessage,
            LogError::BatchTooLarge { .. } => ErrorCode::MessageTooLarge,
            LogError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
            // A cut waits for its checkpoint: retriable.
            LogError::CutPending => ErrorCode::KafkaStorageError,
            // A full disk the log came through whole: retriable, as for an append.
            LogError::Disk(crate::disk::DiskError::NoSpace) if self.log.failure().is_none() => {
                ErrorCode::KafkaStorageError
            }
            other => self.fail(other.to_string()),
        }
    }

    fn fail(&mut self, why: String) -> ErrorCode {
        if self.offline.is_none() {
            self.offline = Some(why);
            self.note_wake();
        }
        ErrorCode::KafkaStorageError
    }

    fn note_wake(&mut self) {
        // A follower holds no fetch (it answers NOT_LEADER_OR_FOLLOWER at once), and one that
        // becomes leader has its fetches tried then.
        self.wake |= self.leader().is_some();
    }

    /// Whether the fetches held on this replica must be tried again for a change made since
    /// the last call (see the field `wake`); the next call says no until another one.
    pub fn take_wake(&mut self) -> bool {
        std::mem::take(&mut self.wake)
    }
}
