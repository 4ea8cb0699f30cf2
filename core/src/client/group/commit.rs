//! Offsets: commits (OffsetCommit: automatic, explicit, before revocation and on close) and the
//! committed offsets new partitions start from (OffsetFetch). Reference: the Java client's
//! `ConsumerCoordinator` (`OffsetCommitResponseHandler`, `OffsetFetchResponseHandler`).

use std::collections::{BTreeSet, VecDeque};

use super::{
    CommitReason, CommitResult, CommittedOffset, GroupConsumer, GroupConsumerOutput, GroupError,
    Kind, Phase,
};
use crate::api::{
    ErrorCode, FetchedOffset, GroupRequest, GroupResponse, OffsetCommitPartition,
    OffsetCommitRequest, OffsetFetchGroup, OffsetFetchRequest, Request, TopicPartition,
};
use crate::client::Disconnected;
use crate::controller::BrokerId;
use crate::time::{Duration, Instant};

/// A commit waiting to go out, or in flight.
#[derive(Clone, Debug)]
struct PendingCommit {
    token: u64,
    reason: CommitReason,
    offsets: Vec<OffsetCommitPartition>,
    /// Retriable failures are retried until `deadline` (if `retry`); without a coordinator it
    /// waits for one until then.
    deadline: Instant,
    retry: bool,
    /// The earliest it may go out (a backoff after a retriable failure).
    not_before: Instant,
    /// The generation it was sent in, once sent.
    generation_id: i32,
}

impl PendingCommit {
    fn blocks_rejoin(&self) -> bool {
        matches!(self.reason, CommitReason::Revocation | CommitReason::Close)
    }
}

/// Commits in order: one in flight at a time, so the coordinator sees them in the order made.
#[derive(Clone, Debug, Default)]
pub(super) struct Commits {
    queue: VecDeque<PendingCommit>,
    in_flight: Option<(u64, PendingCommit)>,
    next_token: u64,
}

impl Commits {
    /// Whether a revocation or close commit is still unanswered.
    pub(super) fn blocking(&self) -> bool {
        let in_flight = self.in_flight.iter().map(|(_, c)| c);
        self.queue
            .iter()
            .chain(in_flight)
            .any(PendingCommit::blocks_rejoin)
    }

    /// Whether any commit is unanswered.
    pub(super) fn pending(&self) -> bool {
        !self.queue.is_empty() || self.in_flight.is_some()
    }

    /// The OffsetCommit in flight.
    pub(super) fn in_flight(&self) -> Option<u64> {
        self.in_flight.as_ref().map(|(id, _)| *id)
    }
}

/// Newly assigned partitions waiting for their committed offsets.
#[derive(Clone, Debug, Default)]
pub(super) struct CommittedFetch {
    awaiting: BTreeSet<TopicPartition>,
    /// The OffsetFetch in flight and the partitions it asks for.
    in_flight: Option<(u64, Vec<TopicPartition>)>,
    not_before: Instant,
}

impl CommittedFetch {
    pub(super) fn wait_for(&mut self, partitions: &[TopicPartition]) {
        self.awaiting.extend(partitions.iter().cloned());
    }

    /// `partitions` were revoked or lost: they wait for nothing any more.
    pub(super) fn forget(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            self.awaiting.remove(tp);
        }
    }

    pub(super) fn awaiting(&self) -> impl Iterator<Item = &TopicPartition> {
        self.awaiting.iter()
    }

    /// The OffsetFetch in flight.
    pub(super) fn in_flight(&self) -> Option<u64> {
        self.in_flight.as_ref().map(|(id, _)| *id)
    }
}

/// Errors after which the same commit may succeed if sent again.
fn retriable(error: ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::RequestTimedOut
            | ErrorCode::UnknownTopicOrPartition
    )
}

