//! The classic protocol's membership rules on one [`Group`]: JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup and session expiry, as Kafka's `GroupCoordinator` decides them.
//! Every method leaves its consequences in [`Effects`]: answers to requests, and the
//! group's records to write.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::state::{new_member_id, Group, GroupState, JoinTimer, Member};
use super::{after_ms, GroupConfig};
use crate::api::{
    ErrorCode, GroupResponse, HeartbeatRequest, HeartbeatResponse, JoinGroupMember,
    JoinGroupRequest, JoinGroupResponse, LeavingMember, LeftMember, SyncGroupRequest,
    SyncGroupResponse,
};
use crate::rng::Rng;
use crate::time::Instant;

/// What a group decision asks of the coordinator.
#[derive(Debug)]
pub enum Effect {
    /// Answer the request with this token.
    Answer(u64, GroupResponse),
    /// Write the group's metadata record as it stands now.
    StoreGroup,
    /// Write the leader's assignment for this generation ([`Group::storing_assignment`]);
    /// the parked SyncGroups are answered once it is written.
    StoreAssignment(i32),
}

/// The inputs every decision needs and the effects it leaves.
pub struct Effects<'a> {
    pub now: Instant,
    pub wall_ms: i64,
    pub rng: &'a mut dyn Rng,
    pub config: &'a GroupConfig,
    pub effects: Vec<Effect>,
}

impl Effects<'_> {
    fn answer(&mut self, token: u64, response: GroupResponse) {
        self.effects.push(Effect::Answer(token, response));
    }

    fn join_error(&mut self, token: u64, member_id: String, error: ErrorCode) {
        let response = JoinGroupResponse::error(member_id, error);
        self.answer(token, GroupResponse::JoinGroup(response));
    }

    fn sync_error(&mut self, token: u64, error: ErrorCode) {
        self.answer(
            token,
            GroupResponse::SyncGroup(SyncGroupResponse::error(error)),
        );
    }
}

impl Group {
    /// JoinGroup. The caller has checked the group id, the session timeout and that this
    /// coordinator serves the group.
    pub fn join(&mut self, fx: &mut Effects<'_>, token: u64, request: JoinGroupRequest) {
        if !self.supports(&request.protocol_type, &request.protocols) {
            let error = ErrorCode::InconsistentGroupProtocol;
            return fx.join_error(token, request.member_id, error);
        }
        if request.member_id.is_empty() {
            return self.join_unknown(fx, token, request);
        }
        if self.pending_members.remove(&request.member_id).is_some() {
            // The second step of KIP-394: the id handed out is now a member.
            return self.add_member(fx, token, request.member_id.clone(), request);
        }
        let instance = request.group_instance_id.as_deref();
        if self.is_fenced(&request.member_id, instance) {
            let error = ErrorCode::FencedInstanceId;
            return fx.join_error(token, request.member_id, error);
        }
        let Some(member) = self.members.get(&request.member_id) else {
            let error = ErrorCode::UnknownMemberId;
            return fx.join_error(token, request.member_id, error);
        };
        let unchanged = member.same_protocols(&request.protocols);
        let is_leader = self.leader.as_deref() == Some(request.member_id.as_str());
        match self.state {
            GroupState::PreparingRebalance => {
                self.update_member(fx, token, &request);
                self.maybe_complete_join(fx);
            }
            GroupState::CompletingRebalance if unchanged => {
                // It lost the answer: the same one again.
                let response = self.join_response(&request.member_id);
                fx.answer(token, GroupResponse::JoinGroup(response));
            }
            GroupState::Stable if unchanged && !is_leader => {
                let response = self.join_response(&request.member_id);
                fx.answer(token, GroupResponse::JoinGroup(response));
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_member(fx, token, &request);
                self.prepare_rebalance(fx);
            }
            GroupState::Empty => {
                let error = ErrorCode::UnknownMemberId;
                fx.join_error(token, request.member_id, error);
            }
        }
    }

    fn join_unknown(&mut self, fx: &mut Effects<'_>, token: u64, request: JoinGroupRequest) {
        if self.members.len() + self.pending_members.len() >= fx.config.group_max_size {
            let error = ErrorCode::GroupMaxSizeReached;
            return fx.join_error(token, String::new(), error);
        }
        if let Some(instance) = request.group_instance_id.clone() {
            let member_id = new_member_id(&instance, fx.rng);
            return match self.static_members.get(&instance).cloned() {
                Some(old) => self.replace_static_member(fx, token, old, member_id, request),
                None => self.add_member(fx, token, member_id, request),
            };
        }
        let member_id = new_member_id(&request.client_id, fx.rng);
        if request.require_known_member_id {
            let lapse = after_ms(fx.now, request.session_timeout_ms.into());
            self.pending_members.insert(member_id.clone(), lapse);
            let error = ErrorCode::MemberIdRequired;
            return fx.join_error(token, member_id, error);
        }
        self.add_member(fx, token, member_id, request);
    }

