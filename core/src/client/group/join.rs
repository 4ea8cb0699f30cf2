//! Joining: preparing for a rebalance (revoking), JoinGroup, the leader's assignment, SyncGroup,
//! taking the assignment on, and leaving. Reference: the Java client's
//! `AbstractCoordinator` (`JoinGroupResponseHandler`, `SyncGroupResponseHandler`) and
//! `ConsumerCoordinator` (`onJoinPrepare`, `onLeaderElected`, `onJoinComplete`).

use std::collections::{BTreeMap, BTreeSet};

use super::{
    CommitReason, GroupConsumer, GroupConsumerOutput, GroupError, Kind, Phase,
    JOIN_TIMEOUT_LAPSE_MS,
};
use crate::api::{
    ErrorCode, GroupRequest, GroupResponse, JoinGroupRequest, JoinGroupResponse, JoinProtocol,
    LeaveGroupRequest, LeavingMember, Request, SyncGroupRequest, TopicPartition,
};
use crate::client::assignor::{Assignor, GroupMember, RebalanceProtocol};
use crate::client::consumer_protocol::{Assignment, Subscription, CONSUMER_PROTOCOL_VERSION_MAX};
use crate::client::metadata::TopicView;
use crate::client::Disconnected;
use crate::controller::BrokerId;
use crate::time::{Duration, Instant};

/// The classic protocol's type for consumers.
const PROTOCOL_TYPE: &str = "consumer";

impl GroupConsumer {
    /// Whether a stable member must rebalance: asked to, its subscription changed since it
    /// joined, or (as leader) a group topic's partition count changed.
    pub(super) fn rejoin_needed(&self) -> bool {
        self.rejoin_wanted
            || self.subscription != self.member.joined_topics
            || self.leader_metadata_changed()
    }

    /// Reference: `ConsumerCoordinator.maybeUpdateSubscriptionMetadata`: only the leader
    /// watches the group's topics, and rejoins when their partitions change.
    fn leader_metadata_changed(&self) -> bool {
        let Some(counts) = &self.member.leader_counts else {
            return false;
        };
        self.member
            .leader_topics
            .iter()
            .any(|topic| match self.consumer.topic_view(topic) {
                TopicView::Known(partitions) => {
                    counts.get(topic) != i32::try_from(partitions.len()).ok().as_ref()
                }
                TopicView::Missing => counts.contains_key(topic),
                TopicView::Unknown => false,
            })
    }

    /// Reference: `ConsumerCoordinator.onJoinPrepare`: eager gives up every partition,
    /// cooperative only those of topics no longer subscribed; with auto-commit their positions
    /// are committed, and the member joins once that commit is answered.
    pub(super) fn begin_rejoin(&mut self, now: Instant) {
        assert_eq!(self.phase, Phase::Stable);
        self.rejoin_wanted = false;
        let owned = self.consumer.assignment();
        let revoked = match self.protocol {
            RebalanceProtocol::Eager => owned,
            RebalanceProtocol::Cooperative => owned
                .into_iter()
                .filter(|tp| !self.subscription.contains(&tp.topic))
                .collect(),
        };
        self.revoke(now, revoked, CommitReason::Revocation);
        self.phase = match self.commits.blocking() {
            true => Phase::Revoking,
            false => Phase::Unjoined,
        };
        self.join_at = now;
    }

    /// The generation is gone (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID): its partitions are lost
    /// and the member joins again at once, as a new member if `reset_member_id`.
    pub(super) fn reset_generation(&mut self, now: Instant, reset_member_id: bool) {
        self.member.generation_id = -1;
        self.member.leader = false;
        self.member.assignor = None;
        self.member.leader_counts = None;
        if reset_member_id {
            self.member.member_id.clear();
        }
        self.lose_all(now);
        self.rejoin_wanted = false;
        if !matches!(self.phase, Phase::Closing | Phase::AwaitingLeave { .. }) {
            self.phase = Phase::Unjoined;
        }
        self.join_at = now;
    }