impl GroupConsumer {
    /// Queues a commit and returns its token. An auto-commit replaces one still queued (the
    /// newer positions cover it); an empty commit is answered at once.
    pub(super) fn enqueue_commit(
        &mut self,
        now: Instant,
        reason: CommitReason,
        offsets: Vec<OffsetCommitPartition>,
        retry_until: Option<Instant>,
    ) -> u64 {
        if reason == CommitReason::Auto {
            if let Some(queued) = self.commits.queue.iter_mut().find(|c| c.reason == reason) {
                queued.offsets = offsets;
                return queued.token;
            }
        }
        let token = self.commits.next_token;
        self.commits.next_token += 1;
        if offsets.is_empty() {
            let partitions = Vec::new();
            let result = CommitResult {
                token,
                reason,
                partitions,
            };
            self.outputs
                .push_back(GroupConsumerOutput::Committed(result));
            return token;
        }
        // An auto-commit is not retried and waits for a coordinator one interval at most.
        let interval = Duration::from_millis(self.config.auto_commit_interval_ms);
        self.commits.queue.push_back(PendingCommit {
            token,
            reason,
            offsets,
            deadline: retry_until.unwrap_or(now + interval),
            retry: retry_until.is_some(),
            not_before: now,
            generation_id: -1,
        });
        token
    }

    /// Fails every commit not yet sent with `error`.
    pub(super) fn fail_queued_commits(&mut self, error: ErrorCode) {
        while let Some(commit) = self.commits.queue.pop_front() {
            let errors = vec![error; commit.offsets.len()];
            self.commit_finished(commit, errors);
        }
    }

    fn commit_finished(&mut self, commit: PendingCommit, errors: Vec<ErrorCode>) {
        assert_eq!(errors.len(), commit.offsets.len());
        let partitions = commit
            .offsets
            .into_iter()
            .zip(errors)
            .map(|(offset, error)| CommittedOffset {
                partition: offset.partition,
                offset: offset.offset,
                leader_epoch: offset.leader_epoch,
                error,
            })
            .collect();
        let result = CommitResult {
            token: commit.token,
            reason: commit.reason,
            partitions,
        };
        self.outputs
            .push_back(GroupConsumerOutput::Committed(result));
    }

    pub(super) fn auto_commit_due_at(&self) -> Option<Instant> {
        let stable = self.phase == Phase::Stable && self.config.enable_auto_commit;
        self.next_auto_commit.filter(|_| stable)
    }

    /// Every `auto.commit.interval.ms` while stable, the consumed positions.
    pub(super) fn auto_commit_if_due(&mut self, now: Instant) {
        let Some(at) = self.auto_commit_due_at() else {
            return;
        };
        if at > now {
            return;
        }
        let interval = Duration::from_millis(self.config.auto_commit_interval_ms);
        self.next_auto_commit = Some(now + interval);
        let offsets = self.consumed_offsets(&self.consumer.assignment());
        if !offsets.is_empty() {
            self.enqueue_commit(now, CommitReason::Auto, offsets, None);
        }
    }

    /// Why the front commit cannot be sent at all, if it cannot: the member has no
    /// generation, or is in the middle of a rebalance (the Java client's `generationIfStable`).
    fn commit_refusal(&self) -> Option<ErrorCode> {
        if self.member.generation_id < 0 || self.member.member_id.is_empty() {
            return Some(ErrorCode::IllegalGeneration);
        }
        match self.phase {
            Phase::Stable | Phase::Revoking | Phase::Closing => None,
            _ => Some(ErrorCode::RebalanceInProgress),
        }
    }

    pub(super) fn commit_due_at(&self) -> Option<Instant> {
        if self.commits.in_flight.is_some() {
            return None;
        }
        let front = self.commits.queue.front()?;
        if self.commit_refusal().is_some() {
            return Some(front.not_before);
        }
        match self.coordinator.node {
            Some(_) => Some(front.not_before),
            None => Some(front.deadline),
        }
    }

