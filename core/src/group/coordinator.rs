//! [`GroupCoordinator`]: the offsets partitions this broker leads, their groups, the
//! requests routed to them, the records they write and the timers they run.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::membership::{Effect, Effects};
use super::records;
use super::state::Group;
use super::{after_ms, partition_for_group, GroupConfig, OFFSETS_TOPIC};
use crate::api::{
    Coordinator, DescribedGroup, ErrorCode, FetchedGroupOffsets, FindCoordinatorRequest,
    FindCoordinatorResponse, GroupRequest, GroupResponse, HeartbeatResponse, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupResponse, ListGroupsRequest, ListGroupsResponse, ListedGroup,
    SyncGroupResponse, TopicPartition, COORDINATOR_KEY_GROUP, COORDINATOR_KEY_TRANSACTION,
};
use crate::controller::MetadataImage;
use crate::record::{Compression, RecordBatchBuilder};
use crate::rng::Rng;
use crate::time::Instant;

/// Work for the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupOutput {
    /// Answer the request that came with `token`, once the node's sync `after` (if any, the
    /// number of a `SyncToken` the append's answer waited for) has completed.
    Answer {
        /// The node's token.
        token: u64,
        /// The answer.
        response: GroupResponse,
        /// The node's sync the answer waits for.
        after: Option<u64>,
    },
    /// Produce `batch` to `__consumer_offsets` partition `partition` with `acks`, and report
    /// the outcome to [`GroupCoordinator::append_done`] with `id`.
    Append {
        /// The coordinator's id for it.
        id: u64,
        /// The offsets partition.
        partition: i32,
        /// One RecordBatch v2.
        batch: Vec<u8>,
        /// -1, except under a planted bug.
        acks: i16,
        /// How long the leader waits for the ISR (`offsets.commit.timeout.ms`).
        timeout_ms: i32,
    },
    /// Ask the controller to create the offsets topic (FindCoordinator found none).
    CreateOffsetsTopic {
        /// `offsets.topic.num.partitions`.
        partitions: i32,
        /// `offsets.topic.replication.factor`, capped at the live brokers.
        replication_factor: i16,
        /// Its topic configs.
        configs: Vec<(String, String)>,
    },
}

/// Counters for tests and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Offsets partitions loaded.
    pub partitions_loaded: u64,
    /// Records read while loading.
    pub records_loaded: u64,
    /// Records skipped while loading because they did not decode.
    pub records_skipped: u64,
    /// Offsets expired by retention.
    pub offsets_expired: u64,
    /// Members removed because their session lapsed.
    pub sessions_expired: u64,
}

/// One offsets partition this broker leads.
#[derive(Debug)]
pub(super) struct OffsetsPartition {
    pub epoch: i32,
    /// The log end when it was loaded: its groups are served once the HW reaches it.
    pub load_end: i64,
    pub ready: bool,
    pub groups: BTreeMap<String, Group>,
}

/// What an append in flight was for.
#[derive(Debug)]
pub(super) enum Append {
    /// An OffsetCommit: `offsets` apply once written; `answers` are the partitions refused
    /// before the append.
    Commit {
        token: Option<u64>,
        partition: i32,
        epoch: i32,
        group: String,
        offsets: Vec<(TopicPartition, records::OffsetValue)>,
        answers: Vec<(TopicPartition, ErrorCode)>,
    },
    /// The leader's assignment of a generation.
    Assignment {
        partition: i32,
        epoch: i32,
        group: String,
        generation: i32,
    },
    /// Part of a request answered when all its appends are done.
    Joint { waiter: u64 },
    /// Nobody waits (group metadata, expired offsets).
    Quiet,
}

/// An answer that waits for several appends.
#[derive(Debug)]
pub(super) struct Waiter {
    pub token: u64,
    pub response: GroupResponse,
    pub remaining: usize,
    pub after: Option<u64>,
}

/// The coordinator. See the module documentation.
#[derive(Debug)]
pub struct GroupCoordinator {
    pub(super) config: GroupConfig,
    pub(super) partitions: BTreeMap<i32, OffsetsPartition>,
    pub(super) appends: BTreeMap<u64, Append>,
    pub(super) next_append: u64,
    pub(super) waiters: BTreeMap<u64, Waiter>,
    pub(super) next_waiter: u64,
    pub(super) outputs: VecDeque<GroupOutput>,
    /// Each group's next deadline, and the same as an ordered set for the earliest.
    pub(super) wakes: BTreeMap<(i32, String), Instant>,
    pub(super) timers: BTreeSet<(Instant, i32, String)>,
    pub(super) next_retention_check: Option<Instant>,
    pub(super) stats: GroupStats,
}

