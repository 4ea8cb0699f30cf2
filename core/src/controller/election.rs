//! Choosing partition leaders and ISRs: when a broker is fenced, shuts down or returns, and
//! for leaderless partitions. Everything here computes [`PartitionChange`] records from the
//! working image; [`QuorumController::propose`] applies them to it.

use super::controller::QuorumController;
use super::image::{MetadataImage, PartitionState};
use super::record::{
    BrokerId, LeaderRecoveryState, MetadataRecord, PartitionChange, Uuid, NO_LEADER,
};
use crate::bugs::{self, Bug};

/// The leader, ISR and ELR a partition should have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) isr: Vec<BrokerId>,
    pub(super) elr: Vec<BrokerId>,
    pub(super) leader: BrokerId,
    pub(super) unclean: bool,
}

/// A broker that may no longer lead or be in sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Departure {
    pub(super) broker: BrokerId,
    /// It shut down uncleanly and may have lost records it had acknowledged (KIP-966): it
    /// leaves the ISR even as its last member, and the ELR too.
    pub(super) lost: bool,
}

impl Departure {
    pub(super) fn leaving(broker: BrokerId) -> Option<Departure> {
        Some(Departure {
            broker,
            lost: false,
        })
    }
}

/// Whether `broker` may lead: registered, unfenced, not shutting down, and not `leaving`
/// (the broker about to be fenced or removed).
///
/// The `Bug::ControllerElectFenced` switch accepts fenced and leaving brokers, a planted bug
/// that `check_invariants` must catch.
pub(super) fn acceptable_leader(
    image: &MetadataImage,
    broker: BrokerId,
    leaving: Option<BrokerId>,
) -> bool {
    if bugs::active(Bug::ControllerElectFenced) {
        return image.broker(broker).is_some();
    }
    Some(broker) != leaving && image.is_active_broker(broker)
}

/// The ELR once the ISR goes from `before` to `after` (KIP-966): members that leave while the
/// ISR ends below `min_isr` join it, because the high watermark could not pass them from then
/// on; members in the ISR are never in it; and it empties once the ISR is large enough again.
pub(super) fn next_elr(
    elr: &[BrokerId],
    before: &[BrokerId],
    after: &[BrokerId],
    min_isr: usize,
) -> Vec<BrokerId> {
    if after.len() >= min_isr {
        return Vec::new();
    }
    let mut next: Vec<BrokerId> = elr.iter().copied().filter(|b| !after.contains(b)).collect();
    for left in before.iter().filter(|b| !after.contains(b)) {
        if !next.contains(left) {
            next.push(*left);
        }
    }
    next
}

