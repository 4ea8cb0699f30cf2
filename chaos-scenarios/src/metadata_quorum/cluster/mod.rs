//! The simulated cluster: controllers, brokers and an admin client on one simulated network,
//! driven by one event loop, with the checks run after every step. The clients' traffic is in
//! `traffic`.

mod traffic;

use sluice_core::controller::{
    check_invariants, decode_batch, ControllerConfig, MetadataImage, MetadataRecord,
    QuorumController,
};
use sluice_core::raft::{Message, NodeId as RaftId, Output, RaftConfig, RaftError, Role};
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_sim::{CrashKind, Kernel, LinkConfig, NodeId, SimDisk, SimNetwork, SimRng};

use super::checks::History;
use super::clients::{Admin, SimBroker};
use super::node::{ControllerNode, Reply};
use super::wire::{Response, Wire};
use crate::{Failure, Marks, RunOutcome};

/// Network ids of brokers start here; controllers are 1..=N.
pub(crate) const BROKER_NET_BASE: u32 = 100;
/// The admin client's network id.
const ADMIN_NET_ID: NodeId = NodeId(200);
/// Compact the Raft log once this many entries are applied past its start.
const COMPACT_AFTER_ENTRIES: u64 = 16;

/// The shape of a simulated cluster, drawn per seed.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Controller voters.
    pub controllers: u32,
    /// Brokers.
    pub brokers: u32,
    /// Raft's most entries per AppendEntries: 1 splits a new leader's no-op from the older
    /// entries it carries, the window Raft's Figure 8 is about.
    pub append_entries_max: usize,
    /// Raft's election timeout range and heartbeat interval.
    pub election_timeout: (Duration, Duration),
    /// Raft's heartbeat interval.
    pub heartbeat: Duration,
    /// The admin also deletes topics.
    pub admin_deletes: bool,
    /// The admin's pause between requests, in milliseconds.
    pub admin_interval_ms: (u64, u64),
    /// Per mille of granted votes after which the voter crashes and restarts at once: the
    /// window in which an unpersisted vote would be cast twice.
    pub crash_after_vote_per_mille: u64,
    /// Per mille of AppendEntries carrying entries after which the leader crashes: the
    /// partial replication of Raft's Figure 8.
    pub crash_after_append_per_mille: u64,
}

impl Shape {
    /// Three controllers, `brokers` brokers, Raft's defaults.
    pub fn new(controllers: u32, brokers: u32) -> Shape {
        Shape {
            controllers,
            brokers,
            append_entries_max: 64,
            election_timeout: (Duration::from_millis(1_000), Duration::from_millis(2_000)),
            heartbeat: Duration::from_millis(200),
            admin_deletes: false,
            admin_interval_ms: (1_000, 4_000),
            crash_after_vote_per_mille: 0,
            crash_after_append_per_mille: 0,
        }
    }

    fn raft_config(&self, id: RaftId, voters: &[RaftId]) -> RaftConfig {
        let mut config = RaftConfig::new(id, voters.to_vec());
        config.append_entries_max = self.append_entries_max;
        config.election_timeout_min = self.election_timeout.0;
        config.election_timeout_max = self.election_timeout.1;
        config.heartbeat_interval = self.heartbeat;
        config
    }
}

/// The simulator's events.
#[derive(Debug)]
pub enum Event {
    /// A controller's Raft or controller timer.
    NodeTimer(usize),
    /// A broker's heartbeat interval.
    BrokerTick(usize),
    /// The admin client's next topic.
    AdminTick,
    /// The scenario's next fault or phase change.
    Script(u32),
    /// A crash point fires: the controller crashes right after the message that armed it, and
    /// stays down at most this many milliseconds.
    CrashPoint(usize, u64),
    /// The controller a crash point stopped comes back.
    RestartAfterCrashPoint(usize),
    /// A broker's replica manager has work due.
    DataTimer(usize),
    /// A data-plane client (producer or consumer) has work due.
    ClientTimer(usize),
    /// The replication invariants are checked across brokers.
    Audit,
}