    /// KIP-345: a static member restarted (it has no member id): its new id takes the old
    /// one's place, fencing the old one, and a Stable group keeps its generation unless the
    /// member leads it or changed its subscription.
    fn replace_static_member(
        &mut self,
        fx: &mut Effects<'_>,
        token: u64,
        old_id: String,
        new_id: String,
        request: JoinGroupRequest,
    ) {
        let Some(mut member) = self.members.remove(&old_id) else {
            // The map names a member that is gone; treat the instance as new.
            self.static_members
                .remove(request.group_instance_id.as_deref().unwrap_or(""));
            return self.add_member(fx, token, new_id, request);
        };
        let fenced = ErrorCode::FencedInstanceId;
        if let Some(old_token) = member.awaiting_join.take() {
            fx.join_error(old_token, old_id.clone(), fenced);
        }
        if let Some(old_token) = member.awaiting_sync.take() {
            fx.sync_error(old_token, fenced);
        }
        let unchanged = member.same_protocols(&request.protocols);
        member.member_id = new_id.clone();
        let instance = request.group_instance_id.clone().unwrap_or_default();
        self.static_members.insert(instance, new_id.clone());
        if self.leader.as_deref() == Some(old_id.as_str()) {
            self.leader = Some(new_id.clone());
        }
        self.members.insert(new_id.clone(), member);
        let is_leader = self.leader.as_deref() == Some(new_id.as_str());
        match self.state {
            GroupState::Stable if unchanged && !is_leader => {
                let member = self.members.get_mut(&new_id).expect("just inserted");
                member.client_id = request.client_id.clone();
                member.client_host = request.client_host.clone();
                member.refresh(fx.now);
                fx.effects.push(Effect::StoreGroup);
                let response = self.join_response(&new_id);
                fx.answer(token, GroupResponse::JoinGroup(response));
            }
            GroupState::PreparingRebalance => {
                self.update_member(fx, token, &request_with_id(request, new_id));
                self.maybe_complete_join(fx);
            }
            _ => {
                self.update_member(fx, token, &request_with_id(request, new_id));
                self.prepare_rebalance(fx);
            }
        }
    }

    fn add_member(
        &mut self,
        fx: &mut Effects<'_>,
        token: u64,
        member_id: String,
        request: JoinGroupRequest,
    ) {
        if self.members.is_empty() {
            self.protocol_type = Some(request.protocol_type.clone());
        }
        if let Some(instance) = &request.group_instance_id {
            self.static_members
                .insert(instance.clone(), member_id.clone());
        }
        let mut member = Member {
            member_id: member_id.clone(),
            group_instance_id: request.group_instance_id,
            client_id: request.client_id,
            client_host: request.client_host,
            rebalance_timeout_ms: request.rebalance_timeout_ms,
            session_timeout_ms: request.session_timeout_ms,
            protocols: request.protocols,
            assignment: Bytes::new(),
            awaiting_join: Some(token),
            awaiting_sync: None,
            session_deadline: fx.now,
        };
        member.refresh(fx.now);
        self.members.insert(member_id.clone(), member);
        if self.leader.is_none() {
            self.leader = Some(member_id);
        }
        if let Some(timer) = &mut self.join_timer {
            timer.new_member_added = true;
        }
        match self.state {
            GroupState::PreparingRebalance => self.maybe_complete_join(fx),
            _ => self.prepare_rebalance(fx),
        }
    }

    fn update_member(&mut self, fx: &mut Effects<'_>, token: u64, request: &JoinGroupRequest) {
        let member = self
            .members
            .get_mut(&request.member_id)
            .expect("a member being updated exists");
        // A second JoinGroup from the same member replaces the first, which the client has
        // given up on; it still gets an answer, as every request does.
        if let Some(old) = member.awaiting_join.replace(token) {
            let response =
                JoinGroupResponse::error(request.member_id.clone(), ErrorCode::RebalanceInProgress);
            fx.effects
                .push(Effect::Answer(old, GroupResponse::JoinGroup(response)));
        }
        member.protocols = request.protocols.clone();
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        member.session_timeout_ms = request.session_timeout_ms;
        member.client_id = request.client_id.clone();
        member.client_host = request.client_host.clone();
        member.refresh(fx.now);
    }

