//! The workload's clients: Sluice's own sans-IO producer and consumer, run against the
//! simulated brokers, with every operation written to the history the checker reads.

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

use crate::metadata_quorum::cluster::{Cluster, Event, BROKER_NET_BASE};
use crate::metadata_quorum::wire::Wire;

/// Network ids of clients start here.
pub const CLIENT_NET_BASE: u32 = 300;

/// A producer or a consumer.
pub enum Role {
    /// Sends unique values to random partitions.
    Producer(Producer),
    /// Reads every partition from the start.
    Consumer(Consumer),
}

/// One simulated client process.
pub struct SimClient {
    /// Its network id.
    pub net_id: NodeId,
    /// Its process number in the history.
    pub process: u64,
    /// What it is.
    pub role: Role,
    timer: Option<EventId>,
    /// Wire id → the client's request id.
    requests: BTreeMap<u64, u64>,
    /// Pending sends: token (the value) → its operation.
    sends: BTreeMap<u64, (i32, OpId)>,
    /// Partitions whose next read follows a reset or a truncation.
    seeked: BTreeSet<i32>,
    /// When the producer sends its next record, while it produces.
    pub next_send: Option<Instant>,
    /// The highest high watermark a consumer saw per partition.
    pub high_watermarks: BTreeMap<i32, i64>,
    /// The offset a consumer reached per partition.
    pub reached: BTreeMap<i32, i64>,
}

impl SimClient {
    /// A producer with acks=all and no retries: every outcome is recorded as it is.
    pub fn producer(index: u32, brokers: Vec<i32>) -> SimClient {
        let config = ProducerConfig {
            acks: -1,
            linger_ms: 2,
            retries: 0,
            request_timeout_ms: 5_000,
            delivery_timeout_ms: 12_000,
            ..ProducerConfig::default()
        };
        SimClient::new(index, Role::Producer(Producer::new(config, brokers)))
    }

    /// A producer with acks=all that retries until its delivery timeout, idempotent
    /// (`enable.idempotence`) or not: without idempotence a retry of a batch whose answer was
    /// lost appends it twice.
    pub fn retrying_producer(index: u32, brokers: Vec<i32>, idempotent: bool) -> SimClient {
        let config = ProducerConfig {
            acks: -1,
            linger_ms: 2,
            retries: i32::MAX,
            request_timeout_ms: 5_000,
            delivery_timeout_ms: 30_000,
            enable_idempotence: idempotent,
            ..ProducerConfig::default()
        };
        SimClient::new(index, Role::Producer(Producer::new(config, brokers)))
    }

    /// A consumer of every partition from the earliest offset.
    pub fn consumer(index: u32, brokers: Vec<i32>) -> SimClient {
        let config = ConsumerConfig {
            auto_offset_reset: OffsetResetPolicy::Earliest,
            request_timeout_ms: 5_000,
            ..ConsumerConfig::default()
        };
        SimClient::new(index, Role::Consumer(Consumer::new(config, brokers)))
    }

    fn new(index: u32, role: Role) -> SimClient {
        SimClient {
            net_id: NodeId(CLIENT_NET_BASE + index),
            process: u64::from(index),
            role,
            timer: None,
            requests: BTreeMap::new(),
            sends: BTreeMap::new(),
            seeked: BTreeSet::new(),
            next_send: None,
            high_watermarks: BTreeMap::new(),
            reached: BTreeMap::new(),
        }
    }

    /// Sends not yet answered.
    pub fn pending_sends(&self) -> usize {
        self.sends.len()
    }
}

