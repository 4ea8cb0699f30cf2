//! Replication between a few replica managers on in-memory disks, with the test playing the
//! controller: it edits one shared metadata image and hands each broker the role it implies.

use super::*;
use crate::api::{
    ErrorCode, FetchPartition, FetchRequest, IsolationLevel, ProduceRequest, Request, Response,
    TopicPartition, CONSUMER_REPLICA_ID,
};
use crate::controller::{
    BrokerId, LeaderRecoveryState, MetadataImage, MetadataRecord, PartitionChange, PartitionRecord,
    PartitionReply, PartitionRole, RegisterBroker, Role, Uuid,
};
use crate::disk::{Disk, DiskError};
use crate::mem_disk::MemDisk;
use crate::record::{Compression, RecordBatch, RecordBatchBuilder};
use crate::time::{Duration, Instant};

const TOPIC: &str = "t";
const TOPIC_ID: Uuid = Uuid(7);

struct Node {
    manager: ReplicaManager,
    disk: FillableDisk,
    /// Partitioned away: its requests and answers are dropped.
    cut: bool,
}

struct Cluster {
    nodes: Vec<Node>,
    image: MetadataImage,
    now: Instant,
    answers: Vec<(BrokerId, u64, Response)>,
    next_client: u64,
    /// Requests between brokers sent during the current step.
    wire: Vec<(BrokerId, BrokerId, u64, Request)>,
    /// The sync each answer waited on, by client.
    afters: Vec<(u64, Option<u64>)>,
    /// When set, syncs are kept here until [`Cluster::complete_syncs`] instead of completing
    /// at once.
    held_syncs: Option<Vec<(BrokerId, ReplicaOutput)>>,
    /// When false, no node's timeout runs: whatever an input sets in motion must come out of
    /// that input.
    timers: bool,
    /// When set, an AlterPartition the controller applies reaches the leader neither as an
    /// answer nor as metadata (the leader is cut from the controller after sending it).
    alter_answers_lost: bool,
}

/// A memory disk that can be made full (creating files and writing then fail with ENOSPC)
/// or broken (reads and writes then fail with EIO).
#[derive(Default)]
struct FillableDisk {
    inner: MemDisk,
    full: bool,
    broken: bool,
}

impl Disk for FillableDisk {
    fn create_dir_all(&mut self, dir: &str) -> Result<(), DiskError> {
        self.inner.create_dir_all(dir)
    }
    fn list(&mut self, dir: &str) -> Result<Vec<String>, DiskError> {
        self.inner.list(dir)
    }
    fn create(&mut self, path: &str) -> Result<(), DiskError> {
        match self.full {
            true => Err(DiskError::NoSpace),
            false => self.inner.create(path),
        }
    }
    fn len(&mut self, path: &str) -> Result<u64, DiskError> {
        self.inner.len(path)
    }
    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize, DiskError> {
        match self.broken {
            true => Err(DiskError::Io("broken".to_string())),
            false => self.inner.read_at(path, offset, buf),
        }
    }
    fn write_at(&mut self, path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        match (self.full, self.broken) {
            (_, true) => Err(DiskError::Io("broken".to_string())),
            (true, false) => Err(DiskError::NoSpace),
            (false, false) => self.inner.write_at(path, offset, data),
        }
    }
    fn truncate(&mut self, path: &str, len: u64) -> Result<(), DiskError> {
        self.inner.truncate(path, len)
    }
    fn sync(&mut self, path: &str) -> Result<(), DiskError> {
        self.inner.sync(path)
    }
    fn remove(&mut self, path: &str) -> Result<(), DiskError> {
        self.inner.remove(path)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        self.inner.rename(from, to)
    }
    fn sync_dir(&mut self, dir: &str) -> Result<(), DiskError> {
        self.inner.sync_dir(dir)
    }
}

/// Client tokens at and above this are other brokers' requests.
const PEER_CLIENT: u64 = 1 << 62;

fn batch(values: &[&str]) -> Vec<u8> {
    let mut builder = RecordBatchBuilder::new(Compression::None);
    for value in values {
        builder.append(1_000, None, Some(value.as_bytes()), &[]);
    }
    builder.build()
}

