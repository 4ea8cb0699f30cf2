//! The replica manager: every partition replica of one broker, the roles the metadata log
//! gives them, and the traffic between leaders and followers. Sans-IO: the driver passes in
//! time, the disk, the broker's metadata image, requests and responses, and drains
//! [`ReplicaOutput`]s.
//!
//! # Call order
//!
//! - [`ReplicaManager::set_broker_epoch`] once registered; [`ReplicaManager::apply_role`]
//!   for every [`PartitionRole`] the broker's `MetadataFollower` yields, in order.
//! - [`ReplicaManager::handle_request`] for each data-plane request; the answer comes out as
//!   [`ReplicaOutput::Respond`] with the same client token, now or later (a produce waiting
//!   for the ISR, a fetch waiting for data), never twice. acks=0 produces get none.
//! - Send each [`ReplicaOutput::Request`] to the broker named and hand its answer (or
//!   `Err(Disconnected)`) to [`ReplicaManager::handle_response`]; send each
//!   [`ReplicaOutput::AlterPartition`] to the active controller and hand its answer to
//!   [`ReplicaManager::handle_alter_partition`].
//! - Call [`ReplicaManager::handle_timeout`] at [`ReplicaManager::poll_timeout`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::config::ReplicaConfig;
use super::fetcher::Fetcher;
use super::follower::{FollowerState, Phase};
use super::leader::LeaderState;
use super::partition::{Partition, ReplicaIo, ReplicaRole};
use super::serve::{DelayedFetch, DelayedProduce};
use crate::api::{Request, Response};
use crate::bugs::{self, Bug};
use crate::controller::{
    AlterPartitionRequest, BrokerId, ControllerError, LeaderRecoveryState, MetadataImage,
    PartitionReply, PartitionRole, Role, Uuid,
};
use crate::disk::Disk;
use crate::log::LogError;
use crate::time::{Duration, Instant};

/// A record as a replica stores it: its offset and value.
pub type StoredRecord = (i64, Option<Vec<u8>>);

/// A partition's key: topic id and index.
pub type PartitionKey = (Uuid, i32);

/// Something the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaOutput {
    /// Send `request` to broker `to`; its answer goes to `handle_response(id, ..)`.
    Request {
        /// The broker.
        to: BrokerId,
        /// Matches the answer.
        id: u64,
        /// The request.
        request: Request,
        /// The [`ReplicaOutput::Sync`] that must complete before the request leaves.
        after: Option<u64>,
    },
    /// Answer the client whose request carried this token.
    Respond {
        /// The driver's token from `handle_request`.
        client: u64,
        /// The answer.
        response: Response,
        /// The [`ReplicaOutput::Sync`] that must complete before the answer leaves.
        after: Option<u64>,
    },
    /// Send this AlterPartition to the active controller; its answer goes to
    /// `handle_alter_partition(id, ..)`.
    AlterPartition {
        /// Matches the answer.
        id: u64,
        /// The request.
        request: AlterPartitionRequest,
    },
    /// Sync these files and directories, covering every write and name change issued so
    /// far; report the outcome to `handle_sync_done(id, ..)`.
    Sync {
        /// Names the sync.
        id: u64,
        /// The files.
        files: Vec<String>,
        /// The directories.
        dirs: Vec<String>,
    },
    /// Replace `{dir}/{name}` whole with `bytes`, atomically and durably, after every
    /// earlier replace of it; report the outcome to `handle_sync_done(id, ..)`.
    Replace {
        /// Names the replace.
        id: u64,
        /// The directory.
        dir: String,
        /// The file's name.
        name: String,
        /// The new contents.
        bytes: Vec<u8>,
        /// A sync or replace this one is reported after.
        after: Option<u64>,
    },
}