    /// Back to Unjoined after a failed join or sync; the next JoinGroup waits `backoff`.
    fn join_failed(&mut self, now: Instant, backoff: Duration) {
        self.phase = Phase::Unjoined;
        self.join_at = now + backoff;
    }

    pub(super) fn join_due_at(&self) -> Option<Instant> {
        let ready = self.phase == Phase::Unjoined
            && self.coordinator.node.is_some()
            && !self.commits.blocking();
        ready.then_some(self.join_at)
    }

    pub(super) fn send_join_if_due(&mut self, now: Instant) {
        let Some(at) = self.join_due_at() else {
            return;
        };
        if at > now {
            return;
        }
        let to = self.coordinator.node.expect("due only with a coordinator");
        let protocols = self.join_protocols();
        let request = Request::Group(GroupRequest::JoinGroup(JoinGroupRequest {
            group_id: self.config.group_id.clone(),
            session_timeout_ms: millis_i32(self.config.session_timeout_ms),
            rebalance_timeout_ms: millis_i32(self.config.max_poll_interval_ms),
            member_id: self.member.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
            protocol_type: PROTOCOL_TYPE.to_owned(),
            protocols,
            require_known_member_id: true,
            client_id: self.config.client_id.clone(),
            client_host: String::new(),
        }));
        // The coordinator holds a JoinGroup until the rebalance ends.
        let wait = self.config.max_poll_interval_ms + JOIN_TIMEOUT_LAPSE_MS;
        let deadline = self
            .request_deadline(now)
            .max(now + Duration::from_millis(wait));
        self.member.joined_topics = self.subscription.clone();
        // Commits cannot go out during a rebalance (the Java client fails them with
        // RebalanceInProgressException).
        self.fail_queued_commits(ErrorCode::RebalanceInProgress);
        let request = self.send(deadline, Kind::Join, to, request);
        self.phase = Phase::AwaitingJoin { request };
    }

    /// One protocol per assignor, in preference order, each carrying the subscription: the
    /// topics, the partitions owned now and the generation they belong to.
    fn join_protocols(&self) -> Vec<JoinProtocol> {
        let generation_id = self.member.generation_id;
        let owned_partitions = self.consumer.assignment();
        let topics: Vec<String> = self.subscription.iter().cloned().collect();
        let strategy = &self.config.partition_assignment_strategy;
        strategy
            .iter()
            .map(|assignor| {
                let subscription = Subscription {
                    topics: topics.clone(),
                    user_data: assignor.subscription_user_data(generation_id),
                    owned_partitions: owned_partitions.clone(),
                    generation_id,
                    rack_id: self.config.client_rack.clone(),
                };
                JoinProtocol {
                    name: assignor.name().to_owned(),
                    metadata: subscription.encode(CONSUMER_PROTOCOL_VERSION_MAX),
                }
            })
            .collect()
    }