impl GroupCoordinator {
    /// A coordinator that leads nothing yet.
    pub fn new(config: GroupConfig) -> GroupCoordinator {
        GroupCoordinator {
            config,
            partitions: BTreeMap::new(),
            appends: BTreeMap::new(),
            next_append: 0,
            waiters: BTreeMap::new(),
            next_waiter: 0,
            outputs: VecDeque::new(),
            wakes: BTreeMap::new(),
            timers: BTreeSet::new(),
            next_retention_check: None,
            stats: GroupStats::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &GroupStats {
        &self.stats
    }

    /// The offsets partitions held, with the leader epoch each was loaded in.
    pub fn led(&self) -> impl Iterator<Item = (i32, i32)> + '_ {
        self.partitions.iter().map(|(p, state)| (*p, state.epoch))
    }

    /// Whether `partition` is loaded and serving.
    pub fn is_ready(&self, partition: i32) -> bool {
        self.partitions.get(&partition).is_some_and(|p| p.ready)
    }

    /// The groups of the partitions held, for observers: (group, state, generation).
    pub fn groups(&self) -> impl Iterator<Item = (&str, &'static str, i32)> + '_ {
        self.partitions.values().flat_map(|p| {
            p.groups
                .values()
                .map(|g| (g.group_id.as_str(), g.state.name(), g.generation))
        })
    }

    /// The committed offset of `group` for `partition`, if this coordinator holds it.
    pub fn committed(&self, group: &str, partition: &TopicPartition) -> Option<i64> {
        let index = partition_for_group(group, self.config.offsets_topic_num_partitions);
        let offsets = &self.partitions.get(&index)?.groups.get(group)?.offsets;
        offsets.get(partition).map(|value| value.offset)
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<GroupOutput> {
        self.outputs.pop_front()
    }

    /// When [`GroupCoordinator::handle_timeout`] next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let group = self.timers.first().map(|(at, _, _)| *at);
        [group, self.next_retention_check]
            .into_iter()
            .flatten()
            .min()
    }

    /// This broker's high watermark of a led offsets partition: once it reaches the loaded
    /// log end, the partition's groups are served.
    pub fn high_watermark(&mut self, partition: i32, high_watermark: i64) {
        if let Some(state) = self.partitions.get_mut(&partition) {
            if !state.ready && high_watermark >= state.load_end {
                state.ready = true;
            }
        }
    }

    /// This broker no longer leads `partition`: its groups are dropped and whoever waits on
    /// them is told NOT_COORDINATOR.
    pub fn resign(&mut self, now: Instant, wall_ms: i64, rng: &mut dyn Rng, partition: i32) {
        let Some(mut state) = self.partitions.remove(&partition) else {
            return;
        };
        let config = self.config.clone();
        let mut fx = Effects {
            now,
            wall_ms,
            rng,
            config: &config,
            effects: Vec::new(),
        };
        for group in state.groups.values_mut() {
            group.unload(&mut fx);
        }
        let effects = fx.effects;
        for effect in effects {
            if let Effect::Answer(token, response) = effect {
                self.answer(token, response, None);
            }
        }
        let stale: Vec<(i32, String)> = self
            .wakes
            .range((partition, String::new())..)
            .take_while(|((p, _), _)| *p == partition)
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            if let Some(at) = self.wakes.remove(&key) {
                self.timers.remove(&(at, key.0, key.1));
            }
        }
    }

    /// A group request with the node's `token`; `live_brokers` caps the offsets topic's
    /// replication factor should FindCoordinator create it.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_request(
        &mut self,
        now: Instant,
        wall_ms: i64,
        rng: &mut dyn Rng,
        image: &MetadataImage,
        live_brokers: usize,
        token: u64,
        request: GroupRequest,
    ) {
        if self.next_retention_check.is_none() {
            let interval = self.config.offsets_retention_check_interval_ms;
            self.next_retention_check = Some(after_ms(now, interval));
        }
        match request {
            GroupRequest::FindCoordinator(request) => {
                let response = self.find_coordinator(image, live_brokers, &request);
                self.answer(token, GroupResponse::FindCoordinator(response), None);
            }
            GroupRequest::ListGroups(request) => {
                let response = self.list_groups(&request);
                self.answer(token, GroupResponse::ListGroups(response), None);
            }
            GroupRequest::DescribeGroups(request) => {
                let groups = request
                    .groups
                    .iter()
                    .map(|group| self.describe(group))
                    .collect();
                let response = crate::api::DescribeGroupsResponse { groups };
                self.answer(token, GroupResponse::DescribeGroups(response), None);
            }
            GroupRequest::JoinGroup(request) => self.join(now, wall_ms, rng, token, request),
            GroupRequest::SyncGroup(request) => {
                let group_id = request.group_id.clone();
                let refused = |error| GroupResponse::SyncGroup(SyncGroupResponse::error(error));
                self.with_group(now, wall_ms, rng, token, &group_id, refused, |group, fx| {
                    group.sync(fx, token, request)
                });
            }
            GroupRequest::Heartbeat(request) => {
                let group_id = request.group_id.clone();
                let refused = |error| GroupResponse::Heartbeat(HeartbeatResponse { error });
                self.with_group(now, wall_ms, rng, token, &group_id, refused, |group, fx| {
                    let response = group.heartbeat(fx.now, &request);
                    fx.effects
                        .push(Effect::Answer(token, GroupResponse::Heartbeat(response)));
                });
            }
            GroupRequest::LeaveGroup(request) => {
                let refused = |error| {
                    GroupResponse::LeaveGroup(LeaveGroupResponse {
                        error,
                        members: Vec::new(),
                    })
                };
                let group_id = request.group_id.clone();
                self.with_group(now, wall_ms, rng, token, &group_id, refused, |group, fx| {
                    let members = group.leave(fx, &request.members);
                    let response = LeaveGroupResponse {
                        error: ErrorCode::None,
                        members,
                    };
                    fx.effects
                        .push(Effect::Answer(token, GroupResponse::LeaveGroup(response)));
                });
            }
            GroupRequest::OffsetCommit(request) => self.commit(now, wall_ms, image, token, request),
            GroupRequest::OffsetFetch(request) => {
                let response = self.fetch_offsets(&request);
                self.answer(token, GroupResponse::OffsetFetch(response), None);
            }
            GroupRequest::DeleteGroups(request) => self.delete_groups(wall_ms, token, &request),
            GroupRequest::OffsetDelete(request) => self.delete_offsets(wall_ms, token, &request),
        }
    }

