//! The broker behind `sluice server`: one [`Node`] from `sluice-core` on its own task, over the
//! file disk and the OS clocks, reached by the connection loop through [`NodeHandler`].
//!
//! Each data-plane, admin or group request is converted by `sluice-net` into core's types on
//! the connection's side (a JoinGroup also learns its client id and address there, which
//! the coordinator records), handed to the node task in arrival order over one channel (so a
//! connection's Produce batches reach the log in the order they came), and its answer
//! converted back at the request's version. ApiVersions is answered on the spot and lists
//! only the APIs it [`serves`]; a request `sluice-net` refuses to convert closes the
//! connection, and is logged.
//!
//! Messages to other nodes go out through [`Peers`], and messages from them come in through
//! the [`PeerInbox`] the connection loop feeds; the node task takes both, with client requests
//! and timeouts, in one loop (see [`crate::peers`]). The syncs the node asks for run off that
//! loop, merged by file, and what waits on them leaves when they complete (see
//! [`crate::sync_worker`]).

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;

use sluice_core::api;
use sluice_core::broker::{
    Node, NodeConfig, NodeId, NodeMessage, NodeOutput, ProcessRoles, SyncToken,
};
use sluice_core::controller::Listener;
use sluice_core::disk::{Disk, DiskError};
use sluice_core::replica::{FetchReads, ReplicaConfig};
use sluice_core::rng::SplitMix64;
use sluice_core::time::Duration;
use sluice_net::convert::{
    expects_response, fetch_from_core, from_core, identify_client, to_core, ClusterInfo,
    ResponseContext,
};
use sluice_net::kafka_protocol::messages::ApiKey;
use sluice_net::peer::Hello;
use sluice_net::request::{DecodedRequest, RequestBody};
use sluice_net::response::{api_versions_body_for, ResponseBody};
use sluice_net::serving::cluster_info;
use tokio::sync::{mpsc, oneshot};

use crate::clock::NodeClocks;
use crate::config::{Endpoint, ServerConfig};
use crate::file_disk::FileDisk;
use crate::peers::{PeerInbox, PeerInput, Peers};
use crate::records::RecordFiles;
use crate::server::{ConnectionInfo, FetchAnswer, Outcome, Reply, RequestHandler};
use crate::sync_worker::NodeSyncs;
use crate::transport::{Connector, TokioConnector};

pub use sluice_net::serving::serves;

/// A client's request on its way to the node task.
struct ClientInput {
    request: api::Request,
    context: ResponseContext,
    /// `None` for a request that gets no answer (Produce with acks=0).
    reply: Option<oneshot::Sender<Outcome>>,
}

/// Hands client requests (data plane, admin and groups) to the node task.
#[derive(Clone)]
pub struct NodeHandler {
    inputs: mpsc::UnboundedSender<ClientInput>,
    peers: PeerInbox,
    shutdowns: mpsc::UnboundedSender<oneshot::Sender<()>>,
}

impl NodeHandler {
    /// Asks the controller to move this broker's leaderships away (KIP-631's controlled
    /// shutdown, which Kafka's `controlled.shutdown.enable` does by default) and waits until
    /// it lets the broker go, or `limit` passes: a partition with no other in-sync replica has
    /// nowhere to move, and the broker must stop anyway. Returns whether the controller
    /// answered in time.
    pub async fn controlled_shutdown(&self, limit: std::time::Duration) -> bool {
        let (done, finished) = oneshot::channel();
        if self.shutdowns.send(done).is_err() {
            return false;
        }
        matches!(tokio::time::timeout(limit, finished).await, Ok(Ok(())))
    }
}

impl RequestHandler for NodeHandler {
    fn handle(&self, connection: &ConnectionInfo, request: DecodedRequest) -> Reply {
        let version = request.header.api_version;
        if let RequestBody::ApiVersions(_) = request.body {
            let body = api_versions_body_for(serves);
            return Reply::Ready(Outcome::Respond(ResponseBody::ApiVersions(body)));
        }
        let mut converted = match to_core(&request.body, version) {
            Ok(converted) => converted,
            Err(error) => {
                tracing::warn!(
                    connection = connection.id,
                    peer = %connection.peer,
                    api = ?request.body.api_key(),
                    "cannot serve the request, closing the connection: {error:?}"
                );
                return Reply::Ready(Outcome::Close(format!("{error:?}")));
            }
        };
        let client_id = request.header.client_id.as_deref();
        identify_client(&mut converted.request, client_id, connection.peer.ip());
        let (reply, answer) = match expects_response(&request.body) {
            true => {
                let (sender, reply) = Reply::later();
                (reply, Some(sender))
            }
            false => (Reply::Ready(Outcome::NoResponse), None),
        };
        let input = ClientInput {
            request: converted.request,
            context: converted.context,
            reply: answer,
        };
        if self.inputs.send(input).is_err() {
            return Reply::Ready(Outcome::Close("the broker stopped".to_string()));
        }
        reply
    }