impl Cluster {
    fn new(brokers: i32, min_isr: usize) -> Cluster {
        let mut image = MetadataImage::default();
        for id in 0..brokers {
            image.apply(&MetadataRecord::RegisterBroker(RegisterBroker {
                broker_id: id,
                incarnation_id: Uuid(1),
                broker_epoch: i64::from(id) + 1,
                listeners: Vec::new(),
                rack: None,
                fenced: false,
            }));
        }
        image.apply(&MetadataRecord::Topic {
            name: TOPIC.to_string(),
            topic_id: TOPIC_ID,
            unclean_leader_election_enable: None,
        });
        let all: Vec<BrokerId> = (0..brokers).collect();
        image.apply(&MetadataRecord::Partition(PartitionRecord {
            topic_id: TOPIC_ID,
            partition: 0,
            replicas: all.clone(),
            isr: all,
            leader: 0,
            leader_epoch: 0,
            partition_epoch: 0,
        }));
        let nodes = (0..brokers)
            .map(|id| {
                let config = ReplicaConfig {
                    min_insync_replicas: min_isr,
                    replica_fetch_backoff_ms: 100,
                    replica_lag_time_max_ms: 10_000,
                    ..ReplicaConfig::default()
                };
                let mut manager = ReplicaManager::new(id, config);
                manager.set_broker_epoch(i64::from(id) + 1);
                Node {
                    manager,
                    disk: FillableDisk::default(),
                    cut: false,
                }
            })
            .collect();
        let mut cluster = Cluster {
            nodes,
            image,
            now: Instant::ZERO,
            answers: Vec::new(),
            next_client: 0,
            wire: Vec::new(),
            afters: Vec::new(),
            held_syncs: None,
            timers: true,
            alter_answers_lost: false,
        };
        cluster.push_roles();
        cluster
    }

    /// A cluster whose replicas run with `durability` and `flush.messages`, and whose syncs
    /// wait for [`Cluster::complete_syncs`].
    fn holding_syncs(brokers: i32, durability: Durability, flush_messages: i64) -> Cluster {
        let mut cluster = Cluster::new(brokers, 1);
        for node in &mut cluster.nodes {
            node.manager.config.durability = durability;
            node.manager.config.log.flush_messages = flush_messages;
            for partition in node.manager.partitions.values_mut() {
                let mut log = partition.log.config().clone();
                log.flush_messages = flush_messages;
                partition.log.set_config(log).unwrap();
            }
        }
        cluster.held_syncs = Some(Vec::new());
        cluster
    }

    /// Completes the syncs held so far, in the order they were asked for.
    fn complete_syncs(&mut self) {
        let held = std::mem::take(self.held_syncs.as_mut().expect("holding"));
        for (broker, output) in held {
            self.carry_out_io(broker, output);
        }
        self.deliver();
    }

    /// Runs a sync or a replace on `broker`'s disk and reports it.
    fn carry_out_io(&mut self, broker: BrokerId, output: ReplicaOutput) {
        let node = &mut self.nodes[broker as usize];
        let disk = &mut node.disk;
        let (id, result) = match output {
            ReplicaOutput::Sync { id, files, dirs } => {
                let files = files.iter().try_for_each(|file| disk.sync(file));
                (
                    id,
                    files.and_then(|()| dirs.iter().try_for_each(|dir| disk.sync_dir(dir))),
                )
            }
            ReplicaOutput::Replace {
                id,
                dir,
                name,
                bytes,
                ..
            } => (id, crate::disk::replace_file(disk, &dir, &name, &bytes)),
            _ => unreachable!("only IO is carried out here"),
        };
        node.manager
            .handle_sync_done(self.now, 0, &mut node.disk, id, result);
    }

    /// The held syncs' ids (not the replaces').
    fn held_sync_ids(&self) -> Vec<u64> {
        let held = self.held_syncs.as_ref().expect("holding");
        held.iter()
            .filter_map(|(_, output)| match output {
                ReplicaOutput::Sync { id, .. } => Some(*id),
                _ => None,
            })
            .collect()
    }

    fn after(&self, client: u64) -> Option<u64> {
        let found = self.afters.iter().find(|(c, _)| *c == client);
        found.expect("answered").1
    }

    fn state(&self) -> crate::controller::PartitionState {
        self.image.partition(TOPIC_ID, 0).unwrap().clone()
    }