    /// Starts a join phase: every member must rejoin for the next generation.
    pub fn prepare_rebalance(&mut self, fx: &mut Effects<'_>) {
        if self.state == GroupState::CompletingRebalance {
            self.fail_pending_syncs(fx, ErrorCode::RebalanceInProgress);
        }
        let rebalance_ms = i64::from(self.rebalance_timeout_ms());
        let delay_ms = fx.config.group_initial_rebalance_delay_ms;
        self.join_timer = Some(match self.state {
            GroupState::Empty if delay_ms > 0 => {
                let delay = i64::from(delay_ms).min(rebalance_ms);
                JoinTimer {
                    deadline: after_ms(fx.now, delay),
                    initial_remaining_ms: Some((rebalance_ms - delay).max(0)),
                    new_member_added: false,
                }
            }
            _ => JoinTimer {
                deadline: after_ms(fx.now, rebalance_ms),
                initial_remaining_ms: None,
                new_member_added: false,
            },
        });
        self.transition(GroupState::PreparingRebalance, fx.wall_ms);
        self.maybe_complete_join(fx);
    }

    /// Completes the join phase once every member rejoined (never during an initial delay,
    /// which only its timer ends).
    pub fn maybe_complete_join(&mut self, fx: &mut Effects<'_>) {
        let initial = self
            .join_timer
            .is_some_and(|t| t.initial_remaining_ms.is_some());
        if self.state == GroupState::PreparingRebalance && !initial && self.all_joined() {
            self.complete_join(fx);
        }
    }

    /// The join phase ends: members that did not rejoin are dropped, the generation moves
    /// on, and every member that did gets its answer (the leader with the member list).
    fn complete_join(&mut self, fx: &mut Effects<'_>) {
        self.join_timer = None;
        self.pending_members.clear();
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for member_id in gone {
            self.remove_member(fx, &member_id);
        }
        self.generation += 1;
        if self.members.is_empty() {
            self.protocol = None;
            self.leader = None;
            self.transition(GroupState::Empty, fx.wall_ms);
            fx.effects.push(Effect::StoreGroup);
            return;
        }
        self.protocol = self.select_protocol();
        if self
            .leader
            .as_ref()
            .is_none_or(|l| !self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.transition(GroupState::CompletingRebalance, fx.wall_ms);
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for member_id in ids {
            let response = self.join_response(&member_id);
            let member = self.members.get_mut(&member_id).expect("listed");
            member.refresh(fx.now);
            if let Some(token) = member.awaiting_join.take() {
                fx.answer(token, GroupResponse::JoinGroup(response));
            }
        }
    }

    /// The JoinGroup answer of the current generation for `member_id`.
    fn join_response(&self, member_id: &str) -> JoinGroupResponse {
        let leader = self.leader.clone().unwrap_or_default();
        let protocol = self.protocol.clone();
        let members = match leader == member_id {
            true => self
                .members
                .values()
                .map(|m| JoinGroupMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    metadata: protocol
                        .as_deref()
                        .map(|p| m.metadata(p))
                        .unwrap_or_default(),
                })
                .collect(),
            false => Vec::new(),
        };
        JoinGroupResponse {
            error: ErrorCode::None,
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: protocol,
            leader,
            member_id: member_id.to_string(),
            members,
        }
    }