    pub(super) fn send_commit_if_due(&mut self, now: Instant) {
        while self.commit_due_at().is_some_and(|at| at <= now) {
            let mut commit = self.commits.queue.pop_front().expect("due");
            if let Some(error) = self.commit_refusal() {
                let errors = vec![error; commit.offsets.len()];
                self.commit_finished(commit, errors);
                continue;
            }
            let Some(to) = self.coordinator.node else {
                let errors = vec![ErrorCode::CoordinatorNotAvailable; commit.offsets.len()];
                self.commit_finished(commit, errors);
                continue;
            };
            commit.generation_id = self.member.generation_id;
            let request = Request::Group(GroupRequest::OffsetCommit(OffsetCommitRequest {
                group_id: self.config.group_id.clone(),
                generation_id: commit.generation_id,
                member_id: self.member.member_id.clone(),
                group_instance_id: self.config.group_instance_id.clone(),
                partitions: commit.offsets.clone(),
            }));
            let deadline = self.request_deadline(now);
            let id = self.send(deadline, Kind::Commit, to, request);
            self.commits.in_flight = Some((id, commit));
        }
    }

    /// Reference: `OffsetCommitResponseHandler`: coordinator errors rediscover it and are
    /// retried (for commits that retry); REBALANCE_IN_PROGRESS makes a stable member rejoin;
    /// UNKNOWN_MEMBER_ID and ILLEGAL_GENERATION for the current generation reset it;
    /// FENCED_INSTANCE_ID is fatal.
    pub(super) fn commit_answered(
        &mut self,
        now: Instant,
        id: u64,
        to: BrokerId,
        response: Result<&GroupResponse, Disconnected>,
    ) {
        let Some((in_flight, _)) = &self.commits.in_flight else {
            return;
        };
        if *in_flight != id {
            return;
        }
        let (_, mut commit) = self.commits.in_flight.take().expect("checked");
        let errors: Vec<ErrorCode> = match response {
            Ok(GroupResponse::OffsetCommit(answer)) => commit
                .offsets
                .iter()
                .map(|asked| {
                    let found = answer
                        .partitions
                        .iter()
                        .find(|(tp, _)| *tp == asked.partition);
                    found.map_or(ErrorCode::UnknownServerError, |(_, error)| *error)
                })
                .collect(),
            _ => vec![ErrorCode::RequestTimedOut; commit.offsets.len()],
        };
        let failed: BTreeSet<ErrorCode> = errors
            .iter()
            .copied()
            .filter(|e| *e != ErrorCode::None)
            .collect();
        let retry = commit.retry
            && now < commit.deadline
            && !failed.is_empty()
            && failed.iter().all(|e| retriable(*e));
        let generation_id = commit.generation_id;
        if retry {
            commit.not_before = now + self.backoff();
            self.commits.queue.push_front(commit);
        } else {
            self.commit_finished(commit, errors);
        }
        for error in failed {
            self.commit_error(now, to, generation_id, error);
        }
    }

    /// What a commit's error says about the member.
    fn commit_error(&mut self, now: Instant, to: BrokerId, generation_id: i32, error: ErrorCode) {
        let current = generation_id == self.member.generation_id;
        match error {
            ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::RequestTimedOut => self.coordinator_lost(now, to),
            ErrorCode::RebalanceInProgress if self.phase == Phase::Stable => {
                self.rejoin_wanted = true;
            }
            ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration if current => {
                let reset_member_id = error == ErrorCode::UnknownMemberId;
                self.reset_generation(now, reset_member_id);
            }
            ErrorCode::FencedInstanceId => self.fail(now, GroupError::FencedInstanceId),
            _ => {}
        }
    }

    pub(super) fn committed_fetch_due_at(&self) -> Option<Instant> {
        let active = !matches!(
            self.phase,
            Phase::Unsubscribed
                | Phase::Closing
                | Phase::AwaitingLeave { .. }
                | Phase::Closed
                | Phase::Failed
        );
        let fetch = &self.committed_fetch;
        let ready = active
            && !fetch.awaiting.is_empty()
            && fetch.in_flight.is_none()
            && self.coordinator.node.is_some();
        ready.then_some(fetch.not_before)
    }

