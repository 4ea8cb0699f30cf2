//! A consumer-group member of Kafka's classic protocol (`group.id`), as a sans-IO state machine
//! driving a [`Consumer`]'s fetching.
//!
//! The member finds its coordinator (FindCoordinator), joins (JoinGroup, with KIP-394's
//! MEMBER_ID_REQUIRED two-step), lets the leader compute the assignment with the chosen
//! assignor (SyncGroup), heartbeats, starts new partitions at the group's committed offsets
//! (OffsetFetch) or by `auto.offset.reset`, commits (OffsetCommit) automatically, explicitly,
//! before giving up partitions and on close, and leaves (LeaveGroup). Its decisions follow the
//! Java client's `AbstractCoordinator` and `ConsumerCoordinator`; the modules say where.
//!
//! # Membership phases
//!
//! ```text
//! Unsubscribed ─subscribe─► Unjoined ─► AwaitingJoin ─► (leader: AwaitingMetadata) ─► AwaitingSync ─► Stable
//!                              ▲                                                                       │
//!                              └──────────── Revoking (commit of revoked partitions) ◄── rejoin ───────┘
//! any ─close─► Closing (close commit) ─► AwaitingLeave ─► Closed;   any ─fatal─► Failed
//! ```

mod commit;
mod coordinator;
mod join;
mod output;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::assignor::{rebalance_protocol, Assignor, GroupMember, RebalanceProtocol};
use super::requests::Outstanding;
use super::{Consumer, ConsumerConfig, ConsumerOutput, Disconnected};
use crate::api::{ErrorCode, OffsetCommitPartition, Request, Response, TopicPartition};
use crate::controller::BrokerId;
use crate::time::{Duration, Instant};
use commit::{Commits, CommittedFetch};
use coordinator::{CoordinatorState, HeartbeatState};
pub use output::{CommitReason, CommitResult, CommittedOffset, GroupConsumerOutput, GroupError};

/// The first id of the member's own requests. Its fetching consumer numbers from 0, so the
/// two never meet and an answer finds its way by its id alone.
const GROUP_REQUEST_ID_FIRST: u64 = 1 << 62;

/// How much longer than the rebalance timeout a JoinGroup may take to be answered (the Java
/// client's `JOIN_GROUP_TIMEOUT_LAPSE`).
const JOIN_TIMEOUT_LAPSE_MS: u64 = 5_000;

/// The group member's settings, named after Kafka's consumer configs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupConsumerConfig {
    /// The fetching consumer's settings (`auto.offset.reset`, `request.timeout.ms`,
    /// `retry.backoff.ms`, …); the backoff also spaces group retries.
    pub consumer: ConsumerConfig,
    /// `group.id`.
    pub group_id: String,
    /// `group.instance.id`: a static member (KIP-345) keeps its partitions across restarts
    /// within the session timeout and never sends LeaveGroup.
    pub group_instance_id: Option<String>,
    /// `client.id`, sent in JoinGroup.
    pub client_id: String,
    /// `client.rack`, sent in the subscription (v3).
    pub client_rack: Option<String>,
    /// `partition.assignment.strategy`, in order of preference.
    pub partition_assignment_strategy: Vec<Assignor>,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms`, sent as the rebalance timeout. A sans-IO member has no `poll`
    /// to time, so it bounds only how long a revocation commit is retried.
    pub max_poll_interval_ms: u64,
    /// `enable.auto.commit`.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`.
    pub auto_commit_interval_ms: u64,
    /// `default.api.timeout.ms`: how long explicit and close commits are retried.
    pub default_api_timeout_ms: u64,
}

impl GroupConsumerConfig {
    /// Kafka 3.x's defaults for a member of `group_id`: `range,cooperative-sticky` (so the
    /// eager protocol), a 45 s session, 3 s heartbeats, auto-commit every 5 s.
    pub fn new(group_id: impl Into<String>) -> GroupConsumerConfig {
        GroupConsumerConfig {
            consumer: ConsumerConfig::default(),
            group_id: group_id.into(),
            group_instance_id: None,
            client_id: String::new(),
            client_rack: None,
            partition_assignment_strategy: vec![Assignor::Range, Assignor::CooperativeSticky],
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            default_api_timeout_ms: 60_000,
        }
    }
}