    /// SyncGroup.
    pub fn sync(&mut self, fx: &mut Effects<'_>, token: u64, request: SyncGroupRequest) {
        let instance = request.group_instance_id.as_deref();
        let error = if self.is_fenced(&request.member_id, instance) {
            Some(ErrorCode::FencedInstanceId)
        } else if !self.members.contains_key(&request.member_id) {
            Some(ErrorCode::UnknownMemberId)
        } else if request.generation_id != self.generation {
            Some(ErrorCode::IllegalGeneration)
        } else if mismatch(&request.protocol_type, &self.protocol_type)
            || mismatch(&request.protocol_name, &self.protocol)
        {
            Some(ErrorCode::InconsistentGroupProtocol)
        } else {
            match self.state {
                GroupState::Empty => Some(ErrorCode::UnknownMemberId),
                GroupState::PreparingRebalance => Some(ErrorCode::RebalanceInProgress),
                GroupState::CompletingRebalance | GroupState::Stable => None,
            }
        };
        if let Some(error) = error {
            return fx.sync_error(token, error);
        }
        let member = self.members.get_mut(&request.member_id).expect("checked");
        member.refresh(fx.now);
        if self.state == GroupState::Stable {
            let response = self.sync_response(&request.member_id);
            return fx.answer(token, GroupResponse::SyncGroup(response));
        }
        if let Some(old) = member.awaiting_sync.replace(token) {
            fx.sync_error(old, ErrorCode::RebalanceInProgress);
        }
        let is_leader = self.leader.as_deref() == Some(request.member_id.as_str());
        if is_leader && self.storing_assignment.is_none() {
            let mut assignment: BTreeMap<String, Bytes> = self
                .members
                .keys()
                .map(|id| (id.clone(), Bytes::new()))
                .collect();
            for (member_id, bytes) in request.assignments {
                if let Some(slot) = assignment.get_mut(&member_id) {
                    *slot = bytes;
                }
            }
            self.storing_assignment = Some((self.generation, assignment));
            fx.effects.push(Effect::StoreAssignment(self.generation));
        }
    }

    /// The leader's assignment for `generation` was written (`Ok`) or not.
    pub fn assignment_stored(
        &mut self,
        fx: &mut Effects<'_>,
        generation: i32,
        result: Result<(), ErrorCode>,
    ) {
        let Some((stored_generation, assignment)) = self.storing_assignment.take() else {
            return;
        };
        let current = stored_generation == generation
            && self.generation == generation
            && self.state == GroupState::CompletingRebalance;
        if !current {
            return;
        }
        match result {
            Ok(()) => {
                for (member_id, bytes) in assignment {
                    if let Some(member) = self.members.get_mut(&member_id) {
                        member.assignment = bytes;
                    }
                }
                self.transition(GroupState::Stable, fx.wall_ms);
                let ids: Vec<String> = self.members.keys().cloned().collect();
                for member_id in ids {
                    let response = self.sync_response(&member_id);
                    let member = self.members.get_mut(&member_id).expect("listed");
                    member.refresh(fx.now);
                    if let Some(token) = member.awaiting_sync.take() {
                        fx.answer(token, GroupResponse::SyncGroup(response));
                    }
                }
            }
            Err(error) => {
                self.fail_pending_syncs(fx, error);
                self.prepare_rebalance(fx);
            }
        }
    }

    fn sync_response(&self, member_id: &str) -> SyncGroupResponse {
        SyncGroupResponse {
            error: ErrorCode::None,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            assignment: self
                .members
                .get(member_id)
                .map(|m| m.assignment.clone())
                .unwrap_or_default(),
        }
    }

    fn fail_pending_syncs(&mut self, fx: &mut Effects<'_>, error: ErrorCode) {
        self.storing_assignment = None;
        for member in self.members.values_mut() {
            member.assignment = Bytes::new();
            if let Some(token) = member.awaiting_sync.take() {
                fx.sync_error(token, error);
            }
        }
    }

    /// Heartbeat.
    pub fn heartbeat(&mut self, now: Instant, request: &HeartbeatRequest) -> HeartbeatResponse {
        let instance = request.group_instance_id.as_deref();
        let error = if self.is_fenced(&request.member_id, instance) {
            ErrorCode::FencedInstanceId
        } else if !self.members.contains_key(&request.member_id) {
            ErrorCode::UnknownMemberId
        } else if request.generation_id != self.generation {
            ErrorCode::IllegalGeneration
        } else {
            match self.state {
                GroupState::Empty => ErrorCode::UnknownMemberId,
                GroupState::PreparingRebalance => ErrorCode::RebalanceInProgress,
                GroupState::CompletingRebalance | GroupState::Stable => ErrorCode::None,
            }
        };
        if matches!(
            error,
            ErrorCode::None | ErrorCode::RebalanceInProgress | ErrorCode::IllegalGeneration
        ) {
            if let Some(member) = self.members.get_mut(&request.member_id) {
                member.refresh(now);
            }
        }
        HeartbeatResponse { error }
    }

