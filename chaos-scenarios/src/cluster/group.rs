//! Consumer-group clients: a member (core's sans-IO [`GroupConsumer`]) and a reader of the
//! group's committed offsets, with every group operation written to the history the checker
//! reads. Group requests are recorded on the wire, as they leave and as their answers come:
//!
//! - a SyncGroup is an assignment invoked when sent and completed OK by the member's
//!   `Assigned` (its partitions), with the positions its `Resumed` partitions start from;
//! - an OffsetCommit is a commit invoked when sent: OK (less the partitions the answer refused
//!   for good) when answered without an indefinite error, indefinite when the answer says the
//!   append may have happened (a timeout, NOT_COORDINATOR, …), the connection dropped, or no
//!   answer came. Each retry is one more commit, as each is one more request;
//! - an OffsetFetch (the member's own, and the reader's every few hundred ms) is a read of the
//!   committed offsets, OK when every partition was answered without error;
//! - `Revoked` and `Lost` are revocations (a lost partition is given up too).
//!
//! A static member (`group.instance.id`) is named by its instance id in the history: a
//! restart of it is the same member to the coordinator, which hands it the same assignment in
//! the same generation without a rebalance (KIP-345).

use std::collections::BTreeMap;

use sluice_core::api::{
    ErrorCode, FindCoordinatorRequest, GroupRequest, GroupResponse, OffsetFetchGroup,
    OffsetFetchRequest, Request, Response, TopicPartition,
};
use sluice_core::client::assignor::Assignor;
use sluice_core::client::{GroupConsumer, GroupConsumerOutput};
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_jepsen::{History, OpId};
use sluice_sim::NodeId;

/// One member of a consumer group, as the workload drives it.
pub struct GroupMember {
    /// The member.
    pub consumer: GroupConsumer,
    /// Its group.
    pub group: String,
    /// The workload's topic.
    pub topic: String,
    /// Commits in flight: request id → operation.
    commits: BTreeMap<u64, OpId>,
    /// Committed-offset reads in flight: request id → operation.
    fetches: BTreeMap<u64, OpId>,
    /// SyncGroups in flight: request id → (operation, generation).
    syncs: BTreeMap<u64, (OpId, i32)>,
    /// The SyncGroup answered OK whose `Assigned` is awaited.
    assigning: Option<(OpId, i32)>,
    /// The current assignment and the positions its partitions resumed at, not yet recorded.
    current: Option<OpId>,
    positioned: bool,
    positions: Vec<(i32, i64)>,
    /// The generation the member last held an assignment of, for the marks.
    pub last_generation: i32,
    /// The generation its previous incarnation held (a restarted static member), for the marks.
    pub previous_incarnation_generation: Option<i32>,
    /// Closing (LeaveGroup): it goes once `Closed`.
    pub closing: bool,
    /// It failed for good (FENCED_INSTANCE_ID, …): its application exits, and a supervisor
    /// starts another.
    pub failed: bool,
}

/// What a group member's output came to, for the driver.
pub enum MemberNews {
    /// Send this request.
    Request {
        /// The broker.
        to: i32,
        /// The id of its answer.
        id: u64,
        /// The request.
        request: Request,
    },
    /// The fetching consumer's output, to record as a plain consumer's.
    Consumed(sluice_core::client::ConsumerOutput),
    /// Coverage marks reached, and what happened, for the trace.
    Marks(Vec<&'static str>, String),
}

impl GroupMember {
    /// A member of `group` reading `topic`.
    pub fn new(consumer: GroupConsumer, group: &str, topic: &str) -> GroupMember {
        GroupMember {
            consumer,
            group: group.to_string(),
            topic: topic.to_string(),
            commits: BTreeMap::new(),
            fetches: BTreeMap::new(),
            syncs: BTreeMap::new(),
            assigning: None,
            current: None,
            positioned: true,
            positions: Vec::new(),
            last_generation: -1,
            previous_incarnation_generation: None,
            closing: false,
            failed: false,
        }
    }

    /// The name of the member in the history: its instance id if static, else its member id.
    fn name(&self, member_id: &str) -> String {
        match &self.consumer.config().group_instance_id {
            Some(instance) => instance.clone(),
            None => member_id.to_string(),
        }
    }

