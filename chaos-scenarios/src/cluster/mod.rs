//! The simulated cluster: every process is a [`sluice_core::broker::Node`] opened as `sluice
//! server` opens one, over its own simulated disk, the kernel's virtual clock and an RNG
//! forked from the seed; clients are core's sans-IO producer and consumer and an admin. What
//! crosses the simulated network is bytes: peer messages in `sluice-net`'s peer codec, client
//! requests and answers as Kafka frames. A frame that does not decode fails the seed.
//!
//! After every input the cluster checks what no single node can: one Raft leader per term,
//! one committed entry per index on every node, identical images at equal indexes, one
//! partition leader per leader epoch (in the images and in the brokers that act on them), the
//! metadata image's own invariants; and, with a workload, the replicas' (see `audit`).

pub mod admin;
mod audit;
mod checks;
mod conn;
mod group;
mod notes;
mod process;
mod server;
mod topology;
mod workload;

pub use admin::{AdminClient, AdminOp};
pub use audit::AUDIT_EVERY;
pub use group::{GroupMember, OffsetReader};
pub use process::Process;
pub use topology::Topology;
pub use workload::{Role, SimClient, Workload};

use sluice_core::broker::{NodeConfig, NodeMessage, NodeOutput, ProcessRoles, SyncToken};
use sluice_core::disk::{replace_file, Disk};
use sluice_core::raft::Message;
use sluice_core::replica::{Durability, ReplicaConfig, ReplicaStats};
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use sluice_sim::{CrashKind, Kernel, NodeId, SimDisk, SimNetwork, SimRng, SyncTicket};

use crate::{Failure, Marks, RunOutcome};
use checks::History;
use server::{Accepted, Out};

/// Network ids of clients start here; processes use their `node.id`.
pub const CLIENT_NET_BASE: u32 = 1_000;

/// How long a failed process waits before its supervisor starts it again.
const SUPERVISOR_RESTART: Duration = Duration::from_secs(1);

/// What crosses the simulated network: bytes, as on a real one.
#[derive(Clone, Debug)]
pub enum Packet {
    /// A message between nodes, in the peer codec.
    Peer(Vec<u8>),
    /// A client's request frame.
    Request(Vec<u8>),
    /// A broker's answer frame.
    Response(Vec<u8>),
    /// The broker closed the connection (a range cut under a Fetch, a process that died).
    Closed,
}

impl Packet {
    fn describe(&self) -> String {
        match self {
            Packet::Peer(bytes) => format!("peer {} B", bytes.len()),
            Packet::Request(bytes) => format!("request {} B", bytes.len()),
            Packet::Response(bytes) => format!("response {} B", bytes.len()),
            Packet::Closed => "closed".to_string(),
        }
    }
}

/// Whether `response` tells a producer that a write succeeded.
fn acknowledges_a_write(response: &sluice_core::api::Response) -> bool {
    match response {
        sluice_core::api::Response::Produce(produce) => produce
            .partitions
            .iter()
            .any(|p| p.error == sluice_core::api::ErrorCode::None),
        _ => false,
    }
}

/// A peer message frame (size prefix included) read as the real runtime's peer connections
/// read one: framed under `socket.request.max.bytes`, then decoded.
fn decode_peer_frame(frame: &[u8]) -> Result<NodeMessage, String> {
    use sluice_net::frame::{parse_frame, FrameStatus, REQUEST_BYTES_MAX_DEFAULT};
    match parse_frame(frame, REQUEST_BYTES_MAX_DEFAULT) {
        FrameStatus::Frame(range) if range.end == frame.len() => {
            sluice_net::peer::decode_message(&frame[range]).map_err(|e| format!("{e:?}"))
        }
        status => Err(format!("peer frame: {status:?}")),
    }
}