    fn push_roles(&mut self) {
        let state = self.state();
        for (id, node) in self.nodes.iter_mut().enumerate() {
            let id = id as BrokerId;
            let role = if state.leader == id {
                Role::Leader {
                    leader_epoch: state.leader_epoch,
                    partition_epoch: state.partition_epoch,
                    isr: state.isr.clone(),
                }
            } else {
                Role::Follower {
                    leader: state.leader,
                    leader_epoch: state.leader_epoch,
                }
            };
            let change = PartitionRole {
                topic_id: TOPIC_ID,
                partition: 0,
                role,
            };
            node.manager
                .apply_role(self.now, 0, &mut node.disk, &self.image, &change)
                .unwrap();
        }
    }

    fn change(&mut self, leader: BrokerId, isr: Vec<BrokerId>) {
        self.commit_change(leader, isr);
        self.push_roles();
    }

    /// Applies a partition change to the image without telling the brokers.
    fn commit_change(&mut self, leader: BrokerId, isr: Vec<BrokerId>) {
        let state = self.state();
        let leader_epoch = state.leader_epoch + i32::from(leader != state.leader);
        self.image
            .apply(&MetadataRecord::PartitionChange(PartitionChange {
                topic_id: TOPIC_ID,
                partition: 0,
                isr,
                elr: Vec::new(),
                leader,
                leader_epoch,
                partition_epoch: state.partition_epoch + 1,
                leader_recovery: LeaderRecoveryState::Recovered,
                unclean: false,
            }));
    }

    fn request(&mut self, to: BrokerId, request: Request) -> u64 {
        let client = self.next_client;
        self.next_client += 1;
        let node = &mut self.nodes[to as usize];
        node.manager
            .handle_request(self.now, 0, &mut node.disk, &self.image, client, request);
        self.deliver();
        client
    }

    fn produce(&mut self, to: BrokerId, acks: i16, values: &[&str]) -> u64 {
        let request = Request::Produce(ProduceRequest {
            acks,
            timeout_ms: 30_000,
            partitions: vec![(tp(), batch(values).into())],
        });
        self.request(to, request)
    }

    /// Runs for `millis` in steps of 10 ms; each step delivers what was sent in the previous.
    fn run(&mut self, millis: u64) {
        let end = self.now + Duration::from_millis(millis);
        while self.now < end {
            self.now = self.now + Duration::from_millis(10);
            for (from, to, id, request) in std::mem::take(&mut self.wire) {
                self.exchange(from, to, id, request);
            }
            self.deliver();
        }
    }

    /// Runs due timers and collects every node's outputs.
    fn deliver(&mut self) {
        for index in 0..self.nodes.len() {
            let node = &mut self.nodes[index];
            let due = node.manager.poll_timeout().is_some_and(|t| t <= self.now);
            if self.timers && due {
                node.manager
                    .handle_timeout(self.now, 0, &mut node.disk, &self.image);
            }
            while let Some(output) = self.nodes[index].manager.poll_output() {
                self.route(index as BrokerId, output);
            }
        }
    }

    /// A request between brokers: the answer comes back when the callee gives it.
    fn exchange(&mut self, from: BrokerId, to: BrokerId, id: u64, request: Request) {
        let cut = self.nodes[from as usize].cut || self.nodes[to as usize].cut;
        if cut {
            let node = &mut self.nodes[from as usize];
            node.manager
                .handle_response(self.now, 0, &mut node.disk, id, Err(Disconnected));
            return;
        }
        let client = PEER_CLIENT + (u64::from(from as u32) << 32) + id;
        let node = &mut self.nodes[to as usize];
        node.manager
            .handle_request(self.now, 0, &mut node.disk, &self.image, client, request);
    }