    fn peer_inbox(&self) -> Option<&PeerInbox> {
        Some(&self.peers)
    }
}

/// Starts the node over `config`'s first data directory and returns its handler.
/// `advertised` are the listeners clients reach, with the ports actually bound.
pub fn start(config: &ServerConfig, advertised: &[Endpoint]) -> Result<NodeHandler, String> {
    start_with(config, advertised, TokioConnector)
}

/// [`start`], reaching other nodes through `connector`.
pub fn start_with<C: Connector>(
    config: &ServerConfig,
    advertised: &[Endpoint],
    connector: C,
) -> Result<NodeHandler, String> {
    let dir = config
        .log_dirs
        .first()
        .ok_or_else(|| "log.dirs names no directory".to_string())?;
    let clean = page_cache_survived(dir);
    let disk = FileDisk::open(dir)
        .map_err(|error| format!("cannot open the data directory {}: {error}", dir.display()))?;
    let environment = Environment {
        disk,
        clean,
        seed: entropy(),
        clocks: NodeClocks::os(),
    };
    start_in(config, advertised, connector, environment)
}

/// What a node runs on besides the network: its disk, whether its last stop kept the page
/// cache (see [`sluice_core::broker::Node::open`]), the seed of its RNG and its clocks. The
/// binary gives it the file disk and the OS's clocks; a turmoil test an in-memory disk, a
/// fixed seed and the simulation's clock.
pub struct Environment<D> {
    /// The disk.
    pub disk: D,
    /// The page cache survived the last stop.
    pub clean: bool,
    /// Seeds the node's RNG (election timeouts, ids).
    pub seed: u64,
    /// The clocks.
    pub clocks: NodeClocks,
}

/// [`start_with`] on an explicit [`Environment`].
pub fn start_in<C: Connector, D: RecordFiles + Send + 'static>(
    config: &ServerConfig,
    advertised: &[Endpoint],
    connector: C,
    environment: Environment<D>,
) -> Result<NodeHandler, String> {
    let Environment {
        mut disk,
        clean,
        seed,
        clocks,
    } = environment;
    let mut rng = SplitMix64::new(seed);
    let node_config = node_config(config, advertised);
    let node = Node::open(node_config, &mut disk, &mut rng, clean)
        .map_err(|error| format!("cannot start the node: {error}"))?;
    let cluster_id = config.cluster_id.clone();
    let peers = peers(config, advertised, connector)?;
    let (inbox, peer_inputs) = PeerInbox::new(&cluster_id, node.config().raft_id());
    let (inputs, receiver) = mpsc::unbounded_channel();
    let (shutdowns, shutdown_requests) = mpsc::unbounded_channel();
    let channels = Channels {
        clients: receiver,
        peers: peer_inputs,
        shutdowns: shutdown_requests,
    };
    let parts = Parts { disk, rng, clocks };
    tokio::spawn(run_node(node, parts, channels, peers, cluster_id));
    Ok(NodeHandler {
        inputs,
        peers: inbox,
        shutdowns,
    })
}

