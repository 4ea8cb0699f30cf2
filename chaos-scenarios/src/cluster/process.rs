//! One simulated machine: a [`Node`] opened over its own [`SimDisk`] and RNG, as `sluice
//! server` opens one over its files, and the Kafka connections its clients have open.

use std::collections::BTreeMap;

use sluice_core::broker::{Node, NodeConfig, NodeError, SyncTracker};
use sluice_core::time::Instant;
use sluice_sim::{CrashKind, EventId, NodeId, SimDisk, SimRng};

use super::server::Server;

/// One machine and, while it runs, its process.
pub struct Process {
    /// The network address (`node.id`).
    pub net_id: NodeId,
    /// The settings every start of the process uses.
    pub config: NodeConfig,
    /// The running process, `None` while it is down.
    pub node: Option<Node>,
    /// The machine's disk: it outlives the process.
    pub disk: SimDisk,
    /// The process's randomness (election jitter, ids), forked from the seed.
    pub rng: SimRng,
    /// The kernel event that wakes the node at its next deadline.
    pub timer: Option<EventId>,
    /// Stopped (a long GC pause, SIGSTOP): its inputs are held until it resumes.
    pub paused: bool,
    /// Process starts so far: events armed for an earlier start are stale.
    pub incarnation: u32,
    /// Its clients' connections.
    pub server: Server,
    /// The last stop kept the page cache (a process crash), so the next start may vouch for
    /// the broker's past (see [`Node::open`]).
    pub clean: bool,
    /// Until then the answers to produces are lost on the way (idempotent-retry-failover).
    pub produce_answers_lost_until: Option<Instant>,
    /// A controlled shutdown is under way: the process stops once the controller lets it.
    pub shutting_down: bool,
    /// The node's syncs under way and the outputs waiting for them.
    pub syncs: SyncTracker,
    /// When each file's last sync under way completes: a file's syncs complete in order.
    pub sync_free_at: BTreeMap<String, Instant>,
}

impl Process {
    /// A machine that has not started its process yet.
    pub fn new(config: NodeConfig, disk: SimDisk, rng: SimRng) -> Process {
        Process {
            net_id: NodeId(config.node_id),
            config,
            node: None,
            disk,
            rng,
            timer: None,
            paused: false,
            incarnation: 0,
            server: Server::default(),
            clean: true,
            produce_answers_lost_until: None,
            shutting_down: false,
            syncs: SyncTracker::new(),
            sync_free_at: BTreeMap::new(),
        }
    }

    /// Starts the process: `Node::open` over the machine's disk, as the real runtime does.
    pub fn start(&mut self) -> Result<(), NodeError> {
        assert!(
            self.node.is_none(),
            "a running process is not started twice"
        );
        let mut node = Node::open(
            self.config.clone(),
            &mut self.disk,
            &mut self.rng,
            self.clean,
        )?;
        node.observe(true);
        self.node = Some(node);
        self.incarnation += 1;
        self.server = Server::default();
        self.paused = false;
        self.syncs = SyncTracker::new();
        self.sync_free_at.clear();
        Ok(())
    }

    /// Stops the process: its memory is gone; a machine crash also loses what the disk had
    /// not synced (as the disk's crash semantics say).
    pub fn crash(&mut self, kind: CrashKind, rng: &mut SimRng) {
        self.node = None;
        self.server = Server::default();
        self.paused = false;
        self.shutting_down = false;
        self.clean = kind == CrashKind::Process;
        match kind {
            CrashKind::Process => self.disk.crash_process(),
            CrashKind::Machine => self.disk.crash_machine(rng),
        }
    }

    /// Whether the process runs and is not paused.
    pub fn is_up(&self) -> bool {
        self.node.is_some() && !self.paused
    }

    /// Whether this process is a broker.
    pub fn is_broker(&self) -> bool {
        self.config.process_roles.is_broker()
    }

    /// Whether this process is a controller.
    pub fn is_controller(&self) -> bool {
        self.config.process_roles.is_controller()
    }
}