/// Counters for tests and scenario coverage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaStats {
    /// Truncations of a follower's log by leader epoch that removed records.
    pub epoch_truncations: u64,
    /// ISR shrinks and expansions this broker asked for as leader.
    pub isr_shrinks_asked: u64,
    /// ISR expansions asked for.
    pub isr_expands_asked: u64,
    /// ISR changes whose AlterPartition was lost or refused before the controller checked
    /// the partition epoch, kept in the maximal ISR until settled.
    pub isr_changes_in_doubt: u64,
    /// acks=all produces refused with NOT_ENOUGH_REPLICAS.
    pub not_enough_replicas: u64,
    /// acks=all produces answered NOT_ENOUGH_REPLICAS_AFTER_APPEND.
    pub not_enough_replicas_after_append: u64,
    /// Produces that timed out waiting for the ISR.
    pub produce_timeouts: u64,
    /// Leaderships of an epoch this broker led before it restarted, not taken up again.
    pub stale_leaderships_refused: u64,
    /// Follower fetches refused as leader for naming an older leader epoch (KIP-320's
    /// FENCED_LEADER_EPOCH): a follower still acting on an epoch that has moved on.
    pub fenced_follower_fetches: u64,
    /// Follower logs dropped and started over at their leader's log start offset, because
    /// they ended below it (the leader deleted records they never got).
    pub restarted_at_leader_start: u64,
    /// Idempotent producers' retries of batches the log already held, answered with the
    /// original offsets and not appended again.
    pub duplicate_batches: u64,
}

/// Every replica of one broker. See the module documentation.
#[derive(Debug)]
pub struct ReplicaManager {
    pub(super) me: BrokerId,
    pub(super) broker_epoch: i64,
    pub(super) config: ReplicaConfig,
    pub(super) partitions: BTreeMap<PartitionKey, Partition>,
    pub(super) outputs: VecDeque<ReplicaOutput>,
    pub(super) next_id: u64,
    pub(super) fetchers: BTreeMap<BrokerId, Fetcher>,
    pub(super) produces: BTreeMap<u64, DelayedProduce>,
    pub(super) fetches: BTreeMap<u64, DelayedFetch>,
    pub(super) alters: BTreeMap<u64, (PartitionKey, Instant)>,
    pub(super) next_isr_check: Option<Instant>,
    /// When retention next runs (see `retention`).
    pub(super) next_retention_check: Option<Instant>,
    /// Each replica's key by topic name and index, as requests name partitions.
    /// (Nested, so that a lookup by `&str` needs no allocation: it runs for every partition
    /// of every fetch, each time a held fetch is tried again.)
    pub(super) names: BTreeMap<String, BTreeMap<i32, PartitionKey>>,
    /// Partitions whose held fetches may be answerable now: appends, high watermark and ISR
    /// moves, leadership gained, lost or dropped, the log start moved (retention,
    /// DeleteRecords) and the replica gone offline (see `wake_if_changed`). Only the fetches
    /// that read one of them are tried again (Kafka's purgatory, keyed by partition), not
    /// every held fetch, and before the input that woke them returns (see
    /// `complete_woken_fetches`).
    pub(super) woken: BTreeSet<PartitionKey>,
    /// Syncs under way, with the partitions each covers.
    pub(super) syncs: BTreeMap<u64, Vec<PartitionKey>>,
    /// Replaces under way of a log's checkpoint or its epoch checkpoint: the partition and
    /// whose each is.
    pub(super) replaces: BTreeMap<u64, (PartitionKey, ReplicaIo)>,
    /// Directories of deleted replicas whose emptying is being synced: each goes once it is.
    pub(super) deleted_dirs: BTreeMap<u64, String>,
    /// Roles whose replica could not be opened (a full or failing disk), and when to try
    /// again: the disk may recover, and the controller still counts on this replica.
    unopened: BTreeMap<PartitionKey, (PartitionRole, Instant)>,
    pub(super) stats: ReplicaStats,
    pub(super) watermarks: super::invariants::LeaderWatermarks,
}

impl ReplicaManager {
    /// A broker with no replicas yet.
    pub fn new(me: BrokerId, config: ReplicaConfig) -> ReplicaManager {
        ReplicaManager {
            me,
            broker_epoch: -1,
            config,
            partitions: BTreeMap::new(),
            outputs: VecDeque::new(),
            next_id: 1,
            fetchers: BTreeMap::new(),
            produces: BTreeMap::new(),
            fetches: BTreeMap::new(),
            alters: BTreeMap::new(),
            next_isr_check: None,
            next_retention_check: None,
            names: BTreeMap::new(),
            woken: BTreeSet::new(),
            syncs: BTreeMap::new(),
            replaces: BTreeMap::new(),
            deleted_dirs: BTreeMap::new(),
            unopened: BTreeMap::new(),
            stats: ReplicaStats::default(),
            watermarks: Default::default(),
        }
    }

    /// The broker epoch the controller gave this broker's registration.
    pub fn set_broker_epoch(&mut self, broker_epoch: i64) {
        self.broker_epoch = broker_epoch;
    }