/// Everything in one simulated run.
pub struct Cluster {
    /// The event loop, clock, RNG and trace.
    pub kernel: Kernel<Event>,
    /// The network.
    pub net: SimNetwork<Wire>,
    /// The controllers, index i has Raft id i + 1.
    pub nodes: Vec<ControllerNode>,
    /// The brokers.
    pub brokers: Vec<SimBroker>,
    /// The admin client.
    pub admin: Admin,
    /// The global record of what committed, for the safety checks.
    pub history: History,
    /// Coverage marks reached.
    pub marks: Marks,
    /// Randomness for the workload and faults (forked from the kernel's).
    pub rng: SimRng,
    crash_rng: SimRng,
    next_request_id: u64,
    admin_interval_ms: (u64, u64),
    crash_points: (u64, u64),
    /// The first failure found; the run stops there.
    pub failure: Option<Failure>,
    /// Partition replicas, producers and consumers, in the replication scenarios.
    pub data: Option<crate::replication::DataPlane>,
    /// The settings an elected controller starts with.
    pub controller_config: ControllerConfig,
}

impl Cluster {
    /// A cluster of `controllers` voters and `brokers` brokers, all started.
    pub fn new(seed: u64, keep_trace: bool, shape: &Shape, marks: Marks) -> Self {
        let (controllers, brokers) = (shape.controllers, shape.brokers);
        let mut kernel = Kernel::new(seed, keep_trace);
        let mut rng = kernel.rng().fork();
        let crash_rng = kernel.rng().fork();
        let mut net = SimNetwork::new(kernel.rng().fork());
        net.set_default_link(LinkConfig::LAN);
        let voters: Vec<RaftId> = (1..=controllers).map(RaftId).collect();
        let nodes = voters
            .iter()
            .map(|id| {
                let config = shape.raft_config(*id, &voters);
                ControllerNode::new(config, SimDisk::new(kernel.rng().fork()))
            })
            .collect();
        let brokers = (0..brokers)
            .map(|i| {
                let incarnation = sluice_core::controller::Uuid::random(&mut rng);
                SimBroker::new(i as i32, NodeId(BROKER_NET_BASE + i), incarnation)
            })
            .collect();
        let admin = Admin::new(ADMIN_NET_ID, shape.admin_deletes);
        let mut cluster = Cluster {
            kernel,
            net,
            nodes,
            brokers,
            admin,
            history: History::default(),
            marks,
            rng,
            crash_rng,
            next_request_id: 0,
            admin_interval_ms: shape.admin_interval_ms,
            crash_points: (
                shape.crash_after_vote_per_mille,
                shape.crash_after_append_per_mille,
            ),
            failure: None,
            data: None,
            controller_config: ControllerConfig::default(),
        };
        for index in 0..cluster.nodes.len() {
            cluster.start_node(index);
        }
        for index in 0..cluster.brokers.len() {
            let delay = Duration::from_millis(cluster.rng.below(2_000));
            cluster
                .kernel
                .schedule_after(delay, Event::BrokerTick(index));
        }
        cluster
            .kernel
            .schedule_after(Duration::from_secs(3), Event::AdminTick);
        cluster
    }

    /// What the run of `scenario` under `seed` came to.
    pub fn outcome(&mut self, seed: u64, scenario: &'static str, swarm: String) -> RunOutcome {
        RunOutcome {
            seed,
            scenario,
            events: self.kernel.trace().events(),
            trace_hash: self.kernel.trace().hash(),
            failure: self.failure.take(),
            marks_hit: self.marks.clone().into_hit(),
            swarm,
            trace_lines: self.kernel.trace().lines().map(<[String]>::to_vec),
        }
    }

    /// Hits a coverage mark if this run's scenario declares it.
    pub fn mark(&mut self, name: &str) {
        if self.marks.declares(name) {
            self.marks.hit(name);
        }
    }

    /// Records the first failure; later ones are consequences.
    pub fn fail(&mut self, anomaly: &str, detail: String) {
        if self.failure.is_none() {
            self.kernel
                .record(format_args!("FAILED {anomaly}: {detail}"));
            self.failure = Some(Failure::new(anomaly, detail));
        }
    }