/// The node's outbound side: the voters' addresses, and the hello that tells peers where
/// this node takes connections (its first advertised listener, or its own voter address for
/// a controller-only node).
fn peers<C: Connector>(
    config: &ServerConfig,
    advertised: &[Endpoint],
    connector: C,
) -> Result<Peers<C>, String> {
    let voters = config.effective_voters();
    let own_voter = voters.iter().find(|voter| voter.id == config.node_id);
    let (host, port) = match (config.process_roles.broker, advertised.first(), own_voter) {
        (true, Some(endpoint), _) => (endpoint.host.clone(), endpoint.port),
        (_, _, Some(voter)) => (voter.host.clone(), voter.port),
        (_, Some(endpoint), None) => (endpoint.host.clone(), endpoint.port),
        (_, None, None) => (String::new(), 0),
    };
    let hello = Hello {
        node_id: NodeId(u32::try_from(config.node_id).unwrap_or(0)),
        cluster_id: config.cluster_id.clone(),
        host,
        port,
    };
    let addresses = voters.into_iter().filter_map(|voter| {
        let id = u32::try_from(voter.id).ok()?;
        Some((NodeId(id), voter.host, voter.port))
    });
    let inter_broker = advertised.first().map(|endpoint| endpoint.name.clone());
    Peers::new(connector, &hello, addresses, inter_broker)
}

/// What the node task reads besides its timers.
struct Channels {
    clients: mpsc::UnboundedReceiver<ClientInput>,
    peers: mpsc::Receiver<PeerInput>,
    shutdowns: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
}

/// The node's settings from the server's (Kafka's names on both sides).
fn node_config(config: &ServerConfig, advertised: &[Endpoint]) -> NodeConfig {
    let roles = match (config.process_roles.broker, config.process_roles.controller) {
        (true, true) => ProcessRoles::Combined,
        (false, true) => ProcessRoles::Controller,
        _ => ProcessRoles::Broker,
    };
    let node_id = u32::try_from(config.node_id).unwrap_or(0);
    let mut voters: Vec<u32> = config
        .controller_quorum_voters
        .iter()
        .filter_map(|voter| u32::try_from(voter.id).ok())
        .collect();
    if voters.is_empty() {
        voters.push(node_id);
    }
    let mut node = NodeConfig::new(node_id, roles, voters);
    node.advertised_listeners = advertised
        .iter()
        .map(|endpoint| Listener {
            name: endpoint.name.clone(),
            host: endpoint.host.clone(),
            port: endpoint.port,
        })
        .collect();
    node.auto_create_topics_enable = config.auto_create_topics_enable;
    node.num_partitions = config.num_partitions;
    node.default_replication_factor = config.default_replication_factor;
    node.broker_heartbeat_interval =
        Duration::from_millis(u64::from(config.broker_heartbeat_interval_ms));
    let min_isr = usize::try_from(config.min_insync_replicas).unwrap_or(1);
    node.controller.min_insync_replicas = min_isr;
    node.controller.unclean_leader_election_enable = config.unclean_leader_election_enable;
    node.controller.broker_session_timeout =
        Duration::from_millis(u64::from(config.broker_session_timeout_ms));
    let mut replica = ReplicaConfig {
        min_insync_replicas: min_isr,
        replica_lag_time_max_ms: config.replica_lag_time_max_ms,
        // Consumers are answered from the segment files with sendfile (see `server::writer`).
        fetch_reads: FetchReads::FileRanges,
        ..node.replica.clone()
    };
    replica.log.segment_bytes = u64::try_from(config.log_segment_bytes).unwrap_or(1 << 30);
    replica.log.flush_messages =
        i64::try_from(config.log_flush_interval_messages).unwrap_or(i64::MAX);
    replica.retention_check_interval_ms = config.log_retention_check_interval_ms;
    replica.log.cleanup_policy = config.log_cleanup_policy;
    // No value means forever, as Kafka's -1.
    replica.log.retention_ms = config
        .log_retention_ms
        .map_or(-1, |ms| i64::try_from(ms).unwrap_or(i64::MAX));
    node.replica = replica;
    node.group = config.group.clone();
    node
}

/// Whether what this process wrote to the page cache survived its last stop: true when the
/// machine has not rebooted since (the kernel's boot id is the one recorded at the last
/// start), since only a machine crash takes unsynced writes. KIP-966 takes a broker that
/// cannot vouch for its log out of every ISR, which on a single node would leave its
/// partitions without a leader after a mere `kill -9`.
fn page_cache_survived(dir: &Path) -> bool {
    let Ok(current) = std::fs::read_to_string("/proc/sys/kernel/random/boot_id") else {
        return false;
    };
    let file = dir.join("boot-id");
    let previous = std::fs::read_to_string(&file).ok();
    if std::fs::create_dir_all(dir).is_ok() {
        // Written before anything else this process writes: a reboot from here on is seen.
        let _ = std::fs::write(&file, &current);
    }
    previous.as_deref() == Some(current.as_str())
}

