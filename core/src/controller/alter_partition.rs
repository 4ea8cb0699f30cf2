//! AlterPartition (KIP-497): a partition leader asks the controller to shrink or expand its
//! ISR. The controller refuses stale requests by leader and partition epoch, and ISR members
//! that are fenced, shutting down or not registered (KIP-841).

use super::controller::QuorumController;
use super::election::next_elr;
use super::error::ControllerError;
use super::image::{distinct_ids, PartitionState};
use super::record::{LeaderRecoveryState, MetadataRecord, PartitionChange};
use super::requests::{AlterPartitionRequest, ControllerResult, PartitionReply};

impl QuorumController {
    /// AlterPartition for one partition: on success the reply is the partition's state once
    /// the proposed change (if any) commits.
    pub fn alter_partition(
        &mut self,
        request: &AlterPartitionRequest,
    ) -> ControllerResult<Result<PartitionReply, ControllerError>> {
        let mut out = Vec::new();
        let response = self.alter_partition_into(&mut out, request);
        ControllerResult {
            records: out,
            response,
        }
    }

    fn alter_partition_into(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        request: &AlterPartitionRequest,
    ) -> Result<PartitionReply, ControllerError> {
        self.check_room()?;
        self.check_broker_epoch(request.broker_id, request.broker_epoch)?;
        if self.working.topic(request.topic_id).is_none() {
            return Err(ControllerError::UnknownTopicId);
        }
        let Some(state) = self.working.partition(request.topic_id, request.partition) else {
            return Err(ControllerError::UnknownTopicOrPartition);
        };
        self.check_alter_partition(state, request)?;
        let recovery_unchanged = request.leader_recovery == state.leader_recovery;
        let elr = next_elr(
            &state.elr,
            &state.isr,
            &request.new_isr,
            self.min_isr(request.topic_id),
        );
        if request.new_isr == state.isr && elr == state.elr && recovery_unchanged {
            return Ok(reply(state));
        }
        let change = PartitionChange {
            topic_id: request.topic_id,
            partition: request.partition,
            isr: request.new_isr.clone(),
            elr,
            leader: state.leader,
            leader_epoch: state.leader_epoch,
            partition_epoch: state
                .partition_epoch
                .checked_add(1)
                .ok_or(ControllerError::InvalidUpdateVersion)?,
            leader_recovery: request.leader_recovery,
            unclean: false,
        };
        self.propose(out, MetadataRecord::PartitionChange(change));
        let state = self
            .working
            .partition(request.topic_id, request.partition)
            .expect("the change just applied");
        assert_eq!(state.isr, request.new_isr);
        Ok(reply(state))
    }

    /// The checks of KIP-497 and KIP-841, in Kafka's order: epochs first, then the new ISR.
    fn check_alter_partition(
        &self,
        state: &PartitionState,
        request: &AlterPartitionRequest,
    ) -> Result<(), ControllerError> {
        if request.leader_epoch < state.leader_epoch {
            return Err(ControllerError::FencedLeaderEpoch);
        }
        if request.leader_epoch > state.leader_epoch {
            // The leader knows an epoch this controller never made: this controller is stale.
            return Err(ControllerError::NotController);
        }
        if request.broker_id != state.leader {
            return Err(ControllerError::NotLeaderOrFollower);
        }
        if request.partition_epoch != state.partition_epoch {
            return Err(ControllerError::InvalidUpdateVersion);
        }
        let isr = &request.new_isr;
        if isr.is_empty() || !distinct_ids(isr) || !isr.contains(&state.leader) {
            return Err(ControllerError::InvalidRequest);
        }
        for member in isr {
            if !state.replicas.contains(member) || !self.working.is_active_broker(*member) {
                return Err(ControllerError::IneligibleReplica);
            }
        }
        // KIP-704: an uncleanly elected leader keeps ISR = [leader] until it has recovered,
        // and a recovered partition never goes back to recovering.
        let recovering = request.leader_recovery == LeaderRecoveryState::Recovering;
        if recovering && (state.leader_recovery == LeaderRecoveryState::Recovered || isr.len() > 1)
        {
            return Err(ControllerError::InvalidRequest);
        }
        Ok(())
    }
}

fn reply(state: &PartitionState) -> PartitionReply {
    PartitionReply {
        leader: state.leader,
        leader_epoch: state.leader_epoch,
        isr: state.isr.clone(),
        partition_epoch: state.partition_epoch,
        leader_recovery: state.leader_recovery,
    }
}
