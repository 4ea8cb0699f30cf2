//! The node itself: its parts, the inputs the driver feeds it and the loop that settles each
//! input before the call returns.

use std::collections::{BTreeMap, VecDeque};

use super::channel::ControllerChannel;
use super::config::{ConfigError, NodeConfig};
use super::epoch_file;
use super::lifecycle::Lifecycle;
use super::message::{NodeMessage, NodeOutput};
use super::notes::NodeNote;
use super::producer_ids::ProducerIdBlocks;
use super::quorum::Quorum;
use super::serve::PeerTraffic;
use super::sync::SyncToken;
use crate::api;
use crate::controller::{BrokerRegistration, FollowError, MetadataFollower, MetadataImage, Uuid};
use crate::disk::{Disk, DiskError};
use crate::group::GroupCoordinator;
use crate::raft::{NodeId, Persist, RaftError, RaftNode};
use crate::replica::{Durability, PartitionKey, ReplicaManager, StoredRecord};
use crate::rng::Rng;
use crate::time::Instant;

/// Why a node stopped. Every variant but [`NodeError::InvalidConfig`] arrives from the
/// environment or a peer; the driver stops the process (with its own exit code) and starts a
/// new one over the same disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeError {
    /// A setting is out of range.
    InvalidConfig(ConfigError),
    /// The metadata log's storage failed or is corrupt.
    Raft(RaftError),
    /// The broker's own files (its `broker-epoch`) could not be read or written.
    Disk(DiskError),
    /// The committed metadata log holds an entry this node cannot apply, so its image would
    /// part from everyone else's.
    Metadata(FollowError),
}

impl core::fmt::Display for NodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NodeError::InvalidConfig(error) => write!(f, "{error}"),
            NodeError::Raft(error) => write!(f, "metadata log: {error}"),
            NodeError::Disk(error) => write!(f, "broker files: {error}"),
            NodeError::Metadata(error) => write!(f, "metadata log cannot be applied: {error}"),
        }
    }
}

impl std::error::Error for NodeError {}

impl From<ConfigError> for NodeError {
    fn from(error: ConfigError) -> NodeError {
        NodeError::InvalidConfig(error)
    }
}

/// Counters for tests, logs and simulation coverage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Times this node became the active controller.
    pub controller_activations: u64,
    /// Times it stopped being the active controller.
    pub controller_resignations: u64,
    /// Registrations the controller accepted.
    pub registrations: u64,
    /// Topics this broker asked the controller to create for a Metadata request.
    pub auto_creations_asked: u64,
    /// Requests to controllers given up unanswered.
    pub controller_requests_timed_out: u64,
    /// Metadata log snapshots taken.
    pub snapshots_taken: u64,
    /// Partition replicas that failed to open for a role.
    pub roles_failed: u64,
    /// Messages from peers ignored as malformed or unexpected.
    pub peer_messages_ignored: u64,
    /// Requests refused because `requests_inflight_max` were being served.
    pub requests_refused: u64,
}

/// Where the broker side stands with the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokerStatus {
    /// The epoch of the current registration, once accepted.
    pub broker_epoch: Option<i64>,
    /// What the next registration says its disk vouches for (KIP-966's PreviousBrokerEpoch).
    pub previous_broker_epoch: i64,
    /// The last heartbeat answer said the broker is unfenced.
    pub unfenced: bool,
    /// The broker's applied metadata holds its registration, so it acts on its roles.
    pub active: bool,
}

/// Whose sync a token names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SyncOwner {
    /// The replica manager's, by its id.
    Replica(u64),
    /// The Raft voter's persist, by its id.
    Raft(u64),
    /// The `broker-epoch` file's replace.
    BrokerEpoch,
}

/// What every input hands down to the parts it drives.
pub(super) struct Step<'a> {
    pub now: Instant,
    pub wall_ms: i64,
    pub disk: &'a mut dyn Disk,
    pub rng: &'a mut dyn Rng,
}

