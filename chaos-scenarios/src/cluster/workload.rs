//! The clients: Sluice's own sans-IO producer and consumer (the ones the `sluice` tools
//! drive) and the simulator's admin, each over its own Kafka connections, with every
//! workload operation written to the history the checker reads. Every Fetch answer a
//! consumer receives enters the history, with records or without, with its log start offset
//! and its high watermark (when the consumer's versions name leader epochs, as Kafka promises
//! only those a watermark that never goes back: see [`Connections::fences_leader_epochs`]);
//! so does every ListOffsets answer that resets a position (a log start offset, or a high
//! watermark), and every DeleteRecords an admin asks for, with what it was told.

use std::collections::{BTreeMap, BTreeSet};

use sluice_core::api::{self, TopicPartition};
use sluice_core::client::{
    ConsumedRecord, Consumer, ConsumerConfig, ConsumerOutput, OffsetResetPolicy, Producer,
    ProducerConfig, ProducerOutput, SendOutcome,
};
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_jepsen::OpId;
use sluice_sim::{EventId, NodeId};

use super::admin::{AdminClient, AdminOp, Settled};
use super::audit::AuditState;
use super::conn::Connections;
use super::group::{GroupMember, MemberNews, OffsetReader};
use super::{Cluster, Event, Packet, CLIENT_NET_BASE};

/// The workload of a replication run: its topic, history and the replicas' audit.
pub struct Workload {
    /// The topic.
    pub topic: String,
    /// Its partitions.
    pub partitions: i32,
    /// Every client operation, for the checker.
    pub history: sluice_jepsen::History,
    /// What the cross-broker checks remember.
    pub audit: AuditState,
    /// Set when every broker lost its unsynced writes at once (page-cache mode), or when a
    /// partition's every replica came back unable to vouch for its log: per partition, the
    /// log (offset → value) of the replica an unclean election then chose, as it was when it
    /// took up leadership. What it lacked is what the run may lose.
    pub unclean_recovery: Option<BTreeMap<i32, BTreeMap<i64, u64>>>,
    /// The partitions the unclean elections are for (`None`: every one).
    pub unclean_scope: Option<BTreeSet<i32>>,
    /// The operator asked for unclean elections.
    pub unclean_asked: bool,
}

impl Workload {
    /// A workload on `topic` with `partitions` partitions.
    pub fn new(topic: &str, partitions: i32) -> Workload {
        Workload {
            topic: topic.to_string(),
            partitions,
            history: sluice_jepsen::History::default(),
            audit: AuditState::default(),
            unclean_recovery: None,
            unclean_scope: None,
            unclean_asked: false,
        }
    }
}

/// What a client is.
pub enum Role {
    /// Sends unique values to random partitions.
    Producer(Producer),
    /// Reads every partition from the start.
    Consumer(Consumer),
    /// Creates, grows, alters and deletes topics.
    Admin(AdminClient),
    /// A member of a consumer group, subscribed to the workload's topic.
    GroupMember(Box<GroupMember>),
    /// Reads a group's committed offsets every few hundred milliseconds.
    OffsetReader(OffsetReader),
    /// A client process that is gone (crashed, or closed): it does nothing more.
    Gone,
}

/// One simulated client process.
pub struct SimClient {
    /// Its network id.
    pub net_id: NodeId,
    /// Its process number in the history.
    pub process: u64,
    /// What it is.
    pub role: Role,
    conns: Connections,
    pub(super) timer: Option<EventId>,
    /// Pending sends: token (the value) → its operation.
    sends: BTreeMap<u64, (i32, OpId)>,
    /// Partitions whose next read follows a reset or a truncation.
    seeked: BTreeSet<i32>,
    /// When the producer sends its next record, while it produces.
    pub next_send: Option<Instant>,
    /// The position a consumer reached per partition: past its last record, or where a
    /// reset put it.
    pub reached: BTreeMap<i32, i64>,
    /// An admin's DeleteRecords in the history, while it is being tried.
    trim: Option<OpId>,
    /// Stopped (a long GC pause): its timers wait and its messages are held.
    pub paused: bool,
}