/// What a group request was for; `to` is the broker it went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sent {
    kind: Kind,
    to: BrokerId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    FindCoordinator,
    Join,
    Sync,
    /// With the generation it was sent in, so that an error for an older one is ignored.
    Heartbeat(i32),
    Commit,
    OffsetFetch,
    Leave,
}

/// Where the member is in the group's life (see the module's diagram).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Unsubscribed,
    /// Partitions were revoked; their commit is answered before the member joins.
    Revoking,
    /// Ready to join once the coordinator is known and `join_at` has come.
    Unjoined,
    AwaitingJoin {
        request: u64,
    },
    /// The leader waits for metadata of every topic the group subscribes to.
    AwaitingMetadata {
        members: Vec<GroupMember>,
        assignor: Assignor,
    },
    AwaitingSync {
        request: u64,
    },
    Stable,
    /// Closing: the close commit is answered before the member leaves.
    Closing,
    AwaitingLeave {
        request: u64,
    },
    Closed,
    Failed,
}

/// The member's identity in the group.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Membership {
    /// Empty until the coordinator hands one out.
    member_id: String,
    /// -1 outside a generation.
    generation_id: i32,
    leader: bool,
    /// The assignor of the current generation.
    assignor: Option<Assignor>,
    /// The topics the member joined with; a different subscription means a rejoin.
    joined_topics: BTreeSet<String>,
    /// As leader: every topic the group subscribes to.
    leader_topics: BTreeSet<String>,
    /// As leader: the partition count of each group topic the assignment was computed from.
    leader_counts: Option<BTreeMap<String, i32>>,
}

/// A Kafka consumer in a group (`subscribe` mode), as a sans-IO state machine.
///
/// # Call order
///
/// [`GroupConsumer::new`], [`GroupConsumer::subscribe`]; then any mix of
/// [`GroupConsumer::handle_response`], [`GroupConsumer::handle_timeout`] (when
/// [`GroupConsumer::poll_timeout`] is due), [`GroupConsumer::commit`] and
/// [`GroupConsumer::subscribe`], each followed by draining [`GroupConsumer::poll_output`];
/// finally [`GroupConsumer::close`] and more of the same until
/// [`GroupConsumerOutput::Closed`].
///
/// # Guarantees
///
/// - The fetching consumer consumes only partitions of the current assignment; after
///   [`GroupConsumerOutput::Revoked`] or [`GroupConsumerOutput::Lost`] no records of them
///   come.
/// - A new partition is fetched only from the group's committed offset (validated with its
///   leader epoch) or, without one, from where `auto.offset.reset` puts it.
/// - With auto-commit, the positions of revoked partitions are committed (and answered)
///   before the member joins again, and all positions before it leaves on close.
/// - Under the cooperative protocol, partitions kept through a rebalance are consumed on
///   without a pause or a new position.
#[derive(Clone, Debug)]
pub struct GroupConsumer {
    config: GroupConsumerConfig,
    protocol: RebalanceProtocol,
    consumer: Consumer,
    requests: Outstanding<Sent>,
    subscription: BTreeSet<String>,
    phase: Phase,
    member: Membership,
    /// A rebalance is wanted once the member is Stable.
    rejoin_wanted: bool,
    /// The earliest a JoinGroup may go out (a backoff after a failure).
    join_at: Instant,
    coordinator: CoordinatorState,
    heartbeat: HeartbeatState,
    commits: Commits,
    committed_fetch: CommittedFetch,
    next_auto_commit: Option<Instant>,
    outputs: VecDeque<GroupConsumerOutput>,
}

impl GroupConsumer {
    /// A member that will find its coordinator through the `bootstrap` brokers. Panics on a
    /// configuration Kafka refuses: no assignor, assignors without a common protocol, or a
    /// heartbeat interval not below the session timeout.
    pub fn new(config: GroupConsumerConfig, bootstrap: Vec<BrokerId>) -> GroupConsumer {
        let protocol = rebalance_protocol(&config.partition_assignment_strategy)
            .expect("partition.assignment.strategy needs assignors with a common protocol");
        assert!(
            !config.group_id.is_empty(),
            "a group member needs a group.id"
        );
        assert!(config.heartbeat_interval_ms < config.session_timeout_ms);
        assert!(config.heartbeat_interval_ms > 0);
        assert!(config.auto_commit_interval_ms > 0);
        GroupConsumer {
            consumer: Consumer::new(config.consumer.clone(), bootstrap),
            requests: Outstanding::starting_at(GROUP_REQUEST_ID_FIRST),
            subscription: BTreeSet::new(),
            phase: Phase::Unsubscribed,
            member: Membership {
                member_id: String::new(),
                generation_id: -1,
                leader: false,
                assignor: None,
                joined_topics: BTreeSet::new(),
                leader_topics: BTreeSet::new(),
                leader_counts: None,
            },
            rejoin_wanted: false,
            join_at: Instant::ZERO,
            coordinator: CoordinatorState::default(),
            heartbeat: HeartbeatState::default(),
            commits: Commits::default(),
            committed_fetch: CommittedFetch::default(),
            next_auto_commit: None,
            outputs: VecDeque::new(),
            protocol,
            config,
        }
    }