/// One Sluice process. See the module documentation for the call order.
#[derive(Debug)]
pub struct Node {
    pub(super) config: NodeConfig,
    /// The Raft voter and (while it leads) the active controller; `None` on a broker-only
    /// node.
    pub(super) quorum: Option<Quorum>,
    /// The applied metadata: every node keeps one, fed by its own Raft log when it is a
    /// voter, by metadata fetches otherwise.
    pub(super) follower: MetadataFollower,
    /// Registration, heartbeats and roles; `None` on a controller-only node.
    pub(super) lifecycle: Option<Lifecycle>,
    /// The partition replicas. A controller-only node has one that never gets a role, so its
    /// answers to stray data requests are the usual errors.
    pub(super) manager: ReplicaManager,
    /// The producer ids this broker hands to InitProducerId, in blocks from the controller.
    pub(super) producer_ids: ProducerIdBlocks,
    /// The group coordinator of the `__consumer_offsets` partitions this broker leads.
    pub(super) groups: GroupCoordinator,
    /// The replica manager's answers to the coordinator's appends, for it to take in.
    pub(super) group_appends_done: VecDeque<(u64, Result<(), api::ErrorCode>, Option<u64>)>,
    pub(super) channel: ControllerChannel,
    pub(super) peers: PeerTraffic,
    pub(super) outputs: VecDeque<NodeOutput>,
    /// Messages this node sent itself (a combined node's broker to its own controller): they
    /// are handled before the input that caused them returns, never handed to the driver.
    pub(super) loopback: VecDeque<NodeMessage>,
    pub(super) failure: Option<NodeError>,
    pub(super) stats: NodeStats,
    /// Client requests that came before the broker was registered, caught up and unfenced,
    /// with when they came: as Kafka opens its listeners only then, they wait (an empty image
    /// would call every topic unknown).
    pub(super) held: VecDeque<(u64, api::Request, Instant)>,
    /// The next [`SyncToken`] to hand out.
    pub(super) next_sync: u64,
    /// Syncs under way, by token, with whose they are.
    pub(super) syncs: BTreeMap<SyncToken, SyncOwner>,
    /// The latest of the Raft voter's persists under way: its messages wait for it.
    pub(super) raft_persist: Option<SyncToken>,
    /// The token of each of the replica manager's syncs under way.
    pub(super) replica_syncs: BTreeMap<u64, SyncToken>,
    /// Messages to itself that wait for a sync: the driver never sees them, so they wait here.
    pub(super) loopback_held: BTreeMap<SyncToken, Vec<NodeMessage>>,
    /// Whether [`NodeNote`]s are kept (see [`Node::observe`]).
    pub(super) observed: bool,
    pub(super) notes: VecDeque<NodeNote>,
}

impl Node {
    /// Starts the process over `disk`: a voter recovers its metadata log; a broker reads the
    /// epoch of its last registration. `clean` says the process stopped (or was killed)
    /// without its machine going down, so the page cache kept every write: only then, or in
    /// fsync mode, does the broker vouch for that epoch when it registers again.
    pub fn open(
        config: NodeConfig,
        disk: &mut dyn Disk,
        rng: &mut dyn Rng,
        clean: bool,
    ) -> Result<Node, NodeError> {
        config.validate()?;
        let quorum = match config.process_roles.is_controller() {
            true => {
                let raft = RaftNode::open(disk, &config.metadata_log_dir, config.raft_config())
                    .map_err(NodeError::Raft)?;
                Some(Quorum::new(raft))
            }
            false => None,
        };
        let lifecycle = match config.process_roles.is_broker() {
            true => {
                let dir = &config.replica.log_dir;
                let stored = epoch_file::load(disk, dir).map_err(NodeError::Disk)?;
                let vouches = clean || config.replica.durability == Durability::Fsync;
                if stored.is_some() && !vouches {
                    // The machine went down since that registration: this start cannot vouch
                    // for it, and neither may a later one that finds the page cache intact,
                    // since the loss happened before it. Found by lossy-follower seed 65.
                    epoch_file::forget(disk, dir).map_err(NodeError::Disk)?;
                }
                let previous = stored.filter(|_| vouches).unwrap_or(-1);
                let observer = !config.process_roles.is_controller();
                Some(Lifecycle::new(Uuid::random(rng), previous, observer))
            }
            false => None,
        };
        let broker_id = config.broker_id();
        let node = Node {
            follower: MetadataFollower::new(broker_id, config.image_limits),
            manager: ReplicaManager::new(broker_id, config.replica.clone()),
            producer_ids: ProducerIdBlocks::new(
                config.requests_inflight_max,
                config.controller_quorum_request_timeout,
                config.retry_backoff,
            ),
            groups: GroupCoordinator::new(config.group.clone()),
            group_appends_done: VecDeque::new(),
            channel: ControllerChannel::new(rng.next_u64() >> 1),
            peers: PeerTraffic::new(rng.next_u64() >> 1),
            quorum,
            lifecycle,
            outputs: VecDeque::new(),
            loopback: VecDeque::new(),
            failure: None,
            stats: NodeStats::default(),
            held: VecDeque::new(),
            next_sync: 0,
            syncs: BTreeMap::new(),
            raft_persist: None,
            replica_syncs: BTreeMap::new(),
            loopback_held: BTreeMap::new(),
            observed: false,
            notes: VecDeque::new(),
            config,
        };
        assert_eq!(
            node.quorum.is_some(),
            node.config.process_roles.is_controller()
        );
        assert_eq!(
            node.lifecycle.is_some(),
            node.config.process_roles.is_broker()
        );
        Ok(node)
    }