impl SimClient {
    /// A producer with acks=all and no retries: every outcome is recorded as it is.
    pub fn producer(brokers: Vec<i32>) -> Role {
        let config = ProducerConfig {
            acks: -1,
            linger_ms: 2,
            retries: 0,
            request_timeout_ms: 5_000,
            delivery_timeout_ms: 12_000,
            ..ProducerConfig::default()
        };
        Role::Producer(Producer::new(config, brokers))
    }

    /// A producer with acks=all that retries until its delivery timeout, idempotent
    /// (`enable.idempotence`) or not: without idempotence a retry of a batch whose answer was
    /// lost appends it twice.
    pub fn retrying_producer(brokers: Vec<i32>, idempotent: bool) -> Role {
        let config = ProducerConfig {
            acks: -1,
            linger_ms: 2,
            retries: i32::MAX,
            request_timeout_ms: 5_000,
            delivery_timeout_ms: 30_000,
            enable_idempotence: idempotent,
            ..ProducerConfig::default()
        };
        Role::Producer(Producer::new(config, brokers))
    }

    /// A consumer of every partition from the earliest offset.
    pub fn consumer(brokers: Vec<i32>) -> Role {
        SimClient::consumer_resetting_to(brokers, OffsetResetPolicy::Earliest)
    }

    /// A consumer of every partition whose position, when it has none or lost it, is reset
    /// by `auto_offset_reset` (ListOffsets earliest or latest).
    pub fn consumer_resetting_to(brokers: Vec<i32>, reset: OffsetResetPolicy) -> Role {
        let config = ConsumerConfig {
            auto_offset_reset: reset,
            request_timeout_ms: 5_000,
            ..ConsumerConfig::default()
        };
        Role::Consumer(Consumer::new(config, brokers))
    }

    /// Sends not yet answered.
    pub fn pending_sends(&self) -> usize {
        self.sends.len()
    }

    /// The admin, if this client is one.
    pub fn admin(&self) -> Option<&AdminClient> {
        match &self.role {
            Role::Admin(admin) => Some(admin),
            _ => None,
        }
    }

    /// The admin, if this client is one.
    pub fn admin_mut(&mut self) -> Option<&mut AdminClient> {
        match &mut self.role {
            Role::Admin(admin) => Some(admin),
            _ => None,
        }
    }
}

/// A Fetch answer's high watermark, for the history: a client too old to be fenced is
/// promised no monotonic watermark, so its watermarks are not recorded.
fn fenced_watermark(conns: &Connections, partition: i32, high_watermark: i64) -> Vec<(i32, i64)> {
    match conns.fences_leader_epochs() {
        true => vec![(partition, high_watermark)],
        false => Vec::new(),
    }
}

/// A log start offset an answer reported, for the history (-1: the version has none).
fn observed_start(partition: i32, log_start_offset: i64) -> Vec<(i32, i64)> {
    match log_start_offset {
        start if start >= 0 => vec![(partition, start)],
        _ => Vec::new(),
    }
}