    fn route(&mut self, from: BrokerId, output: ReplicaOutput) {
        match output {
            output @ (ReplicaOutput::Sync { .. } | ReplicaOutput::Replace { .. })
                if self.held_syncs.is_some() =>
            {
                let held = self.held_syncs.as_mut().expect("holding");
                held.push((from, output));
            }
            // Syncs complete at once; what waits on one comes out after it, in order.
            output @ (ReplicaOutput::Sync { .. } | ReplicaOutput::Replace { .. }) => {
                self.carry_out_io(from, output)
            }
            ReplicaOutput::Respond {
                client, response, ..
            } if client >= PEER_CLIENT => {
                let to = ((client - PEER_CLIENT) >> 32) as usize;
                let id = (client - PEER_CLIENT) & 0xffff_ffff;
                let answer = match self.nodes[to].cut || self.nodes[from as usize].cut {
                    true => Err(Disconnected),
                    false => Ok(response),
                };
                let node = &mut self.nodes[to];
                node.manager
                    .handle_response(self.now, 0, &mut node.disk, id, answer);
            }
            ReplicaOutput::Respond {
                client,
                response,
                after,
            } => {
                self.afters.push((client, after));
                self.answers.push((from, client, response))
            }
            ReplicaOutput::Request {
                to, id, request, ..
            } => self.wire.push((from, to, id, request)),
            ReplicaOutput::AlterPartition { id, request } => {
                let state = self.state();
                if self.alter_answers_lost && request.partition_epoch == state.partition_epoch {
                    self.commit_change(state.leader, request.new_isr.clone());
                    return;
                }
                let reply = if request.partition_epoch == state.partition_epoch {
                    self.change(state.leader, request.new_isr.clone());
                    let state = self.state();
                    Ok(PartitionReply {
                        leader: state.leader,
                        leader_epoch: state.leader_epoch,
                        isr: state.isr,
                        partition_epoch: state.partition_epoch,
                        leader_recovery: state.leader_recovery,
                    })
                } else {
                    Err(crate::controller::ControllerError::InvalidUpdateVersion)
                };
                let node = &mut self.nodes[from as usize];
                node.manager
                    .handle_alter_partition(self.now, &mut node.disk, id, reply);
            }
        }
    }

    fn answer(&self, client: u64) -> Option<&Response> {
        self.answers
            .iter()
            .find(|(_, c, _)| *c == client)
            .map(|(_, _, r)| r)
    }

    fn produce_error(&self, client: u64) -> Option<ErrorCode> {
        match self.answer(client)? {
            Response::Produce(r) => Some(r.partitions[0].error),
            other => panic!("{other:?}"),
        }
    }

    fn values(&mut self, broker: BrokerId) -> Vec<String> {
        let node = &mut self.nodes[broker as usize];
        let partition = node.manager.partitions.get_mut(&(TOPIC_ID, 0)).unwrap();
        let end = partition.log_end_offset();
        let slice = partition
            .read(&mut node.disk, 0, usize::MAX, Some(end))
            .unwrap();
        let mut values = Vec::new();
        let mut at = 0;
        while at < slice.bytes.len() {
            let batch = RecordBatch::parse(&slice.bytes[at..]).unwrap();
            at += batch.header().total_bytes();
            for record in batch.records().unwrap() {
                values.push(String::from_utf8(record.value.unwrap().to_vec()).unwrap());
            }
        }
        values
    }

    fn hw(&self, broker: BrokerId) -> i64 {
        self.nodes[broker as usize].manager.partitions[&(TOPIC_ID, 0)].high_watermark
    }
}

fn tp() -> TopicPartition {
    TopicPartition {
        topic: TOPIC.to_string(),
        partition: 0,
    }
}

#[test]
fn acks_all_waits_for_the_isr_then_every_replica_matches() {
    let mut cluster = Cluster::new(3, 2);
    let client = cluster.produce(0, -1, &["a", "b"]);
    assert_eq!(
        cluster.answer(client),
        None,
        "acks=all answers only once replicated"
    );
    cluster.run(2_000);
    assert_eq!(cluster.produce_error(client), Some(ErrorCode::None));
    for broker in 0..3 {
        assert_eq!(cluster.values(broker), ["a", "b"]);
        assert_eq!(cluster.hw(broker), 2, "broker {broker}");
    }
}

#[test]
fn a_new_leader_truncates_the_old_leaders_unreplicated_tail_by_epoch() {
    let mut cluster = Cluster::new(3, 1);
    let first = cluster.produce(0, -1, &["a"]);
    cluster.run(2_000);
    assert_eq!(cluster.produce_error(first), Some(ErrorCode::None));
    // The leader is cut off and appends with acks=1: only it has "lost".
    cluster.nodes[0].cut = true;
    let lost = cluster.produce(0, 1, &["lost"]);
    assert_eq!(cluster.produce_error(lost), Some(ErrorCode::None));
    cluster.change(1, vec![1, 2]);
    let kept = cluster.produce(1, -1, &["b", "c"]);
    cluster.run(2_000);
    assert_eq!(cluster.produce_error(kept), Some(ErrorCode::None));
    cluster.nodes[0].cut = false;
    cluster.run(3_000);
    assert_eq!(cluster.values(0), ["a", "b", "c"]);
    assert_eq!(cluster.values(2), ["a", "b", "c"]);
    assert_eq!(cluster.nodes[0].manager.stats().epoch_truncations, 1);
}