    /// This broker's id.
    pub fn broker_id(&self) -> BrokerId {
        self.me
    }

    /// The settings.
    pub fn config(&self) -> &ReplicaConfig {
        &self.config
    }

    /// Every replica, by key.
    pub fn partitions(&self) -> impl Iterator<Item = (&PartitionKey, &Partition)> {
        self.partitions.iter()
    }

    /// One replica.
    pub fn partition(&self, key: PartitionKey) -> Option<&Partition> {
        self.partitions.get(&key)
    }

    /// The counters.
    pub fn stats(&self) -> &ReplicaStats {
        &self.stats
    }

    /// The next output to act on.
    pub fn poll_output(&mut self) -> Option<ReplicaOutput> {
        if self.outputs.is_empty() {
            self.issue_all_log_io();
        }
        self.outputs.pop_front()
    }

    pub(super) fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Takes up the role the metadata log gives this broker for one partition: opens (and
    /// recovers) the log if needed, starts a leader epoch (its checkpoint an output) before
    /// leading in it, and sends a new follower to agree with its leader on the log before
    /// fetching.
    pub fn apply_role(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        image: &MetadataImage,
        change: &PartitionRole,
    ) -> Result<(), LogError> {
        let result = self.apply_role_change(now, wall_ms, disk, image, change);
        // Fetches held on a replica that now leads anew, follows or is gone hear of it now.
        self.complete_woken_fetches(now, disk);
        result
    }

    fn apply_role_change(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        image: &MetadataImage,
        change: &PartitionRole,
    ) -> Result<(), LogError> {
        let key = (change.topic_id, change.partition);
        self.unopened.remove(&key);
        if change.role == Role::None {
            let dropped = self.drop_partition(key);
            if let Some(name) = dropped.filter(|_| image.topic(key.0).is_none()) {
                // The topic was deleted: its data goes too (Kafka deletes the log directory).
                let dir = Partition::dir(&self.config, &name, key.1);
                super::admin::delete_log_files(disk, &dir);
                // The directory goes once its files' removal is durable (see
                // `handle_sync_done`).
                let id = self.next_id();
                self.deleted_dirs.insert(id, dir.clone());
                self.outputs.push_back(ReplicaOutput::Sync {
                    id,
                    files: Vec::new(),
                    dirs: vec![dir],
                });
            }
            return Ok(());
        }
        let Some(topic) = image.topic(change.topic_id) else {
            return Ok(());
        };
        if !self.partitions.contains_key(&key) {
            let placeholder = ReplicaRole::Follower(FollowerState {
                leader: crate::controller::NO_LEADER,
                leader_epoch: -1,
                phase: Phase::Fetching,
            });
            let name = topic.name.clone();
            let opened = Partition::open(
                disk,
                &self.config,
                &name,
                key.0,
                key.1,
                placeholder,
                wall_ms,
            );
            let partition = match opened {
                Ok(partition) => partition,
                Err(error) => {
                    let backoff = Duration::from_millis(self.config.replica_fetch_backoff_ms);
                    let retry = now.checked_add(backoff).unwrap_or(now);
                    self.unopened.insert(key, (change.clone(), retry));
                    return Err(error);
                }
            };
            self.names.entry(name).or_default().insert(key.1, key);
            self.partitions.insert(key, partition);
            self.apply_topic_configs(image, key);
            self.schedule_retention(now);
        }
        let replicas = image
            .partition(key.0, key.1)
            .map(|state| state.replicas.clone())
            .unwrap_or_default();
        match &change.role {
            Role::Leader {
                leader_epoch,
                partition_epoch,
                isr,
            } => self.lead(now, key, *leader_epoch, *partition_epoch, isr, replicas),
            Role::Follower {
                leader,
                leader_epoch,
            } => self.follow(disk, wall_ms, key, *leader, *leader_epoch),
            Role::None => unreachable!("handled above"),
        }
        self.drive_fetchers(now);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn lead(
        &mut self,
        now: Instant,
        key: PartitionKey,
        leader_epoch: i32,
        partition_epoch: i32,
        isr: &[BrokerId],
        replicas: Vec<BrokerId>,
    ) {
        let me = self.me;
        let partition = self.partitions.get_mut(&key).expect("opened above");
        if let ReplicaRole::Leader(state) = &mut partition.role {
            if state.leader_epoch == leader_epoch {
                // Same leadership, newer ISR (the controller's answer to this leader, or its own
                // change such as fencing a follower).
                if partition_epoch > state.partition_epoch {
                    state.partition_epoch = partition_epoch;
                    state.isr = isr.to_vec();
                    state.replicas = replicas;
                    state.pending = None;
                }
                self.on_progress(key);
                return;
            }
        }
        if partition.epochs.latest_epoch() == Some(leader_epoch) {
            // This broker led this epoch in an earlier process (a follower never holds the
            // epoch of its own leadership). A crash may have cut the tail it acknowledged, and
            // its followers hold that tail in the same epoch, where truncation by epoch cannot
            // tell the two apart: it waits for the controller's next epoch instead.
            partition.role = ReplicaRole::Follower(FollowerState {
                leader: crate::controller::NO_LEADER,
                leader_epoch,
                phase: Phase::Fetching,
            });
            self.stats.stale_leaderships_refused += 1;
            return;
        }
        partition.start_epoch(leader_epoch);
        let end = partition.log_end_offset();
        let state = LeaderState::new(
            me,
            leader_epoch,
            partition_epoch,
            isr.to_vec(),
            replicas,
            end,
            now,
        );
        partition.role = ReplicaRole::Leader(state);
        self.next_isr_check.get_or_insert(now);
        self.on_progress(key);
    }

    fn follow(
        &mut self,
        disk: &mut dyn Disk,
        wall_ms: i64,
        key: PartitionKey,
        leader: BrokerId,
        leader_epoch: i32,
    ) {
        let partition = self.partitions.get_mut(&key).expect("opened above");
        if let ReplicaRole::Follower(state) = &partition.role {
            if state.leader == leader && state.leader_epoch == leader_epoch {
                return;
            }
        }
        let asking = partition.epochs.latest_epoch();
        if asking.is_none() && partition.log_end_offset() > partition.log.log_start_offset() {
            // Records without epochs (a lost or damaged epoch checkpoint) cannot be checked
            // against the leader's: drop them and fetch them again.
            let start = partition.log.log_start_offset();
            let _ = partition.truncate_to(disk, start, wall_ms);
        }
        let mut phase = match asking {
            Some(_) => Phase::Truncating { asking },
            None => Phase::Fetching,
        };
        if bugs::active(Bug::ReplicaTruncateToHw) {
            // The pre-KIP-101 rule, planted for the simulator to catch: cut to the local HW.
            let hw = partition.high_watermark;
            let _ = partition.truncate_to(disk, hw, wall_ms);
            phase = Phase::Fetching;
        }
        partition.role = ReplicaRole::Follower(FollowerState {
            leader,
            leader_epoch,
            phase,
        });
        self.complete_produces_for(key);
        self.woken.insert(key);
    }

    /// Closes the replica; returns its topic's name if it was open.
    fn drop_partition(&mut self, key: PartitionKey) -> Option<String> {
        self.complete_produces_for(key);
        self.woken.insert(key);
        // Its queued checkpoints still go out; what waits on them in the log (removals) is
        // left to the next open, which removes what lies below the log start.
        self.issue_log_io(key, None, false);
        let partition = self.partitions.remove(&key)?;
        if let Some(indexes) = self.names.get_mut(&partition.topic) {
            indexes.remove(&key.1);
            if indexes.is_empty() {
                self.names.remove(&partition.topic);
            }
        }
        // No clean close: it would sync on the node's loop. The next open scans from the
        // last checkpoint.
        Some(partition.topic)
    }

    /// The controller's answer to an AlterPartition this broker sent.
    pub fn handle_alter_partition(
        &mut self,
        now: Instant,
        disk: &mut dyn Disk,
        id: u64,
        answer: Result<PartitionReply, ControllerError>,
    ) {
        let Some((key, _)) = self.alters.remove(&id) else {
            return;
        };
        let backoff = Duration::from_millis(self.config.replica_fetch_backoff_ms);
        let Some(state) = self.partitions.get_mut(&key).and_then(|p| p.leader_mut()) else {
            return;
        };
        let Some(pending) = state.pending.as_mut().filter(|p| p.request_id == id) else {
            return;
        };
        match answer {
            Ok(reply) => {
                state.pending = None;
                let newer = reply.partition_epoch > state.partition_epoch;
                if reply.leader_epoch == state.leader_epoch && newer {
                    state.partition_epoch = reply.partition_epoch;
                    state.isr = reply.isr;
                }
            }
            // These refusals come after the controller checked the partition epoch: it is the
            // leader's, so neither this request nor an earlier one changed the ISR. Asking
            // again at once would repeat the refusal on every follower fetch: wait as a
            // follower waits after a failed fetch.
            Err(ControllerError::IneligibleReplica | ControllerError::InvalidRequest) => {
                state.pending = None;
                state.retry_isr_at = now.checked_add(backoff);
            }
            // Lost, timed out, or refused before the epoch check (a newer partition epoch, a
            // deposed controller): an earlier send of this change may have been committed, so
            // its member keeps holding the high watermark back until the metadata or an
            // answer tells (KIP-497's maximal ISR; Kafka keeps the pending state likewise).
            Err(_) => {
                pending.in_doubt = true;
                self.stats.isr_changes_in_doubt += 1;
                state.retry_isr_at = now.checked_add(backoff);
            }
        }
        // A smaller ISR can move the high watermark.
        self.on_progress(key);
        self.complete_woken_fetches(now, disk);
    }

    /// Sends the ISR change the leader of `key` wants, if any and none is in flight.
    pub(super) fn propose_isr(&mut self, now: Instant, key: PartitionKey, image: &MetadataImage) {
        let me = self.me;
        let lag_max = Duration::from_millis(self.config.replica_lag_time_max_ms);
        let id = self.next_id();
        let Some(partition) = self.partitions.get_mut(&key) else {
            return;
        };
        let (end, hw) = (partition.log_end_offset(), partition.high_watermark);
        let Some(state) = partition.leader_mut() else {
            return;
        };
        let resend = state.in_doubt_resend_due(now);
        let isr = match resend {
            Some(isr) => isr,
            None => {
                let eligible = |b: BrokerId| image.is_active_broker(b);
                let Some(isr) = state.wanted_isr(me, end, hw, now, lag_max, &eligible) else {
                    return;
                };
                if isr.len() < state.isr.len() {
                    self.stats.isr_shrinks_asked += 1;
                } else {
                    self.stats.isr_expands_asked += 1;
                }
                isr
            }
        };
        state.pending = Some(super::leader::PendingIsr {
            isr: isr.clone(),
            request_id: id,
            in_doubt: false,
        });
        let request = AlterPartitionRequest {
            broker_id: me,
            broker_epoch: self.broker_epoch,
            topic_id: key.0,
            partition: key.1,
            leader_epoch: state.leader_epoch,
            partition_epoch: state.partition_epoch,
            new_isr: isr,
            leader_recovery: LeaderRecoveryState::Recovered,
        };
        self.alters.insert(id, (key, now));
        self.outputs
            .push_back(ReplicaOutput::AlterPartition { id, request });
    }

    /// Runs what is due at `now`: replicas to try opening again, expired produces and
    /// fetches, lost requests, ISR checks, follower fetches and retention.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        image: &MetadataImage,
    ) {
        let due: Vec<PartitionRole> = self
            .unopened
            .values()
            .filter(|(_, at)| *at <= now)
            .map(|(role, _)| role.clone())
            .collect();
        for role in &due {
            // A failure is kept for the next try; the driver heard of the first one.
            let _ = self.apply_role(now, wall_ms, disk, image, role);
        }
        self.expire_delayed(now, disk);
        self.expire_alters(now, disk);
        self.retention_due(now, wall_ms, disk);
        if self.next_isr_check.is_some_and(|at| at <= now) {
            let keys: Vec<PartitionKey> = self
                .partitions
                .iter()
                .filter(|(_, p)| p.leader().is_some())
                .map(|(k, _)| *k)
                .collect();
            for key in &keys {
                self.propose_isr(now, *key, image);
            }
            let half = Duration::from_millis(self.config.replica_lag_time_max_ms / 2);
            self.next_isr_check = (!keys.is_empty()).then(|| now.checked_add(half).unwrap());
        }
        self.drive_fetchers(now);
        // Retention may have moved log starts past held fetches, or a failure taken a replica
        // offline under them.
        self.complete_woken_fetches(now, disk);
    }

    fn expire_alters(&mut self, now: Instant, disk: &mut dyn Disk) {
        let timeout = Duration::from_millis(self.config.replica_socket_timeout_ms);
        let expired: Vec<u64> = self
            .alters
            .iter()
            .filter(|(_, (_, sent))| now.saturating_duration_since(*sent) >= timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let timed_out = Err(ControllerError::RequestTimedOut);
            self.handle_alter_partition(now, disk, id, timed_out);
        }
    }

    /// The earliest instant at which [`ReplicaManager::handle_timeout`] has work; an instant
    /// in the past means now.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timeout = Duration::from_millis(self.config.replica_socket_timeout_ms);
        let produce = self.produces.values().map(|p| p.deadline);
        let fetch = self.fetches.values().map(|f| f.deadline);
        let alters = self
            .alters
            .values()
            .filter_map(|(_, sent)| sent.checked_add(timeout));
        let fetchers = self.fetchers.values().filter_map(Fetcher::deadline);
        // Every input answers the fetches it woke (the simulator asserts it, in the replica
        // invariants); a wake an input forgot is still served at once, not at a deadline.
        let wake = (!self.woken.is_empty()).then_some(Instant::ZERO);
        let reopen = self.unopened.values().map(|(_, at)| *at);
        produce
            .chain(reopen)
            .chain(fetch)
            .chain(alters)
            .chain(fetchers)
            .chain(self.next_isr_check)
            .chain(self.next_retention_check)
            .chain(wake)
            .min()
    }
}