    /// The member's next output, its group operations recorded in `history`.
    pub fn poll(&mut self, process: u64, history: &mut History) -> Option<MemberNews> {
        let output = self.consumer.poll_output()?;
        let mut marks = Vec::new();
        let note = format!("{output:?}");
        match output {
            GroupConsumerOutput::Request { to, id, request } => {
                self.request_sent(process, history, id, &request);
                return Some(MemberNews::Request { to, id, request });
            }
            GroupConsumerOutput::Consumed(output) => return Some(MemberNews::Consumed(output)),
            GroupConsumerOutput::Joined { generation_id, .. } => {
                if self.previous_incarnation_generation == Some(generation_id) {
                    marks.push("static-member-rejoined-without-rebalance");
                }
            }
            GroupConsumerOutput::Assigned {
                generation_id,
                assignment,
                ..
            } => {
                if let Some((op, generation)) = self.assigning.take() {
                    if generation == generation_id {
                        let partitions = self.partitions_of(&assignment);
                        history
                            .ok_assignment(op, partitions)
                            .expect("a pending assignment");
                        self.current = Some(op);
                        self.positioned = false;
                        self.positions.clear();
                    }
                }
                if generation_id > 1 {
                    marks.push("rebalance-completed");
                }
                self.last_generation = generation_id;
            }
            GroupConsumerOutput::Resumed {
                partition, offset, ..
            } => {
                if partition.topic == self.topic && offset >= 0 {
                    self.positions.push((partition.partition, offset));
                    if offset > 0 {
                        marks.push("resumed-from-committed-offset");
                    }
                }
            }
            GroupConsumerOutput::Revoked { partitions } => {
                let strategy = &self.consumer.config().partition_assignment_strategy;
                if strategy.iter().all(|a| *a == Assignor::CooperativeSticky) {
                    marks.push("partitions-revoked-cooperatively");
                }
                self.revoke(process, history, &partitions);
            }
            GroupConsumerOutput::Lost { partitions } => {
                marks.push("partitions-lost");
                self.revoke(process, history, &partitions);
            }
            GroupConsumerOutput::Committed(result) => {
                for partition in &result.partitions {
                    match partition.error {
                        ErrorCode::IllegalGeneration => {
                            marks.push("commit-refused-illegal-generation")
                        }
                        ErrorCode::UnknownMemberId => marks.push("commit-refused-unknown-member"),
                        _ => {}
                    }
                }
            }
            GroupConsumerOutput::Failed(_) => {
                marks.push("member-failed");
                self.failed = true;
            }
            GroupConsumerOutput::Error(_) => {}
            GroupConsumerOutput::Closed => marks.push("member-left"),
        }
        Some(MemberNews::Marks(marks, note))
    }

    /// Records the positions the current assignment resumed at, once (after the outputs of
    /// an answer are drained, before any of its partitions can be polled).
    pub fn record_positions(&mut self, history: &mut History) {
        if self.positions.is_empty() || self.positioned {
            return;
        }
        let Some(op) = self.current else {
            return;
        };
        self.positioned = true;
        let positions = std::mem::take(&mut self.positions);
        // A partition whose committed offset came in a second OffsetFetch is not judged.
        let _ = history.ok_assignment_positions(op, positions);
    }

    fn partitions_of(&self, partitions: &[TopicPartition]) -> Vec<i32> {
        let mut list: Vec<i32> = partitions
            .iter()
            .filter(|p| p.topic == self.topic)
            .map(|p| p.partition)
            .collect();
        list.sort_unstable();
        list.dedup();
        list
    }

    fn revoke(&mut self, process: u64, history: &mut History, partitions: &[TopicPartition]) {
        let partitions = self.partitions_of(partitions);
        let generation = self.consumer.generation_id().max(self.last_generation);
        if partitions.is_empty() || generation < 0 {
            return;
        }
        let name = self.name(self.consumer.member_id());
        history
            .revoke(process, &self.group, &name, generation, partitions)
            .expect("a well-formed revocation");
    }