    /// Subscribes to `topics` (replacing any earlier subscription); a change of subscription
    /// after joining makes the member rejoin.
    pub fn subscribe(&mut self, now: Instant, topics: Vec<String>) {
        if self.is_done() {
            return;
        }
        self.subscription = topics.into_iter().collect();
        if self.phase == Phase::Unsubscribed {
            self.phase = Phase::Unjoined;
        }
        self.step(now);
    }

    /// Commits the consumed position of every assigned partition that has one; the outcome
    /// comes as [`GroupConsumerOutput::Committed`] with the returned token.
    pub fn commit(&mut self, now: Instant) -> u64 {
        let offsets = self.consumed_offsets(&self.consumer.assignment());
        self.commit_offsets(now, offsets)
    }

    /// Commits `offsets` (retried on coordinator errors for `default.api.timeout.ms`); the
    /// outcome comes as [`GroupConsumerOutput::Committed`] with the returned token.
    pub fn commit_offsets(&mut self, now: Instant, offsets: Vec<OffsetCommitPartition>) -> u64 {
        let retry_for = Duration::from_millis(self.config.default_api_timeout_ms);
        let token =
            self.enqueue_commit(now, CommitReason::Explicit, offsets, Some(now + retry_for));
        if self.is_done() {
            self.fail_queued_commits(ErrorCode::IllegalGeneration);
        }
        self.step(now);
        token
    }

    /// Leaves the group: gives up the partitions (committing their positions first with
    /// auto-commit), sends LeaveGroup unless static, and reports
    /// [`GroupConsumerOutput::Closed`].
    pub fn close(&mut self, now: Instant) {
        if self.is_done() || matches!(self.phase, Phase::Closing | Phase::AwaitingLeave { .. }) {
            return;
        }
        let owned = self.consumer.assignment();
        if matches!(self.phase, Phase::Stable | Phase::Revoking) {
            self.revoke(now, owned, CommitReason::Close);
        } else {
            self.lose_all(now);
        }
        self.phase = Phase::Closing;
        self.step(now);
    }

    /// Takes the answer to request `id` (the member's or its fetching consumer's): the
    /// response, or `Err` if the connection dropped or the driver gave up. Answers to unknown
    /// or timed-out requests are ignored.
    pub fn handle_response(
        &mut self,
        now: Instant,
        id: u64,
        response: Result<Response, Disconnected>,
    ) {
        if self.is_done() {
            return;
        }
        if id < GROUP_REQUEST_ID_FIRST {
            self.consumer.handle_response(now, id, response);
        } else if let Some(sent) = self.requests.finish(id) {
            self.answered(now, id, sent, response.as_ref().map_err(|e| *e));
        }
        self.step(now);
    }