/// The simulator's events.
#[derive(Debug)]
pub enum Event {
    /// A process's node has work due (process index, start number).
    NodeTimer(usize, u32),
    /// A client has work due.
    ClientTimer(usize),
    /// The scenario's next fault or phase change.
    Script(u32),
    /// The cross-broker replication checks.
    Audit,
    /// A Fetch answer with file ranges is written to a client's connection.
    WriteFetch(usize, u32, NodeId),
    /// A crash point fires: the process crashes and stays down at most this many ms.
    CrashPoint(usize, u64),
    /// A paused process resumes.
    Resume(usize),
    /// A stopped process starts again (a crash point's, a supervisor's, a script's).
    Start(usize),
    /// A sync the node asked for completes (process index, start number, token, its IO).
    SyncDone(usize, u32, SyncToken, SyncIo),
}

/// The IO of a sync or replace a node asked for, carried out when it completes.
#[derive(Debug)]
pub enum SyncIo {
    /// The disk's syncs of the files, begun when the node asked, and the directories to
    /// sync when the IO completes (a directory's sync then covers at least every name change
    /// issued before the node asked, as a journalling filesystem's commit does).
    Files {
        /// The files' syncs.
        tickets: Vec<SyncTicket>,
        /// The directories.
        dirs: Vec<String>,
    },
    /// An atomic replace of `{dir}/{name}`.
    Replace {
        /// The directory.
        dir: String,
        /// The file's name.
        name: String,
        /// The new contents.
        bytes: Vec<u8>,
    },
}

/// The settings every process of a run shares, beyond its id and roles.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Raft's election timeout (the range is this to twice this) and heartbeat.
    pub election_timeout: Duration,
    /// Raft's heartbeat interval.
    pub heartbeat: Duration,
    /// Raft's most entries per AppendEntries.
    pub append_entries_max: usize,
    /// Per mille of granted votes after which the voter crashes and restarts at once.
    pub crash_after_vote_per_mille: u64,
    /// Per mille of AppendEntries with entries after which the leader crashes.
    pub crash_after_append_per_mille: u64,
    /// The template every node's config starts from.
    pub node: NodeConfig,
}

impl Settings {
    /// The simulator's defaults: Kafka's intervals, a metadata snapshot every 16 entries so
    /// that compaction and snapshot installs happen within a run.
    pub fn new() -> Settings {
        let mut node = NodeConfig::new(0, ProcessRoles::Combined, vec![0]);
        node.metadata_snapshot_interval_entries = 16;
        node.auto_create_topics_enable = false;
        Settings {
            election_timeout: Duration::from_millis(1_000),
            heartbeat: Duration::from_millis(200),
            append_entries_max: 64,
            crash_after_vote_per_mille: 0,
            crash_after_append_per_mille: 0,
            node,
        }
    }

    /// The defaults for stories that keep each partition on three replicas and produce with
    /// acks=all: a write needs two in-sync replicas, and a follower leaves the ISR after 10 s
    /// without catching up. The controller chooses eligible leaders by the same
    /// min.insync.replicas.
    pub fn replicated(durability: Durability) -> Settings {
        let mut settings = Settings::new();
        settings.node.replica = ReplicaConfig {
            durability,
            min_insync_replicas: 2,
            replica_lag_time_max_ms: 10_000,
            replica_fetch_backoff_ms: 200,
            replica_socket_timeout_ms: 5_000,
            ..settings.node.replica.clone()
        };
        settings.node.controller.min_insync_replicas = 2;
        settings
    }

    fn node_config(
        &self,
        id: u32,
        roles: ProcessRoles,
        voters: &[u32],
        file_ranges: bool,
    ) -> NodeConfig {
        let mut config = self.node.clone();
        config.node_id = id;
        config.process_roles = roles;
        config.controller_quorum_voters = voters.to_vec();
        config.controller_quorum_election_timeout = self.election_timeout;
        config.controller_quorum_heartbeat_interval = self.heartbeat;
        config.controller_quorum_append_entries_max = self.append_entries_max;
        config.advertised_listeners[0].host = format!("broker-{id}");
        config.replica.fetch_reads = match file_ranges {
            true => sluice_core::replica::FetchReads::FileRanges,
            false => sluice_core::replica::FetchReads::Copied,
        };
        config
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::new()
    }
}

