//! Choosing partition leaders and ISRs: when a broker is fenced, shuts down or returns, and
//! for leaderless partitions. Everything here computes [`PartitionChange`] records from the
//! working image; [`QuorumController::propose`] applies them to it.

use super::controller::QuorumController;
use super::image::{MetadataImage, PartitionState};
use super::record::{
    BrokerId, LeaderRecoveryState, MetadataRecord, PartitionChange, Uuid, NO_LEADER,
};

/// The leader and ISR a partition should have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) isr: Vec<BrokerId>,
    pub(super) leader: BrokerId,
    pub(super) unclean: bool,
}

/// Whether `broker` may lead: registered, unfenced, not shutting down, and not `leaving`
/// (the broker about to be fenced or removed).
///
/// The `bug-controller-elect-fenced` switch accepts fenced and leaving brokers, a planted bug
/// that `check_invariants` must catch.
pub(super) fn acceptable_leader(
    image: &MetadataImage,
    broker: BrokerId,
    leaving: Option<BrokerId>,
) -> bool {
    if cfg!(feature = "bug-controller-elect-fenced") {
        return image.broker(broker).is_some();
    }
    Some(broker) != leaving && image.is_active_broker(broker)
}

/// The leader and ISR `state` should have once `leaving` (if any) can no longer lead or be in
/// the ISR (KIP-631's PartitionChangeBuilder, without eligible leader replicas).
///
/// The ISR loses `leaving`, but never its last member: with nobody else in sync, the last
/// member is the only replica known to hold every committed record. The current leader stays
/// when it may; otherwise the first acceptable ISR member in replica order leads, so the
/// preferred replica wins when it can. With no such member and `unclean_allowed`, the first
/// acceptable replica outside the ISR leads alone (ISR = `[leader]`); otherwise nobody does.
pub(super) fn elect(
    image: &MetadataImage,
    state: &PartitionState,
    leaving: Option<BrokerId>,
    unclean_allowed: bool,
) -> Target {
    let mut isr: Vec<BrokerId> = state
        .isr
        .iter()
        .copied()
        .filter(|b| Some(*b) != leaving)
        .collect();
    if isr.is_empty() {
        isr = state.isr.clone();
    }
    let keeps = |b: BrokerId| isr.contains(&b) && acceptable_leader(image, b, leaving);
    if state.leader != NO_LEADER && keeps(state.leader) {
        let leader = state.leader;
        return Target {
            isr,
            leader,
            unclean: false,
        };
    }
    if let Some(leader) = state.replicas.iter().copied().find(|b| keeps(*b)) {
        return Target {
            isr,
            leader,
            unclean: false,
        };
    }
    if unclean_allowed {
        let mut replicas = state.replicas.iter().copied();
        if let Some(leader) = replicas.find(|b| acceptable_leader(image, *b, leaving)) {
            return Target {
                isr: vec![leader],
                leader,
                unclean: true,
            };
        }
    }
    Target {
        isr,
        leader: NO_LEADER,
        unclean: false,
    }
}

/// The record moving `state` to `target`, or `None` when nothing changes (or an epoch would
/// overflow, which leaves the partition as it is rather than reuse an epoch).
pub(super) fn change_record(
    topic_id: Uuid,
    partition: i32,
    state: &PartitionState,
    target: Target,
) -> Option<PartitionChange> {
    let leader_changed = target.leader != state.leader;
    let leader_recovery = if target.unclean {
        LeaderRecoveryState::Recovering
    } else if leader_changed {
        LeaderRecoveryState::Recovered
    } else {
        state.leader_recovery
    };
    if !leader_changed && target.isr == state.isr && leader_recovery == state.leader_recovery {
        return None;
    }
    let leader_epoch = state.leader_epoch.checked_add(i32::from(leader_changed))?;
    let partition_epoch = state.partition_epoch.checked_add(1)?;
    Some(PartitionChange {
        topic_id,
        partition,
        isr: target.isr,
        leader: target.leader,
        leader_epoch,
        partition_epoch,
        leader_recovery,
        unclean: target.unclean,
    })
}

impl QuorumController {
    /// `unclean.leader.election.enable` for a topic: its own setting, else the cluster's.
    pub(super) fn unclean_allowed(&self, topic_id: Uuid) -> bool {
        self.working
            .topic(topic_id)
            .and_then(|t| t.unclean_leader_election_enable)
            .unwrap_or(self.config.unclean_leader_election_enable)
    }

    /// Proposes the changes that take `broker_id` out of every ISR it is in (keeping last
    /// members) and move its leaderships away.
    pub(super) fn move_away_from(&mut self, out: &mut Vec<MetadataRecord>, broker_id: BrokerId) {
        let affected: Vec<(Uuid, i32)> = self
            .working
            .partitions()
            .filter(|(_, _, s)| s.leader == broker_id || s.isr.contains(&broker_id))
            .map(|(topic_id, index, _)| (topic_id, index))
            .collect();
        for (topic_id, index) in affected {
            let unclean = self.unclean_allowed(topic_id);
            let Some(state) = self.working.partition(topic_id, index) else {
                continue;
            };
            let target = elect(&self.working, state, Some(broker_id), unclean);
            if let Some(change) = change_record(topic_id, index, state, target) {
                self.propose(out, MetadataRecord::PartitionChange(change));
            }
        }
    }

    /// Fences `broker_id`: first its leaderships and ISR memberships move, then the fence
    /// record, so that no applied prefix of the batch has a fenced leader.
    pub(super) fn fence_broker(&mut self, out: &mut Vec<MetadataRecord>, broker_id: BrokerId) {
        let Some(broker) = self.working.broker(broker_id) else {
            return;
        };
        if broker.fenced {
            return;
        }
        let broker_epoch = broker.broker_epoch;
        self.move_away_from(out, broker_id);
        self.propose(
            out,
            MetadataRecord::FenceBroker {
                broker_id,
                broker_epoch,
            },
        );
        assert!(self.working.broker(broker_id).is_some_and(|b| b.fenced));
    }

    /// Elects a leader for up to `budget` leaderless partitions that can have one now.
    pub(super) fn elect_leaderless(&mut self, out: &mut Vec<MetadataRecord>, budget: usize) {
        let leaderless: Vec<(Uuid, i32)> = self
            .working
            .partitions()
            .filter(|(_, _, s)| s.leader == NO_LEADER)
            .map(|(topic_id, index, _)| (topic_id, index))
            .collect();
        let mut changes = 0;
        for (topic_id, index) in leaderless {
            if changes >= budget {
                break;
            }
            let unclean = self.unclean_allowed(topic_id);
            let Some(state) = self.working.partition(topic_id, index) else {
                continue;
            };
            let target = elect(&self.working, state, None, unclean);
            if target.leader == NO_LEADER {
                continue;
            }
            if let Some(change) = change_record(topic_id, index, state, target) {
                self.propose(out, MetadataRecord::PartitionChange(change));
                changes += 1;
            }
        }
    }
}