/// Seed material from the OS (std's hash keys are drawn from it).
fn entropy() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(u64::from(std::process::id()));
    hasher.finish()
}

/// The node's loop: client requests, peer messages, timeouts and completed syncs in; answers,
/// messages to peers and syncs (to [`NodeSyncs`]) out.
async fn run_node<C: Connector, D: RecordFiles>(
    mut node: Node,
    mut parts: Parts<D>,
    channels: Channels,
    mut peers: Peers<C>,
    cluster_id: String,
) {
    let Channels {
        clients: mut inputs,
        peers: mut peer_inputs,
        shutdowns: mut shutdown_requests,
    } = channels;
    // Who waits for the controlled shutdown to finish.
    let mut shutdown_waiters: Vec<oneshot::Sender<()>> = Vec::new();
    let mut waiting = Waiting::new();
    let mut next_token: u64 = 0;
    let mut syncs = NodeSyncs::new();
    parts.timeout(&mut node);
    loop {
        let sleep = node
            .poll_timeout()
            .map(|deadline| parts.clocks.until(deadline));
        // Biased, so that a turmoil run of one seed repeats itself: timers first, so that a
        // flood of requests cannot starve them, then completed syncs, which only let out
        // what waited (and free its memory), then clients, then peers.
        tokio::select! {
            biased;
            _ = tokio::time::sleep(sleep.unwrap_or_default()), if sleep.is_some() => {
                parts.timeout(&mut node);
            }
            done = syncs.done() => {
                for (token, result) in done.finished {
                    let completed = syncs.io_done(&mut parts.disk, token, result);
                    for output in completed.outputs {
                        carry_out(&node, &mut parts, &mut waiting, &mut peers, &cluster_id, output);
                    }
                    for (token, result) in completed.syncs {
                        parts.sync_done(&mut node, token, result);
                    }
                }
            }
            input = inputs.recv() => {
                let Some(input) = input else { break };
                next_token += 1;
                let token = next_token;
                parts.submit(&mut node, &mut waiting, token, input);
            }
            Some(input) = peer_inputs.recv() => match input {
                PeerInput::Hello(hello) => peers.learn(&hello),
                PeerInput::Message { from, message } => parts.message(&mut node, from, message),
            },
            Some(waiter) = shutdown_requests.recv() => {
                tracing::info!("controlled shutdown: asking the controller to move leaderships away");
                shutdown_waiters.push(waiter);
                parts.begin_controlled_shutdown(&mut node);
            }
        }
        while let Some(output) = node.poll_output() {
            let output = match output {
                NodeOutput::Sync {
                    token,
                    files,
                    dirs,
                    after,
                } => {
                    syncs.begin(&mut parts.disk, token, after, files, dirs);
                    continue;
                }
                NodeOutput::Replace {
                    token,
                    dir,
                    name,
                    bytes,
                    after,
                } => {
                    syncs.replace(&mut parts.disk, token, after, &dir, &name, &bytes);
                    continue;
                }
                output => match syncs.admit(output) {
                    Some(output) => output,
                    None => continue,
                },
            };
            carry_out(
                &node,
                &mut parts,
                &mut waiting,
                &mut peers,
                &cluster_id,
                output,
            );
        }
        if !shutdown_waiters.is_empty() && node.controlled_shutdown_done() {
            tracing::info!("controlled shutdown: the controller let the broker go");
            for waiter in shutdown_waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
        if let Some(failure) = node.failure() {
            tracing::error!("the node failed and stops serving: {failure}");
            break;
        }
    }
}

/// Sends an answer or a message whose sync, if it waited for one, has completed.
fn carry_out<C: Connector, D: RecordFiles>(
    node: &Node,
    parts: &mut Parts<D>,
    waiting: &mut Waiting,
    peers: &mut Peers<C>,
    cluster_id: &str,
    output: NodeOutput,
) {
    match output {
        NodeOutput::Respond {
            client, response, ..
        } => {
            let Some((context, reply)) = waiting.remove(&client) else {
                return;
            };
            // Only Metadata, DescribeCluster and FindCoordinator answers name brokers: the
            // rest need no walk of the image.
            let info = match context.api_key {
                ApiKey::Metadata | ApiKey::DescribeCluster | ApiKey::FindCoordinator => {
                    cluster_info(node, cluster_id)
                }
                _ => ClusterInfo::default(),
            };
            let outcome = match response {
                api::Response::Fetch(fetch) => fetch_outcome(&mut parts.disk, fetch, &context),
                response => match from_core(response, &context, &info) {
                    Ok(body) => Outcome::Respond(body),
                    Err(error) => Outcome::Close(format!("{error:?}")),
                },
            };
            let _ = reply.send(outcome);
        }
        NodeOutput::Send { to, message, .. } => {
            peers.send(to, &message, node.image(), &mut parts.disk)
        }
        NodeOutput::Sync { token, .. } | NodeOutput::Replace { token, .. } => {
            unreachable!("{token} is begun, not carried out")
        }
    }
}

/// The outcome of a Fetch answer: records in files are taken from the disk now, while the
/// files hold what the broker read.
fn fetch_outcome(
    disk: &mut impl RecordFiles,
    response: api::FetchResponse,
    context: &ResponseContext,
) -> Outcome {
    let (body, files) = fetch_from_core(response, context);
    if files.iter().all(Option::is_none) {
        return Outcome::Respond(body.into());
    }
    let mut records = Vec::new();
    for range in files.iter().flatten() {
        match disk.stored_records(range) {
            Ok(stored) => records.push(stored),
            Err(error) => {
                // The segment went away between the read and now (retention, a deleted
                // topic): the client reconnects and fetches again.
                return Outcome::Close(format!("cannot open {}: {error}", range.path));
            }
        }
    }
    Outcome::Fetch(FetchAnswer {
        body,
        files,
        records,
    })
}

/// What the node task drives the node with.
struct Parts<D> {
    disk: D,
    rng: SplitMix64,
    clocks: NodeClocks,
}

impl<D: Disk> Parts<D> {
    /// Hands one client request to the node under `token`, remembering whom to answer.
    fn submit(&mut self, node: &mut Node, waiting: &mut Waiting, token: u64, input: ClientInput) {
        if let Some(reply) = input.reply {
            waiting.insert(token, (input.context, reply));
        }
        let (now, wall_ms) = (self.clocks.now(), self.clocks.wall_ms());
        node.handle_client_request(
            now,
            wall_ms,
            &mut self.disk,
            &mut self.rng,
            token,
            input.request,
        );
    }

    fn message(&mut self, node: &mut Node, from: NodeId, message: NodeMessage) {
        let (now, wall_ms) = (self.clocks.now(), self.clocks.wall_ms());
        node.handle_message(now, wall_ms, &mut self.disk, &mut self.rng, from, message);
    }

    fn begin_controlled_shutdown(&mut self, node: &mut Node) {
        let (now, wall_ms) = (self.clocks.now(), self.clocks.wall_ms());
        node.begin_controlled_shutdown(now, wall_ms, &mut self.disk, &mut self.rng);
    }

    fn timeout(&mut self, node: &mut Node) {
        let (now, wall_ms) = (self.clocks.now(), self.clocks.wall_ms());
        node.handle_timeout(now, wall_ms, &mut self.disk, &mut self.rng);
    }

    fn sync_done(&mut self, node: &mut Node, token: SyncToken, result: Result<(), DiskError>) {
        let (now, wall_ms) = (self.clocks.now(), self.clocks.wall_ms());
        node.handle_sync_done(now, wall_ms, &mut self.disk, &mut self.rng, token, result);
    }
}

/// Requests the node has yet to answer: token → (what the answer needs, where it goes).
type Waiting = BTreeMap<u64, (ResponseContext, oneshot::Sender<Outcome>)>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Properties;

    /// Found unused: `log.flush.interval.messages` was read and never given to the node.
    #[test]
    fn the_log_settings_reach_the_node() {
        let text = "log.flush.interval.messages=1\nlog.segment.bytes=2097152\n\
                    log.retention.check.interval.ms=1000\n";
        let config = ServerConfig::from_properties(&Properties::parse(text).unwrap()).unwrap();
        let node = node_config(&config, &config.advertised_listeners);
        assert_eq!(node.replica.log.flush_messages, 1);
        assert_eq!(node.replica.log.segment_bytes, 2_097_152);
        assert_eq!(node.replica.retention_check_interval_ms, 1_000);
    }
}