#[test]
fn a_stalled_follower_leaves_the_isr_and_returns_once_caught_up() {
    let mut cluster = Cluster::new(3, 2);
    cluster.nodes[2].cut = true;
    let client = cluster.produce(0, -1, &["a"]);
    cluster.run(20_000);
    assert_eq!(cluster.state().isr, vec![0, 1]);
    assert_eq!(cluster.produce_error(client), Some(ErrorCode::None));
    cluster.nodes[2].cut = false;
    cluster.run(3_000);
    assert_eq!(cluster.state().isr, vec![0, 1, 2]);
    assert_eq!(cluster.values(2), ["a"]);
}

/// Found by coordinator-failover seed 57: the controller committed an ISR expansion whose
/// answer the leader never got; the leader gave up on it, went back to its smaller ISR, and
/// advanced its high watermark past the log of a member the controller holds in the ISR.
#[test]
fn an_isr_expansion_whose_answer_was_lost_holds_the_high_watermark_back() {
    let mut cluster = Cluster::new(3, 2);
    cluster.nodes[2].cut = true;
    cluster.run(20_000);
    assert_eq!(cluster.state().isr, vec![0, 1]);
    cluster.nodes[2].cut = false;
    cluster.alter_answers_lost = true;
    cluster.run(3_000);
    assert_eq!(
        cluster.state().isr,
        vec![0, 1, 2],
        "the expansion committed"
    );
    // Broker 2 stalls again; the leader waits out the lost request and is refused when it
    // asks again (its partition epoch is stale), with no metadata to settle it.
    cluster.nodes[2].cut = true;
    cluster.alter_answers_lost = false;
    let client = cluster.produce(0, -1, &["x"]);
    cluster.run(40_000);
    let end = |c: &Cluster, b: BrokerId| {
        c.nodes[b as usize].manager.partitions[&(TOPIC_ID, 0)].log_end_offset()
    };
    for member in cluster.state().isr {
        assert!(
            end(&cluster, member) >= cluster.hw(0),
            "ISR member {member} ends at {} below the high watermark {}",
            end(&cluster, member),
            cluster.hw(0)
        );
    }
    assert_eq!(
        cluster.produce_error(client),
        Some(ErrorCode::RequestTimedOut),
        "not committed without broker 2"
    );
    assert!(cluster.nodes[0].manager.stats().isr_changes_in_doubt > 0);
    // The metadata arrives: the leader learns the ISR, drops the stalled member, commits.
    cluster.push_roles();
    cluster.run(20_000);
    assert_eq!(cluster.state().isr, vec![0, 1]);
    let client = cluster.produce(0, -1, &["y"]);
    cluster.run(1_000);
    assert_eq!(cluster.produce_error(client), Some(ErrorCode::None));
}

#[test]
fn too_small_an_isr_refuses_acks_all_before_appending() {
    let mut cluster = Cluster::new(3, 2);
    cluster.nodes[1].cut = true;
    cluster.nodes[2].cut = true;
    cluster.change(0, vec![0]);
    let refused = cluster.produce(0, -1, &["x"]);
    assert_eq!(
        cluster.produce_error(refused),
        Some(ErrorCode::NotEnoughReplicas)
    );
    assert_eq!(cluster.values(0), Vec::<String>::new());
    let acks_one = cluster.produce(0, 1, &["y"]);
    assert_eq!(cluster.produce_error(acks_one), Some(ErrorCode::None));
    cluster.run(1_000);
    assert_eq!(
        cluster.hw(0),
        0,
        "strict min ISR: nothing commits with one replica"
    );
}