/// The leader, ISR and ELR `state` should have once `departure` (if any) can no longer lead
/// or be in sync (KIP-631's PartitionChangeBuilder, with KIP-966's eligible leader replicas).
///
/// The ISR loses the departing broker but never its last member, unless that member lost
/// records in an unclean shutdown: with nobody else in sync, the last member is the only
/// replica known to hold every committed record. The current leader stays when it may;
/// otherwise the first acceptable ISR member in replica order leads, so the preferred replica
/// wins when it can; then the first acceptable ELR member, which leads with ISR = `[leader]`
/// while the rest of the old ISR and ELR stay eligible. With none and `unclean_allowed`, the
/// first acceptable replica leads alone and the ELR empties; otherwise nobody leads.
pub(super) fn elect(
    image: &MetadataImage,
    state: &PartitionState,
    departure: Option<Departure>,
    unclean_allowed: bool,
    min_isr: usize,
) -> Target {
    let gone = departure.map(|d| d.broker);
    let lost = departure.is_some_and(|d| d.lost);
    let mut isr: Vec<BrokerId> = state
        .isr
        .iter()
        .copied()
        .filter(|b| Some(*b) != gone)
        .collect();
    if isr.is_empty() && !lost {
        isr = state.isr.clone();
    }
    let mut elr = next_elr(&state.elr, &state.isr, &isr, min_isr);
    if lost {
        elr.retain(|b| Some(*b) != gone);
    }
    let acceptable = |b: BrokerId| acceptable_leader(image, b, gone);
    if state.leader != NO_LEADER && isr.contains(&state.leader) && acceptable(state.leader) {
        let leader = state.leader;
        return Target {
            isr,
            elr,
            leader,
            unclean: false,
        };
    }
    let replicas = || state.replicas.iter().copied();
    if let Some(leader) = replicas().find(|b| isr.contains(b) && acceptable(*b)) {
        return Target {
            isr,
            elr,
            leader,
            unclean: false,
        };
    }
    if let Some(leader) = replicas().find(|b| elr.contains(b) && acceptable(*b)) {
        let before: Vec<BrokerId> = isr.iter().chain(&elr).copied().collect();
        let isr = vec![leader];
        let elr = next_elr(&before, &before, &isr, min_isr);
        return Target {
            isr,
            elr,
            leader,
            unclean: false,
        };
    }
    if unclean_allowed {
        if let Some(leader) = replicas().find(|b| acceptable(*b)) {
            return Target {
                isr: vec![leader],
                elr: Vec::new(),
                leader,
                unclean: true,
            };
        }
    }
    Target {
        isr,
        elr,
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
    let same_sets = target.isr == state.isr && target.elr == state.elr;
    if !leader_changed && same_sets && leader_recovery == state.leader_recovery {
        return None;
    }
    let leader_epoch = state.leader_epoch.checked_add(i32::from(leader_changed))?;
    let partition_epoch = state.partition_epoch.checked_add(1)?;
    Some(PartitionChange {
        topic_id,
        partition,
        isr: target.isr,
        elr: target.elr,
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

    /// `min.insync.replicas` for a topic as the ELR rules use it: its own setting, else the
    /// cluster's.
    pub(super) fn min_isr(&self, topic_id: Uuid) -> usize {
        self.working
            .topic(topic_id)
            .and_then(|t| crate::topic_config::min_insync_replicas(&t.configs))
            .unwrap_or(self.config.min_insync_replicas)
    }

    /// Proposes the changes that take `broker_id` out of every ISR it is in (keeping last
    /// members) and move its leaderships away.
    pub(super) fn move_away_from(&mut self, out: &mut Vec<MetadataRecord>, broker_id: BrokerId) {
        self.depart(out, Departure::leaving(broker_id));
    }

    /// Proposes the changes that take a broker back from an unclean shutdown out of every ISR
    /// and ELR it is in, last members included (KIP-966): it may have lost records it had
    /// acknowledged, so it may neither lead nor count as in sync before it catches up again.
    /// Returns how many partitions it left.
    pub(super) fn exclude_lost(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        broker_id: BrokerId,
    ) -> usize {
        let departure = Departure {
            broker: broker_id,
            lost: true,
        };
        self.depart(out, Some(departure))
    }

    fn depart(&mut self, out: &mut Vec<MetadataRecord>, departure: Option<Departure>) -> usize {
        let Some(Departure {
            broker: broker_id,
            lost,
        }) = departure
        else {
            return 0;
        };
        let affected: Vec<(Uuid, i32)> = self
            .working
            .partitions()
            .filter(|(_, _, s)| {
                s.leader == broker_id
                    || s.isr.contains(&broker_id)
                    || (lost && s.elr.contains(&broker_id))
            })
            .map(|(topic_id, index, _)| (topic_id, index))
            .collect();
        let count = affected.len();
        for (topic_id, index) in affected {
            let unclean = self.unclean_allowed(topic_id);
            let min_isr = self.min_isr(topic_id);
            let Some(state) = self.working.partition(topic_id, index) else {
                continue;
            };
            let target = elect(&self.working, state, departure, unclean, min_isr);
            if let Some(change) = change_record(topic_id, index, state, target) {
                self.propose(out, MetadataRecord::PartitionChange(change));
            }
        }
        count
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
        self.elect_leaderless_in(out, budget, None);
    }

    /// [`QuorumController::elect_leaderless`] for one topic's partitions, or every topic's.
    pub(super) fn elect_leaderless_in(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        budget: usize,
        topic: Option<Uuid>,
    ) {
        let leaderless: Vec<(Uuid, i32)> = self
            .working
            .partitions()
            .filter(|(id, _, s)| s.leader == NO_LEADER && topic.is_none_or(|t| t == *id))
            .map(|(topic_id, index, _)| (topic_id, index))
            .collect();
        let mut changes = 0;
        for (topic_id, index) in leaderless {
            if changes >= budget {
                break;
            }
            let unclean = self.unclean_allowed(topic_id);
            let min_isr = self.min_isr(topic_id);
            let Some(state) = self.working.partition(topic_id, index) else {
                continue;
            };
            let target = elect(&self.working, state, None, unclean, min_isr);
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
