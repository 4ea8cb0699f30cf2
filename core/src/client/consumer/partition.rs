//! Each assigned partition's state (the Java consumer's fetch states), and the consumer's
//! bookkeeping around it.

use std::collections::BTreeMap;

use super::{Consumer, ConsumerError, ConsumerOutput, OffsetResetPolicy, Purpose, ResetReason};
use crate::api::{ErrorCode, TopicPartition};
use crate::time::{Duration, Instant};

/// Where a partition will be read from next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Position {
    pub(super) offset: i64,
    /// The leader epoch of the last record consumed (or the one the position came with), which
    /// validation checks against the leader's log. `None` after a plain seek.
    pub(super) last_epoch: Option<i32>,
}

/// What a partition is waiting for (the Java consumer's fetch states).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    AwaitingReset(ResetReason),
    /// Checking the position with OffsetForLeaderEpoch. `out_of_range` when a fetch said so:
    /// if the log was not truncated, the position is below the log start and is reset.
    AwaitingValidation {
        position: Position,
        out_of_range: bool,
    },
    Fetching(Position),
    AwaitingSeek,
}

#[derive(Clone, Debug)]
pub(super) struct Assigned {
    pub(super) phase: Phase,
    /// The leader epoch the position was last known good under; a newer one in metadata is a
    /// leader change, after which the position is validated.
    pub(super) leader_epoch: Option<i32>,
    /// The request working on this partition. Any phase change clears it, so an answer to an
    /// older request is recognised and dropped.
    pub(super) pending: Option<u64>,
    pub(super) backoff_until: Option<Instant>,
}

impl Assigned {
    pub(super) fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.pending = None;
    }
}

/// The request a partition needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Action {
    Fetch,
    Reset,
    Validate,
}

impl Consumer {
    /// A leader epoch newer than the one a position was known good under means a leader
    /// change: the position is validated before the next fetch (KIP-320).
    pub(super) fn notice_leader_changes(&mut self) {
        for (tp, state) in &mut self.assigned {
            let Some(info) = self.metadata.partition(tp) else {
                continue;
            };
            let changed = state
                .leader_epoch
                .is_some_and(|epoch| info.leader_epoch > epoch);
            if changed {
                if let Phase::Fetching(position) = state.phase {
                    if position.last_epoch.is_some() {
                        let out_of_range = false;
                        state.enter(Phase::AwaitingValidation {
                            position,
                            out_of_range,
                        });
                    }
                }
            }
            if state
                .leader_epoch
                .is_none_or(|epoch| info.leader_epoch > epoch)
            {
                state.leader_epoch = Some(info.leader_epoch);
            }
        }
    }

    /// Marks request `id` as working on `partitions` and returns each one's leader epoch.
    pub(super) fn start_partitions(
        &mut self,
        id: u64,
        partitions: &[TopicPartition],
    ) -> Vec<Option<i32>> {
        let mut epochs = Vec::with_capacity(partitions.len());
        for tp in partitions {
            let state = self
                .assigned
                .get_mut(tp)
                .expect("only assigned partitions are due");
            assert!(state.pending.is_none());
            state.pending = Some(id);
            epochs.push(self.metadata.leader(tp).map(|(_, epoch)| epoch));
        }
        epochs
    }

    /// The partitions request `id` was working on, which it no longer is.
    pub(super) fn finish_partitions(&mut self, id: u64) -> Vec<TopicPartition> {
        let mut finished = Vec::new();
        for (tp, state) in &mut self.assigned {
            if state.pending == Some(id) {
                state.pending = None;
                finished.push(tp.clone());
            }
        }
        finished
    }

    /// Backs `partition` off after `error` (`None` for no answer). Stale-metadata errors and
    /// lost answers refresh metadata; errors the consumer does not expect are reported.
    pub(super) fn retry_later(
        &mut self,
        now: Instant,
        partition: &TopicPartition,
        error: Option<ErrorCode>,
    ) {
        let backoff = Duration::from_millis(self.config.retry_backoff_ms);
        let state = self.assigned.get_mut(partition).expect("assigned");
        state.backoff_until = Some(now + backoff);
        match error {
            None => self.metadata.request_refresh(),
            Some(code) if code.is_retriable() => self.metadata.request_refresh(),
            Some(code) => self.report(partition, ConsumerError::Broker(code)),
        }
    }

    /// The position at `offset` is lost: reset it by policy, or report and wait for a seek.
    pub(super) fn reset(&mut self, partition: &TopicPartition, offset: i64, reason: ResetReason) {
        let phase = if self.config.auto_offset_reset == OffsetResetPolicy::None {
            self.report(partition, ConsumerError::NoResetPolicy { offset, reason });
            Phase::AwaitingSeek
        } else {
            Phase::AwaitingReset(reason)
        };
        self.assigned
            .get_mut(partition)
            .expect("assigned")
            .enter(phase);
    }

    pub(super) fn report(&mut self, partition: &TopicPartition, error: ConsumerError) {
        let partition = partition.clone();
        self.outputs
            .push_back(ConsumerOutput::Error { partition, error });
    }

    pub(super) fn check_invariants(&self) {
        let outstanding: BTreeMap<u64, Purpose> =
            self.requests.purposes().map(|(id, p)| (id, *p)).collect();
        for state in self.assigned.values() {
            if let Some(id) = state.pending {
                assert!(
                    outstanding.contains_key(&id),
                    "pending on a finished request"
                );
            }
            assert!(state.phase != Phase::AwaitingSeek || state.pending.is_none());
            if let Phase::Fetching(position) = state.phase {
                assert!(position.offset >= 0, "a position is never negative");
            }
        }
        for broker in &self.fetching {
            assert!(outstanding.values().any(|p| *p == Purpose::Fetch(*broker)));
        }
    }
}

/// The request `state` needs next and from when, or `None` while it waits on a request or a
/// seek.
pub(super) fn action(state: &Assigned) -> Option<(Action, Instant)> {
    if state.pending.is_some() {
        return None;
    }
    let action = match state.phase {
        Phase::Fetching(_) => Action::Fetch,
        Phase::AwaitingReset(_) => Action::Reset,
        Phase::AwaitingValidation { .. } => Action::Validate,
        Phase::AwaitingSeek => return None,
    };
    Some((action, state.backoff_until.unwrap_or(Instant::ZERO)))
}