    fn request_sent(&mut self, process: u64, history: &mut History, id: u64, request: &Request) {
        let Request::Group(request) = request else {
            return;
        };
        match request {
            GroupRequest::SyncGroup(sync) if sync.generation_id >= 0 => {
                let name = self.name(&sync.member_id);
                let op = history
                    .invoke_assignment(process, &self.group, &name, sync.generation_id)
                    .expect("a well-formed assignment");
                self.syncs.insert(id, (op, sync.generation_id));
            }
            GroupRequest::OffsetCommit(commit) => {
                let offsets: Vec<(i32, i64)> = commit
                    .partitions
                    .iter()
                    .filter(|p| p.partition.topic == self.topic)
                    .map(|p| (p.partition.partition, p.offset))
                    .collect();
                let name = self.name(&commit.member_id);
                let op = history
                    .invoke_commit(process, &self.group, &name, commit.generation_id, offsets)
                    .expect("a well-formed commit");
                self.commits.insert(id, op);
            }
            GroupRequest::OffsetFetch(fetch) => {
                let partitions = fetch.groups.first().and_then(|g| g.partitions.as_ref());
                let asked = partitions.map(|list| self.partitions_of(list));
                let op = history
                    .invoke_offset_fetch(process, &self.group, asked)
                    .expect("a well-formed read");
                self.fetches.insert(id, op);
            }
            _ => {}
        }
    }

    /// The answer to request `id` came (or its connection dropped): records what it says.
    /// `deposed`: it came from a broker that no longer leads the group's offsets partition
    /// (see [`super::Cluster::deposed_coordinator`]).
    pub fn answered(
        &mut self,
        history: &mut History,
        id: u64,
        answer: &Result<Response, sluice_core::api::Disconnected>,
        deposed: bool,
    ) {
        if let Some(op) = self.commits.remove(&id) {
            record_commit(history, op, answer, &self.topic);
        } else if let Some(op) = self.fetches.remove(&id) {
            match deposed {
                true => history.fail(op).expect("a pending read"),
                false => {
                    record_read(history, op, answer, &self.group, &self.topic);
                }
            }
        } else if let Some((op, generation)) = self.syncs.remove(&id) {
            match answer {
                Ok(Response::Group(GroupResponse::SyncGroup(sync)))
                    if sync.error == ErrorCode::None =>
                {
                    self.assigning = Some((op, generation));
                }
                _ => history.fail(op).expect("a pending assignment"),
            }
        }
    }
}

/// Errors that say a commit's partition was not written: refused before any append.
fn refused_for_good(error: ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::IllegalGeneration
            | ErrorCode::UnknownMemberId
            | ErrorCode::RebalanceInProgress
            | ErrorCode::FencedInstanceId
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::OffsetMetadataTooLarge
            | ErrorCode::InvalidCommitOffsetSize
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::InvalidGroupId
    )
}

fn record_commit(
    history: &mut History,
    op: OpId,
    answer: &Result<Response, sluice_core::api::Disconnected>,
    topic: &str,
) {
    let Ok(Response::Group(GroupResponse::OffsetCommit(commit))) = answer else {
        return history.info(op).expect("a pending commit");
    };
    let mine = || commit.partitions.iter().filter(|(p, _)| p.topic == topic);
    if mine().any(|(_, e)| *e != ErrorCode::None && !refused_for_good(*e)) {
        return history.info(op).expect("a pending commit");
    }
    let failed: Vec<i32> = mine()
        .filter(|(_, e)| *e != ErrorCode::None)
        .map(|(p, _)| p.partition)
        .collect();
    history
        .ok_commit_partial(op, failed)
        .expect("a pending commit");
}

fn record_read(
    history: &mut History,
    op: OpId,
    answer: &Result<Response, sluice_core::api::Disconnected>,
    group: &str,
    topic: &str,
) -> bool {
    let refused = |history: &mut History| {
        history.fail(op).expect("a pending read");
        false
    };
    let Ok(Response::Group(GroupResponse::OffsetFetch(fetch))) = answer else {
        return refused(history);
    };
    // An answer before v8 names no group: its one group is the one asked for.
    let only = fetch.groups.len() == 1;
    let found = fetch
        .groups
        .iter()
        .find(|g| g.group_id == group || (only && g.group_id.is_empty()));
    let Some(answer) = found else {
        return refused(history);
    };
    let mine = || {
        answer
            .partitions
            .iter()
            .filter(|p| p.partition.topic == topic)
    };
    if answer.error != ErrorCode::None || mine().any(|p| p.error != ErrorCode::None) {
        return refused(history);
    }
    let mut offsets: Vec<(i32, i64)> = mine()
        .map(|p| (p.partition.partition, p.offset.max(-1)))
        .collect();
    offsets.sort_unstable();
    offsets.dedup_by_key(|(p, _)| *p);
    if history.ok_offset_fetch(op, offsets).is_err() {
        // An answer naming partitions the read did not ask for is not one to judge.
        return refused(history);
    }
    true
}

