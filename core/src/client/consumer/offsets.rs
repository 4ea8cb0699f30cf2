//! Finding a position: `auto.offset.reset` with ListOffsets, and KIP-320 validation with
//! OffsetForLeaderEpoch.

use super::{Consumer, ConsumerOutput, OffsetResetPolicy, Phase, Position, Purpose, ResetReason};
use crate::api::{
    ErrorCode, IsolationLevel, ListOffsetsPartition, ListOffsetsRequest,
    OffsetForLeaderEpochPartition, OffsetForLeaderEpochRequest, Request, Response, TopicPartition,
    CONSUMER_REPLICA_ID, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, UNDEFINED_EPOCH,
};
use crate::client::Disconnected;
use crate::controller::BrokerId;
use crate::time::Instant;

impl Consumer {
    /// Asks leader `to` for the offsets `auto_offset_reset` points at.
    pub(super) fn send_list_offsets(
        &mut self,
        now: Instant,
        to: BrokerId,
        partitions: Vec<TopicPartition>,
    ) {
        let timestamp = match self.config.auto_offset_reset {
            OffsetResetPolicy::Earliest => EARLIEST_TIMESTAMP,
            OffsetResetPolicy::Latest => LATEST_TIMESTAMP,
            OffsetResetPolicy::None => unreachable!("without a policy nothing awaits a reset"),
        };
        let id = self
            .requests
            .start(self.deadline(now), Purpose::ListOffsets);
        let epochs = self.start_partitions(id, &partitions);
        let partitions = partitions.into_iter().zip(epochs);
        let request = Request::ListOffsets(ListOffsetsRequest {
            replica_id: CONSUMER_REPLICA_ID,
            isolation_level: IsolationLevel::ReadUncommitted,
            partitions: partitions
                .map(|(partition, current_leader_epoch)| ListOffsetsPartition {
                    partition,
                    current_leader_epoch,
                    timestamp,
                })
                .collect(),
        });
        self.outputs
            .push_back(ConsumerOutput::Request { to, id, request });
    }

    pub(super) fn reset_answered(
        &mut self,
        now: Instant,
        id: u64,
        response: Result<&Response, Disconnected>,
    ) {
        let answers = match response {
            Ok(Response::ListOffsets(list)) => &list.partitions[..],
            _ => &[],
        };
        for tp in self.finish_partitions(id) {
            let Phase::AwaitingReset(reason) = self.assigned[&tp].phase else {
                unreachable!("a phase change clears the pending request");
            };
            let Some(answer) = answers.iter().find(|answer| answer.partition == tp) else {
                self.retry_later(now, &tp, None);
                continue;
            };
            if answer.error != ErrorCode::None {
                self.retry_later(now, &tp, Some(answer.error));
                continue;
            }
            if answer.offset < 0 {
                self.retry_later(now, &tp, Some(ErrorCode::UnknownServerError));
                continue;
            }
            let last_epoch = (answer.leader_epoch >= 0).then_some(answer.leader_epoch);
            let position = Position {
                offset: answer.offset,
                last_epoch,
            };
            self.assigned
                .get_mut(&tp)
                .expect("assigned")
                .enter(Phase::Fetching(position));
            let (partition, offset) = (tp, answer.offset);
            self.outputs.push_back(ConsumerOutput::Reset {
                partition,
                offset,
                reason,
            });
        }
    }

    /// Asks leader `to` where each position's last epoch ends in its log.
    pub(super) fn send_validation(
        &mut self,
        now: Instant,
        to: BrokerId,
        partitions: Vec<TopicPartition>,
    ) {
        let id = self.requests.start(self.deadline(now), Purpose::Validate);
        let epochs = self.start_partitions(id, &partitions);
        let mut asked = Vec::with_capacity(partitions.len());
        for (partition, current_leader_epoch) in partitions.into_iter().zip(epochs) {
            let Phase::AwaitingValidation { position, .. } = self.assigned[&partition].phase else {
                unreachable!("only partitions awaiting validation are validated");
            };
            let leader_epoch = position
                .last_epoch
                .expect("validated positions have an epoch");
            asked.push(OffsetForLeaderEpochPartition {
                partition,
                current_leader_epoch,
                leader_epoch,
            });
        }
        let request = Request::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest {
            replica_id: CONSUMER_REPLICA_ID,
            partitions: asked,
        });
        self.outputs
            .push_back(ConsumerOutput::Request { to, id, request });
    }

    /// Judges each position against the leader's end offset for its epoch, as the Java
    /// consumer's `maybeCompleteValidation`: below the position means the log was truncated
    /// under it, and consumption continues from where the logs diverge.
    pub(super) fn validation_answered(
        &mut self,
        now: Instant,
        id: u64,
        response: Result<&Response, Disconnected>,
    ) {
        let answers = match response {
            Ok(Response::OffsetForLeaderEpoch(epochs)) => &epochs.partitions[..],
            _ => &[],
        };
        for tp in self.finish_partitions(id) {
            let Phase::AwaitingValidation {
                position,
                out_of_range,
            } = self.assigned[&tp].phase
            else {
                unreachable!("a phase change clears the pending request");
            };
            let Some(answer) = answers.iter().find(|answer| answer.partition == tp) else {
                self.retry_later(now, &tp, None);
                continue;
            };
            if answer.error != ErrorCode::None {
                self.retry_later(now, &tp, Some(answer.error));
                continue;
            }
            let offset = position.offset;
            // A negative end offset other than UNDEFINED_EPOCH_OFFSET is as unusable as it.
            if answer.leader_epoch == UNDEFINED_EPOCH || answer.end_offset < 0 {
                self.reset(&tp, offset, ResetReason::UndefinedEpoch);
            } else if answer.end_offset < offset {
                let new_offset = answer.end_offset;
                let last_epoch = Some(answer.leader_epoch);
                let diverged = Position {
                    offset: new_offset,
                    last_epoch,
                };
                self.assigned
                    .get_mut(&tp)
                    .expect("assigned")
                    .enter(Phase::Fetching(diverged));
                let partition = tp;
                let truncated = ConsumerOutput::Truncated {
                    partition,
                    position: offset,
                    new_offset,
                };
                self.outputs.push_back(truncated);
            } else if out_of_range {
                self.reset(&tp, offset, ResetReason::OffsetOutOfRange);
            } else {
                self.assigned
                    .get_mut(&tp)
                    .expect("assigned")
                    .enter(Phase::Fetching(position));
            }
        }
    }
}