    /// LeaveGroup for each member: answers per member.
    pub fn leave(&mut self, fx: &mut Effects<'_>, members: &[LeavingMember]) -> Vec<LeftMember> {
        let mut answers = Vec::with_capacity(members.len());
        let mut left = false;
        for leaving in members {
            let instance = leaving.group_instance_id.as_deref();
            let member_id = match (leaving.member_id.as_str(), instance) {
                ("", Some(instance)) => self.static_members.get(instance).cloned(),
                (id, _) => Some(id.to_string()),
            };
            let error = match member_id {
                None => ErrorCode::UnknownMemberId,
                Some(id) if self.is_fenced(&id, instance) => ErrorCode::FencedInstanceId,
                Some(id) if self.pending_members.remove(&id).is_some() => {
                    left = true;
                    ErrorCode::None
                }
                Some(id) if self.members.contains_key(&id) => {
                    self.remove_member(fx, &id);
                    left = true;
                    ErrorCode::None
                }
                Some(_) => ErrorCode::UnknownMemberId,
            };
            answers.push(LeftMember {
                member_id: leaving.member_id.clone(),
                group_instance_id: leaving.group_instance_id.clone(),
                error,
            });
        }
        if left {
            self.after_departure(fx);
        }
        answers
    }

    /// Removes a member, answering what it still waits for.
    fn remove_member(&mut self, fx: &mut Effects<'_>, member_id: &str) {
        let Some(mut member) = self.members.remove(member_id) else {
            return;
        };
        if let Some(instance) = &member.group_instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        if let Some(token) = member.awaiting_join.take() {
            fx.join_error(token, member_id.to_string(), ErrorCode::UnknownMemberId);
        }
        if let Some(token) = member.awaiting_sync.take() {
            fx.sync_error(token, ErrorCode::UnknownMemberId);
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
    }

    /// After members left or expired: a settled group rebalances; a joining one may now be
    /// complete.
    fn after_departure(&mut self, fx: &mut Effects<'_>) {
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(fx),
            GroupState::PreparingRebalance => self.maybe_complete_join(fx),
            GroupState::Empty => {}
        }
    }

    /// Runs what is due at `now`: lapsed sessions and MEMBER_ID_REQUIRED ids, and the end of
    /// a join phase (or of one step of an initial delay).
    pub fn handle_timeout(&mut self, fx: &mut Effects<'_>) {
        let now = fx.now;
        let lapsed: Vec<String> = self
            .pending_members
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        let mut departed = !lapsed.is_empty();
        for id in lapsed {
            self.pending_members.remove(&id);
        }
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.expiry().is_some_and(|at| at <= now))
            .map(|m| m.member_id.clone())
            .collect();
        if crate::bugs::active(crate::bugs::Bug::SessionExpiryWithoutRebalance) {
            for id in &expired {
                if let Some(member) = self.members.get_mut(id) {
                    member.refresh(now);
                }
            }
        } else {
            for id in expired {
                self.remove_member(fx, &id);
                departed = true;
            }
        }
        if departed {
            self.after_departure(fx);
        }
        let Some(timer) = self.join_timer else {
            return;
        };
        if timer.deadline > now || self.state != GroupState::PreparingRebalance {
            return;
        }
        match timer.initial_remaining_ms {
            Some(remaining) if timer.new_member_added && remaining > 0 => {
                let delay = i64::from(fx.config.group_initial_rebalance_delay_ms).min(remaining);
                self.join_timer = Some(JoinTimer {
                    deadline: after_ms(now, delay),
                    initial_remaining_ms: Some(remaining - delay),
                    new_member_added: false,
                });
            }
            _ => self.complete_join(fx),
        }
    }

    /// The coordinator gives the group up (it no longer leads its partition): everything
    /// waiting is answered NOT_COORDINATOR, so the members find the new coordinator.
    pub fn unload(&mut self, fx: &mut Effects<'_>) {
        for member in self.members.values_mut() {
            if let Some(token) = member.awaiting_join.take() {
                let response =
                    JoinGroupResponse::error(member.member_id.clone(), ErrorCode::NotCoordinator);
                fx.effects
                    .push(Effect::Answer(token, GroupResponse::JoinGroup(response)));
            }
            if let Some(token) = member.awaiting_sync.take() {
                let response = SyncGroupResponse::error(ErrorCode::NotCoordinator);
                fx.effects
                    .push(Effect::Answer(token, GroupResponse::SyncGroup(response)));
            }
        }
    }
}

fn mismatch(given: &Option<String>, ours: &Option<String>) -> bool {
    given.is_some() && given != ours
}

fn request_with_id(mut request: JoinGroupRequest, member_id: String) -> JoinGroupRequest {
    request.member_id = member_id;
    request
}
