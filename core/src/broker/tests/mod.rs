//! Whole nodes on in-memory disks, wired by a tiny message pump: every message sent during
//! one 10 ms step is delivered in the next, in the order sent.

mod admin;
mod cluster;
mod driver;
mod groups;
mod producer_ids;
mod single;

use std::collections::{BTreeMap, VecDeque};

use super::*;
use crate::api::{
    FetchPartition, FetchRequest, IsolationLevel, MetadataRequest, MetadataResponse,
    ProduceRequest, Request, Response, TopicPartition, CONSUMER_REPLICA_ID,
};
use crate::controller::Listener;
use crate::disk::{replace_file, Disk};
use crate::mem_disk::MemDisk;
use crate::record::{Compression, RecordBatch, RecordBatchBuilder};
use crate::rng::SplitMix64;
use crate::time::{Duration, Instant};

const TOPIC: &str = "orders";
const STEP: Duration = Duration::from_millis(10);
/// The wall clock at virtual time zero.
const WALL_START_MS: i64 = 1_700_000_000_000;

/// Nodes with ids 1..=n at index id - 1, their disks, and the messages in flight.
struct Harness {
    nodes: Vec<Option<Node>>,
    disks: Vec<MemDisk>,
    configs: Vec<NodeConfig>,
    now: Instant,
    rng: SplitMix64,
    wire: VecDeque<(NodeId, NodeId, NodeMessage)>,
    /// Every message ever handed to the pump.
    messages_sent: u64,
    answers: BTreeMap<u64, Response>,
    next_client: u64,
}

/// `n` combined nodes forming one quorum, each with its own listener.
fn combined_configs(n: u32, replication_factor: i16) -> Vec<NodeConfig> {
    let voters: Vec<u32> = (1..=n).collect();
    voters
        .iter()
        .map(|&id| {
            let mut config = NodeConfig::new(id, ProcessRoles::Combined, voters.clone());
            config.advertised_listeners = vec![Listener {
                name: "PLAINTEXT".to_string(),
                host: format!("node-{id}"),
                port: 9092,
            }];
            config.default_replication_factor = replication_factor;
            config
        })
        .collect()
}

impl Harness {
    fn new(configs: Vec<NodeConfig>, seed: u64) -> Harness {
        let mut harness = Harness {
            nodes: configs.iter().map(|_| None).collect(),
            disks: configs.iter().map(|_| MemDisk::default()).collect(),
            configs,
            now: Instant::ZERO,
            rng: SplitMix64::new(seed),
            wire: VecDeque::new(),
            messages_sent: 0,
            answers: BTreeMap::new(),
            next_client: 0,
        };
        for index in 0..harness.nodes.len() {
            harness.start(index, true);
        }
        harness
    }

    fn start(&mut self, index: usize, clean: bool) {
        assert!(self.nodes[index].is_none(), "node {index} runs");
        let config = self.configs[index].clone();
        let node = Node::open(config, &mut self.disks[index], &mut self.rng, clean).unwrap();
        self.nodes[index] = Some(node);
    }

    /// A process stop: memory gone, the page cache (every write) kept.
    fn stop(&mut self, index: usize) {
        self.nodes[index] = None;
    }

    fn node(&self, index: usize) -> &Node {
        self.nodes[index].as_ref().expect("running")
    }

    fn wall_ms(&self) -> i64 {
        WALL_START_MS + (self.now.as_nanos() / 1_000_000) as i64
    }

    /// Carries out the node's outputs. Syncs complete as soon as the outputs before them
    /// are out, and what waited on them is released then, through a [`SyncTracker`] as a
    /// driver's.
    fn drain(&mut self, index: usize) {
        let mut tracker = SyncTracker::new();
        loop {
            let node = self.nodes[index].as_mut().expect("running");
            assert!(node.failure().is_none(), "{:?}", node.failure());
            let mut syncs = Vec::new();
            let outputs: Vec<NodeOutput> = std::iter::from_fn(|| node.poll_output()).collect();
            for output in outputs {
                match output {
                    NodeOutput::Sync { token, after, .. }
                    | NodeOutput::Replace { token, after, .. } => {
                        tracker.issued(token, after);
                        syncs.push(output);
                    }
                    output => {
                        if let Some(output) = tracker.admit(output) {
                            self.carry_out(index, output);
                        }
                    }
                }
            }
            if syncs.is_empty() {
                break;
            }
            let (now, wall_ms) = (self.now, self.wall_ms());
            for sync in syncs {
                let disk = &mut self.disks[index];
                let (token, result) = match sync {
                    NodeOutput::Sync {
                        token, files, dirs, ..
                    } => {
                        let files = files.iter().try_for_each(|file| disk.sync(file));
                        let mut dirs = || dirs.iter().try_for_each(|dir| disk.sync_dir(dir));
                        (token, files.and_then(|()| dirs()))
                    }
                    NodeOutput::Replace {
                        token,
                        dir,
                        name,
                        bytes,
                        ..
                    } => (token, replace_file(disk, &dir, &name, &bytes)),
                    _ => unreachable!("only syncs were kept"),
                };
                let completed = tracker.io_done(token, result);
                for output in completed.outputs {
                    self.carry_out(index, output);
                }
                for (token, result) in completed.syncs {
                    let node = self.nodes[index].as_mut().expect("running");
                    let disk = &mut self.disks[index];
                    node.handle_sync_done(now, wall_ms, disk, &mut self.rng, token, result);
                }
            }
        }
        assert_eq!(tracker.held(), 0, "nothing waits on a sync that completed");
    }