    /// Runs events until `until` or a failure; `script` handles the scenario's own events.
    pub fn run_until(&mut self, until: Instant, script: &mut dyn FnMut(&mut Cluster, u32)) {
        while self.failure.is_none() {
            let next_event = self.kernel.next_event_at();
            match self.net.next_delivery_at() {
                Some(at) if at <= until && next_event.is_none_or(|event| at <= event) => {
                    self.kernel.advance_to(at);
                    let delivery = self.net.pop_delivery(at).expect("a delivery is due");
                    self.deliver(delivery.from, delivery.to, delivery.msg);
                }
                _ => match self.kernel.pop_until(until) {
                    Some((_, Event::NodeTimer(index))) => self.node_timer(index),
                    Some((_, Event::BrokerTick(index))) => self.broker_tick(index),
                    Some((_, Event::AdminTick)) => self.admin_tick(),
                    Some((_, Event::Script(step))) => script(self, step),
                    Some((_, Event::CrashPoint(index, down_ms_max))) => {
                        self.crash_point(index, down_ms_max)
                    }
                    Some((_, Event::RestartAfterCrashPoint(index))) => self.start_node(index),
                    Some((_, Event::DataTimer(index))) => self.data_timer(index),
                    Some((_, Event::ClientTimer(index))) => self.client_timer(index),
                    Some((_, Event::Audit)) => self.audit(),
                    None => break,
                },
            }
        }
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, msg: Wire) {
        self.kernel
            .record(format_args!("{from}->{to} {}", msg.describe()));
        match msg {
            Wire::Raft(message) => {
                let index = (to.0 - 1) as usize;
                let now = self.kernel.now();
                let node = &mut self.nodes[index];
                let Some(raft) = node.raft.as_mut() else {
                    return;
                };
                let result = raft.handle_message(now, &mut node.disk, RaftId(from.0), message);
                self.after_raft_call(index, result);
            }
            Wire::Request { id, request } => {
                self.handle_request((to.0 - 1) as usize, from, id, request)
            }
            Wire::Response { id, response } => self.handle_response(to, id, response),
            Wire::Data { id, request } => self.deliver_data_request(from, to, id, request),
            Wire::DataResponse { id, response } => self.deliver_data_response(to, id, response),
        }
    }

    fn node_timer(&mut self, index: usize) {
        self.kernel.record(format_args!("n{} timer", index + 1));
        let now = self.kernel.now();
        let node = &mut self.nodes[index];
        node.timer = None;
        if node.paused || node.raft.is_none() {
            return;
        }
        let raft = node.raft.as_mut().expect("running");
        if raft.poll_timeout().is_some_and(|at| at <= now) {
            let result = raft.handle_timeout(now, &mut node.disk, &mut self.rng);
            self.after_raft_call(index, result);
        }
        let due = self.nodes[index]
            .controller
            .as_ref()
            .and_then(QuorumController::poll_timeout);
        if due.is_some_and(|at| at <= now) {
            let controller = self.nodes[index].controller.as_mut().expect("active");
            let result = controller.tick(now);
            self.propose(index, result.records, None);
        }
        self.reschedule(index);
    }

    /// After any call into a node's Raft: a disk failure stops the process; otherwise drain
    /// the outputs, take up or give up the controller role, compact, and re-arm the timer.
    fn after_raft_call(&mut self, index: usize, result: Result<(), RaftError>) {
        if let Err(error) = result {
            if error.is_fatal() {
                self.kernel
                    .record(format_args!("n{} failed: {error}", index + 1));
                self.crash_node(index, CrashKind::Process);
                return;
            }
        }
        self.drain(index);
        self.check_leadership(index);
        self.maybe_compact(index);
        self.reschedule(index);
    }

    fn drain(&mut self, index: usize) {
        let from = self.nodes[index].net_id();
        loop {
            let Some(output) = self.nodes[index]
                .raft
                .as_mut()
                .and_then(|raft| raft.poll_output())
            else {
                return;
            };
            match output {
                Output::Send { to, msg } => {
                    self.maybe_crash_after(index, &msg);
                    self.net
                        .send(self.kernel.now(), from, NodeId(to.0), Wire::Raft(msg));
                }
                Output::Apply {
                    index: entry,
                    term,
                    data,
                } => self.apply(index, entry, term, &data),
                Output::RestoreSnapshot {
                    index: entry,
                    term,
                    data,
                } => self.restore(index, entry, term, &data),
            }
        }
    }