    /// Runs what is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, wall_ms: i64, rng: &mut dyn Rng) {
        while let Some((at, partition, group_id)) = self.timers.first().cloned() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            self.wakes.remove(&(partition, group_id.clone()));
            let config = self.config.clone();
            let Some(state) = self.partitions.get_mut(&partition) else {
                continue;
            };
            let Some(group) = state.groups.get_mut(&group_id) else {
                continue;
            };
            let members_before = group.members.len();
            let mut fx = Effects {
                now,
                wall_ms,
                rng: &mut *rng,
                config: &config,
                effects: Vec::new(),
            };
            group.handle_timeout(&mut fx);
            let gone = members_before.saturating_sub(group.members.len());
            self.stats.sessions_expired += gone as u64;
            let effects = fx.effects;
            self.apply_effects(partition, &group_id, wall_ms, effects);
            self.settle_group(partition, &group_id);
        }
        if self.next_retention_check.is_some_and(|at| at <= now) {
            let interval = self.config.offsets_retention_check_interval_ms;
            self.next_retention_check = Some(after_ms(now, interval));
            self.expire_offsets(wall_ms);
        }
    }

    fn find_coordinator(
        &mut self,
        image: &MetadataImage,
        live_brokers: usize,
        request: &FindCoordinatorRequest,
    ) -> FindCoordinatorResponse {
        let coordinators = request
            .keys
            .iter()
            .map(|key| match request.key_type {
                COORDINATOR_KEY_GROUP if key.is_empty() => {
                    Coordinator::error(key.clone(), ErrorCode::InvalidRequest)
                }
                COORDINATOR_KEY_GROUP => self.coordinator_of(image, live_brokers, key),
                COORDINATOR_KEY_TRANSACTION => Coordinator {
                    message: Some("transactions are not supported yet".to_string()),
                    ..Coordinator::error(key.clone(), ErrorCode::InvalidRequest)
                },
                _ => Coordinator::error(key.clone(), ErrorCode::InvalidRequest),
            })
            .collect();
        FindCoordinatorResponse { coordinators }
    }

    fn coordinator_of(&mut self, image: &MetadataImage, live: usize, key: &str) -> Coordinator {
        let Some(topic) = image.topic_by_name(OFFSETS_TOPIC) else {
            let most = i16::try_from(live.max(1)).unwrap_or(i16::MAX);
            let segment = self.config.offsets_topic_segment_bytes.to_string();
            self.outputs.push_back(GroupOutput::CreateOffsetsTopic {
                partitions: self.config.offsets_topic_num_partitions,
                replication_factor: self.config.offsets_topic_replication_factor.min(most),
                configs: vec![
                    ("cleanup.policy".to_string(), "compact".to_string()),
                    ("compression.type".to_string(), "producer".to_string()),
                    ("segment.bytes".to_string(), segment),
                ],
            });
            return Coordinator::error(key.to_string(), ErrorCode::CoordinatorNotAvailable);
        };
        let index = partition_for_group(key, self.config.offsets_topic_num_partitions);
        let leader = image
            .partition(topic.topic_id, index)
            .map(|p| p.leader)
            .filter(|leader| *leader >= 0);
        match leader {
            Some(node_id) => Coordinator {
                key: key.to_string(),
                node_id,
                error: ErrorCode::None,
                message: None,
            },
            None => Coordinator::error(key.to_string(), ErrorCode::CoordinatorNotAvailable),
        }
    }

    /// Where `group_id` is served, or why not here.
    pub(super) fn serving(&self, group_id: &str) -> Result<i32, ErrorCode> {
        let index = partition_for_group(group_id, self.config.offsets_topic_num_partitions);
        match self.partitions.get(&index) {
            None => Err(ErrorCode::NotCoordinator),
            Some(state)
                if !state.ready
                    && !crate::bugs::active(crate::bugs::Bug::GroupServeBeforeLoaded) =>
            {
                Err(ErrorCode::CoordinatorLoadInProgress)
            }
            Some(_) => Ok(index),
        }
    }

    fn list_groups(&self, request: &ListGroupsRequest) -> ListGroupsResponse {
        let loading = self.partitions.values().any(|p| !p.ready);
        let wanted = |state: &str| {
            request.states_filter.is_empty()
                || request
                    .states_filter
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(state))
        };
        let groups = self
            .partitions
            .values()
            .filter(|p| p.ready)
            .flat_map(|p| p.groups.values())
            .filter(|g| wanted(g.state.name()))
            .map(|g| ListedGroup {
                group_id: g.group_id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state.name().to_string(),
            })
            .collect();
        ListGroupsResponse {
            error: match loading {
                true => ErrorCode::CoordinatorLoadInProgress,
                false => ErrorCode::None,
            },
            groups,
        }
    }

    fn describe(&self, group_id: &str) -> DescribedGroup {
        let partition = match self.serving(group_id) {
            Ok(partition) => partition,
            Err(error) => return DescribedGroup::error(group_id.to_string(), error),
        };
        match self.partitions[&partition].groups.get(group_id) {
            Some(group) => group.describe(),
            // Kafka describes a group it does not know as Dead, without an error.
            None => DescribedGroup {
                state: "Dead".to_string(),
                ..DescribedGroup::error(group_id.to_string(), ErrorCode::None)
            },
        }
    }

    fn join(
        &mut self,
        now: Instant,
        wall_ms: i64,
        rng: &mut dyn Rng,
        token: u64,
        request: JoinGroupRequest,
    ) {
        let member_id = request.member_id.clone();
        let refuse = move |error| {
            GroupResponse::JoinGroup(JoinGroupResponse::error(member_id.clone(), error))
        };
        let session = request.session_timeout_ms;
        let error = if request.group_id.is_empty() {
            Some(ErrorCode::InvalidGroupId)
        } else if session < self.config.group_min_session_timeout_ms
            || session > self.config.group_max_session_timeout_ms
        {
            Some(ErrorCode::InvalidSessionTimeout)
        } else {
            self.serving(&request.group_id).err()
        };
        if let Some(error) = error {
            return self.answer(token, refuse(error), None);
        }
        let partition = self.serving(&request.group_id).expect("checked");
        let groups = &mut self.partitions.get_mut(&partition).expect("served").groups;
        if !groups.contains_key(&request.group_id) {
            if !request.member_id.is_empty() {
                return self.answer(token, refuse(ErrorCode::UnknownMemberId), None);
            }
            let group = Group::new(request.group_id.clone(), wall_ms);
            groups.insert(request.group_id.clone(), group);
        }
        let group_id = request.group_id.clone();
        self.with_group(now, wall_ms, rng, token, &group_id, refuse, |group, fx| {
            group.join(fx, token, request)
        });
    }

    /// Runs `decide` on the group `group_id` serves, or answers `refused(error)` when this
    /// coordinator cannot (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, an unknown group:
    /// UNKNOWN_MEMBER_ID, as Kafka answers a member of a group it does not hold).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn with_group(
        &mut self,
        now: Instant,
        wall_ms: i64,
        rng: &mut dyn Rng,
        token: u64,
        group_id: &str,
        refused: impl FnOnce(ErrorCode) -> GroupResponse,
        decide: impl FnOnce(&mut Group, &mut Effects<'_>),
    ) {
        let partition = match self.serving(group_id) {
            Ok(partition) if !group_id.is_empty() => partition,
            Ok(_) => return self.answer(token, refused(ErrorCode::InvalidGroupId), None),
            Err(error) => return self.answer(token, refused(error), None),
        };
        let config = self.config.clone();
        let state = self.partitions.get_mut(&partition).expect("served");
        let Some(group) = state.groups.get_mut(group_id) else {
            return self.answer(token, refused(ErrorCode::UnknownMemberId), None);
        };
        let mut fx = Effects {
            now,
            wall_ms,
            rng,
            config: &config,
            effects: Vec::new(),
        };
        decide(group, &mut fx);
        let effects = fx.effects;
        self.apply_effects(partition, group_id, wall_ms, effects);
        self.settle_group(partition, group_id);
    }

    /// Carries out a group decision's effects.
    pub(super) fn apply_effects(
        &mut self,
        partition: i32,
        group_id: &str,
        wall_ms: i64,
        effects: Vec<Effect>,
    ) {
        for effect in effects {
            match effect {
                Effect::Answer(token, response) => self.answer(token, response, None),
                Effect::StoreGroup => {
                    let Some(group) = self.group(partition, group_id) else {
                        continue;
                    };
                    let value = records::group_value(&group.value());
                    let key = records::group_key(group_id);
                    self.append(partition, wall_ms, &[(key, Some(value))], Append::Quiet);
                }
                Effect::StoreAssignment(generation) => {
                    let Some(group) = self.group(partition, group_id) else {
                        continue;
                    };
                    let mut value = group.value();
                    if let Some((_, assignment)) = &group.storing_assignment {
                        for member in &mut value.members {
                            if let Some(bytes) = assignment.get(&member.member_id) {
                                member.assignment = bytes.clone();
                            }
                        }
                    }
                    let epoch = self.partitions[&partition].epoch;
                    let record = (
                        records::group_key(group_id),
                        Some(records::group_value(&value)),
                    );
                    let purpose = Append::Assignment {
                        partition,
                        epoch,
                        group: group_id.to_string(),
                        generation,
                    };
                    self.append(partition, wall_ms, &[record], purpose);
                }
            }
        }
    }

    pub(super) fn group(&self, partition: i32, group_id: &str) -> Option<&Group> {
        self.partitions.get(&partition)?.groups.get(group_id)
    }

    /// After a group changed: forget it if nothing is left of it, and move its timer.
    pub(super) fn settle_group(&mut self, partition: i32, group_id: &str) {
        let key = (partition, group_id.to_string());
        if let Some(at) = self.wakes.remove(&key) {
            self.timers.remove(&(at, partition, group_id.to_string()));
        }
        let Some(state) = self.partitions.get_mut(&partition) else {
            return;
        };
        let Some(group) = state.groups.get(group_id) else {
            return;
        };
        // A group that never completed a generation and holds nothing (a MEMBER_ID_REQUIRED
        // id that lapsed) left no record behind: it is simply gone.
        if group.is_forgettable() && group.generation == 0 {
            state.groups.remove(group_id);
            return;
        }
        if let Some(at) = group.next_deadline() {
            self.wakes.insert(key, at);
            self.timers.insert((at, partition, group_id.to_string()));
        }
    }

    /// Appends `records` (key, value or tombstone) to `partition` as one batch.
    pub(super) fn append(
        &mut self,
        partition: i32,
        wall_ms: i64,
        records: &[(Vec<u8>, Option<Vec<u8>>)],
        purpose: Append,
    ) -> u64 {
        let mut builder = RecordBatchBuilder::new(Compression::None);
        for (key, value) in records {
            builder.append(wall_ms, Some(key), value.as_deref(), &[]);
        }
        let id = self.next_append;
        self.next_append += 1;
        self.appends.insert(id, purpose);
        let acks = match crate::bugs::active(crate::bugs::Bug::GroupCommitBeforeReplicated) {
            true => 1,
            false => -1,
        };
        self.outputs.push_back(GroupOutput::Append {
            id,
            partition,
            batch: builder.build(),
            acks,
            timeout_ms: self.config.offsets_commit_timeout_ms,
        });
        id
    }

    /// The outcome of the append `id`: `Ok` once the ISR holds it, or the produce's error;
    /// answers it causes wait for the replica sync `after`.
    pub fn append_done(
        &mut self,
        now: Instant,
        wall_ms: i64,
        rng: &mut dyn Rng,
        id: u64,
        result: Result<(), ErrorCode>,
        after: Option<u64>,
    ) {
        let Some(purpose) = self.appends.remove(&id) else {
            return;
        };
        let result = result.map_err(store_error);
        match purpose {
            Append::Commit {
                token,
                partition,
                epoch,
                group,
                offsets,
                answers,
            } => self.commit_done(
                token, partition, epoch, &group, offsets, answers, result, after,
            ),
            Append::Assignment {
                partition,
                epoch,
                group,
                generation,
            } => {
                if self
                    .partitions
                    .get(&partition)
                    .is_none_or(|p| p.epoch != epoch)
                {
                    return;
                }
                let config = self.config.clone();
                let Some(found) = self
                    .partitions
                    .get_mut(&partition)
                    .and_then(|p| p.groups.get_mut(&group))
                else {
                    return;
                };
                let mut fx = Effects {
                    now,
                    wall_ms,
                    rng,
                    config: &config,
                    effects: Vec::new(),
                };
                found.assignment_stored(&mut fx, generation, result);
                let effects = fx.effects;
                for effect in effects {
                    match effect {
                        Effect::Answer(token, response) => self.answer(token, response, after),
                        other => self.apply_effects(partition, &group, wall_ms, vec![other]),
                    }
                }
                self.settle_group(partition, &group);
            }
            Append::Joint { waiter } => {
                let Some(waiting) = self.waiters.get_mut(&waiter) else {
                    return;
                };
                waiting.remaining -= 1;
                waiting.after = after.or(waiting.after);
                if let Err(error) = result {
                    fail_joint(&mut waiting.response, error);
                }
                if waiting.remaining == 0 {
                    let done = self.waiters.remove(&waiter).expect("present");
                    self.answer(done.token, done.response, done.after);
                }
            }
            Append::Quiet => {}
        }
    }

    pub(super) fn answer(&mut self, token: u64, response: GroupResponse, after: Option<u64>) {
        self.outputs.push_back(GroupOutput::Answer {
            token,
            response,
            after,
        });
    }
}