    fn carry_out(&mut self, index: usize, output: NodeOutput) {
        let me = self.node(index).config().raft_id();
        match output {
            NodeOutput::Send { to, message, .. } => {
                assert_ne!(to, me, "messages to itself stay inside");
                self.messages_sent += 1;
                self.wire.push_back((me, to, message));
            }
            NodeOutput::Respond {
                client, response, ..
            } => {
                assert!(self.answers.insert(client, response).is_none());
            }
            NodeOutput::Sync { .. } | NodeOutput::Replace { .. } => {
                unreachable!("syncs are run by drain")
            }
        }
    }

    /// One step: deliver what the last step sent, then fire every due timer.
    fn step(&mut self) {
        self.now = self.now + STEP;
        let (now, wall_ms) = (self.now, self.wall_ms());
        for (from, to, message) in std::mem::take(&mut self.wire) {
            let index = (to.0 - 1) as usize;
            let Some(node) = self.nodes[index].as_mut() else {
                continue;
            };
            let disk = &mut self.disks[index];
            node.handle_message(now, wall_ms, disk, &mut self.rng, from, message);
            self.drain(index);
        }
        for index in 0..self.nodes.len() {
            let Some(node) = self.nodes[index].as_mut() else {
                continue;
            };
            if node.poll_timeout().is_some_and(|at| at <= now) {
                node.handle_timeout(now, wall_ms, &mut self.disks[index], &mut self.rng);
                self.drain(index);
            }
        }
    }

    /// Steps until `done` holds; panics after `limit`.
    fn run_until(&mut self, limit: Duration, what: &str, done: impl Fn(&Harness) -> bool) {
        let end = self.now + limit;
        while !done(self) {
            assert!(self.now < end, "not {what} after {limit:?}");
            self.step();
        }
    }

    fn request(&mut self, index: usize, request: Request) -> u64 {
        let client = self.next_client;
        self.next_client += 1;
        let (now, wall_ms) = (self.now, self.wall_ms());
        let node = self.nodes[index].as_mut().expect("running");
        let disk = &mut self.disks[index];
        node.handle_client_request(now, wall_ms, disk, &mut self.rng, client, request);
        self.drain(index);
        client
    }

    /// Sends `request` and steps until it is answered.
    fn call(&mut self, index: usize, request: Request) -> Response {
        let client = self.request(index, request);
        let limit = Duration::from_secs(30);
        self.run_until(limit, "answered", |h| h.answers.contains_key(&client));
        self.answers.remove(&client).expect("answered")
    }

    fn metadata(&mut self, index: usize) -> MetadataResponse {
        let request = Request::Metadata(MetadataRequest {
            topics: Some(vec![TOPIC.to_string()]),
            allow_auto_topic_creation: true,
        });
        match self.call(index, request) {
            Response::Metadata(response) => response,
            other => panic!("not a metadata answer: {other:?}"),
        }
    }

    /// Asks for the topic (creating it) until it has a leader; returns the leader's index.
    fn await_leader(&mut self, index: usize) -> usize {
        let end = self.now + Duration::from_secs(30);
        loop {
            let response = self.metadata(index);
            let partition = response.topics[0].partitions.first();
            if let Some(p) = partition.filter(|p| p.leader >= 0) {
                return (p.leader - 1) as usize;
            }
            assert!(self.now < end, "no leader: {response:?}");
            for _ in 0..10 {
                self.step();
            }
        }
    }

    fn begin_controlled_shutdown(&mut self, index: usize, now: Instant, wall_ms: i64) {
        let node = self.nodes[index].as_mut().expect("running");
        node.begin_controlled_shutdown(now, wall_ms, &mut self.disks[index], &mut self.rng);
        self.drain(index);
    }

    fn unfenced(&self, index: usize) -> bool {
        let node = self.nodes[index].as_ref();
        node.and_then(Node::broker_status)
            .is_some_and(|s| s.unfenced && s.active)
    }
}

fn tp() -> TopicPartition {
    TopicPartition {
        topic: TOPIC.to_string(),
        partition: 0,
    }
}

fn produce(value: &str) -> Request {
    let mut builder = RecordBatchBuilder::new(Compression::None);
    builder.append(WALL_START_MS, None, Some(value.as_bytes()), &[]);
    Request::Produce(ProduceRequest {
        acks: -1,
        timeout_ms: 30_000,
        partitions: vec![(tp(), builder.build().into())],
    })
}

fn fetch(offset: i64) -> Request {
    Request::Fetch(FetchRequest {
        replica_id: CONSUMER_REPLICA_ID,
        replica_epoch: -1,
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: 1 << 20,
        isolation_level: IsolationLevel::ReadUncommitted,
        partitions: vec![FetchPartition {
            partition: tp(),
            current_leader_epoch: None,
            fetch_offset: offset,
            log_start_offset: -1,
            partition_max_bytes: 1 << 20,
        }],
    })
}

/// The offset a produce got, asserting it succeeded.
fn produced_offset(response: &Response) -> i64 {
    let Response::Produce(response) = response else {
        panic!("not a produce answer: {response:?}");
    };
    let partition = &response.partitions[0];
    assert_eq!(partition.error, crate::api::ErrorCode::None, "{response:?}");
    partition.base_offset
}

/// `(offset, value)` of every record a fetch returned.
fn fetched_records(response: &Response) -> Vec<(i64, Vec<u8>)> {
    let Response::Fetch(response) = response else {
        panic!("not a fetch answer: {response:?}");
    };
    let partition = &response.partitions[0];
    assert_eq!(partition.error, crate::api::ErrorCode::None, "{response:?}");
    let mut records = Vec::new();
    let mut at = 0;
    let bytes = partition.records.bytes();
    while at < bytes.len() {
        let batch = RecordBatch::parse(&bytes[at..]).unwrap();
        at += batch.header().total_bytes();
        for record in batch.records().unwrap() {
            records.push((record.offset, record.value.unwrap_or_default()));
        }
    }
    records
}