    /// Acts on whatever is due at `now`: timeouts, heartbeats, auto-commits, retries.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_done() {
            return;
        }
        self.consumer.handle_timeout(now);
        for (id, sent) in self.requests.expire(now) {
            self.answered(now, id, sent, Err(Disconnected));
        }
        self.step(now);
    }

    /// When [`GroupConsumer::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_done() {
            return None;
        }
        let mut deadlines = vec![self.consumer.poll_timeout(), self.requests.next_deadline()];
        deadlines.push(self.coordinator_due_at());
        deadlines.push(self.heartbeat_due_at());
        deadlines.push(self.session_deadline());
        deadlines.push(self.join_due_at());
        deadlines.push(self.auto_commit_due_at());
        deadlines.push(self.commit_due_at());
        deadlines.push(self.committed_fetch_due_at());
        deadlines.into_iter().flatten().min()
    }

    /// The next piece of work or news for the driver.
    pub fn poll_output(&mut self) -> Option<GroupConsumerOutput> {
        self.outputs.pop_front()
    }

    /// The partitions the member owns now.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.consumer.assignment()
    }

    /// The offset of the next record to be returned for `partition`, if it has one.
    pub fn position(&self, partition: &TopicPartition) -> Option<i64> {
        self.consumer.position(partition)
    }

    /// The member id the coordinator gave, empty before.
    pub fn member_id(&self) -> &str {
        &self.member.member_id
    }

    /// The generation the member belongs to, or -1.
    pub fn generation_id(&self) -> i32 {
        self.member.generation_id
    }

    /// Whether the member leads its generation.
    pub fn is_leader(&self) -> bool {
        self.member.leader
    }

    /// The rebalance protocol its assignors share.
    pub fn rebalance_protocol(&self) -> RebalanceProtocol {
        self.protocol
    }

    /// Whether the member holds an assignment of the current generation and is not
    /// rebalancing.
    pub fn is_stable(&self) -> bool {
        self.phase == Phase::Stable
    }

    /// Its configuration.
    pub fn config(&self) -> &GroupConsumerConfig {
        &self.config
    }

    fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Closed | Phase::Failed)
    }

    fn answered(
        &mut self,
        now: Instant,
        id: u64,
        sent: Sent,
        response: Result<&Response, Disconnected>,
    ) {
        let group = match response {
            Ok(Response::Group(group)) => Ok(group),
            _ => Err(Disconnected),
        };
        if group.is_err() && sent.kind != Kind::FindCoordinator {
            // The Java client marks the coordinator unknown when its connection fails.
            self.coordinator_lost(now, sent.to);
        }
        match sent.kind {
            Kind::FindCoordinator => self.find_coordinator_answered(now, id, group),
            Kind::Join => self.join_answered(now, id, sent.to, group),
            Kind::Sync => self.sync_answered(now, id, sent.to, group),
            Kind::Heartbeat(generation) => {
                self.heartbeat_answered(now, id, sent.to, generation, group);
            }
            Kind::Commit => self.commit_answered(now, id, sent.to, group),
            Kind::OffsetFetch => self.committed_fetch_answered(now, id, sent.to, group),
            Kind::Leave => self.leave_answered(id),
        }
    }

    /// Runs after every input: sends what is due, in the order the Java client's `poll`
    /// does its group work.
    fn step(&mut self, now: Instant) {
        if self.is_done() {
            return;
        }
        self.check_session(now);
        self.find_coordinator_if_needed(now);
        if self.phase == Phase::Stable && self.rejoin_needed() {
            self.begin_rejoin(now);
        }
        self.auto_commit_if_due(now);
        self.send_commit_if_due(now);
        if self.phase == Phase::Revoking && !self.commits.blocking() {
            self.phase = Phase::Unjoined;
        }
        self.send_join_if_due(now);
        self.assign_if_metadata_ready(now);
        self.send_heartbeat_if_due(now);
        self.send_committed_fetch_if_due(now);
        self.leave_if_due(now);
        self.consumer.step_now(now);
        self.take_consumer_outputs();
        self.check_invariants();
    }

    /// Passes on what the fetching consumer reported.
    fn take_consumer_outputs(&mut self) {
        while let Some(output) = self.consumer.poll_output() {
            let output = match output {
                ConsumerOutput::Request { to, id, request } => {
                    assert!(
                        id < GROUP_REQUEST_ID_FIRST,
                        "consumer ids stay below the group's"
                    );
                    GroupConsumerOutput::Request { to, id, request }
                }
                other => GroupConsumerOutput::Consumed(other),
            };
            self.outputs.push_back(output);
        }
    }

    /// Sends group request `request` to `to`, answered by `deadline`.
    fn send(&mut self, deadline: Instant, kind: Kind, to: BrokerId, request: Request) -> u64 {
        let id = self.requests.start(deadline, Sent { kind, to });
        assert!(id >= GROUP_REQUEST_ID_FIRST);
        self.outputs
            .push_back(GroupConsumerOutput::Request { to, id, request });
        id
    }

    fn request_deadline(&self, now: Instant) -> Instant {
        now + Duration::from_millis(self.config.consumer.request_timeout_ms)
    }

    fn backoff(&self) -> Duration {
        Duration::from_millis(self.config.consumer.retry_backoff_ms)
    }

    /// The consumed positions of `partitions` that have one, as commit entries.
    fn consumed_offsets(&self, partitions: &[TopicPartition]) -> Vec<OffsetCommitPartition> {
        let mut offsets = Vec::new();
        for tp in partitions {
            if let Some((offset, epoch)) = self.consumer.consumed_position(tp) {
                offsets.push(OffsetCommitPartition {
                    partition: tp.clone(),
                    offset,
                    leader_epoch: epoch.unwrap_or(-1),
                    metadata: Some(String::new()),
                });
            }
        }
        offsets
    }

    /// Stops consuming `partitions` and reports them revoked; with auto-commit their
    /// positions are committed, and a rejoin waits for the answer.
    fn revoke(&mut self, now: Instant, partitions: Vec<TopicPartition>, reason: CommitReason) {
        if partitions.is_empty() {
            return;
        }
        let offsets = self.consumed_offsets(&partitions);
        let revoked: BTreeSet<&TopicPartition> = partitions.iter().collect();
        let kept: Vec<TopicPartition> = self
            .consumer
            .assignment()
            .into_iter()
            .filter(|tp| !revoked.contains(tp))
            .collect();
        self.consumer.assign_awaiting_position(now, kept);
        self.committed_fetch.forget(&partitions);
        self.take_consumer_outputs();
        self.outputs
            .push_back(GroupConsumerOutput::Revoked { partitions });
        if self.config.enable_auto_commit && !offsets.is_empty() {
            let retry_for = match reason {
                CommitReason::Close => self.config.default_api_timeout_ms,
                _ => self.config.max_poll_interval_ms,
            };
            let until = now + Duration::from_millis(retry_for);
            self.enqueue_commit(now, reason, offsets, Some(until));
        }
    }

    /// Drops every partition without committing (the generation is gone).
    fn lose_all(&mut self, now: Instant) {
        let partitions = self.consumer.assignment();
        self.consumer.assign_awaiting_position(now, Vec::new());
        self.committed_fetch.forget(&partitions);
        self.take_consumer_outputs();
        if !partitions.is_empty() {
            self.outputs
                .push_back(GroupConsumerOutput::Lost { partitions });
        }
    }

    /// Stops for good after `error`.
    fn fail(&mut self, now: Instant, error: GroupError) {
        self.lose_all(now);
        let code = match error {
            GroupError::FencedInstanceId => ErrorCode::FencedInstanceId,
            _ => ErrorCode::UnknownServerError,
        };
        self.fail_queued_commits(code);
        self.phase = Phase::Failed;
        self.outputs.push_back(GroupConsumerOutput::Failed(error));
    }

    fn check_invariants(&self) {
        let assigned = self.consumer.assignment();
        if !matches!(self.phase, Phase::Stable | Phase::Revoking) {
            // Under the eager protocol a member owns nothing outside a stable generation.
            assert!(
                self.protocol == RebalanceProtocol::Cooperative || assigned.is_empty(),
                "eager members own nothing while rebalancing"
            );
        }
        for tp in self.committed_fetch.awaiting() {
            assert!(
                assigned.contains(tp),
                "only assigned partitions await offsets"
            );
        }
        if self.member.generation_id >= 0 {
            assert!(
                !self.member.member_id.is_empty(),
                "a generation has a member id"
            );
        }
        let outstanding: BTreeMap<u64, Sent> =
            self.requests.purposes().map(|(id, s)| (id, *s)).collect();
        let in_flight = [
            self.coordinator.finding(),
            self.heartbeat.in_flight(),
            self.commits.in_flight(),
            self.committed_fetch.in_flight(),
        ];
        for id in in_flight.into_iter().flatten() {
            assert!(
                outstanding.contains_key(&id),
                "an in-flight request is outstanding"
            );
        }
        assert!(
            self.coordinator.node.is_none() || self.coordinator.finding().is_none(),
            "a known coordinator is not being looked up"
        );
        match &self.phase {
            Phase::AwaitingJoin { request }
            | Phase::AwaitingSync { request }
            | Phase::AwaitingLeave { request } => {
                assert!(
                    outstanding.contains_key(request),
                    "the phase's request is in flight"
                );
            }
            _ => {}
        }
    }
}
