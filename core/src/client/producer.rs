//! The producer: records in, Produce requests out, and one outcome per record.

mod idempotence;
mod route;
mod send;

use std::collections::{BTreeMap, VecDeque};

use super::accumulator::Accumulator;
use super::metadata::MetadataCache;
use super::partitioner::StickyPartitioner;
use super::requests::Outstanding;
use super::Disconnected;
use crate::api::{ErrorCode, Request, Response, TopicPartition};
use crate::controller::BrokerId;
use crate::record::Compression;
use crate::rng::{Rng, SplitMix64};
use crate::time::{Duration, Instant};
use idempotence::Idempotence;
use route::Unrouted;

/// The producer's settings, named after Kafka's (`linger_ms` is `linger.ms`, and so on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerConfig {
    /// 0 (no answer), 1 (the leader appended) or -1 (`all`: the ISR holds it).
    pub acks: i16,
    /// How long a batch waits for more records before it is sent.
    pub linger_ms: u64,
    /// The size a batch is filled to, in bytes (a larger record still gets a batch).
    pub batch_size: usize,
    /// How many times a failed batch is sent again.
    pub retries: i32,
    /// The wait before a retry, and between metadata refreshes.
    pub retry_backoff_ms: u64,
    /// How long to wait for an answer to any request.
    pub request_timeout_ms: u64,
    /// How long a record may take, from `send` to its outcome, retries included.
    pub delivery_timeout_ms: u64,
    /// The age at which metadata is refreshed even without a reason.
    pub metadata_max_age_ms: u64,
    /// The codec for batches.
    pub compression: Compression,
    /// Whether Metadata requests let the broker create a topic on first use. Kafka's producer
    /// always asks (the broker decides by `auto.create.topics.enable`), and the `sluice`
    /// tools do too; the default is off so that a simulated client's misspelt topic comes
    /// back as UNKNOWN_TOPIC_OR_PARTITION rather than as a new topic.
    pub allow_auto_topic_creation: bool,
    /// `enable.idempotence`: a producer id and per-partition sequences let leaders drop
    /// retried batches they already hold (see the `idempotence` module). Kafka's Java producer
    /// turns it on by default since 3.0; here it is off unless asked for, so the scenarios
    /// written before it keep the behaviour their checkers expect. Needs `acks = -1`, as in
    /// Kafka.
    pub enable_idempotence: bool,
}

impl Default for ProducerConfig {
    /// Kafka's defaults, with `linger.ms` = 5 as of Kafka 4.0 (KIP-1030), except that topics
    /// are not auto-created and idempotence is off (see their fields).
    fn default() -> ProducerConfig {
        ProducerConfig {
            acks: -1,
            linger_ms: 5,
            batch_size: 16_384,
            retries: i32::MAX,
            retry_backoff_ms: 100,
            request_timeout_ms: 30_000,
            delivery_timeout_ms: 120_000,
            metadata_max_age_ms: 300_000,
            compression: Compression::None,
            allow_auto_topic_creation: false,
            enable_idempotence: false,
        }
    }
}

/// What became of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Acknowledged at `offset` of `partition`. With `acks = 0` no answer comes and the offset
    /// is -1, as Kafka's `RecordMetadata` reports it: the record was sent, nothing more is known.
    Ok {
        /// The partition index.
        partition: i32,
        /// The record's offset, or -1 under `acks = 0`.
        offset: i64,
    },
    /// Given up on, with the last error.
    Err {
        /// Why: a broker's code, REQUEST_TIMED_OUT for a timeout or a dropped connection, or
        /// UNKNOWN_TOPIC_OR_PARTITION for a topic the cluster does not have.
        error: ErrorCode,
        /// True only when the record was certainly not appended: no attempt was sent, or every
        /// attempt was refused before the append. False when any attempt may have landed.
        definite: bool,
    },
}

/// Work the producer hands to its driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProducerOutput {
    /// Send `request` to broker `to`, and pass the answer back with `id`. A Produce under
    /// `acks = 0` gets no answer; one delivered anyway is ignored.
    Request {
        /// The broker.
        to: BrokerId,
        /// The request's id for [`Producer::handle_response`].
        id: u64,
        /// The request.
        request: Request,
    },
    /// The outcome for the record sent with `token`.
    Completed {
        /// The caller's handle from [`Producer::send`].
        token: u64,
        /// What became of the record.
        outcome: SendOutcome,
    },
}