/// Everything in one simulated run.
pub struct Cluster {
    /// The event loop, clock, RNG and trace.
    pub kernel: Kernel<Event>,
    /// The network.
    pub net: SimNetwork<Packet>,
    /// The machines, in node id order.
    pub procs: Vec<Process>,
    /// What the seed drew.
    pub topology: Topology,
    /// The clients: producers, consumers, admins.
    pub clients: Vec<SimClient>,
    /// The workload's topic, history and replica audit, when the run has one.
    pub workload: Option<Workload>,
    history: History,
    /// Coverage marks reached.
    pub marks: Marks,
    /// Randomness for the workload and faults.
    pub rng: SimRng,
    crash_rng: SimRng,
    /// Draws of how long each sync the nodes ask for takes.
    sync_rng: SimRng,
    /// The slowest ordinary sync of this run (drawn per seed).
    sync_latency_max: Duration,
    crash_points: (u64, u64),
    /// The first failure found; the run stops there.
    pub failure: Option<Failure>,
    /// The replica counters of processes that stopped, for marks.
    pub retired: ReplicaStats,
    /// Raft counters of processes that stopped, for marks.
    pub retired_raft: Vec<sluice_core::raft::RaftStats>,
    /// A script step to run within half a millisecond after the next produce answer that
    /// acknowledges a write leaves a broker (once).
    pub strike_after_produce_answer: Option<u32>,
    /// A script step to run within 3 ms after the next offset commit a group member sends
    /// (once).
    pub strike_after_group_commit: Option<u32>,
}

