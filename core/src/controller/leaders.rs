//! ElectLeaders (preferred and unclean, KIP-460) and automatic leader rebalancing
//! (`auto.leader.rebalance.enable`, `leader.imbalance.per.broker.percentage`).

use std::collections::BTreeMap;

use super::controller::QuorumController;
use super::election::{acceptable_leader, change_record, elect, Target};
use super::error::ControllerError;
use super::record::{BrokerId, MetadataRecord, Uuid, NO_LEADER};
use super::requests::{ControllerResult, ElectionResult, ElectionType, TopicPartition};

impl QuorumController {
    /// ElectLeaders for the named partitions, or for every partition when `partitions` is
    /// `None`. Preferred: move leadership to the first replica when it is live and in the ISR.
    /// Unclean: give a leaderless partition a leader, from outside the ISR if need be,
    /// whatever `unclean.leader.election.enable` says (an operator asked for it).
    pub fn elect_leaders(
        &mut self,
        election: ElectionType,
        partitions: Option<&[TopicPartition]>,
    ) -> ControllerResult<Vec<ElectionResult>> {
        let names: Vec<TopicPartition> = match partitions {
            Some(list) => list.to_vec(),
            None => self.all_partition_names(),
        };
        let mut out = Vec::new();
        let mut response = Vec::with_capacity(names.len());
        for name in names {
            let result = self.check_room().and_then(|()| {
                let topic_id = self.working.topic_id(&name.topic);
                let topic_id = topic_id.ok_or(ControllerError::UnknownTopicOrPartition)?;
                match election {
                    ElectionType::Preferred => {
                        self.elect_preferred(&mut out, topic_id, name.partition)
                    }
                    ElectionType::Unclean => self.elect_unclean(&mut out, topic_id, name.partition),
                }
            });
            response.push((name, result));
        }
        ControllerResult {
            records: out,
            response,
        }
    }

    fn all_partition_names(&self) -> Vec<TopicPartition> {
        let working = &self.working;
        working
            .partitions()
            .map(|(topic_id, partition, _)| TopicPartition {
                topic: working
                    .topic(topic_id)
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                partition,
            })
            .collect()
    }

    /// Makes the preferred replica the leader when it is live and in the ISR.
    pub(super) fn elect_preferred(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        topic_id: Uuid,
        partition: i32,
    ) -> Result<(), ControllerError> {
        let Some(state) = self.working.partition(topic_id, partition) else {
            return Err(ControllerError::UnknownTopicOrPartition);
        };
        let preferred = state.replicas[0];
        if state.leader == preferred {
            return Err(ControllerError::ElectionNotNeeded);
        }
        if !state.isr.contains(&preferred) || !acceptable_leader(&self.working, preferred, None) {
            return Err(ControllerError::PreferredLeaderNotAvailable);
        }
        let target = Target {
            isr: state.isr.clone(),
            elr: state.elr.clone(),
            leader: preferred,
            unclean: false,
        };
        let change = change_record(topic_id, partition, state, target)
            .ok_or(ControllerError::PreferredLeaderNotAvailable)?;
        self.propose(out, MetadataRecord::PartitionChange(change));
        Ok(())
    }

    fn elect_unclean(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        topic_id: Uuid,
        partition: i32,
    ) -> Result<(), ControllerError> {
        let Some(state) = self.working.partition(topic_id, partition) else {
            return Err(ControllerError::UnknownTopicOrPartition);
        };
        if state.leader != NO_LEADER {
            return Err(ControllerError::ElectionNotNeeded);
        }
        let target = elect(&self.working, state, None, true, self.min_isr(topic_id));
        if target.leader == NO_LEADER {
            return Err(ControllerError::EligibleLeadersNotAvailable);
        }
        let change = change_record(topic_id, partition, state, target)
            .ok_or(ControllerError::EligibleLeadersNotAvailable)?;
        self.propose(out, MetadataRecord::PartitionChange(change));
        Ok(())
    }

    /// For each broker whose share of preferred partitions led by someone else is above
    /// `leader.imbalance.per.broker.percentage`, elects it leader of those partitions where
    /// it can lead, up to `budget` changes.
    pub(super) fn rebalance_leaders(&mut self, out: &mut Vec<MetadataRecord>, budget: usize) {
        let percentage = u64::from(self.config.leader_imbalance_per_broker_percentage);
        // Per preferred broker: (partitions it prefers, those it does not lead).
        let mut counts: BTreeMap<BrokerId, (u64, Vec<(Uuid, i32)>)> = BTreeMap::new();
        for (topic_id, partition, state) in self.working.partitions() {
            let entry = counts.entry(state.replicas[0]).or_default();
            entry.0 += 1;
            if state.leader != state.replicas[0] {
                entry.1.push((topic_id, partition));
            }
        }
        assert!(counts.len() <= self.working.limits().partitions_max);
        let mut changes = 0;
        for (preferred, not_led) in counts.into_values() {
            // Integer form of `not_led / preferred > percentage / 100`.
            if (not_led.len() as u64) * 100 <= percentage * preferred {
                continue;
            }
            for (topic_id, partition) in not_led {
                if changes >= budget {
                    return;
                }
                if self.elect_preferred(out, topic_id, partition).is_ok() {
                    changes += 1;
                }
            }
        }
    }
}