/// What the reader waits for.
#[derive(Clone, Copy, Debug)]
enum Awaiting {
    Coordinator,
    Offsets(OpId),
}

/// Reads a group's committed offsets of every partition of the topic every few hundred
/// milliseconds (FindCoordinator, then OffsetFetch to the coordinator), as an admin's
/// `kafka-consumer-groups --describe` would.
pub struct OffsetReader {
    group: String,
    topic: String,
    partitions: i32,
    brokers: Vec<i32>,
    coordinator: Option<i32>,
    in_flight: Option<(u64, Awaiting, Instant)>,
    next_id: u64,
    next_at: Instant,
    /// Reads answered OK.
    pub reads_ok: u64,
}

/// How long the reader waits for an answer.
const READER_TIMEOUT: Duration = Duration::from_secs(3);

impl OffsetReader {
    /// A reader of `group`'s offsets of `topic`'s `partitions`.
    pub fn new(group: &str, topic: &str, partitions: i32, brokers: Vec<i32>) -> OffsetReader {
        OffsetReader {
            group: group.to_string(),
            topic: topic.to_string(),
            partitions,
            brokers,
            coordinator: None,
            in_flight: None,
            next_id: 0,
            next_at: Instant::ZERO,
            reads_ok: 0,
        }
    }

    /// The group it reads.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Gives up an answer that took too long.
    pub fn handle_timeout(&mut self, now: Instant, history: &mut History) {
        if let Some((_, awaiting, deadline)) = self.in_flight {
            if deadline <= now {
                self.in_flight = None;
                self.coordinator = None;
                if let Awaiting::Offsets(op) = awaiting {
                    history.fail(op).expect("a pending read");
                }
            }
        }
    }

    /// The next request to send, if one is due.
    pub fn poll_request(
        &mut self,
        now: Instant,
        rng: &mut impl Rng,
        process: u64,
        history: &mut History,
    ) -> Option<(i32, u64, Request)> {
        if self.in_flight.is_some() || now < self.next_at {
            return None;
        }
        self.next_id += 1;
        let id = self.next_id;
        let (to, awaiting, request) = match self.coordinator {
            None => {
                let to = self.brokers[rng.below(self.brokers.len() as u64) as usize];
                let request = GroupRequest::FindCoordinator(FindCoordinatorRequest {
                    key_type: 0,
                    keys: vec![self.group.clone()],
                });
                (to, Awaiting::Coordinator, request)
            }
            Some(to) => {
                let op = history
                    .invoke_offset_fetch(process, &self.group, Some((0..self.partitions).collect()))
                    .expect("a well-formed read");
                let partitions = (0..self.partitions)
                    .map(|partition| TopicPartition {
                        topic: self.topic.clone(),
                        partition,
                    })
                    .collect();
                let request = GroupRequest::OffsetFetch(OffsetFetchRequest {
                    groups: vec![OffsetFetchGroup {
                        group_id: self.group.clone(),
                        partitions: Some(partitions),
                    }],
                    require_stable: false,
                });
                (to, Awaiting::Offsets(op), request)
            }
        };
        self.in_flight = Some((id, awaiting, now + READER_TIMEOUT));
        Some((to, id, Request::Group(request)))
    }

    /// The answer to request `id`.
    pub fn handle_response(
        &mut self,
        now: Instant,
        rng: &mut impl Rng,
        id: u64,
        answer: &Result<Response, sluice_core::api::Disconnected>,
        history: &mut History,
        deposed: bool,
    ) {
        let Some((expected, awaiting, _)) = self.in_flight else {
            return;
        };
        if expected != id {
            return;
        }
        self.in_flight = None;
        let pause = Duration::from_millis(200 + rng.below(600));
        self.next_at = now + pause;
        match awaiting {
            Awaiting::Coordinator => {
                let found = match answer {
                    Ok(Response::Group(GroupResponse::FindCoordinator(found))) => found
                        .coordinators
                        .iter()
                        .find(|c| c.error == ErrorCode::None && c.node_id >= 0)
                        .map(|c| c.node_id),
                    _ => None,
                };
                self.coordinator = found;
                if found.is_some() {
                    self.next_at = now;
                }
            }
            Awaiting::Offsets(op) if deposed => {
                history.fail(op).expect("a pending read");
                self.coordinator = None;
            }
            Awaiting::Offsets(op) => {
                if record_read(history, op, answer, &self.group, &self.topic) {
                    self.reads_ok += 1;
                } else {
                    self.coordinator = None;
                }
            }
        }
    }