/// What an outstanding request was for.
#[derive(Clone, Debug)]
enum Purpose {
    Metadata,
    /// The partitions whose front batches it carries.
    Produce(Vec<TopicPartition>),
    /// An idempotent producer's InitProducerId.
    InitProducerId,
}

/// A Kafka producer, idempotent or not, as a sans-IO state machine.
///
/// # Call order
///
/// [`Producer::new`]; then any mix of [`Producer::send`], [`Producer::handle_response`] and
/// [`Producer::handle_timeout`] (when [`Producer::poll_timeout`] is due; a new producer is due
/// at once, to fetch metadata), each followed by draining [`Producer::poll_output`].
///
/// # Guarantees
///
/// - Every record gets exactly one [`ProducerOutput::Completed`], within `delivery_timeout_ms`
///   of its `send` (plus one request timeout when its batch is in flight at that moment).
/// - At most one Produce per partition is in flight, and a failed batch is retried before any
///   later batch of its partition is sent: `max.in.flight.requests.per.connection = 1`
///   semantics, per partition. Records of a partition are therefore appended in `send` order,
///   though without idempotence a retry after an indefinite failure may append a record
///   twice. With `enable_idempotence` the first request is InitProducerId, batches wait for
///   its id, and a retried batch is appended at most once.
/// - Metadata is refreshed at start, after errors that say it is stale, after a dropped
///   connection, while a wanted partition has no leader, and every `metadata_max_age_ms`.
#[derive(Clone, Debug)]
pub struct Producer {
    config: ProducerConfig,
    metadata: MetadataCache,
    requests: Outstanding<Purpose>,
    accumulator: Accumulator,
    partitioner: StickyPartitioner,
    unrouted: BTreeMap<String, VecDeque<Unrouted>>,
    outputs: VecDeque<ProducerOutput>,
    /// The producer id and sequences, with `enable_idempotence`.
    idempotence: Option<Idempotence>,
    /// Records sent and not yet completed, counted rather than walked: drivers ask per record.
    pending: usize,
}

impl Producer {
    /// A producer that will ask `bootstrap` brokers for metadata first.
    pub fn new(config: ProducerConfig, bootstrap: Vec<BrokerId>) -> Producer {
        assert!(matches!(config.acks, -1..=1), "acks must be -1, 0 or 1");
        assert!(config.retries >= 0, "retries must not be negative");
        assert!(
            !config.enable_idempotence || config.acks == -1,
            "idempotence needs acks=all, as Kafka's ConfigException says"
        );
        let backoff = Duration::from_millis(config.retry_backoff_ms);
        let max_age = Duration::from_millis(config.metadata_max_age_ms);
        Producer {
            metadata: MetadataCache::new(bootstrap, backoff, max_age)
                .with_auto_create(config.allow_auto_topic_creation),
            requests: Outstanding::new(),
            accumulator: Accumulator::new(config.batch_size, config.compression),
            partitioner: StickyPartitioner::new(),
            unrouted: BTreeMap::new(),
            outputs: VecDeque::new(),
            idempotence: config.enable_idempotence.then(Idempotence::default),
            pending: 0,
            config,
        }
    }

