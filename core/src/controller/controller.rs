//! The active controller: its state, the committed/working split, leases and `tick`.

use std::collections::{BTreeMap, VecDeque};

use super::config::ControllerConfig;
use super::error::ControllerError;
use super::image::{ApplyOutcome, MetadataImage};
use super::record::{BrokerId, MetadataRecord};
use super::requests::ControllerResult;
use crate::time::Instant;

/// The active controller's decision logic (KIP-631's QuorumController), on top of a
/// [`MetadataImage`].
///
/// Call order: the driver builds one with [`QuorumController::new`] when its node becomes the
/// active controller, after it has applied every record committed before its term (KRaft waits
/// for its own term's first entry to commit). Then, in any order: requests
/// ([`register_broker`](QuorumController::register_broker),
/// [`broker_heartbeat`](QuorumController::broker_heartbeat),
/// [`create_topics`](QuorumController::create_topics),
/// [`alter_partition`](QuorumController::alter_partition), …), [`tick`](QuorumController::tick)
/// at or after [`poll_timeout`](QuorumController::poll_timeout), and
/// [`replay`](QuorumController::replay) for each record as it commits, in log order. Each
/// request returns the records to propose; the driver proposes them as one batch. When the
/// node stops being the active controller the driver drops it (keeping
/// [`QuorumController::into_image`]) and discards its unanswered requests.
///
/// The committed image changes only through `replay`. Decisions use a working image: the
/// committed one plus every record proposed and not yet committed, so that two requests in a
/// row never decide from the same stale state (KRaft's timeline data structures do this).
#[derive(Clone, Debug)]
pub struct QuorumController {
    pub(super) config: ControllerConfig,
    committed: MetadataImage,
    pub(super) working: MetadataImage,
    uncommitted: VecDeque<MetadataRecord>,
    /// When each registered broker last heartbeated (or registered, or this controller
    /// started). Only the active controller keeps leases, in memory, as KRaft does.
    pub(super) leases: BTreeMap<BrokerId, Instant>,
    pub(super) next_rebalance_check: Instant,
    resyncs: u64,
}

impl QuorumController {
    /// Becomes the active controller over `image`, the committed state. Every registered
    /// broker gets a fresh lease from `now`, since the previous controller's leases are gone.
    pub fn new(config: ControllerConfig, image: MetadataImage, now: Instant) -> QuorumController {
        let leases = image.brokers().map(|b| (b.broker_id, now)).collect();
        let next_rebalance_check = now
            .checked_add(config.leader_imbalance_check_interval)
            .unwrap_or(now);
        QuorumController {
            config,
            working: image.clone(),
            committed: image,
            uncommitted: VecDeque::new(),
            leases,
            next_rebalance_check,
            resyncs: 0,
        }
    }

    /// The committed image.
    pub fn image(&self) -> &MetadataImage {
        &self.committed
    }

    /// The committed image plus every proposed, uncommitted record: what decisions see.
    pub fn working_image(&self) -> &MetadataImage {
        &self.working
    }

    /// Gives back the committed image when this node stops being the active controller.
    pub fn into_image(self) -> MetadataImage {
        self.committed
    }

    /// The settings.
    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// Proposed records not yet replayed as committed.
    pub fn uncommitted_len(&self) -> usize {
        self.uncommitted.len()
    }

    /// How often a committed record was not the next one this controller proposed, so its
    /// working image was rebuilt from the committed one.
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// Applies one committed record, in log order, to the committed image.
    ///
    /// While this controller is active the log should carry only its own proposals, in the
    /// order proposed. Anything else (proposals lost in a Raft leader change, records of an
    /// earlier term) makes the controller drop its uncommitted proposals and decide from the
    /// committed image again: safe, because a record computed from a stale view fails the
    /// epoch checks in [`MetadataImage::apply`].
    pub fn replay(&mut self, record: &MetadataRecord) -> ApplyOutcome {
        let outcome = self.committed.apply(record);
        if self.uncommitted.front() == Some(record) {
            self.uncommitted.pop_front();
        } else {
            self.uncommitted.clear();
            self.working = self.committed.clone();
            self.resyncs += 1;
        }
        if self.uncommitted.is_empty() {
            assert_eq!(self.working, self.committed, "working image diverged");
        }
        outcome
    }