    /// When the reader next has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.in_flight {
            Some((_, _, deadline)) => Some(deadline),
            None => Some(self.next_at),
        }
    }
}

impl super::Cluster {
    /// Whether broker `from` no longer leads `group`'s `__consumer_offsets` partition, as the
    /// most advanced image says. Its committed offsets may be stale: a coordinator cut from
    /// the controllers serves reads from memory until it learns it was deposed (Kafka's
    /// classic coordinator does not fence OffsetFetch), so its answers are not judged.
    pub fn deposed_coordinator(&self, from: NodeId, group: &str) -> bool {
        let Some(image) = self.latest_image() else {
            return false;
        };
        let Some(topic) = image.topic_by_name(sluice_core::group::OFFSETS_TOPIC) else {
            return false;
        };
        let count = i32::try_from(topic.partitions.len()).unwrap_or(i32::MAX);
        let index = sluice_core::group::partition_for_group(group, count);
        let leader = topic.partitions.get(index as usize).map(|p| p.leader);
        leader != Some(from.0 as i32)
    }

    /// Adds a member of `group` subscribed to the workload's topic, and starts it.
    pub fn add_group_member(
        &mut self,
        config: sluice_core::client::GroupConsumerConfig,
        previous_generation: Option<i32>,
    ) -> usize {
        let now = self.kernel.now();
        let workload = self.workload.as_ref().expect("a workload");
        let topic = workload.topic.clone();
        let group = config.group_id.clone();
        let mut consumer = GroupConsumer::new(config, self.topology.broker_ids());
        consumer.subscribe(now, vec![topic.clone()]);
        let mut member = GroupMember::new(consumer, &group, &topic);
        member.previous_incarnation_generation = previous_generation;
        let index = self.add_client(super::Role::GroupMember(Box::new(member)));
        self.kernel.record(format_args!(
            "{} joins group {group}",
            self.clients[index].net_id
        ));
        index
    }

    /// The group member of client `index`, if it is one still running.
    pub fn group_member(&self, index: usize) -> Option<&GroupMember> {
        match &self.clients[index].role {
            super::Role::GroupMember(member) => Some(member),
            _ => None,
        }
    }

    /// The client process `index` is gone: its memory and connections (the brokers' side
    /// learns nothing: a crashed consumer's session lapses).
    pub fn crash_client(&mut self, index: usize) {
        let client = &mut self.clients[index];
        client.role = super::Role::Gone;
        client.paused = false;
        if let Some(timer) = client.timer.take() {
            self.kernel.cancel(timer);
        }
        let id = client.net_id;
        self.net.resume(id);
        self.net.crash(id);
        self.kernel.record(format_args!("{id} crashed"));
    }

    /// Stops a client (a long GC pause): no timers, its messages held.
    pub fn pause_client(&mut self, index: usize) {
        let client = &mut self.clients[index];
        if client.paused || matches!(client.role, super::Role::Gone) {
            return;
        }
        client.paused = true;
        if let Some(timer) = client.timer.take() {
            self.kernel.cancel(timer);
        }
        self.net.pause(client.net_id);
        self.kernel.record(format_args!("{} paused", client.net_id));
    }

    /// Lets a paused client go on.
    pub fn resume_client(&mut self, index: usize) {
        let client = &mut self.clients[index];
        if !client.paused {
            return;
        }
        client.paused = false;
        self.net.resume(client.net_id);
        self.kernel
            .record(format_args!("{} resumed", client.net_id));
        self.poke_client(index);
    }

    /// Has group member `index` close: its last commit, then LeaveGroup.
    pub fn close_member(&mut self, index: usize) {
        let now = self.kernel.now();
        let client = &mut self.clients[index];
        let super::Role::GroupMember(member) = &mut client.role else {
            return;
        };
        member.closing = true;
        member.consumer.close(now);
        self.kernel
            .record(format_args!("{} leaves its group", client.net_id));
        self.poke_client(index);
    }
}