    /// A client's data-plane request; the answer comes out as [`NodeOutput::Respond`] with
    /// the same token, now or later (a produce waiting for the ISR, a fetch waiting for
    /// data, any request that came before the broker was ready to serve), and never twice.
    /// acks=0 produces get none.
    pub fn handle_client_request(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        rng: &mut dyn Rng,
        client: u64,
        request: api::Request,
    ) {
        self.step(now, wall_ms, disk, rng, |node, step| {
            if node.serves_clients() {
                return node.serve_client(step, client, request);
            }
            if node.held.len() >= node.config.requests_inflight_max {
                node.stats.requests_refused += 1;
                return node.refuse_client(client, &request);
            }
            node.held.push_back((client, request, step.now));
        });
    }

    /// When the oldest held admin request is given up.
    fn held_admin_deadline(&self) -> Option<Instant> {
        let timeout = self.config.controller_quorum_request_timeout;
        self.held
            .iter()
            .filter(|(_, request, _)| matches!(request, api::Request::Admin(_)))
            .map(|(_, _, at)| at.checked_add(timeout).unwrap_or(*at))
            .min()
    }

    /// Answers the admin requests held past `controller.quorum.request.timeout.ms` with
    /// REQUEST_TIMED_OUT, as a forwarded one the controller does not answer in time: a client
    /// that gave up and asked again elsewhere must not see this one take effect long after
    /// (Kafka's broker, whose listener is not open yet, would never have taken it).
    fn expire_held_admin(&mut self, now: Instant) {
        let timeout = self.config.controller_quorum_request_timeout;
        let expired = |(_, request, at): &(u64, api::Request, Instant)| {
            matches!(request, api::Request::Admin(_))
                && at
                    .checked_add(timeout)
                    .is_some_and(|deadline| deadline <= now)
        };
        let (gone, kept): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(expired);
        self.held = kept;
        for (client, request, _) in gone {
            self.refuse_client(client, &request);
        }
    }

    /// Whether client requests are served now: a broker serves once it is registered, acts
    /// on its roles and is unfenced; a controller-only node answers at once (with errors).
    pub fn serves_clients(&self) -> bool {
        self.lifecycle
            .as_ref()
            .is_none_or(|lifecycle| lifecycle.status().unfenced && lifecycle.status().active)
    }

    /// The controller id Metadata and DescribeCluster answers name: the active controller
    /// when this node knows it and clients can reach it (a combined node, a live broker);
    /// otherwise, as Kafka's KRaft brokers do, the lowest live broker, which forwards what
    /// needs the controller; -1 when no broker is live.
    pub fn controller_id_for_clients(&self) -> i32 {
        let live = |id: i32| self.live_brokers().any(|broker| broker.broker_id == id);
        let active = self
            .raft()
            .and_then(|raft| raft.leader())
            .and_then(|id| i32::try_from(id.0).ok())
            .filter(|id| live(*id));
        active
            .or_else(|| self.live_brokers().map(|broker| broker.broker_id).min())
            .unwrap_or(-1)
    }