    /// When `tick` next has work: the earliest lease expiry of an unfenced broker, or the
    /// next leader-imbalance check.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timeout = self.config.broker_session_timeout;
        let lease_expiry = self
            .leases
            .iter()
            .filter(|(id, _)| self.working.broker(**id).is_some_and(|b| !b.fenced))
            .filter_map(|(_, last)| last.checked_add(timeout))
            .min();
        let rebalance = self
            .config
            .auto_leader_rebalance_enable
            .then_some(self.next_rebalance_check);
        match (lease_expiry, rebalance) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fences every unfenced broker whose lease (`broker.session.timeout.ms`) lapsed, moving
    /// its leaderships away; elects leaders for leaderless partitions that can have one; and,
    /// when `auto.leader.rebalance.enable` and the check interval passed, moves leadership
    /// back to preferred replicas on brokers over `leader.imbalance.per.broker.percentage`.
    pub fn tick(&mut self, now: Instant) -> ControllerResult<()> {
        let mut out = Vec::new();
        for broker_id in self.expired_leases(now) {
            self.fence_broker(&mut out, broker_id);
        }
        let budget = self.config.partition_changes_per_tick_max;
        self.elect_leaderless(&mut out, budget);
        if self.config.auto_leader_rebalance_enable && now >= self.next_rebalance_check {
            self.next_rebalance_check = now
                .checked_add(self.config.leader_imbalance_check_interval)
                .unwrap_or(now);
            self.rebalance_leaders(&mut out, budget);
        }
        ControllerResult {
            records: out,
            response: (),
        }
    }

    /// Unfenced brokers whose lease lapsed at `now`. Registered brokers without a lease
    /// (known only through a resync) get one from `now`; leases of gone brokers are dropped.
    fn expired_leases(&mut self, now: Instant) -> Vec<BrokerId> {
        let working = &self.working;
        self.leases.retain(|id, _| working.broker(*id).is_some());
        for broker in working.brokers() {
            self.leases.entry(broker.broker_id).or_insert(now);
        }
        assert!(self.leases.len() <= working.limits().brokers_max);
        let timeout = self.config.broker_session_timeout;
        self.leases
            .iter()
            .filter(|(id, _)| working.broker(**id).is_some_and(|b| !b.fenced))
            .filter(|(_, last)| last.checked_add(timeout).is_some_and(|end| now >= end))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Records `record` as proposed: applies it to the working image and queues it to be
    /// matched when it commits.
    pub(super) fn propose(&mut self, out: &mut Vec<MetadataRecord>, record: MetadataRecord) {
        let outcome = self.working.apply(&record);
        assert_eq!(
            outcome,
            ApplyOutcome::Applied,
            "the controller proposed a record its own view refuses: {record:?}"
        );
        self.uncommitted.push_back(record.clone());
        out.push(record);
    }

    /// Runs `decide` and then undoes whatever it proposed: validate_only requests are decided
    /// exactly as real ones, and nothing of them is kept.
    pub(super) fn dry_run<T>(
        &mut self,
        decide: impl FnOnce(&mut QuorumController, &mut Vec<MetadataRecord>) -> T,
    ) -> T {
        let working = self.working.clone();
        let queued = self.uncommitted.len();
        let result = decide(self, &mut Vec::new());
        self.working = working;
        self.uncommitted.truncate(queued);
        result
    }

    /// Refuses new work while too many proposals await commit.
    pub(super) fn check_room(&self) -> Result<(), ControllerError> {
        if self.uncommitted.len() >= self.config.uncommitted_records_max {
            return Err(ControllerError::RequestTimedOut);
        }
        Ok(())
    }
}