fn value_of(record: &ConsumedRecord) -> Option<u64> {
    let bytes = record.value.as_ref()?;
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// A request a client hands to its connections.
struct Outgoing {
    to: i32,
    id: u64,
    request: api::Request,
}

impl Cluster {
    /// Adds a client and starts it: consumers are assigned every partition of the workload.
    pub fn add_client(&mut self, role: Role) -> usize {
        let now = self.kernel.now();
        let index = self.clients.len();
        let net_id = NodeId(CLIENT_NET_BASE + index as u32);
        let conns = Connections::draw(&mut self.rng, format!("client-{index}"));
        self.kernel
            .record(format_args!("{net_id} speaks {}", conns.describe()));
        let mut client = SimClient {
            net_id,
            process: index as u64,
            role,
            conns,
            timer: None,
            sends: BTreeMap::new(),
            seeked: BTreeSet::new(),
            next_send: None,
            reached: BTreeMap::new(),
            trim: None,
            paused: false,
        };
        if let (Role::Consumer(consumer), Some(workload)) = (&mut client.role, &self.workload) {
            let all = (0..workload.partitions)
                .map(|partition| TopicPartition {
                    topic: workload.topic.clone(),
                    partition,
                })
                .collect();
            consumer.assign(now, all);
        }
        self.clients.push(client);
        self.client_flush(index);
        index
    }

    /// A client's timer: its own deadlines, and the producer's next record.
    pub(super) fn client_timer(&mut self, index: usize) {
        let (now, wall) = (self.kernel.now(), self.kernel.wall_ms());
        let client = &mut self.clients[index];
        client.timer = None;
        if client.paused {
            return;
        }
        match &mut client.role {
            Role::Producer(producer) => {
                producer.handle_timeout(now);
                let workload = self.workload.as_mut().expect("producers need a workload");
                if client.next_send.is_some_and(|at| at <= now) {
                    let partition = self.rng.below(workload.partitions as u64) as i32;
                    let value = workload.history.operations().len() as u64;
                    let op = workload
                        .history
                        .invoke_send(client.process, partition, value)
                        .expect("values are unique");
                    client.sends.insert(value, (partition, op));
                    let bytes = value.to_string().into_bytes();
                    let topic = &workload.topic;
                    producer.send_to_partition(now, topic, partition, None, bytes, wall, value);
                    let gap = Duration::from_millis(20 + self.rng.below(180));
                    client.next_send = Some(now + gap);
                }
            }
            Role::Consumer(consumer) => consumer.handle_timeout(now),
            Role::Admin(admin) => admin.handle_timeout(now, &mut self.rng),
            Role::GroupMember(member) => member.consumer.handle_timeout(now),
            Role::OffsetReader(reader) => {
                let history = &mut self.workload.as_mut().expect("a workload").history;
                reader.handle_timeout(now, history);
            }
            Role::Gone => {}
        }
        self.client_flush(index);
    }

    /// A packet reached a client.
    pub(super) fn client_delivery(&mut self, from: NodeId, to: NodeId, packet: Packet) {
        let now = self.kernel.now();
        let Some(index) = self.clients.iter().position(|c| c.net_id == to) else {
            return;
        };
        let answers = match packet {
            Packet::Response(frame) => match self.clients[index].conns.decode(from, frame) {
                Ok(Some((id, response))) => vec![(id, Ok(response))],
                Ok(None) => Vec::new(),
                Err(error) => {
                    return self.fail("undecodable-response", format!("{from}->{to}: {error}"))
                }
            },
            Packet::Closed => self.clients[index].conns.closed(from),
            Packet::Peer(_) | Packet::Request(_) => {
                return self.fail("misrouted-packet", format!("{from}->{to}"))
            }
        };
        let mut deleted = false;
        let group = match &self.clients[index].role {
            Role::GroupMember(member) => Some(member.group.clone()),
            Role::OffsetReader(reader) => Some(reader.group().to_string()),
            _ => None,
        };
        let deposed = group.is_some_and(|group| self.deposed_coordinator(from, &group));
        for (id, answer) in answers {
            if let Ok(api::Response::Fetch(fetch)) = &answer {
                self.note_fetch(fetch);
            }
            let client = &mut self.clients[index];
            match &mut client.role {
                Role::Producer(producer) => producer.handle_response(now, id, answer),
                Role::Consumer(consumer) => consumer.handle_response(now, id, answer),
                Role::GroupMember(member) => {
                    if let Ok(api::Response::Group(group)) = &answer {
                        self.kernel.record(format_args!("{from}->{to} {group:?}"));
                    }
                    if let Err(error) = &answer {
                        self.kernel.record(format_args!("{from}->{to} {error:?}"));
                    }
                    let history = &mut self.workload.as_mut().expect("a workload").history;
                    member.answered(history, id, &answer, deposed);
                    member.consumer.handle_response(now, id, answer);
                }
                Role::OffsetReader(reader) => {
                    let history = &mut self.workload.as_mut().expect("a workload").history;
                    reader.handle_response(now, &mut self.rng, id, &answer, history, deposed);
                }
                Role::Gone => {}
                Role::Admin(admin) => {
                    if let Some((op, settled, tries)) = admin.handle_response(now, id, answer) {
                        self.kernel
                            .record(format_args!("{to} admin {op:?}: {settled:?} ({tries})"));
                        let low_watermark = admin.low_watermark;
                        if let (AdminOp::Trim { .. }, Some(trim)) = (op, client.trim.take()) {
                            let history = &mut self.workload.as_mut().expect("a workload").history;
                            let recorded = match (settled, low_watermark) {
                                (Settled::Acknowledged, Some(low)) if low >= 0 => {
                                    deleted = true;
                                    history.ok_trim(trim, low)
                                }
                                (Settled::Acknowledged, _) => history.info(trim),
                                (Settled::Refused(_), _) => history.fail(trim),
                            };
                            recorded.expect("each trim completes once");
                        }
                    }
                }
            }
        }
        if deleted {
            self.mark("records-deleted");
        }
        self.client_flush(index);
    }

    /// A new leader whose high watermark is still below its epoch's start answers
    /// OFFSET_NOT_AVAILABLE rather than show a watermark below its predecessor's (KIP-207's
    /// window): the mark shows the window is reached.
    fn note_fetch(&mut self, fetch: &api::FetchResponse) {
        let waits = |p: &api::FetchPartitionResponse| p.error == api::ErrorCode::OffsetNotAvailable;
        if fetch.partitions.iter().any(waits) {
            self.mark("consumer-waited-for-new-leader-hw");
        }
    }

    /// Drains a client's outputs: requests onto the network, outcomes into the history.
    fn client_flush(&mut self, index: usize) {
        let now = self.kernel.now();
        loop {
            let outgoing = match self.poll_client(index) {
                Some(Some(outgoing)) => outgoing,
                Some(None) => continue,
                None => break,
            };
            let Outgoing { to, id, request } = outgoing;
            let client = &mut self.clients[index];
            let broker = NodeId(to as u32);
            match client.conns.encode(broker, id, request) {
                Ok(frame) => {
                    let from = client.net_id;
                    self.net.send(now, from, broker, Packet::Request(frame));
                }
                Err(error) => return self.fail("unencodable-request", error),
            }
        }
        if let Role::GroupMember(member) = &mut self.clients[index].role {
            if let Some(workload) = self.workload.as_mut() {
                member.record_positions(&mut workload.history);
            }
            if member.closing && member.consumer.poll_timeout().is_none() {
                self.clients[index].role = Role::Gone;
            }
        }
        self.arm_client_timer(index);
    }

    /// A client's next output: `Some(Some(request))` to send, `Some(None)` for one handled
    /// here, `None` when there are no more.
    fn poll_client(&mut self, index: usize) -> Option<Option<Outgoing>> {
        let now = self.kernel.now();
        let client = &mut self.clients[index];
        match &mut client.role {
            Role::Producer(producer) => match producer.poll_output()? {
                ProducerOutput::Request { to, id, request } => {
                    Some(Some(Outgoing { to, id, request }))
                }
                ProducerOutput::Completed { token, outcome } => {
                    let Some((_, op)) = client.sends.remove(&token) else {
                        return Some(None);
                    };
                    let history = &mut self.workload.as_mut().expect("a workload").history;
                    let recorded = match outcome {
                        SendOutcome::Ok { offset, .. } if offset >= 0 => {
                            history.ok_send(op, offset)
                        }
                        SendOutcome::Err { definite: true, .. } => history.fail(op),
                        _ => history.info(op),
                    };
                    recorded.expect("each send completes once");
                    Some(None)
                }
            },
            Role::Consumer(consumer) => {
                let reset = consumer.config().auto_offset_reset;
                match consumer.poll_output()? {
                    ConsumerOutput::Request { to, id, request } => {
                        Some(Some(Outgoing { to, id, request }))
                    }
                    output => {
                        self.record_consumed(index, output, reset);
                        Some(None)
                    }
                }
            }
            Role::GroupMember(member) => {
                let reset = member.consumer.config().consumer.auto_offset_reset;
                let process = client.process;
                let history = &mut self.workload.as_mut().expect("a workload").history;
                match member.poll(process, history)? {
                    MemberNews::Request { to, id, request } => {
                        if matches!(
                            request,
                            api::Request::Group(api::GroupRequest::OffsetCommit(_))
                        ) {
                            if let Some(step) = self.strike_after_group_commit.take() {
                                let delay = Duration::from_micros(self.rng.below(3_000));
                                self.kernel.schedule_after(delay, Event::Script(step));
                            }
                        }
                        Some(Some(Outgoing { to, id, request }))
                    }
                    MemberNews::Consumed(ConsumerOutput::Request { .. }) => {
                        unreachable!("a member's requests come as its own")
                    }
                    MemberNews::Consumed(output) => {
                        self.record_consumed(index, output, reset);
                        Some(None)
                    }
                    MemberNews::Marks(marks, note) => {
                        let id = client.net_id;
                        self.kernel.record(format_args!("{id} {note}"));
                        for mark in marks {
                            self.mark(mark);
                        }
                        Some(None)
                    }
                }
            }
            Role::OffsetReader(reader) => {
                let process = client.process;
                let history = &mut self.workload.as_mut().expect("a workload").history;
                let (to, id, request) =
                    reader.poll_request(now, &mut self.rng, process, history)?;
                Some(Some(Outgoing { to, id, request }))
            }
            Role::Gone => None,
            Role::Admin(admin) => {
                let (to, id, request) = admin.poll_request(now)?;
                Some(Some(Outgoing { to, id, request }))
            }
        }
    }

    /// Records what a consumer's fetching reported: polls, resets, truncations.
    fn record_consumed(&mut self, index: usize, output: ConsumerOutput, reset: OffsetResetPolicy) {
        let client = &mut self.clients[index];
        match output {
            ConsumerOutput::Records {
                partition,
                records,
                high_watermark,
                log_start_offset,
            } => {
                let p = partition.partition;
                let reads: Vec<(i64, u64)> = records
                    .iter()
                    .filter_map(|r| value_of(r).map(|v| (r.offset, v)))
                    .collect();
                if let Some(last) = records.last() {
                    client.reached.insert(p, last.offset + 1);
                }
                let fresh = client.seeked.remove(&p);
                let high_watermarks = fenced_watermark(&client.conns, p, high_watermark);
                let log_starts = observed_start(p, log_start_offset);
                let history = &mut self.workload.as_mut().expect("a workload").history;
                let op = history.invoke_poll(client.process);
                history
                    .ok_poll_observed(op, vec![(p, reads)], high_watermarks, log_starts, fresh)
                    .expect("a well-formed poll");
            }
            ConsumerOutput::Caught {
                partition,
                high_watermark,
                log_start_offset,
            } => {
                // An answer without records enters the history too, with its watermark: one
                // that goes back on an empty answer is an anomaly like any other.
                let p = partition.partition;
                let high_watermarks = fenced_watermark(&client.conns, p, high_watermark);
                let log_starts = observed_start(p, log_start_offset);
                if !high_watermarks.is_empty() || !log_starts.is_empty() {
                    let history = &mut self.workload.as_mut().expect("a workload").history;
                    let op = history.invoke_poll(client.process);
                    history
                        .ok_poll_observed(
                            op,
                            vec![(p, Vec::new())],
                            high_watermarks,
                            log_starts,
                            false,
                        )
                        .expect("a well-formed poll");
                }
            }
            ConsumerOutput::Reset {
                partition, offset, ..
            } => {
                // The ListOffsets answer that set the position enters the history: the
                // log start offset (earliest), or the high watermark (latest) when the
                // request named the leader's epoch.
                let p = partition.partition;
                client.seeked.insert(p);
                client.reached.insert(p, offset);
                let (high_watermarks, log_starts) = match reset {
                    OffsetResetPolicy::Earliest => (Vec::new(), vec![(p, offset)]),
                    OffsetResetPolicy::Latest if client.conns.lists_with_leader_epochs() => {
                        if self.marks.declares("reset-to-latest-watermark") {
                            self.marks.hit("reset-to-latest-watermark");
                        }
                        (vec![(p, offset)], Vec::new())
                    }
                    _ => return,
                };
                let history = &mut self.workload.as_mut().expect("a workload").history;
                let op = history.invoke_poll(client.process);
                history
                    .ok_poll_observed(op, Vec::new(), high_watermarks, log_starts, false)
                    .expect("a well-formed answer");
            }
            ConsumerOutput::Truncated { partition, .. } => {
                client.seeked.insert(partition.partition);
            }
            ConsumerOutput::Error { .. } | ConsumerOutput::Request { .. } => {}
        }
    }

    fn arm_client_timer(&mut self, index: usize) {
        let now = self.kernel.now();
        let client = &mut self.clients[index];
        if let Some(timer) = client.timer.take() {
            self.kernel.cancel(timer);
        }
        let own = match &client.role {
            Role::Producer(producer) => producer.poll_timeout(),
            Role::Consumer(consumer) => consumer.poll_timeout(),
            Role::Admin(admin) => admin.poll_timeout(),
            Role::GroupMember(member) => member.consumer.poll_timeout(),
            Role::OffsetReader(reader) => reader.poll_timeout(),
            Role::Gone => None,
        };
        let Some(at) = own.into_iter().chain(client.next_send).min() else {
            return;
        };
        client.timer = Some(
            self.kernel
                .schedule_at(at.max(now), Event::ClientTimer(index)),
        );
    }

    /// Starts or stops a producer's workload.
    pub fn set_producing(&mut self, index: usize, on: bool) {
        let now = self.kernel.now();
        self.clients[index].next_send = on.then_some(now);
        self.arm_client_timer(index);
    }

    /// Has admin `index` delete `partition`'s records below `offset` (DeleteRecords, sent to
    /// `leader` first), recorded in the history. One at a time: false while one is pending.
    pub fn trim(&mut self, index: usize, partition: i32, offset: i64, leader: i32) -> bool {
        let workload = self.workload.as_mut().expect("a workload");
        let client = &mut self.clients[index];
        let Role::Admin(admin) = &mut client.role else {
            panic!("client {index} is no admin");
        };
        if client.trim.is_some() || !admin.is_idle() {
            return false;
        }
        let op = workload
            .history
            .invoke_trim(client.process, partition, offset)
            .expect("a well-formed trim");
        client.trim = Some(op);
        admin.aim_at(leader);
        admin.submit(AdminOp::Trim {
            name: workload.topic.clone(),
            partition,
            offset,
        });
        self.kernel.record(format_args!(
            "{} deletes partition {partition} below {offset}",
            client.net_id
        ));
        self.poke_client(index);
        true
    }

    /// Sends a consumer back to offset 0 of every partition it reads (a replay from the
    /// beginning; below the log start it is reset to it).
    pub fn replay(&mut self, index: usize) {
        let client = &mut self.clients[index];
        let Role::Consumer(consumer) = &mut client.role else {
            panic!("client {index} is no consumer");
        };
        for partition in consumer.assignment() {
            if consumer.position(&partition).is_some() {
                consumer.seek(&partition, 0);
                client.seeked.insert(partition.partition);
            }
        }
        self.poke_client(index);
    }

    /// Wakes a client at once (after its state was changed from outside).
    pub fn poke_client(&mut self, index: usize) {
        self.client_timer(index);
    }
}