#[test]
fn consumers_read_only_below_the_high_watermark_and_fenced_epochs_are_refused() {
    let mut cluster = Cluster::new(3, 2);
    cluster.nodes[1].cut = true;
    cluster.nodes[2].cut = true;
    let produced = cluster.produce(0, 1, &["a"]);
    assert_eq!(cluster.produce_error(produced), Some(ErrorCode::None));
    let fetch = |epoch| {
        Request::Fetch(FetchRequest {
            replica_id: CONSUMER_REPLICA_ID,
            replica_epoch: -1,
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: 1 << 20,
            isolation_level: IsolationLevel::ReadUncommitted,
            partitions: vec![FetchPartition {
                partition: tp(),
                current_leader_epoch: epoch,
                fetch_offset: 0,
                log_start_offset: -1,
                partition_max_bytes: 1 << 20,
            }],
        })
    };
    let client = cluster.request(0, fetch(Some(0)));
    cluster.run(10);
    let Some(Response::Fetch(response)) = cluster.answer(client) else {
        panic!("no answer");
    };
    assert_eq!(response.partitions[0].error, ErrorCode::None);
    assert!(response.partitions[0].records.is_empty(), "above the HW");
    cluster.change(0, vec![0, 1, 2]);
    let stale = cluster.request(0, fetch(Some(-1)));
    cluster.run(10);
    let Some(Response::Fetch(response)) = cluster.answer(stale) else {
        panic!("no answer");
    };
    assert_eq!(response.partitions[0].error, ErrorCode::FencedLeaderEpoch);
}

/// A leader elected while its disk is full cannot write its new epoch's checkpoint: produces
/// get KAFKA_STORAGE_ERROR (retriable) and nothing is appended, instead of records of an epoch
/// the checkpoint lacks or a replica taken offline for good; once space returns the checkpoint
/// is written first and writes go on.
#[test]
fn a_leader_on_a_full_disk_refuses_writes_until_its_epoch_checkpoint_is_written() {
    let mut cluster = Cluster::new(3, 1);
    let first = cluster.produce(0, -1, &["a"]);
    cluster.run(200);
    assert_eq!(cluster.produce_error(first), Some(ErrorCode::None));
    cluster.nodes[1].disk.full = true;
    cluster.change(1, vec![1, 0, 2]);
    let refused = cluster.produce(1, 1, &["b"]);
    assert_eq!(
        cluster.produce_error(refused),
        Some(ErrorCode::KafkaStorageError)
    );
    assert_eq!(cluster.values(1), ["a"]);
    cluster.nodes[1].disk.full = false;
    let accepted = cluster.produce(1, -1, &["c"]);
    cluster.run(500);
    assert_eq!(cluster.produce_error(accepted), Some(ErrorCode::None));
    for broker in 0..3 {
        assert_eq!(cluster.values(broker), ["a", "c"], "broker {broker}");
    }
}

mod idempotence;
mod leader_append;

/// A consumer's fetch from `offset` that waits up to 500 ms for one byte (librdkafka's
/// defaults).
fn waiting_fetch(offset: i64) -> Request {
    fetch_waiting_for(offset, 1)
}