    /// Queues a record for `topic`: partitioned by murmur2 of its key, or to the sticky
    /// partition when it has none. `token` comes back with its outcome.
    // The arguments are the record's fields plus the driver's inputs; bundling them would only
    // move the list into a struct literal at every call site.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        now: Instant,
        rng: &mut dyn Rng,
        topic: &str,
        key: Option<Vec<u8>>,
        value: Vec<u8>,
        timestamp_ms: i64,
        token: u64,
    ) {
        let rng = SplitMix64::new(rng.next_u64());
        let (partition, timestamp, queued) = (None, timestamp_ms, now);
        let record = Unrouted {
            partition,
            key,
            value,
            timestamp,
            token,
            queued,
            rng,
        };
        self.queue(now, topic, record);
    }

    /// Queues a record for an explicit partition of `topic`. A partition the topic does not
    /// have fails the record, definitely, with UNKNOWN_TOPIC_OR_PARTITION.
    #[allow(clippy::too_many_arguments)]
    pub fn send_to_partition(
        &mut self,
        now: Instant,
        topic: &str,
        partition: i32,
        key: Option<Vec<u8>>,
        value: Vec<u8>,
        timestamp_ms: i64,
        token: u64,
    ) {
        // An explicit partition draws nothing: the generator is never used.
        let rng = SplitMix64::new(0);
        let (partition, timestamp, queued) = (Some(partition), timestamp_ms, now);
        let record = Unrouted {
            partition,
            key,
            value,
            timestamp,
            token,
            queued,
            rng,
        };
        self.queue(now, topic, record);
    }

    /// Takes the answer to request `id`: the response, or `Err` if the connection dropped or
    /// the driver gave up. Answers to unknown or already timed-out requests are ignored.
    pub fn handle_response(
        &mut self,
        now: Instant,
        request_id: u64,
        response: Result<Response, Disconnected>,
    ) {
        if let Some(purpose) = self.requests.finish(request_id) {
            self.answered(now, request_id, purpose, response.as_ref().map_err(|e| *e));
        }
        self.step(now);
    }

    /// Acts on whatever is due at `now`: request timeouts, lingering batches, retries, expired
    /// records, metadata refreshes.
    pub fn handle_timeout(&mut self, now: Instant) {
        for (id, purpose) in self.requests.expire(now) {
            self.answered(now, id, purpose, Err(Disconnected));
        }
        self.step(now);
    }

    /// When [`Producer::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let linger = Duration::from_millis(self.config.linger_ms);
        let delivery = self.delivery_timeout();
        let unrouted = self.unrouted.values().flatten();
        let mut deadlines = vec![
            self.requests.next_deadline(),
            self.metadata.due_at(),
            self.accumulator.next_expiry(delivery),
            unrouted.map(|record| record.queued + delivery).min(),
            self.init_producer_id_due(),
        ];
        for (partition, batch) in self.accumulator.fronts() {
            if self.metadata.leader(partition).is_some() && self.may_send_batches() {
                deadlines.push(batch.ready_at(linger));
            }
        }
        deadlines.into_iter().flatten().min()
    }

    /// The next piece of work for the driver.
    pub fn poll_output(&mut self) -> Option<ProducerOutput> {
        self.outputs.pop_front()
    }

    /// Records sent but not yet completed.
    pub fn pending_count(&self) -> usize {
        self.pending
    }

    /// Hands a record's outcome to the driver: the one place a record stops being pending.
    pub(super) fn complete(&mut self, token: u64, outcome: SendOutcome) {
        self.pending -= 1;
        self.outputs
            .push_back(ProducerOutput::Completed { token, outcome });
    }

    fn queue(&mut self, now: Instant, topic: &str, record: Unrouted) {
        self.pending += 1;
        self.metadata.want(topic);
        self.unrouted
            .entry(topic.to_owned())
            .or_default()
            .push_back(record);
        self.step(now);
    }

    fn delivery_timeout(&self) -> Duration {
        Duration::from_millis(self.config.delivery_timeout_ms)
    }

    /// Runs after every input: everything that may have become possible or due.
    fn step(&mut self, now: Instant) {
        self.expire(now);
        self.route(now);
        self.maybe_init_producer_id(now);
        self.drain(now);
        if self.metadata.is_due(now) {
            let deadline = now + Duration::from_millis(self.config.request_timeout_ms);
            let id = self.requests.start(deadline, Purpose::Metadata);
            let (to, request) = self.metadata.start_request(now, id);
            let request = Request::Metadata(request);
            self.outputs
                .push_back(ProducerOutput::Request { to, id, request });
        }
        // Every batch is walked: a cost per record that tests pay, and a real client does not.
        if cfg!(debug_assertions) {
            self.check_invariants();
        }
    }

    fn check_invariants(&self) {
        self.accumulator.check_invariants();
        let unrouted: usize = self.unrouted.values().map(VecDeque::len).sum();
        assert_eq!(self.pending, unrouted + self.accumulator.record_count());
        for (id, purpose) in self.requests.purposes() {
            match purpose {
                Purpose::Metadata => assert!(self.metadata.is_in_flight(id)),
                Purpose::InitProducerId => {
                    let idempotence = self.idempotence.as_ref().expect("idempotent");
                    assert_eq!(idempotence.in_flight, Some(id));
                }
                Purpose::Produce(partitions) => {
                    for tp in partitions {
                        let front = self.accumulator.front(tp);
                        assert_eq!(front.and_then(|b| b.in_flight), Some(id));
                    }
                }
            }
        }
    }
}