    /// Asks the coordinator for the committed offsets of the partitions waiting for them.
    pub(super) fn send_committed_fetch_if_due(&mut self, now: Instant) {
        if self.committed_fetch_due_at().is_none_or(|at| at > now) {
            return;
        }
        let to = self.coordinator.node.expect("due only with a coordinator");
        let partitions: Vec<TopicPartition> =
            self.committed_fetch.awaiting.iter().cloned().collect();
        let request = Request::Group(GroupRequest::OffsetFetch(OffsetFetchRequest {
            groups: vec![OffsetFetchGroup {
                group_id: self.config.group_id.clone(),
                partitions: Some(partitions.clone()),
            }],
            require_stable: false,
        }));
        let deadline = self.request_deadline(now);
        let id = self.send(deadline, Kind::OffsetFetch, to, request);
        self.committed_fetch.in_flight = Some((id, partitions));
    }

    /// Starts each partition asked for at its committed offset, or by `auto.offset.reset`
    /// when it has none; errors are retried after the backoff.
    pub(super) fn committed_fetch_answered(
        &mut self,
        now: Instant,
        id: u64,
        to: BrokerId,
        response: Result<&GroupResponse, Disconnected>,
    ) {
        let Some((in_flight, _)) = &self.committed_fetch.in_flight else {
            return;
        };
        if *in_flight != id {
            return;
        }
        let (_, asked) = self.committed_fetch.in_flight.take().expect("checked");
        let retry_at = now + self.backoff();
        let group = match response {
            // An answer before v8 names no group: its one group is the one asked for.
            Ok(GroupResponse::OffsetFetch(answer)) => answer.groups.iter().find(|g| {
                g.group_id == self.config.group_id
                    || (g.group_id.is_empty() && answer.groups.len() == 1)
            }),
            _ => None,
        };
        let Some(group) = group else {
            self.committed_fetch.not_before = retry_at;
            return;
        };
        match group.error {
            ErrorCode::None => {}
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                self.coordinator_lost(now, to);
                self.committed_fetch.not_before = retry_at;
                return;
            }
            ErrorCode::CoordinatorLoadInProgress => {
                self.committed_fetch.not_before = retry_at;
                return;
            }
            error => {
                let api = "OffsetFetch";
                let error = GroupError::Broker { api, error };
                self.outputs.push_back(GroupConsumerOutput::Error(error));
                self.committed_fetch.not_before = retry_at;
                return;
            }
        }
        let mut again = false;
        for tp in asked {
            // A partition revoked meanwhile waits for nothing.
            if self.committed_fetch.awaiting.contains(&tp) {
                let found = group.partitions.iter().find(|p| p.partition == tp);
                again |= !self.committed_offset_found(tp, found);
            }
        }
        if again {
            self.committed_fetch.not_before = retry_at;
        }
    }

    /// Positions `partition` from what OffsetFetch said of it; false if it must be asked
    /// again (no answer for it, or an error: UNSTABLE_OFFSET_COMMIT quietly, others reported).
    fn committed_offset_found(
        &mut self,
        partition: TopicPartition,
        found: Option<&FetchedOffset>,
    ) -> bool {
        let Some(found) = found else {
            return false;
        };
        if found.error != ErrorCode::None {
            if found.error != ErrorCode::UnstableOffsetCommit {
                let error = found.error;
                let error = GroupError::CommittedOffset { partition, error };
                self.outputs.push_back(GroupConsumerOutput::Error(error));
            }
            return false;
        }
        self.committed_fetch.awaiting.remove(&partition);
        if found.offset >= 0 {
            let leader_epoch = (found.leader_epoch >= 0).then_some(found.leader_epoch);
            self.consumer
                .seek_committed(&partition, found.offset, leader_epoch);
            self.outputs.push_back(GroupConsumerOutput::Resumed {
                partition,
                offset: found.offset,
                leader_epoch,
            });
        } else {
            self.consumer.reset_unpositioned(&partition);
        }
        true
    }
}