    pub(super) fn join_answered(
        &mut self,
        now: Instant,
        id: u64,
        to: BrokerId,
        response: Result<&GroupResponse, Disconnected>,
    ) {
        if self.phase != (Phase::AwaitingJoin { request: id }) {
            return;
        }
        let Ok(GroupResponse::JoinGroup(answer)) = response else {
            return self.join_failed(now, self.backoff());
        };
        match answer.error {
            ErrorCode::None => self.joined(now, answer),
            // KIP-394: join again at once with the id the coordinator handed out.
            ErrorCode::MemberIdRequired if !answer.member_id.is_empty() => {
                self.member.member_id = answer.member_id.clone();
                self.join_failed(now, Duration::ZERO);
            }
            ErrorCode::UnknownMemberId => self.reset_generation(now, true),
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                self.coordinator_lost(now, to);
                self.join_failed(now, self.backoff());
            }
            ErrorCode::CoordinatorLoadInProgress | ErrorCode::RebalanceInProgress => {
                self.join_failed(now, self.backoff());
            }
            ErrorCode::FencedInstanceId => self.fail(now, GroupError::FencedInstanceId),
            ErrorCode::InconsistentGroupProtocol
            | ErrorCode::InvalidSessionTimeout
            | ErrorCode::InvalidGroupId
            | ErrorCode::GroupMaxSizeReached
            | ErrorCode::UnsupportedVersion => {
                self.fail(now, GroupError::JoinRefused(answer.error));
            }
            error => {
                let api = "JoinGroup";
                let error = GroupError::Broker { api, error };
                self.outputs.push_back(GroupConsumerOutput::Error(error));
                self.join_failed(now, self.backoff());
            }
        }
    }

    /// A new generation: the leader computes the assignment, a follower syncs empty-handed.
    fn joined(&mut self, now: Instant, answer: &JoinGroupResponse) {
        let name = answer.protocol_name.clone().unwrap_or_default();
        let offered = &self.config.partition_assignment_strategy;
        let Some(assignor) = Assignor::from_name(&name).filter(|a| offered.contains(a)) else {
            return self.fail(now, GroupError::UnknownProtocol(name));
        };
        // Reference: `JoinGroupResponseHandler`'s protocol type check: the coordinator runs
        // another kind of group under this id.
        if answer
            .protocol_type
            .as_deref()
            .is_some_and(|t| t != PROTOCOL_TYPE)
        {
            let error = ErrorCode::InconsistentGroupProtocol;
            return self.fail(now, GroupError::JoinRefused(error));
        }
        if answer.generation_id < 0 || answer.member_id.is_empty() {
            let api = "JoinGroup";
            let error = ErrorCode::InvalidRequest;
            let error = GroupError::Broker { api, error };
            self.outputs.push_back(GroupConsumerOutput::Error(error));
            return self.join_failed(now, self.backoff());
        }
        self.member.member_id = answer.member_id.clone();
        self.member.generation_id = answer.generation_id;
        self.member.assignor = Some(assignor);
        self.member.leader = answer.leader == answer.member_id;
        self.member.leader_counts = None;
        let interval = Duration::from_millis(self.config.heartbeat_interval_ms);
        self.heartbeat.restart(now, interval);
        self.outputs.push_back(GroupConsumerOutput::Joined {
            generation_id: answer.generation_id,
            member_id: answer.member_id.clone(),
            leader: self.member.leader,
            protocol: name,
        });
        if !self.member.leader {
            return self.send_sync(now, assignor, Vec::new());
        }
        let members = self.decode_members(answer);
        let topics: BTreeSet<String> = members
            .iter()
            .flat_map(|m| m.subscription.topics.iter().cloned())
            .collect();
        for topic in &topics {
            self.consumer.want_topic(topic);
        }
        self.member.leader_topics = topics;
        self.phase = Phase::AwaitingMetadata { members, assignor };
    }

    /// The members' subscriptions; one that cannot be read counts as subscribing to nothing.
    /// A member id listed twice (a coordinator's bug) counts once, its first listing.
    fn decode_members(&mut self, answer: &JoinGroupResponse) -> Vec<GroupMember> {
        let mut members: Vec<GroupMember> = Vec::with_capacity(answer.members.len());
        let mut seen = BTreeSet::new();
        for member in &answer.members {
            if !seen.insert(member.member_id.as_str()) {
                continue;
            }
            let subscription = match Subscription::decode(&member.metadata) {
                Ok((subscription, _)) => subscription,
                Err(error) => {
                    let member_id = member.member_id.clone();
                    let error = GroupError::BadSubscription { member_id, error };
                    self.outputs.push_back(GroupConsumerOutput::Error(error));
                    Subscription::new(Vec::new())
                }
            };
            members.push(GroupMember {
                member_id: member.member_id.clone(),
                group_instance_id: member.group_instance_id.clone(),
                subscription,
            });
        }
        members
    }

    /// As leader, once metadata knows every group topic (or knows it missing), runs the
    /// assignor and brings the assignment to SyncGroup.
    pub(super) fn assign_if_metadata_ready(&mut self, now: Instant) {
        let Phase::AwaitingMetadata { members, assignor } = &self.phase else {
            return;
        };
        let mut counts = BTreeMap::new();
        for topic in &self.member.leader_topics {
            match self.consumer.topic_view(topic) {
                TopicView::Unknown => return,
                TopicView::Missing => {}
                TopicView::Known(partitions) => {
                    let count = i32::try_from(partitions.len()).expect("partition count");
                    counts.insert(topic.clone(), count);
                }
            }
        }
        let assignor = *assignor;
        let assignment = assignor.assign(members, &counts);
        let encoded = assignment
            .into_iter()
            .map(|(member_id, partitions)| {
                let assignment = Assignment {
                    partitions,
                    user_data: None,
                };
                (member_id, assignment.encode(CONSUMER_PROTOCOL_VERSION_MAX))
            })
            .collect();
        self.member.leader_counts = Some(counts);
        self.send_sync(now, assignor, encoded);
    }

    fn send_sync(
        &mut self,
        now: Instant,
        assignor: Assignor,
        assignments: Vec<(String, bytes::Bytes)>,
    ) {
        let Some(to) = self.coordinator.node else {
            return self.join_failed(now, self.backoff());
        };
        let request = Request::Group(GroupRequest::SyncGroup(SyncGroupRequest {
            group_id: self.config.group_id.clone(),
            generation_id: self.member.generation_id,
            member_id: self.member.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
            protocol_type: Some(PROTOCOL_TYPE.to_owned()),
            protocol_name: Some(assignor.name().to_owned()),
            assignments,
        }));
        let deadline = self.request_deadline(now);
        let request = self.send(deadline, Kind::Sync, to, request);
        self.phase = Phase::AwaitingSync { request };
    }

    /// Reference: `SyncGroupResponseHandler`: REBALANCE_IN_PROGRESS rejoins, UNKNOWN_MEMBER_ID
    /// and ILLEGAL_GENERATION reset the generation (only the first the member id too),
    /// coordinator errors rediscover it, FENCED_INSTANCE_ID is fatal.
    pub(super) fn sync_answered(
        &mut self,
        now: Instant,
        id: u64,
        to: BrokerId,
        response: Result<&GroupResponse, Disconnected>,
    ) {
        if self.phase != (Phase::AwaitingSync { request: id }) {
            return;
        }
        let Ok(GroupResponse::SyncGroup(answer)) = response else {
            return self.join_failed(now, self.backoff());
        };
        // Reference: `SyncGroupResponseHandler`: a protocol type or name other than the
        // generation's is INCONSISTENT_GROUP_PROTOCOL, fatal.
        let assignor = self.member.assignor.map(Assignor::name);
        let other_type = answer
            .protocol_type
            .as_deref()
            .is_some_and(|t| t != PROTOCOL_TYPE);
        let other_name =
            answer.protocol_name.is_some() && answer.protocol_name.as_deref() != assignor;
        if answer.error == ErrorCode::None && (other_type || other_name) {
            let error = ErrorCode::InconsistentGroupProtocol;
            return self.fail(now, GroupError::JoinRefused(error));
        }
        match answer.error {
            ErrorCode::None => self.take_assignment(now, &answer.assignment),
            ErrorCode::RebalanceInProgress => self.join_failed(now, Duration::ZERO),
            ErrorCode::UnknownMemberId => self.reset_generation(now, true),
            ErrorCode::IllegalGeneration => self.reset_generation(now, false),
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                self.coordinator_lost(now, to);
                self.join_failed(now, self.backoff());
            }
            ErrorCode::FencedInstanceId => self.fail(now, GroupError::FencedInstanceId),
            error => {
                let api = "SyncGroup";
                let error = GroupError::Broker { api, error };
                self.outputs.push_back(GroupConsumerOutput::Error(error));
                self.join_failed(now, self.backoff());
            }
        }
    }

    /// Reference: `ConsumerCoordinator.onJoinComplete`. Under the cooperative protocol owned
    /// partitions missing from the assignment are revoked (committed first) and the member
    /// rejoins; partitions kept go on from their positions; new ones wait for their committed
    /// offsets.
    fn take_assignment(&mut self, now: Instant, bytes: &[u8]) {
        let assignment = match Assignment::decode(bytes) {
            Ok((assignment, _)) => assignment,
            Err(error) => {
                let error = GroupError::BadAssignment(error);
                self.outputs.push_back(GroupConsumerOutput::Error(error));
                return self.join_failed(now, self.backoff());
            }
        };
        let assigned: BTreeSet<TopicPartition> = assignment.partitions.into_iter().collect();
        let unsubscribed: Vec<TopicPartition> = assigned
            .iter()
            .filter(|tp| !self.subscription.contains(&tp.topic) || tp.partition < 0)
            .cloned()
            .collect();
        if !unsubscribed.is_empty() {
            let error = GroupError::AssignmentNotSubscribed(unsubscribed);
            self.outputs.push_back(GroupConsumerOutput::Error(error));
            return self.join_failed(now, Duration::ZERO);
        }
        let owned: BTreeSet<TopicPartition> = self.consumer.assignment().into_iter().collect();
        self.phase = Phase::Stable;
        if self.protocol == RebalanceProtocol::Cooperative {
            let revoked: Vec<TopicPartition> = owned.difference(&assigned).cloned().collect();
            if !revoked.is_empty() {
                self.revoke(now, revoked, CommitReason::Revocation);
                self.rejoin_wanted = true;
            }
        }
        let added: Vec<TopicPartition> = assigned.difference(&owned).cloned().collect();
        let assignment: Vec<TopicPartition> = assigned.into_iter().collect();
        self.consumer
            .assign_awaiting_position(now, assignment.clone());
        self.committed_fetch.wait_for(&added);
        self.take_consumer_outputs();
        if self.config.enable_auto_commit {
            let interval = Duration::from_millis(self.config.auto_commit_interval_ms);
            self.next_auto_commit = Some(now + interval);
        }
        self.outputs.push_back(GroupConsumerOutput::Assigned {
            generation_id: self.member.generation_id,
            added,
            assignment,
        });
    }

    /// Once closing commits are answered: LeaveGroup for a dynamic member with an id (the Java
    /// client's `maybeLeaveGroup`; a static member's session just runs out), then Closed.
    pub(super) fn leave_if_due(&mut self, now: Instant) {
        if self.phase != Phase::Closing || self.commits.pending() {
            return;
        }
        let dynamic = self.config.group_instance_id.is_none();
        let node = self.coordinator.node;
        let (Some(to), true, false) = (node, dynamic, self.member.member_id.is_empty()) else {
            return self.finish_close();
        };
        let request = Request::Group(GroupRequest::LeaveGroup(LeaveGroupRequest {
            group_id: self.config.group_id.clone(),
            members: vec![LeavingMember {
                member_id: self.member.member_id.clone(),
                group_instance_id: None,
            }],
        }));
        let deadline = self.request_deadline(now);
        let request = self.send(deadline, Kind::Leave, to, request);
        self.phase = Phase::AwaitingLeave { request };
    }

    /// Whatever LeaveGroup answered, the member is gone.
    pub(super) fn leave_answered(&mut self, id: u64) {
        if self.phase == (Phase::AwaitingLeave { request: id }) {
            self.finish_close();
        }
    }

    fn finish_close(&mut self) {
        self.member.generation_id = -1;
        self.member.member_id.clear();
        self.member.leader = false;
        self.fail_queued_commits(ErrorCode::IllegalGeneration);
        self.phase = Phase::Closed;
        self.outputs.push_back(GroupConsumerOutput::Closed);
    }
}

/// A millisecond setting as the int32 the wire carries.
fn millis_i32(ms: u64) -> i32 {
    i32::try_from(ms).unwrap_or(i32::MAX)
}