impl ReplicaManager {
    /// Every record of one replica below `upto` (or its log end), as `(offset, value)` —
    /// for checks that compare replicas.
    pub fn records(
        &mut self,
        disk: &mut dyn Disk,
        key: PartitionKey,
        upto: Option<i64>,
    ) -> Result<Vec<StoredRecord>, crate::api::ErrorCode> {
        self.records_in(disk, key, i64::MIN, upto)
    }

    /// The records of one replica from `from` (or its log start, if later) below `upto` (or
    /// its log end), as `(offset, value)`.
    pub fn records_in(
        &mut self,
        disk: &mut dyn Disk,
        key: PartitionKey,
        from: i64,
        upto: Option<i64>,
    ) -> Result<Vec<StoredRecord>, crate::api::ErrorCode> {
        let records = self.read_records(disk, key, from, upto)?;
        Ok(records.into_iter().map(|r| (r.offset, r.value)).collect())
    }

    /// The whole records of one replica from `from` (or its log start, if later) below
    /// `upto` (or its log end), keys and all: how the group coordinator loads an offsets
    /// partition.
    pub fn read_records(
        &mut self,
        disk: &mut dyn Disk,
        key: PartitionKey,
        from: i64,
        upto: Option<i64>,
    ) -> Result<Vec<crate::record::Record>, crate::api::ErrorCode> {
        let Some(partition) = self.partitions.get_mut(&key) else {
            return Ok(Vec::new());
        };
        let end = upto.unwrap_or(partition.log_end_offset());
        let mut offset = partition.log.log_start_offset().max(from);
        let mut out = Vec::new();
        while offset < end {
            let slice = partition.read(disk, offset, 1 << 20, Some(end))?;
            if slice.bytes.is_empty() {
                break;
            }
            let mut at = 0;
            while at < slice.bytes.len() {
                let batch = crate::record::RecordBatch::parse(&slice.bytes[at..])
                    .map_err(|_| crate::api::ErrorCode::CorruptMessage)?;
                at += batch.header().total_bytes();
                let records = batch
                    .records()
                    .map_err(|_| crate::api::ErrorCode::CorruptMessage)?;
                out.extend(
                    records
                        .into_iter()
                        .filter(|record| record.offset >= offset && record.offset < end),
                );
            }
            offset = slice.next_offset;
        }
        Ok(out)
    }
}

impl ReplicaStats {
    /// Adds another manager's counters to these.
    pub fn absorb(&mut self, other: &ReplicaStats) {
        self.epoch_truncations += other.epoch_truncations;
        self.isr_shrinks_asked += other.isr_shrinks_asked;
        self.isr_expands_asked += other.isr_expands_asked;
        self.isr_changes_in_doubt += other.isr_changes_in_doubt;
        self.not_enough_replicas += other.not_enough_replicas;
        self.not_enough_replicas_after_append += other.not_enough_replicas_after_append;
        self.produce_timeouts += other.produce_timeouts;
        self.stale_leaderships_refused += other.stale_leaderships_refused;
        self.fenced_follower_fetches += other.fenced_follower_fetches;
        self.restarted_at_leader_start += other.restarted_at_leader_start;
        self.duplicate_batches += other.duplicate_batches;
    }
}
