//! A minimal but honest classic group coordinator for the fake cluster: generations, a join
//! phase that waits until every known member has rejoined (or the rebalance timeout passes),
//! SyncGroup handing out the leader's assignment, session expiry, and an offsets map.
//!
//! It models what Kafka's `GroupCoordinator` does for the cases the client must handle, not
//! everything: no initial rebalance delay, no static-member replacement, and every JoinGroup
//! of a known member starts a rebalance. A JoinGroup or a follower's SyncGroup that must wait
//! is parked (`None`) and asked again by the harness, so asking again must not change state.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use crate::api::*;
use crate::client::Disconnected;
use crate::controller::BrokerId;
use crate::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(in crate::client) enum GroupState {
    #[default]
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

#[derive(Clone, Debug)]
pub(in crate::client) struct FakeMember {
    pub(in crate::client) protocols: Vec<JoinProtocol>,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    last_heard: Instant,
    awaiting_join: bool,
    awaiting_sync: bool,
    pub(in crate::client) assignment: Option<Bytes>,
}

#[derive(Clone, Debug, Default)]
pub(in crate::client) struct FakeGroup {
    pub(in crate::client) state: GroupState,
    pub(in crate::client) generation: i32,
    pub(in crate::client) protocol: Option<String>,
    pub(in crate::client) leader: Option<String>,
    pub(in crate::client) members: BTreeMap<String, FakeMember>,
    /// Ids handed out with MEMBER_ID_REQUIRED whose member has not joined yet.
    pending_ids: BTreeSet<String>,
    rebalance_deadline: Option<Instant>,
    /// Answers formed when a join phase ended, for parked JoinGroups to collect.
    join_answers: BTreeMap<String, JoinGroupResponse>,
    /// Committed offsets: (offset, leader epoch).
    pub(in crate::client) offsets: BTreeMap<TopicPartition, (i64, i32)>,
}

/// Every group, coordinated by one broker.
#[derive(Clone, Debug, Default)]
pub(in crate::client) struct FakeGroups {
    /// The coordinating broker; others answer NOT_COORDINATOR.
    pub(in crate::client) coordinator: BrokerId,
    /// The next requests named by the API are refused with the code (FindCoordinator too).
    pub(in crate::client) faults: VecDeque<(&'static str, ErrorCode)>,
    /// Requests named here are never answered (parked for good) while they are listed.
    pub(in crate::client) black_holes: BTreeSet<&'static str>,
    pub(in crate::client) groups: BTreeMap<String, FakeGroup>,
    next_member: u64,
}

impl FakeGroups {
    /// The answer `to` gives at `now`, or `None` to park the request.
    pub(in crate::client) fn answer(
        &mut self,
        now: Instant,
        to: BrokerId,
        request: &GroupRequest,
    ) -> Option<Result<Response, Disconnected>> {
        if self.black_holes.contains(request.name()) {
            return None;
        }
        self.tick(now);
        let fault = self
            .faults
            .iter()
            .position(|(api, _)| *api == request.name());
        if let Some(index) = fault {
            let (_, error) = self.faults.remove(index).expect("found");
            return Some(Ok(Response::Group(request.refuse(error))));
        }
        let answer = match request {
            GroupRequest::FindCoordinator(find) => {
                let coordinators = find
                    .keys
                    .iter()
                    .map(|key| Coordinator {
                        node_id: self.coordinator,
                        ..Coordinator::error(key.clone(), ErrorCode::None)
                    })
                    .collect();
                GroupResponse::FindCoordinator(FindCoordinatorResponse { coordinators })
            }
            _ if to != self.coordinator => request.refuse(ErrorCode::NotCoordinator),
            GroupRequest::JoinGroup(join) => GroupResponse::JoinGroup(self.join(now, join)?),
            GroupRequest::SyncGroup(sync) => GroupResponse::SyncGroup(self.sync(now, sync)?),
            GroupRequest::Heartbeat(beat) => GroupResponse::Heartbeat(self.heartbeat(now, beat)),
            GroupRequest::LeaveGroup(leave) => GroupResponse::LeaveGroup(self.leave(now, leave)),
            GroupRequest::OffsetCommit(commit) => {
                GroupResponse::OffsetCommit(self.commit(now, commit))
            }
            GroupRequest::OffsetFetch(fetch) => GroupResponse::OffsetFetch(self.fetch(fetch)),
            other => other.refuse(ErrorCode::InvalidRequest),
        };
        Some(Ok(Response::Group(answer)))
    }

    /// Expires silent members and ends join phases whose rebalance timeout passed.
    pub(in crate::client) fn tick(&mut self, now: Instant) {
        for group in self.groups.values_mut() {
            let expired: Vec<String> = group
                .members
                .iter()
                .filter(|(_, m)| !m.awaiting_join && !m.awaiting_sync)
                .filter(|(_, m)| m.last_heard + m.session_timeout <= now)
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired {
                group.remove_member(now, &id);
            }
            group.try_complete_join(now);
        }
    }

    /// The next time [`FakeGroups::tick`] has something to do.
    pub(in crate::client) fn deadline(&self) -> Option<Instant> {
        let mut deadlines = Vec::new();
        for group in self.groups.values() {
            if group.state == GroupState::PreparingRebalance {
                deadlines.extend(group.rebalance_deadline);
            }
            for member in group.members.values() {
                if !member.awaiting_join && !member.awaiting_sync {
                    deadlines.push(member.last_heard + member.session_timeout);
                }
            }
        }
        deadlines.into_iter().min()
    }

    fn join(&mut self, now: Instant, join: &JoinGroupRequest) -> Option<JoinGroupResponse> {
        let group = self.groups.entry(join.group_id.clone()).or_default();
        let refuse = |error| Some(JoinGroupResponse::error(join.member_id.clone(), error));
        if let Some(answer) = group.join_answers.remove(&join.member_id) {
            return Some(answer);
        }
        if join.protocol_type != "consumer" || join.protocols.is_empty() {
            return refuse(ErrorCode::InconsistentGroupProtocol);
        }
        let mut member_id = join.member_id.clone();
        if member_id.is_empty() {
            self.next_member += 1;
            member_id = format!("{}-{}", join.client_id, self.next_member);
            if join.require_known_member_id {
                group.pending_ids.insert(member_id.clone());
                let error = ErrorCode::MemberIdRequired;
                return Some(JoinGroupResponse::error(member_id, error));
            }
        } else if !group.members.contains_key(&member_id) && !group.pending_ids.remove(&member_id) {
            return refuse(ErrorCode::UnknownMemberId);
        }
        let shared = group.members.values().all(|m| {
            join.protocols
                .iter()
                .any(|p| m.protocols.iter().any(|q| q.name == p.name))
        });
        if !shared {
            return refuse(ErrorCode::InconsistentGroupProtocol);
        }
        let member = FakeMember {
            protocols: join.protocols.clone(),
            session_timeout: Duration::from_millis(join.session_timeout_ms as u64),
            rebalance_timeout: Duration::from_millis(join.rebalance_timeout_ms as u64),
            last_heard: now,
            awaiting_join: true,
            awaiting_sync: false,
            assignment: None,
        };
        group.members.insert(member_id.clone(), member);
        if group.state != GroupState::PreparingRebalance {
            group.prepare_rebalance(now);
        }
        group.try_complete_join(now);
        group.join_answers.remove(&member_id)
    }

    fn sync(&mut self, now: Instant, sync: &SyncGroupRequest) -> Option<SyncGroupResponse> {
        let refuse = |error| Some(SyncGroupResponse::error(error));
        let Some(group) = self.groups.get_mut(&sync.group_id) else {
            return refuse(ErrorCode::UnknownMemberId);
        };
        if !group.members.contains_key(&sync.member_id) {
            return refuse(ErrorCode::UnknownMemberId);
        }
        if sync.generation_id != group.generation {
            return refuse(ErrorCode::IllegalGeneration);
        }
        match group.state {
            GroupState::Empty => return refuse(ErrorCode::UnknownMemberId),
            GroupState::PreparingRebalance => return refuse(ErrorCode::RebalanceInProgress),
            GroupState::CompletingRebalance if group.leader.as_ref() == Some(&sync.member_id) => {
                let assignments: BTreeMap<&String, &Bytes> = sync
                    .assignments
                    .iter()
                    .map(|(id, bytes)| (id, bytes))
                    .collect();
                for (id, member) in &mut group.members {
                    member.assignment =
                        Some(assignments.get(id).map_or(Bytes::new(), |b| (*b).clone()));
                    member.awaiting_sync = false;
                    member.last_heard = now;
                }
                group.state = GroupState::Stable;
            }
            GroupState::CompletingRebalance => {
                let member = group.members.get_mut(&sync.member_id).expect("checked");
                member.awaiting_sync = true;
                return None;
            }
            GroupState::Stable => {}
        }
        let member = group.members.get_mut(&sync.member_id).expect("checked");
        member.last_heard = now;
        let assignment = member.assignment.clone().unwrap_or_default();
        Some(SyncGroupResponse {
            assignment,
            protocol_type: Some("consumer".to_owned()),
            protocol_name: group.protocol.clone(),
            ..SyncGroupResponse::error(ErrorCode::None)
        })
    }

    fn heartbeat(&mut self, now: Instant, beat: &HeartbeatRequest) -> HeartbeatResponse {
        let error = match self.groups.get_mut(&beat.group_id) {
            None => ErrorCode::UnknownMemberId,
            Some(group) => match group.members.get_mut(&beat.member_id) {
                None => ErrorCode::UnknownMemberId,
                Some(_) if beat.generation_id != group.generation => ErrorCode::IllegalGeneration,
                Some(member) => {
                    member.last_heard = now;
                    match group.state {
                        GroupState::PreparingRebalance => ErrorCode::RebalanceInProgress,
                        _ => ErrorCode::None,
                    }
                }
            },
        };
        HeartbeatResponse { error }
    }

    fn leave(&mut self, now: Instant, leave: &LeaveGroupRequest) -> LeaveGroupResponse {
        let group = self.groups.entry(leave.group_id.clone()).or_default();
        let mut members = Vec::new();
        for leaving in &leave.members {
            let error = match group.members.contains_key(&leaving.member_id) {
                true => ErrorCode::None,
                false => ErrorCode::UnknownMemberId,
            };
            if error == ErrorCode::None {
                group.remove_member(now, &leaving.member_id);
            }
            members.push(LeftMember {
                member_id: leaving.member_id.clone(),
                group_instance_id: leaving.group_instance_id.clone(),
                error,
            });
        }
        group.try_complete_join(now);
        LeaveGroupResponse {
            error: ErrorCode::None,
            members,
        }
    }

    fn commit(&mut self, now: Instant, commit: &OffsetCommitRequest) -> OffsetCommitResponse {
        let group = self.groups.entry(commit.group_id.clone()).or_default();
        let admin = commit.generation_id < 0 && commit.member_id.is_empty();
        let empty = group.members.is_empty();
        let error = match group.members.get_mut(&commit.member_id) {
            _ if admin && empty => ErrorCode::None,
            _ if admin => ErrorCode::IllegalGeneration,
            None => ErrorCode::UnknownMemberId,
            Some(_) if commit.generation_id != group.generation => ErrorCode::IllegalGeneration,
            Some(_) if group.state == GroupState::CompletingRebalance => {
                ErrorCode::RebalanceInProgress
            }
            Some(member) => {
                member.last_heard = now;
                ErrorCode::None
            }
        };
        let mut partitions = Vec::new();
        for partition in &commit.partitions {
            if error == ErrorCode::None {
                let stored = (partition.offset, partition.leader_epoch);
                group.offsets.insert(partition.partition.clone(), stored);
            }
            partitions.push((partition.partition.clone(), error));
        }
        OffsetCommitResponse { partitions }
    }

    fn fetch(&mut self, fetch: &OffsetFetchRequest) -> OffsetFetchResponse {
        let mut groups = Vec::new();
        for asked in &fetch.groups {
            let group = self.groups.entry(asked.group_id.clone()).or_default();
            let partitions = asked
                .partitions
                .clone()
                .unwrap_or_else(|| group.offsets.keys().cloned().collect());
            let partitions = partitions
                .into_iter()
                .map(|partition| {
                    let (offset, leader_epoch) =
                        group.offsets.get(&partition).copied().unwrap_or((-1, -1));
                    FetchedOffset {
                        partition,
                        offset,
                        leader_epoch,
                        metadata: Some(String::new()),
                        error: ErrorCode::None,
                    }
                })
                .collect();
            groups.push(FetchedGroupOffsets {
                group_id: asked.group_id.clone(),
                error: ErrorCode::None,
                partitions,
            });
        }
        OffsetFetchResponse { groups }
    }
}

impl FakeGroup {
    /// Starts a join phase: every member must rejoin within the longest rebalance timeout.
    fn prepare_rebalance(&mut self, now: Instant) {
        let timeout = self.members.values().map(|m| m.rebalance_timeout).max();
        self.rebalance_deadline = Some(now + timeout.unwrap_or(Duration::ZERO));
        self.state = GroupState::PreparingRebalance;
        self.join_answers.clear();
        for member in self.members.values_mut() {
            member.awaiting_sync = false;
            member.assignment = None;
        }
    }

    fn remove_member(&mut self, now: Instant, member_id: &str) {
        self.members.remove(member_id);
        if self.leader.as_deref() == Some(member_id) {
            self.leader = None;
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(now),
            GroupState::PreparingRebalance | GroupState::Empty => {}
        }
    }

    /// Ends the join phase once every member has rejoined, or at the rebalance timeout
    /// without those that have not: a new generation, a protocol all support, a leader.
    fn try_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.members.values().all(|m| m.awaiting_join);
        let timed_out = self.rebalance_deadline.is_some_and(|at| at <= now);
        if !all_joined && !timed_out {
            return;
        }
        self.members.retain(|_, m| m.awaiting_join);
        self.generation += 1;
        self.rebalance_deadline = None;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            return;
        }
        let protocol = self.select_protocol();
        let leader = match &self.leader {
            Some(leader) if self.members.contains_key(leader) => leader.clone(),
            _ => self.members.keys().next().expect("members").clone(),
        };
        let metadata_for = |m: &FakeMember| {
            let found = m.protocols.iter().find(|p| p.name == protocol);
            found.expect("a common protocol").metadata.clone()
        };
        let all: Vec<JoinGroupMember> = self
            .members
            .iter()
            .map(|(id, m)| JoinGroupMember {
                member_id: id.clone(),
                group_instance_id: None,
                metadata: metadata_for(m),
            })
            .collect();
        for (id, member) in &mut self.members {
            member.awaiting_join = false;
            member.last_heard = now;
            let answer = JoinGroupResponse {
                error: ErrorCode::None,
                generation_id: self.generation,
                protocol_type: Some("consumer".to_owned()),
                protocol_name: Some(protocol.clone()),
                leader: leader.clone(),
                member_id: id.clone(),
                members: if *id == leader {
                    all.clone()
                } else {
                    Vec::new()
                },
            };
            self.join_answers.insert(id.clone(), answer);
        }
        self.protocol = Some(protocol);
        self.leader = Some(leader);
        self.state = GroupState::CompletingRebalance;
    }

    /// Kafka's vote: among protocols every member supports, each member votes for the first
    /// in its own preference order; most votes win (ties to the first name).
    fn select_protocol(&self) -> String {
        let supported_by_all = |name: &String| {
            self.members
                .values()
                .all(|m| m.protocols.iter().any(|p| p.name == *name))
        };
        let mut votes: BTreeMap<String, usize> = BTreeMap::new();
        for member in self.members.values() {
            let choice = member
                .protocols
                .iter()
                .map(|p| &p.name)
                .find(|n| supported_by_all(n));
            *votes
                .entry(choice.expect("checked at join").clone())
                .or_default() += 1;
        }
        let most = votes.values().copied().max().expect("members vote");
        votes
            .into_iter()
            .find(|(_, v)| *v == most)
            .expect("a winner")
            .0
    }
}