fn value_of(record: &ConsumedRecord) -> Option<u64> {
    let bytes = record.value.as_ref()?;
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

impl Cluster {
    /// Adds a client and starts it: consumers are assigned every partition.
    pub(crate) fn add_client(&mut self, client: SimClient) -> usize {
        let now = self.kernel.now();
        let data = self.data.as_mut().expect("data plane");
        let topic = data.topic.clone();
        let partitions = data.partitions;
        data.clients.push(client);
        let index = data.clients.len() - 1;
        if let Role::Consumer(consumer) = &mut data.clients[index].role {
            let all = (0..partitions)
                .map(|partition| TopicPartition {
                    topic: topic.clone(),
                    partition,
                })
                .collect();
            consumer.assign(now, all);
        }
        self.client_flush(index);
        index
    }

    /// A client's timer: its own deadlines, and the producer's next record.
    pub(crate) fn client_timer(&mut self, index: usize) {
        let (now, wall) = (self.kernel.now(), self.kernel.wall_ms());
        let data = self.data.as_mut().expect("data plane");
        let partitions = data.partitions;
        let topic = data.topic.clone();
        let client = &mut data.clients[index];
        client.timer = None;
        match &mut client.role {
            Role::Producer(producer) => {
                producer.handle_timeout(now);
                if client.next_send.is_some_and(|at| at <= now) {
                    let partition = self.rng.below(partitions as u64) as i32;
                    let value = data.history.operations().len() as u64;
                    let op = data
                        .history
                        .invoke_send(client.process, partition, value)
                        .expect("values are unique");
                    client.sends.insert(value, (partition, op));
                    let bytes = value.to_string().into_bytes();
                    producer.send_to_partition(now, &topic, partition, None, bytes, wall, value);
                    let gap = Duration::from_millis(20 + self.rng.below(180));
                    client.next_send = Some(now + gap);
                }
            }
            Role::Consumer(consumer) => consumer.handle_timeout(now),
        }
        self.client_flush(index);
    }

    /// An answer reached a client.
    pub(crate) fn client_response(&mut self, to: NodeId, id: u64, response: api::Response) {
        let now = self.kernel.now();
        let Some(data) = self.data.as_mut() else {
            return;
        };
        let Some(index) = data.clients.iter().position(|c| c.net_id == to) else {
            return;
        };
        let client = &mut data.clients[index];
        let Some(request_id) = client.requests.remove(&id) else {
            return;
        };
        match &mut client.role {
            Role::Producer(producer) => producer.handle_response(now, request_id, Ok(response)),
            Role::Consumer(consumer) => consumer.handle_response(now, request_id, Ok(response)),
        }
        self.client_flush(index);
    }

    /// Drains a client's outputs: requests onto the network, outcomes into the history.
    fn client_flush(&mut self, index: usize) {
        let now = self.kernel.now();
        loop {
            let data = self.data.as_mut().expect("data plane");
            let wire = data.wire_id();
            let client = &mut data.clients[index];
            let from = client.net_id;
            let request = match &mut client.role {
                Role::Producer(producer) => match producer.poll_output() {
                    None => break,
                    Some(ProducerOutput::Request { to, id, request }) => Some((to, id, request)),
                    Some(ProducerOutput::Completed { token, outcome }) => {
                        let Some((_, op)) = client.sends.remove(&token) else {
                            continue;
                        };
                        let history = &mut data.history;
                        let recorded = match outcome {
                            SendOutcome::Ok { offset, .. } if offset >= 0 => {
                                history.ok_send(op, offset)
                            }
                            SendOutcome::Err { definite: true, .. } => history.fail(op),
                            _ => history.info(op),
                        };
                        recorded.expect("each send completes once");
                        None
                    }
                },
                Role::Consumer(consumer) => match consumer.poll_output() {
                    None => break,
                    Some(ConsumerOutput::Request { to, id, request }) => Some((to, id, request)),
                    Some(ConsumerOutput::Records {
                        partition,
                        records,
                        high_watermark,
                    }) => {
                        let p = partition.partition;
                        let reads: Vec<(i64, u64)> = records
                            .iter()
                            .filter_map(|r| value_of(r).map(|v| (r.offset, v)))
                            .collect();
                        if let Some(last) = records.last() {
                            client.reached.insert(p, last.offset + 1);
                        }
                        let seen = client.high_watermarks.entry(p).or_insert(-1);
                        *seen = (*seen).max(high_watermark);
                        let fresh = client.seeked.remove(&p);
                        let op = data.history.invoke_poll(client.process);
                        data.history
                            .ok_poll_with_hw(op, vec![(p, reads)], vec![(p, high_watermark)], fresh)
                            .expect("a well-formed poll");
                        None
                    }
                    Some(ConsumerOutput::Reset { partition, .. }) => {
                        client.seeked.insert(partition.partition);
                        None
                    }
                    Some(ConsumerOutput::Truncated { partition, .. }) => {
                        client.seeked.insert(partition.partition);
                        None
                    }
                    Some(ConsumerOutput::Error { .. }) => None,
                },
            };
            if let Some((to, id, request)) = request {
                let data = self.data.as_mut().expect("data plane");
                data.clients[index].requests.insert(wire, id);
                let to = NodeId(BROKER_NET_BASE + to as u32);
                self.net
                    .send(now, from, to, Wire::Data { id: wire, request });
            }
        }
        self.arm_client_timer(index);
    }

    fn arm_client_timer(&mut self, index: usize) {
        let now = self.kernel.now();
        let data = self.data.as_mut().expect("data plane");
        let client = &mut data.clients[index];
        if let Some(timer) = client.timer.take() {
            self.kernel.cancel(timer);
        }
        let own = match &client.role {
            Role::Producer(producer) => producer.poll_timeout(),
            Role::Consumer(consumer) => consumer.poll_timeout(),
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
    pub(crate) fn set_producing(&mut self, index: usize, on: bool) {
        let now = self.kernel.now();
        let data = self.data.as_mut().expect("data plane");
        data.clients[index].next_send = on.then_some(now);
        self.arm_client_timer(index);
    }
}