    /// A message from node `from`.
    pub fn handle_message(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        rng: &mut dyn Rng,
        from: NodeId,
        message: NodeMessage,
    ) {
        self.step(now, wall_ms, disk, rng, |node, step| {
            node.deliver(step, from, message)
        });
    }

    /// A [`NodeOutput::Sync`] completed: `Ok` once every file it named is durable, `Err` if
    /// syncing one failed (that part of the node then stops serving, as Kafka takes a log
    /// directory offline). Completions of tokens this process never issued are ignored.
    pub fn handle_sync_done(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        rng: &mut dyn Rng,
        token: SyncToken,
        result: Result<(), DiskError>,
    ) {
        self.step(now, wall_ms, disk, rng, |node, step| {
            let Some(owner) = node.syncs.remove(&token) else {
                return;
            };
            let ok = result.is_ok();
            match owner {
                SyncOwner::Replica(id) => {
                    node.replica_syncs.remove(&id);
                    let (now, wall_ms) = (step.now, step.wall_ms);
                    node.manager
                        .handle_sync_done(now, wall_ms, step.disk, id, result);
                }
                SyncOwner::BrokerEpoch => {
                    if let Err(error) = result {
                        return node.fail(NodeError::Disk(error));
                    }
                }
                SyncOwner::Raft(id) => {
                    if node.raft_persist == Some(token) {
                        node.raft_persist = None;
                    }
                    let raft = &mut node.quorum.as_mut().expect("a voter's").raft;
                    if let Err(error) = raft.handle_persisted(step.disk, id, result) {
                        return node.fail(NodeError::Raft(error));
                    }
                }
            }
            for message in node.loopback_held.remove(&token).unwrap_or_default() {
                if ok {
                    node.loopback.push_back(message);
                }
            }
        });
    }