/// A consumer's fetch from `offset` that waits up to 500 ms for `min_bytes`.
fn fetch_waiting_for(offset: i64, min_bytes: i32) -> Request {
    Request::Fetch(FetchRequest {
        replica_id: CONSUMER_REPLICA_ID,
        replica_epoch: -1,
        max_wait_ms: 500,
        min_bytes,
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

impl Cluster {
    /// The bytes a fetch was answered with, if it was.
    fn fetched_bytes(&self, client: u64) -> Option<usize> {
        match self.answer(client)? {
            Response::Fetch(response) => Some(response.partitions[0].records.len()),
            other => panic!("{other:?}"),
        }
    }

    /// The answer's one partition, if the fetch was answered.
    fn fetched(&self, client: u64) -> Option<&crate::api::FetchPartitionResponse> {
        match self.answer(client)? {
            Response::Fetch(response) => Some(&response.partitions[0]),
            other => panic!("{other:?}"),
        }
    }
}

mod wakes;

/// A fetch held for `min_bytes` is answered by the input that makes its records readable, on
/// each path that moves the high watermark: the leader's append, a follower catching up, and
/// a sync completing in fsync mode. No timer runs here, so an answer left for the next timeout
/// (or the fetch's deadline) never comes. Kafka likewise runs
/// `Partition.tryCompleteDelayedRequests` where the leader's high watermark moves: on an
/// append, a follower's fetch, an ISR shrink.
#[test]
fn a_held_fetch_is_answered_by_the_input_that_makes_its_records_readable() {
    // The leader's append: one replica, so the high watermark moves with the log end.
    let mut cluster = Cluster::new(1, 1);
    cluster.timers = false;
    let fetch = cluster.request(0, waiting_fetch(0));
    assert_eq!(cluster.fetched_bytes(fetch), None, "nothing to read yet");
    cluster.produce(0, 1, &["a"]);
    assert!(
        cluster.fetched_bytes(fetch).is_some_and(|n| n > 0),
        "answered by the produce"
    );

    // A follower catching up: the record is readable once the follower's next fetch moves the
    // high watermark.
    let mut cluster = Cluster::new(2, 1);
    cluster.timers = false;
    cluster.run(20);
    let fetch = cluster.request(0, waiting_fetch(0));
    cluster.produce(0, 1, &["a"]);
    assert_eq!(cluster.hw(0), 0);
    assert_eq!(
        cluster.fetched_bytes(fetch),
        None,
        "above the high watermark"
    );
    cluster.run(20);
    assert_eq!(cluster.hw(0), 1);
    assert!(
        cluster.fetched_bytes(fetch).is_some_and(|n| n > 0),
        "answered by the follower's fetch"
    );

    // fsync mode: the high watermark counts what is durable, so the sync's completion moves it.
    let mut cluster = Cluster::holding_syncs(1, Durability::Fsync, i64::MAX);
    cluster.timers = false;
    let fetch = cluster.request(0, waiting_fetch(0));
    cluster.produce(0, 1, &["a"]);
    assert_eq!(cluster.fetched_bytes(fetch), None, "not durable yet");
    cluster.complete_syncs();
    assert_eq!(cluster.hw(0), 1);
    assert!(
        cluster.fetched_bytes(fetch).is_some_and(|n| n > 0),
        "answered by the sync's completion"
    );
}

#[test]
fn in_fsync_mode_an_answer_waits_on_its_sync_and_the_high_watermark_on_durable_ends() {
    // Durability in the outputs (STYLE 3): the leader writes to the page cache and asks for a
    // sync; the acks=1 answer carries that sync, and the high watermark counts only what is
    // durable, so an acks=all answer comes once the sync completed, needing none.
    let mut cluster = Cluster::holding_syncs(1, Durability::Fsync, i64::MAX);
    let one = cluster.produce(0, 1, &["a"]);
    let all = cluster.produce(0, -1, &["b"]);
    let held = cluster.held_sync_ids();
    assert_eq!(held.len(), 2, "one sync per produce");
    assert_eq!(cluster.produce_error(one), Some(ErrorCode::None));
    assert_eq!(cluster.after(one), Some(held[0]));
    assert_eq!(
        cluster.answer(all),
        None,
        "acks=all waits for the durable end"
    );
    assert_eq!(cluster.hw(0), 0);
    cluster.complete_syncs();
    assert_eq!(cluster.hw(0), 2);
    assert_eq!(cluster.produce_error(all), Some(ErrorCode::None));
    assert_eq!(
        cluster.after(all),
        None,
        "its sync completed before it was answered"
    );
    // The next answer waits on its own sync.
    let three = cluster.produce(0, 1, &["c"]);
    assert_eq!(
        cluster.after(three),
        cluster.held_sync_ids().first().copied()
    );
}

#[test]
fn under_flush_messages_only_the_answers_that_trigger_a_flush_wait() {
    // Kafka's `flush.messages`: the append that reaches the count flushes the log before it
    // is answered; the ones before it are answered from the page cache.
    let mut cluster = Cluster::holding_syncs(1, Durability::PageCache, 2);
    let first = cluster.produce(0, 1, &["a"]);
    assert_eq!(cluster.after(first), None);
    // The one sync under way is the opened log's own first flush (for its checkpoint),
    // which covers "a" too and starts the count over: no answer waits on it.
    assert_eq!(cluster.held_sync_ids().len(), 1);
    cluster.complete_syncs();
    let second = cluster.produce(0, 1, &["b"]);
    assert_eq!(cluster.after(second), None);
    assert!(cluster.held_sync_ids().is_empty());
    let third = cluster.produce(0, 1, &["c"]);
    assert_eq!(cluster.held_sync_ids().len(), 1);
    assert_eq!(
        cluster.after(third),
        cluster.held_sync_ids().first().copied()
    );
    // In page-cache mode the high watermark counts the log end: replication, not the sync,
    // makes a write durable.
    assert_eq!(cluster.hw(0), 3);
    cluster.complete_syncs();
}