impl Cluster {
    /// A cluster of `topology`'s processes, all started.
    pub fn new(
        seed: u64,
        keep_trace: bool,
        topology: Topology,
        settings: &Settings,
        marks: Marks,
    ) -> Cluster {
        let mut kernel = Kernel::new(seed, keep_trace);
        let rng = kernel.rng().fork();
        let crash_rng = kernel.rng().fork();
        let net = SimNetwork::new(kernel.rng().fork());
        let voters = topology.voters();
        let procs = topology
            .processes()
            .into_iter()
            .map(|(id, roles)| {
                let config = settings.node_config(id, roles, &voters, topology.file_ranges);
                let disk = SimDisk::new(kernel.rng().fork());
                Process::new(config, disk, kernel.rng().fork())
            })
            .collect();
        let mut sync_rng = kernel.rng().fork();
        let sync_latency_max = Duration::from_micros(match sync_rng.below(3) {
            0 => 100,
            1 => 1_000,
            _ => 5_000,
        });
        kernel.record(format_args!(
            "topology {}; syncs take up to {sync_latency_max:?}",
            topology.describe()
        ));
        let mut cluster = Cluster {
            kernel,
            net,
            procs,
            topology,
            clients: Vec::new(),
            workload: None,
            history: History::default(),
            marks,
            rng,
            crash_rng,
            sync_rng,
            sync_latency_max,
            crash_points: (
                settings.crash_after_vote_per_mille,
                settings.crash_after_append_per_mille,
            ),
            failure: None,
            retired: ReplicaStats::default(),
            retired_raft: Vec::new(),
            strike_after_produce_answer: None,
            strike_after_group_commit: None,
        };
        cluster.mark(match cluster.topology.combined {
            true => "combined-nodes",
            false => "separate-controllers",
        });
        if cluster.topology.file_ranges {
            cluster.mark("file-range-reads");
        }
        for index in 0..cluster.procs.len() {
            cluster.start(index);
        }
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
            swarm: format!("{swarm} {}", self.topology.describe()),
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

    /// The index of the process with network id `id`.
    pub fn proc_index(&self, id: NodeId) -> Option<usize> {
        self.procs.iter().position(|p| p.net_id == id)
    }

    /// The indexes of the broker processes.
    pub fn broker_indexes(&self) -> Vec<usize> {
        (0..self.procs.len())
            .filter(|i| self.procs[*i].is_broker())
            .collect()
    }

    /// The indexes of the controller processes.
    pub fn controller_indexes(&self) -> Vec<usize> {
        (0..self.procs.len())
            .filter(|i| self.procs[*i].is_controller())
            .collect()
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
                    Some((_, Event::NodeTimer(index, incarnation))) => {
                        self.node_timer(index, incarnation)
                    }
                    Some((_, Event::ClientTimer(index))) => self.client_timer(index),
                    Some((_, Event::Script(step))) => script(self, step),
                    Some((_, Event::Audit)) => self.audit(),
                    Some((_, Event::WriteFetch(index, incarnation, client))) => {
                        self.write_fetch(index, incarnation, client)
                    }
                    Some((_, Event::CrashPoint(index, down_ms_max))) => {
                        self.crash_point(index, down_ms_max)
                    }
                    Some((_, Event::Start(index))) => self.start(index),
                    Some((_, Event::Resume(index))) => self.resume(index),
                    Some((_, Event::SyncDone(index, incarnation, token, tickets))) => {
                        self.sync_done(index, incarnation, token, tickets)
                    }
                    None => break,
                },
            }
        }
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, packet: Packet) {
        self.kernel
            .record(format_args!("{from}->{to} {}", packet.describe()));
        if to.0 >= CLIENT_NET_BASE {
            return self.client_delivery(from, to, packet);
        }
        let Some(index) = self.proc_index(to) else {
            return;
        };
        if !self.procs[index].is_up() {
            return;
        }
        match packet {
            Packet::Peer(bytes) => match decode_peer_frame(&bytes) {
                Ok(message) => {
                    let from = sluice_core::broker::NodeId(from.0);
                    self.input(index, |node, now, wall, disk, rng| {
                        node.handle_message(now, wall, disk, rng, from, message)
                    });
                }
                Err(error) => {
                    self.fail("undecodable-peer-message", format!("{from}->{to}: {error}"))
                }
            },
            Packet::Request(frame) => match self.procs[index].server.accept(from, frame) {
                Ok(Accepted::Serve { token, request }) => {
                    self.input(index, |node, now, wall, disk, rng| {
                        node.handle_client_request(now, wall, disk, rng, token, request)
                    });
                    self.flush_connection(index, from);
                }
                Ok(Accepted::Answered) => self.flush_connection(index, from),
                Err(error) => self.fail("undecodable-request", format!("{from}->{to}: {error}")),
            },
            Packet::Response(_) | Packet::Closed => {
                self.fail("misrouted-packet", format!("{from}->{to}"))
            }
        }
    }

    /// One input to a running process's node, then everything it set in motion.
    fn input(
        &mut self,
        index: usize,
        work: impl FnOnce(&mut sluice_core::broker::Node, Instant, i64, &mut SimDisk, &mut SimRng),
    ) {
        let (now, wall) = (self.kernel.now(), self.kernel.wall_ms());
        let process = &mut self.procs[index];
        let Some(node) = process.node.as_mut() else {
            return;
        };
        // No handler syncs on the node's loop: every sync is an output (issue 13).
        process.disk.forbid_syncs(true);
        work(node, now, wall, &mut process.disk, &mut process.rng);
        process.disk.forbid_syncs(false);
        self.after_input(index);
    }

    /// Drains a node's outputs onto the network, checks its notes and re-arms its timer; a
    /// node that failed is stopped and started again by its supervisor.
    fn after_input(&mut self, index: usize) {
        let process = &mut self.procs[index];
        // The time of the node's page-cache calls is not charged: what the disk costs the node
        // is its syncs, outputs that complete after a drawn latency (`schedule_sync_io`).
        process.disk.take_busy_time();
        let from = process.net_id;
        if let Some(error) = process.node.as_ref().and_then(|n| n.failure()).cloned() {
            self.kernel.record(format_args!(
                "{from} failed: {error}; its supervisor restarts it"
            ));
            self.mark("node-failed");
            self.crash(index, CrashKind::Process);
            self.kernel
                .schedule_after(SUPERVISOR_RESTART, Event::Start(index));
            return;
        }
        if process.shutting_down
            && process
                .node
                .as_ref()
                .is_some_and(|node| node.controlled_shutdown_done())
        {
            return self.controlled_stop(index);
        }
        let mut clients = Vec::new();
        loop {
            let process = &mut self.procs[index];
            let Some(node) = process.node.as_mut() else {
                return;
            };
            let Some(output) = node.poll_output() else {
                break;
            };
            let output = match output {
                NodeOutput::Sync {
                    token,
                    files,
                    dirs,
                    after,
                } => {
                    self.procs[index].syncs.issued(token, after);
                    self.begin_sync(index, token, files, dirs);
                    continue;
                }
                NodeOutput::Replace {
                    token,
                    dir,
                    name,
                    bytes,
                    after,
                } => {
                    self.procs[index].syncs.issued(token, after);
                    let file = format!("{dir}/{name}");
                    let io = SyncIo::Replace { dir, name, bytes };
                    self.schedule_sync_io(index, token, vec![file], io);
                    continue;
                }
                output => match self.procs[index].syncs.admit(output) {
                    Some(output) => output,
                    None => continue,
                },
            };
            if !self.transmit(index, output, &mut clients) {
                return;
            }
        }
        self.flush_connections(index, clients);
        self.check_notes(index);
        if self.failure.is_none() {
            self.audit_process(index);
        }
        self.arm_timer(index);
    }

    /// Puts a message on the network or an answer on its connection (collected in
    /// `clients`); false when it cannot be encoded, which fails the run.
    fn transmit(&mut self, index: usize, output: NodeOutput, clients: &mut Vec<NodeId>) -> bool {
        let now = self.kernel.now();
        let send_at = now;
        let process = &mut self.procs[index];
        let from = process.net_id;
        match output {
            NodeOutput::Send { to, message, .. } => {
                if let NodeMessage::Raft(raft) = &message {
                    self.maybe_crash_after(index, raft);
                }
                let frame = match sluice_net::peer::encode_message_parts(&message) {
                    Ok(frame) => frame,
                    Err(error) => {
                        self.fail("unencodable-peer-message", format!("{error:?}"));
                        return false;
                    }
                };
                // A follower's records are read from the leader's files as the message
                // leaves, as the real runtime's link sends them with sendfile. An answer
                // held for a sync may find its segment removed by retention since: it is lost,
                // as the real runtime drops it, and the follower fetches again.
                let bytes = frame.into_bytes().or_else(|frame| {
                    let disk = &mut self.procs[index].disk;
                    server::fill_frame(&frame.parts, &frame.files, disk)
                });
                if let Ok(bytes) = bytes {
                    self.net
                        .send(send_at, from, NodeId(to.0), Packet::Peer(bytes));
                }
            }
            NodeOutput::Respond {
                client, response, ..
            } => {
                if acknowledges_a_write(&response) {
                    if let Some(step) = self.strike_after_produce_answer.take() {
                        self.mark("strike-after-produce-answer");
                        let delay = Duration::from_micros(self.rng.below(500));
                        self.kernel.schedule_after(delay, Event::Script(step));
                    }
                }
                let process = &mut self.procs[index];
                let lose = process.produce_answers_lost_until.is_some_and(|t| t > now);
                let node = process.node.as_ref().expect("running");
                match process.server.answered(client, response, node, lose) {
                    Ok(Some(client)) => {
                        if lose {
                            self.mark("produce-answer-lost");
                        }
                        clients.push(client)
                    }
                    Ok(None) => {}
                    Err(error) => {
                        self.fail("unencodable-response", error);
                        return false;
                    }
                }
            }
            NodeOutput::Sync { .. } | NodeOutput::Replace { .. } => {
                unreachable!("syncs are begun, not transmitted")
            }
        }
        true
    }

    fn flush_connections(&mut self, index: usize, mut clients: Vec<NodeId>) {
        clients.sort();
        clients.dedup();
        for client in clients {
            self.flush_connection(index, client);
        }
    }

    /// Starts the syncs of a node's `Sync` output on its disk. They complete after a drawn
    /// latency, each file's in the order they were asked for, different files' in any order,
    /// as fdatasync on a real device.
    fn begin_sync(
        &mut self,
        index: usize,
        token: SyncToken,
        files: Vec<String>,
        dirs: Vec<String>,
    ) {
        let process = &mut self.procs[index];
        let mut tickets = Vec::with_capacity(files.len());
        for file in &files {
            // A file gone already (a segment retention removed) has nothing left to sync.
            if let Ok(ticket) = process.disk.begin_sync(file) {
                tickets.push(ticket);
            }
        }
        let mut paths = files;
        paths.extend(dirs.iter().cloned());
        self.schedule_sync_io(index, token, paths, SyncIo::Files { tickets, dirs });
    }

    /// Schedules the completion of a sync's IO after a drawn latency, after every earlier
    /// one on the same files.
    fn schedule_sync_io(&mut self, index: usize, token: SyncToken, files: Vec<String>, io: SyncIo) {
        let now = self.kernel.now();
        let process = &mut self.procs[index];
        let mut at = now;
        for file in &files {
            if let Some(free) = process.sync_free_at.get(file) {
                at = at.max(*free);
            }
        }
        let min = Duration::from_micros(10);
        let latency = self.sync_rng.duration_between(min, self.sync_latency_max)
            + process.disk.draw_sync_latency();
        let at = at + latency;
        for file in files {
            process.sync_free_at.insert(file, at);
        }
        let event = Event::SyncDone(index, process.incarnation, token, io);
        self.kernel.schedule_at(at, event);
    }

    /// A sync completes: its files' writes become durable, what waited for it leaves, and the
    /// node hears of it. A process that died since never hears; a paused one hears once it
    /// resumes.
    fn sync_done(&mut self, index: usize, incarnation: u32, token: SyncToken, io: SyncIo) {
        let process = &mut self.procs[index];
        if process.incarnation != incarnation || process.node.is_none() {
            return;
        }
        if process.paused {
            let later = Duration::from_millis(1);
            let event = Event::SyncDone(index, incarnation, token, io);
            self.kernel.schedule_after(later, event);
            return;
        }
        let result = match io {
            SyncIo::Files { tickets, dirs } => tickets
                .into_iter()
                .try_for_each(|ticket| process.disk.finish_sync(ticket))
                .and_then(|()| dirs.iter().try_for_each(|dir| process.disk.sync_dir(dir))),
            SyncIo::Replace { dir, name, bytes } => {
                replace_file(&mut process.disk, &dir, &name, &bytes)
            }
        };
        let completed = process.syncs.io_done(token, result);
        let mut clients = Vec::new();
        for output in completed.outputs {
            if !self.transmit(index, output, &mut clients) {
                return;
            }
        }
        self.flush_connections(index, clients);
        for (token, result) in completed.syncs {
            if self.procs[index].incarnation != incarnation {
                // The process died on an earlier completion: this one was its.
                return;
            }
            self.input(index, |node, now, wall, disk, rng| {
                node.handle_sync_done(now, wall, disk, rng, token, result)
            });
        }
    }

    /// Sends the answers at the head of a client's connection that can go.
    fn flush_connection(&mut self, index: usize, client: NodeId) {
        let send_at = self.kernel.now();
        let process = &mut self.procs[index];
        let from = process.net_id;
        let incarnation = process.incarnation;
        for out in process.server.take_ready(client) {
            match out {
                Out::Frame(frame) => {
                    self.net
                        .send(send_at, from, client, Packet::Response(frame));
                }
                Out::WriteLater => {
                    // The socket takes the answer a moment later; the files are read then.
                    let delay = Duration::from_micros(self.rng.below(3_000));
                    self.kernel
                        .schedule_after(delay, Event::WriteFetch(index, incarnation, client));
                }
            }
        }
    }

    fn write_fetch(&mut self, index: usize, incarnation: u32, client: NodeId) {
        let process = &mut self.procs[index];
        if process.incarnation != incarnation || process.node.is_none() {
            return;
        }
        if let Err(cut) = process.server.write_fetch(client, &mut process.disk) {
            let from = process.net_id;
            self.kernel.record(format_args!(
                "{from} closes {client}: fetch range cut: {cut}"
            ));
            self.mark("fetch-range-cut");
            let now = self.kernel.now();
            self.net.send(now, from, client, Packet::Closed);
            return;
        }
        self.flush_connection(index, client);
    }

    fn node_timer(&mut self, index: usize, incarnation: u32) {
        let process = &mut self.procs[index];
        if process.incarnation != incarnation {
            return;
        }
        process.timer = None;
        if process.paused || process.node.is_none() {
            return;
        }
        self.input(index, |node, now, wall, disk, rng| {
            node.handle_timeout(now, wall, disk, rng)
        });
    }

    /// Arms the process's one timer at its node's next deadline.
    pub fn arm_timer(&mut self, index: usize) {
        let now = self.kernel.now();
        let process = &mut self.procs[index];
        if let Some(timer) = process.timer.take() {
            self.kernel.cancel(timer);
        }
        if process.paused {
            return;
        }
        let Some(at) = process.node.as_ref().and_then(|n| n.poll_timeout()) else {
            return;
        };
        let event = Event::NodeTimer(index, process.incarnation);
        process.timer = Some(self.kernel.schedule_at(at.max(now), event));
    }

    /// Starts a stopped process from its disk.
    pub fn start(&mut self, index: usize) {
        if self.procs[index].node.is_some() {
            return;
        }
        let id = self.procs[index].net_id;
        if let Err(error) = self.procs[index].start() {
            // A full disk, say: the supervisor tries again.
            self.kernel
                .record(format_args!("{id} cannot start: {error}"));
            self.kernel
                .schedule_after(SUPERVISOR_RESTART, Event::Start(index));
            return;
        }
        self.kernel.record(format_args!("{id} started"));
        self.after_input(index);
    }

    /// Stops a process (its memory gone) or its machine (unsynced writes too).
    pub fn crash(&mut self, index: usize, kind: CrashKind) {
        let process = &mut self.procs[index];
        let Some(node) = process.node.as_ref() else {
            return;
        };
        if node.is_active_controller() {
            self.marks_for_active_crash(index);
        }
        let process = &mut self.procs[index];
        let node = process.node.as_ref().expect("running");
        self.retired.absorb(node.replica_manager().stats());
        if let Some(raft) = node.raft() {
            self.retired_raft.push(*raft.stats());
        }
        let id = process.net_id;
        if let Some(timer) = process.timer.take() {
            self.kernel.cancel(timer);
        }
        let clients = process.server.clients();
        process.crash(kind, &mut self.crash_rng);
        self.net.resume(id);
        let now = self.kernel.now();
        match kind {
            // The machine is gone with its connections: clients learn it by timing out.
            CrashKind::Machine => self.net.crash(id),
            // The kernel closes a dead process's sockets: its clients see the connection end.
            CrashKind::Process => {
                for client in clients {
                    self.net.send(now, id, client, Packet::Closed);
                }
            }
        }
        self.mark(match kind {
            CrashKind::Process => "process-crash",
            CrashKind::Machine => "machine-crash",
        });
        self.kernel.record(format_args!("{id} {kind}"));
    }

    fn marks_for_active_crash(&mut self, index: usize) {
        self.mark("active-controller-crashed");
        let node = self.procs[index].node.as_ref().expect("running");
        if node.controller_decisions_pending() > 0 {
            self.mark("crash-with-uncommitted-decisions");
        }
    }

    /// Stops a process's inputs (its messages are held) until [`Cluster::resume`].
    pub fn pause(&mut self, index: usize) {
        let process = &mut self.procs[index];
        if process.node.is_none() || process.paused {
            return;
        }
        process.paused = true;
        if let Some(timer) = process.timer.take() {
            self.kernel.cancel(timer);
        }
        self.net.pause(process.net_id);
        self.kernel
            .record(format_args!("{} paused", process.net_id));
    }

    /// Lets a paused process go on: held messages arrive, due timers fire.
    pub fn resume(&mut self, index: usize) {
        let process = &mut self.procs[index];
        if !process.paused {
            return;
        }
        process.paused = false;
        self.net.resume(process.net_id);
        self.kernel
            .record(format_args!("{} resumed", process.net_id));
        self.input(index, |node, now, wall, disk, rng| {
            node.handle_timeout(now, wall, disk, rng)
        });
    }

    /// Asks a broker to shut down in a controlled way: the controller moves its leaderships
    /// first; the process stops once the controller lets it go, and restarts a few seconds later.
    pub fn begin_controlled_shutdown(&mut self, index: usize) {
        if !self.procs[index].is_up() {
            return;
        }
        self.kernel.record(format_args!(
            "{} begins a controlled shutdown",
            self.procs[index].net_id
        ));
        self.procs[index].shutting_down = true;
        self.input(index, |node, now, wall, disk, rng| {
            node.begin_controlled_shutdown(now, wall, disk, rng)
        });
    }

    /// The controller let a shutting-down broker go: its process stops (its page cache
    /// kept) and comes back a few seconds later.
    fn controlled_stop(&mut self, index: usize) {
        self.kernel.record(format_args!(
            "{} stops after its controlled shutdown",
            self.procs[index].net_id
        ));
        self.mark("controlled-shutdown");
        self.crash(index, CrashKind::Process);
        self.procs[index].shutting_down = false;
        let down = Duration::from_millis(3_000 + self.rng.below(5_000));
        self.kernel.schedule_after(down, Event::Start(index));
    }

    /// Cuts process `index` from every other process `cut` picks, both ways, and records it
    /// as `"{net id} {what}"` (clients still reach it).
    pub fn cut_off(&mut self, index: usize, what: &str, cut: impl Fn(&Process) -> bool) {
        let me = self.procs[index].net_id;
        for other in 0..self.procs.len() {
            if other != index && cut(&self.procs[other]) {
                let id = self.procs[other].net_id;
                self.net.partition(me, id);
            }
        }
        self.kernel.record(format_args!("{me} {what}"));
    }

    /// Heals every partition and puts every link between processes and clients back to a
    /// plain LAN (lossy or slow links were faults).
    pub fn heal_network(&mut self) {
        self.net.heal();
        let ids: Vec<NodeId> = self
            .procs
            .iter()
            .map(|p| p.net_id)
            .chain(self.clients.iter().map(|c| c.net_id))
            .collect();
        for a in &ids {
            for b in &ids {
                self.net.set_link(*a, *b, sluice_sim::LinkConfig::LAN);
            }
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

    /// A crash point: the process dies now (if it still runs) and restarts shortly.
    fn crash_point(&mut self, index: usize, down_ms_max: u64) {
        if self.procs[index].node.is_none() {
            return;
        }
        self.mark("crash-point");
        let kind = CrashKind::random(&mut self.crash_rng);
        self.crash(index, kind);
        let restart = Duration::from_micros(self.rng.below(down_ms_max * 1_000));
        self.kernel.schedule_after(restart, Event::Start(index));
    }
}