/// Kafka's mapping of a failed append of group records to what the client is told
/// (`GroupMetadataManager.storeGroup` / `storeOffsets`).
fn store_error(error: ErrorCode) -> ErrorCode {
    match error {
        ErrorCode::UnknownTopicOrPartition
        | ErrorCode::NotEnoughReplicas
        | ErrorCode::NotEnoughReplicasAfterAppend
        | ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::NotLeaderOrFollower | ErrorCode::KafkaStorageError => ErrorCode::NotCoordinator,
        ErrorCode::MessageTooLarge | ErrorCode::CorruptMessage => {
            ErrorCode::InvalidCommitOffsetSize
        }
        other => other,
    }
}

/// Marks a joint answer's entries that were still NONE with `error`.
fn fail_joint(response: &mut GroupResponse, error: ErrorCode) {
    match response {
        GroupResponse::DeleteGroups(answer) => {
            for (_, code) in &mut answer.groups {
                if *code == ErrorCode::None {
                    *code = error;
                }
            }
        }
        GroupResponse::OffsetDelete(answer) if answer.error == ErrorCode::None => {
            answer.error = error;
            answer.partitions.clear();
        }
        _ => {}
    }
}

/// The offsets a fetch finds for a group this coordinator does not hold: none.
pub(super) fn unknown_group_offsets(
    group_id: &str,
    partitions: &Option<Vec<TopicPartition>>,
) -> FetchedGroupOffsets {
    FetchedGroupOffsets {
        group_id: group_id.to_string(),
        error: ErrorCode::None,
        partitions: partitions
            .iter()
            .flatten()
            .map(|tp| crate::api::FetchedOffset {
                partition: tp.clone(),
                offset: -1,
                leader_epoch: -1,
                metadata: Some(String::new()),
                error: ErrorCode::None,
            })
            .collect(),
    }
}