    fn apply(&mut self, index: usize, entry: u64, term: u64, data: &[u8]) {
        if let Err(detail) = self.history.committed(index, entry, term, data) {
            return self.fail("committed-entry-changed", detail);
        }
        let records = match decode_batch(data) {
            Ok(records) => records,
            Err(error) => return self.fail("undecodable-entry", format!("{entry}: {error}")),
        };
        for record in &records {
            self.note_record(record);
            let node = &mut self.nodes[index];
            node.image.apply(record);
            if let Some(controller) = node.controller.as_mut() {
                controller.replay(record);
            }
            if let Err(violation) = check_invariants(&self.nodes[index].image) {
                return self.fail(
                    "metadata-invariant",
                    format!("n{} at {entry}: {violation:?}", index + 1),
                );
            }
            if let Err(detail) = self
                .history
                .partition_leader(&self.nodes[index].image, record)
            {
                return self.fail("two-leaders-one-epoch", detail);
            }
        }
        self.nodes[index].applied = entry;
        for reply in self.nodes[index].pending.remove(&entry).unwrap_or_default() {
            self.reply(index, reply);
        }
    }

    fn restore(&mut self, index: usize, entry: u64, term: u64, data: &[u8]) {
        let limits = *self.nodes[index].image.limits();
        match MetadataImage::decode_snapshot(limits, data) {
            Ok(image) => {
                self.kernel.record(format_args!(
                    "n{} restored a snapshot at {entry} (term {term})",
                    index + 1
                ));
                if let Err(detail) = self.history.snapshot(entry, &image) {
                    return self.fail("snapshot-diverged", detail);
                }
                let node = &mut self.nodes[index];
                node.image = image;
                node.applied = entry;
                node.controller = None;
                self.mark("snapshot-installed");
            }
            Err(error) => self.fail("undecodable-snapshot", format!("{entry}: {error}")),
        }
    }

    fn note_record(&mut self, record: &MetadataRecord) {
        match record {
            MetadataRecord::FenceBroker { .. } => self.mark("broker-fenced"),
            MetadataRecord::RemoveTopic { .. } => self.mark("topic-deleted"),
            MetadataRecord::UnfenceBroker { .. } => self.mark("broker-unfenced"),
            MetadataRecord::PartitionChange(change) if change.leader >= 0 => {
                self.mark("partition-leader-moved")
            }
            _ => {}
        }
    }

    /// Becomes the active controller once this node leads and its term's first entry is
    /// committed and applied; stops being it when it no longer leads.
    fn check_leadership(&mut self, index: usize) {
        let now = self.kernel.now();
        let node = &mut self.nodes[index];
        let Some(raft) = node.raft.as_ref() else {
            return;
        };
        if raft.role() == Role::Leader {
            if let Err(detail) = self.history.leader(raft.term(), node.id) {
                return self.fail("two-leaders-one-term", detail);
            }
        }
        let leads = raft.role() == Role::Leader;
        let ready = leads
            && raft.term_at(raft.commit_index()) == Some(raft.term())
            && node.applied == raft.commit_index();
        if node.controller.is_none() && ready {
            let controller =
                QuorumController::new(self.controller_config.clone(), node.image.clone(), now);
            node.controller = Some(controller);
            let id = node.id;
            self.kernel
                .record(format_args!("n{} is the active controller", index + 1));
            self.mark("controller-elected");
            if self.history.controller_changed(id) {
                self.mark("controller-failover");
            }
        } else if node.controller.is_some() && !leads {
            node.controller = None;
            let pending: Vec<Reply> = std::mem::take(&mut node.pending)
                .into_values()
                .flatten()
                .collect();
            self.kernel
                .record(format_args!("n{} resigned as controller", index + 1));
            for reply in pending {
                let response = Response::not_controller_for(&reply.response);
                self.reply(index, Reply { response, ..reply });
            }
        }
    }