    /// Runs whatever is due at `now` (see [`Node::poll_timeout`]); calling it early is
    /// harmless.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        rng: &mut dyn Rng,
    ) {
        self.step(now, wall_ms, disk, rng, |node, step| {
            node.quorum_timeout(step);
            if node.manager.poll_timeout().is_some_and(|at| at <= now) {
                let image = node.follower.image();
                node.manager.handle_timeout(now, wall_ms, step.disk, image);
            }
            node.channel_timeout(step);
            node.expire_held_admin(step.now);
            node.lifecycle_timeout(step);
            if node.producer_ids.poll_timeout().is_some_and(|at| at <= now) {
                node.producer_ids.handle_timeout(now);
            }
            if node.groups.poll_timeout().is_some_and(|at| at <= now) {
                node.groups.handle_timeout(now, wall_ms, step.rng);
            }
        });
    }

    /// One input: `work` runs unless the node has failed, then everything it set in motion
    /// settles.
    fn step(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        rng: &mut dyn Rng,
        work: impl FnOnce(&mut Node, &mut Step<'_>),
    ) {
        let mut step = Step {
            now,
            wall_ms,
            disk,
            rng,
        };
        if self.failure.is_none() {
            work(self, &mut step);
        }
        self.settle(&mut step);
    }

    /// The next thing for the driver to do; `None` when there is nothing (or the node failed).
    pub fn poll_output(&mut self) -> Option<NodeOutput> {
        if self.failure.is_some() {
            return None;
        }
        self.outputs.pop_front()
    }

    /// When [`Node::handle_timeout`] next has work (`None` once failed); an instant in the
    /// past means now.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.failure.is_some() {
            return None;
        }
        let quorum = self.quorum.as_ref().and_then(Quorum::poll_timeout);
        let lifecycle = self.lifecycle.as_ref().and_then(Lifecycle::poll_timeout);
        let channel = self
            .channel
            .poll_timeout(self.config.controller_quorum_request_timeout);
        let producer_ids = self.producer_ids.poll_timeout();
        [
            self.groups.poll_timeout(),
            quorum,
            lifecycle,
            channel,
            producer_ids,
            self.held_admin_deadline(),
            self.manager.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Why the node stopped, if it did: the driver ends the process and opens a new one.
    pub fn failure(&self) -> Option<&NodeError> {
        self.failure.as_ref()
    }

    /// The settings.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The metadata this node has applied.
    pub fn image(&self) -> &MetadataImage {
        self.follower.image()
    }

    /// The last metadata log index applied to [`Node::image`].
    pub fn applied_index(&self) -> u64 {
        self.follower.applied_index()
    }

    /// The live brokers with their advertised listeners and racks, for the driver's Metadata
    /// answers (core's Metadata response names brokers by id only).
    pub fn live_brokers(&self) -> impl Iterator<Item = &BrokerRegistration> {
        self.follower.image().brokers().filter(|b| b.is_active())
    }

    /// Starts a controlled shutdown: the broker asks the controller, through its heartbeats,
    /// to move its leaderships to other replicas. The driver stops the process once
    /// [`Node::controlled_shutdown_done`] (or a deadline of its own) says so.
    pub fn begin_controlled_shutdown(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        rng: &mut dyn Rng,
    ) {
        self.step(now, wall_ms, disk, rng, |node, step| {
            node.ask_controlled_shutdown(step.now);
            node.lifecycle_timeout(step);
        });
    }

    /// The broker side's standing, on a broker.
    pub fn broker_status(&self) -> Option<BrokerStatus> {
        self.lifecycle.as_ref().map(Lifecycle::status)
    }

    /// Whether this node is the active controller now.
    pub fn is_active_controller(&self) -> bool {
        self.quorum.as_ref().is_some_and(Quorum::is_active)
    }

    /// Proposed controller decisions whose answers wait for their commit (0 unless this node
    /// is the active controller).
    pub fn controller_decisions_pending(&self) -> usize {
        self.quorum.as_ref().map_or(0, Quorum::decisions_pending)
    }

    /// The metadata Raft voter, on a controller.
    pub fn raft(&self) -> Option<&RaftNode> {
        self.quorum.as_ref().map(Quorum::raft)
    }

    /// The partition replicas.
    pub fn replica_manager(&self) -> &ReplicaManager {
        &self.manager
    }

    /// The records a partition replica holds from offset `from` up to `upto` (its whole log
    /// end without), read for an observer's audit of the replicas.
    pub fn replica_records(
        &mut self,
        disk: &mut dyn Disk,
        key: PartitionKey,
        from: i64,
        upto: Option<i64>,
    ) -> Result<Vec<StoredRecord>, api::ErrorCode> {
        self.manager.records_in(disk, key, from, upto)
    }

    /// The group coordinator.
    pub fn group_coordinator(&self) -> &GroupCoordinator {
        &self.groups
    }

    /// The counters.
    pub fn stats(&self) -> &NodeStats {
        &self.stats
    }

    /// Sends `message` to `to`, or to this node's own inbox.
    pub(super) fn send(&mut self, to: NodeId, message: NodeMessage) {
        self.send_after(to, message, None);
    }

    /// Sends `message` to `to` once the sync `after` has completed.
    pub(super) fn send_after(
        &mut self,
        to: NodeId,
        message: NodeMessage,
        after: Option<SyncToken>,
    ) {
        if to != self.config.raft_id() {
            self.outputs
                .push_back(NodeOutput::Send { to, message, after });
            return;
        }
        match after.filter(|token| self.syncs.contains_key(token)) {
            Some(token) => self.loopback_held.entry(token).or_default().push(message),
            None => self.loopback.push_back(message),
        }
    }

    /// Hands out a token for a sync of `owner`'s.
    fn next_sync_token(&mut self, owner: SyncOwner) -> SyncToken {
        let token = SyncToken(self.next_sync);
        self.next_sync += 1;
        self.syncs.insert(token, owner);
        token
    }

    /// Hands out the token for the replica manager's sync `id` of `files` and `dirs`.
    pub(super) fn issue_replica_sync(&mut self, id: u64, files: Vec<String>, dirs: Vec<String>) {
        let token = self.replica_token(id);
        self.outputs.push_back(NodeOutput::Sync {
            token,
            files,
            dirs,
            after: None,
        });
    }

    /// Hands out the token for the replica manager's replace `id`.
    pub(super) fn issue_replica_replace(
        &mut self,
        id: u64,
        dir: String,
        name: String,
        bytes: Vec<u8>,
        after: Option<SyncToken>,
    ) {
        let token = self.replica_token(id);
        self.outputs.push_back(NodeOutput::Replace {
            token,
            dir,
            name,
            bytes,
            after,
        });
    }

    fn replica_token(&mut self, id: u64) -> SyncToken {
        let token = self.next_sync_token(SyncOwner::Replica(id));
        let fresh = self.replica_syncs.insert(id, token).is_none();
        assert!(fresh, "the replica manager's sync {id} issued twice");
        token
    }

    /// Asks for `{dir}/{name}` to be replaced durably with `bytes`, as `owner`'s sync.
    pub(super) fn issue_replace(
        &mut self,
        owner: SyncOwner,
        dir: String,
        name: &str,
        bytes: Vec<u8>,
    ) {
        let token = self.next_sync_token(owner);
        self.outputs.push_back(NodeOutput::Replace {
            token,
            dir,
            name: name.to_string(),
            bytes,
            after: None,
        });
    }

    /// Hands out the token for the Raft voter's persist `id`: it completes after the
    /// voter's earlier persists, and the voter's messages from here on wait for it.
    pub(super) fn issue_raft_persist(&mut self, id: u64, write: Persist) {
        let token = self.next_sync_token(SyncOwner::Raft(id));
        let after = self.raft_persist.replace(token);
        let output = match write {
            Persist::Sync { file } => NodeOutput::Sync {
                token,
                files: vec![file],
                dirs: Vec::new(),
                after,
            },
            Persist::Replace { dir, name, bytes } => NodeOutput::Replace {
                token,
                dir,
                name,
                bytes,
                after,
            },
        };
        self.outputs.push_back(output);
    }

    /// The token of the replica manager's sync `id`, while it is under way.
    pub(super) fn replica_sync_token(&self, id: Option<u64>) -> Option<SyncToken> {
        id.and_then(|id| self.replica_syncs.get(&id).copied())
    }

    /// Stops the node for good: outputs queued so far may not match its disk any more.
    pub(super) fn fail(&mut self, error: NodeError) {
        if self.failure.is_none() {
            self.failure = Some(error);
            self.outputs.clear();
            self.loopback.clear();
            self.loopback_held.clear();
        }
    }

    fn deliver(&mut self, step: &mut Step<'_>, from: NodeId, message: NodeMessage) {
        match message {
            NodeMessage::Raft(message) => self.raft_message(step, from, message),
            NodeMessage::ControllerRequest { id, request } => {
                self.serve_controller(step, from, id, request)
            }
            NodeMessage::ControllerResponse { id, response } => {
                self.controller_answered(step, id, response)
            }
            NodeMessage::ReplicaRequest { id, request } => self.serve_peer(step, from, id, request),
            NodeMessage::ReplicaResponse { id, response } => self.peer_answered(step, id, response),
        }
    }

    /// Carries every consequence of an input through: committed metadata to the image, the
    /// controller and the replicas, new roles, answers, and messages to itself, until nothing
    /// moves.
    fn settle(&mut self, step: &mut Step<'_>) {
        while self.failure.is_none() {
            self.drain_raft(step);
            self.check_leadership(step);
            self.maybe_compact();
            self.drain_manager(step);
            self.drain_producer_ids(step);
            self.follow_offsets_partitions(step);
            if self.drain_groups(step) {
                continue;
            }
            if let Some(message) = self.loopback.pop_front() {
                let me = self.config.raft_id();
                self.deliver(step, me, message);
                continue;
            }
            if !self.held.is_empty() && self.serves_clients() {
                for (client, request, _) in std::mem::take(&mut self.held) {
                    self.serve_client(step, client, request);
                }
                continue;
            }
            break;
        }
        if self.failure.is_none() {
            self.check_invariants();
        }
    }

    fn check_invariants(&mut self) {
        assert!(self.loopback.is_empty() || self.failure.is_some());
        // A walk of every replica per input: the observer (the simulator) asks for it; a
        // node that ships keeps its inputs O(what they touch).
        if self.observed {
            self.manager.check_invariants();
        }
        assert_eq!(
            self.quorum.is_some(),
            self.config.process_roles.is_controller()
        );
        assert_eq!(
            self.lifecycle.is_some(),
            self.config.process_roles.is_broker()
        );
        if let Some(quorum) = &self.quorum {
            // A voter's image is fed from its own log, entry by entry.
            assert_eq!(quorum.raft().applied_index(), self.follower.applied_index());
        }
    }
}