    fn maybe_compact(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        let Some(raft) = node.raft.as_mut() else {
            return;
        };
        if node.applied < raft.first_index() + COMPACT_AFTER_ENTRIES {
            return;
        }
        let snapshot = node.image.encode_snapshot();
        if let Err(detail) = self.history.snapshot(node.applied, &node.image) {
            return self.fail("snapshot-diverged", detail);
        }
        if raft.compact(&mut node.disk, node.applied, snapshot).is_ok() {
            self.mark("log-compacted");
        }
    }

    /// Arms the node's one timer at its earliest deadline.
    pub fn reschedule(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        if let Some(timer) = node.timer.take() {
            self.kernel.cancel(timer);
        }
        let Some(raft) = node.raft.as_ref() else {
            return;
        };
        let controller_due = node
            .controller
            .as_ref()
            .and_then(QuorumController::poll_timeout);
        let due = match (raft.poll_timeout(), controller_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = due {
            node.timer = Some(self.kernel.schedule_at(at, Event::NodeTimer(index)));
        }
    }

    /// Faults stop: no more crash points.
    pub fn disable_crash_points(&mut self) {
        self.crash_points = (0, 0);
    }

    /// Arms a crash point after a granted vote or an AppendEntries with entries.
    fn maybe_crash_after(&mut self, index: usize, msg: &Message) {
        // A voter comes back within milliseconds, before a rival candidate's request reaches
        // it; a leader stays down long enough for another to be elected.
        let (per_mille, down_ms_max) = match msg {
            Message::RequestVoteResponse { granted: true, .. } => (self.crash_points.0, 5),
            Message::AppendEntries { entries, .. } if !entries.is_empty() => {
                (self.crash_points.1, 1_000)
            }
            _ => return,
        };
        if per_mille > 0 && self.rng.chance(per_mille, 1000) {
            let delay = Duration::from_micros(self.rng.below(1_000));
            self.kernel
                .schedule_after(delay, Event::CrashPoint(index, down_ms_max));
        }
    }

    /// A crash point: the node dies now (if it still runs) and restarts shortly.
    fn crash_point(&mut self, index: usize, down_ms_max: u64) {
        if self.nodes[index].raft.is_none() {
            return;
        }
        self.mark("crash-point");
        let kind = CrashKind::random(&mut self.crash_rng);
        self.crash_node(index, kind);
        let restart = Duration::from_micros(self.rng.below(down_ms_max * 1_000));
        self.kernel
            .schedule_after(restart, Event::RestartAfterCrashPoint(index));
    }

    /// Starts a stopped controller process from its disk.
    pub fn start_node(&mut self, index: usize) {
        if self.nodes[index].raft.is_some() {
            return;
        }
        if let Err(error) = self.nodes[index].start() {
            return self.fail(
                "controller-start-failed",
                format!("n{}: {error}", index + 1),
            );
        }
        self.kernel.record(format_args!("n{} started", index + 1));
        self.after_raft_call(index, Ok(()));
    }

    /// Crashes a controller process or its machine.
    pub fn crash_node(&mut self, index: usize, kind: CrashKind) {
        let net_id = self.nodes[index].net_id();
        if self.nodes[index].controller.is_some() {
            self.mark("active-controller-crashed");
            if !self.nodes[index].pending.is_empty() {
                self.mark("crash-with-uncommitted-decisions");
            }
        }
        self.mark(match kind {
            CrashKind::Process => "process-crash",
            CrashKind::Machine => "machine-crash",
        });
        if let Some(timer) = self.nodes[index].timer.take() {
            self.kernel.cancel(timer);
        }
        self.nodes[index].stop();
        // A process crash leaves the kernel running: what the process already sent is in its
        // socket buffers and still arrives. A machine crash loses what was in flight.
        if kind == CrashKind::Machine {
            self.net.crash(net_id);
        }
        match kind {
            CrashKind::Process => self.nodes[index].disk.crash_process(),
            CrashKind::Machine => self.nodes[index].disk.crash_machine(&mut self.crash_rng),
        }
        self.kernel.record(format_args!("n{} {kind}", index + 1));
    }
}
