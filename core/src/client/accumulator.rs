//! The producer's record accumulator: per partition, a queue of batches being filled, waiting
//! to be sent, or in flight.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use crate::api::{ErrorCode, TopicPartition};
use crate::record::{Compression, RecordBatchBuilder, BATCH_HEADER_BYTES};
use crate::time::{Duration, Instant};

/// The most bytes a record adds to a batch beyond its key and value: the length, attributes,
/// timestamp delta, offset delta, key and value lengths and header count at their widest. Like
/// Kafka's `estimateSizeInBytesUpperBound`, an upper bound keeps a batch under `batch.size`
/// without encoding the record twice.
const RECORD_OVERHEAD_BYTES_MAX: usize = 5 + 1 + 10 + 5 + 5 + 5 + 1;

/// The upper bound on what a record adds to a batch.
pub(crate) fn record_bytes_max(key: Option<&[u8]>, value: &[u8]) -> usize {
    RECORD_OVERHEAD_BYTES_MAX + key.map_or(0, <[u8]>::len) + value.len()
}

/// One batch and what became of its attempts so far.
#[derive(Clone, Debug)]
pub(crate) struct ProducerBatch {
    body: Body,
    /// The callers' handles, one per record in offset-delta order.
    pub(crate) tokens: Vec<u64>,
    /// When its first record arrived: linger and delivery timeout count from here.
    pub(crate) created: Instant,
    /// Whether it takes no more records (it filled up, or was sent).
    closed: bool,
    /// The Produce request carrying it, if any.
    pub(crate) in_flight: Option<u64>,
    /// Not to be sent again before this, after a failed attempt.
    pub(crate) retry_after: Option<Instant>,
    /// Attempts that failed and were retried.
    pub(crate) retries: i32,
    /// Whether some attempt may have been appended: a timeout, a dropped connection, or an
    /// error given after the append. Decides whether a final failure is definite.
    pub(crate) maybe_appended: bool,
    /// The error of the last failed attempt.
    pub(crate) last_error: Option<ErrorCode>,
    /// The idempotent producer's id, epoch and first sequence it was built with; kept for
    /// every retry, so the leader recognises a batch it already holds.
    pub(crate) producer: Option<(i64, i16, i32)>,
}

#[derive(Clone, Debug)]
enum Body {
    Open(RecordBatchBuilder),
    /// Built at the first send and resent byte for byte on retries, each send sharing it.
    Built(Bytes),
}

impl ProducerBatch {
    /// When it may be sent: at once if closed, after the linger otherwise, and not before its
    /// retry backoff ends. `None` while in flight.
    pub(crate) fn ready_at(&self, linger: Duration) -> Option<Instant> {
        if self.in_flight.is_some() {
            return None;
        }
        let filled = if self.closed {
            self.created
        } else {
            self.created + linger
        };
        Some(self.retry_after.map_or(filled, |retry| retry.max(filled)))
    }
}

/// The queues, by partition. Only the front batch of a queue is ever in flight, so a retried
/// batch can never be overtaken by a later one (Kafka's `max.in.flight.requests.per.connection
/// = 1` ordering, per partition).
#[derive(Clone, Debug)]
pub(crate) struct Accumulator {
    queues: BTreeMap<TopicPartition, VecDeque<ProducerBatch>>,
    batch_bytes_max: usize,
    compression: Compression,
}

impl Accumulator {
    pub(crate) fn new(batch_bytes_max: usize, compression: Compression) -> Accumulator {
        assert!(batch_bytes_max > 0, "batch.size must be positive");
        Accumulator {
            queues: BTreeMap::new(),
            batch_bytes_max,
            compression,
        }
    }

    /// Whether a record of `record_bytes` (see [`record_bytes_max`]) would start a new batch on
    /// `partition` instead of joining the one being filled.
    pub(crate) fn starts_new_batch(&self, partition: &TopicPartition, record_bytes: usize) -> bool {
        match self.queues.get(partition).and_then(|queue| queue.back()) {
            Some(ProducerBatch {
                body: Body::Open(builder),
                closed: false,
                ..
            }) => builder.estimated_bytes() + record_bytes > self.batch_bytes_max,
            _ => true,
        }
    }

    /// Appends a record to the partition's open batch, first closing it and starting another
    /// if the record would push it past `batch.size`. A record larger than `batch.size` gets a
    /// batch of its own, as in Kafka.
    pub(crate) fn append(
        &mut self,
        now: Instant,
        partition: &TopicPartition,
        key: Option<&[u8]>,
        value: &[u8],
        timestamp: i64,
        token: u64,
    ) {
        let record_bytes = record_bytes_max(key, value);
        let new_batch = self.starts_new_batch(partition, record_bytes);
        let queue = self.queues.entry(partition.clone()).or_default();
        if new_batch {
            if let Some(last) = queue.back_mut() {
                last.closed = true;
            }
            queue.push_back(ProducerBatch {
                // Room for a full batch, as Kafka's producer takes `batch.size` from its pool:
                // the records are written once, in place.
                body: Body::Open(RecordBatchBuilder::with_capacity(
                    self.compression,
                    self.batch_bytes_max.max(record_bytes + BATCH_HEADER_BYTES),
                )),
                tokens: Vec::new(),
                created: now,
                closed: false,
                in_flight: None,
                retry_after: None,
                retries: 0,
                maybe_appended: false,
                last_error: None,
                producer: None,
            });
        }
        let batch = queue.back_mut().expect("pushed above when missing");
        let Body::Open(builder) = &mut batch.body else {
            unreachable!("the open batch is never built");
        };
        builder.append(timestamp, key, Some(value), &[]);
        batch.tokens.push(token);
        assert_eq!(builder.record_count(), batch.tokens.len());
        if builder.estimated_bytes() >= self.batch_bytes_max {
            batch.closed = true;
        }
    }

    /// The front batch of every queue, the only ones that may be sent.
    pub(crate) fn fronts(&self) -> impl Iterator<Item = (&TopicPartition, &ProducerBatch)> {
        let fronts = self.queues.iter();
        fronts.filter_map(|(partition, queue)| queue.front().map(|batch| (partition, batch)))
    }

    /// Closes the front batch, marks it in flight in request `id` and returns its bytes. A
    /// batch built now takes `producer` (id, epoch, first sequence); one built before keeps
    /// what it had.
    pub(crate) fn send_front(
        &mut self,
        partition: &TopicPartition,
        id: u64,
        producer: Option<(i64, i16, i32)>,
    ) -> Bytes {
        let batch = self.front_mut(partition);
        assert!(
            batch.in_flight.is_none(),
            "one produce in flight per partition"
        );
        batch.closed = true;
        batch.in_flight = Some(id);
        batch.retry_after = None;
        if let Body::Open(builder) = &mut batch.body {
            let mut builder =
                core::mem::replace(builder, RecordBatchBuilder::new(Compression::None));
            if let Some((producer_id, epoch, sequence)) = producer {
                builder = builder.producer(producer_id, epoch, sequence);
                batch.producer = producer;
            }
            batch.body = Body::Built(Bytes::from(builder.build()));
        }
        let Body::Built(bytes) = &batch.body else {
            unreachable!("built just above");
        };
        assert!(!bytes.is_empty());
        bytes.clone()
    }

    /// Whether the front batch of `partition` is still to be built (it never was sent).
    pub(crate) fn front_unbuilt(&self, partition: &TopicPartition) -> bool {
        self.front(partition)
            .is_some_and(|b| matches!(b.body, Body::Open(_)))
    }

    /// The front batch of `partition`, if it has any.
    pub(crate) fn front(&self, partition: &TopicPartition) -> Option<&ProducerBatch> {
        self.queues.get(partition).and_then(VecDeque::front)
    }

    /// The front batch of `partition`, which must exist.
    pub(crate) fn front_mut(&mut self, partition: &TopicPartition) -> &mut ProducerBatch {
        let queue = self
            .queues
            .get_mut(partition)
            .expect("partition has batches");
        queue.front_mut().expect("queues are never left empty")
    }

    /// Removes the front batch of `partition`.
    pub(crate) fn pop_front(&mut self, partition: &TopicPartition) -> ProducerBatch {
        let queue = self
            .queues
            .get_mut(partition)
            .expect("partition has batches");
        let batch = queue.pop_front().expect("queues are never left empty");
        if queue.is_empty() {
            self.queues.remove(partition);
        }
        batch
    }

    /// Removes the batches, not in flight, whose `created + timeout` has passed.
    pub(crate) fn expire(
        &mut self,
        now: Instant,
        timeout: Duration,
    ) -> Vec<(TopicPartition, ProducerBatch)> {
        let mut expired = Vec::new();
        for (partition, queue) in &mut self.queues {
            // Batches are created in queue order, so the oldest one waiting says whether any
            // has expired; most steps expire nothing and move no batch.
            let oldest_waiting = queue.iter().find(|b| b.in_flight.is_none());
            if oldest_waiting.is_none_or(|b| b.created + timeout > now) {
                continue;
            }
            let (keep, gone): (VecDeque<_>, VecDeque<_>) = core::mem::take(queue)
                .into_iter()
                .partition(|b| b.in_flight.is_some() || b.created + timeout > now);
            *queue = keep;
            expired.extend(gone.into_iter().map(|batch| (partition.clone(), batch)));
        }
        self.queues.retain(|_, queue| !queue.is_empty());
        expired
    }

    /// The earliest `created + timeout` among batches not in flight.
    pub(crate) fn next_expiry(&self, timeout: Duration) -> Option<Instant> {
        // The oldest batch waiting in each queue is its first to expire (see `expire`).
        let oldest = self
            .queues
            .values()
            .filter_map(|queue| queue.iter().find(|batch| batch.in_flight.is_none()));
        oldest.map(|batch| batch.created + timeout).min()
    }

    /// Records not yet completed, in flight or not.
    pub(crate) fn record_count(&self) -> usize {
        self.queues.values().flatten().map(|b| b.tokens.len()).sum()
    }

    pub(crate) fn check_invariants(&self) {
        for queue in self.queues.values() {
            assert!(!queue.is_empty(), "empty queues are removed");
            let behind_front = queue.iter().skip(1);
            assert!(behind_front.clone().all(|b| b.in_flight.is_none()));
            assert!(behind_front.clone().all(|b| b.retry_after.is_none()));
            let before_back = queue.iter().take(queue.len() - 1);
            assert!(
                before_back.clone().all(|b| b.closed),
                "only the last batch is open"
            );
            assert!(queue.iter().all(|b| !b.tokens.is_empty()));
        }
        for batch in self.queues.values().flatten() {
            let built = matches!(batch.body, Body::Built(_));
            assert!(
                batch.in_flight.is_none() || built,
                "a batch in flight is built"
            );
            assert!(
                !built || batch.closed,
                "a built batch takes no more records"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp() -> TopicPartition {
        TopicPartition {
            topic: "t".into(),
            partition: 0,
        }
    }

    #[test]
    fn fills_batches_up_to_the_size_then_starts_another() {
        // Room for three 100-byte records by the upper bound: 61 + 3 * 132 = 457.
        let mut acc = Accumulator::new(457, Compression::None);
        let at = Instant::from_nanos(7);
        for token in 0..7 {
            acc.append(at, &tp(), None, &[0; 100], 1, token);
        }
        let queue = &acc.queues[&tp()];
        let sizes: Vec<usize> = queue.iter().map(|b| b.tokens.len()).collect();
        assert_eq!(sizes, [3, 3, 1]);
        assert_eq!(queue[0].ready_at(Duration::from_secs(9)), Some(at));
        assert_eq!(
            queue[2].ready_at(Duration::from_secs(9)),
            Some(at + Duration::from_secs(9))
        );
        acc.check_invariants();
        // A record bigger than batch.size still gets a batch.
        acc.append(at, &tp(), None, &[0; 1000], 1, 8);
        assert_eq!(acc.record_count(), 8);
        acc.check_invariants();
    }

    #[test]
    fn expiry_skips_batches_in_flight() {
        let mut acc = Accumulator::new(100, Compression::None);
        acc.append(Instant::ZERO, &tp(), None, &[0; 50], 1, 0);
        acc.append(Instant::ZERO, &tp(), None, &[0; 50], 1, 1);
        let bytes = acc.send_front(&tp(), 9, None);
        assert!(!bytes.is_empty());
        let timeout = Duration::from_millis(10);
        assert_eq!(acc.next_expiry(timeout), Some(Instant::ZERO + timeout));
        let expired = acc.expire(Instant::ZERO + timeout, timeout);
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].1.tokens, [1]);
        assert_eq!(acc.front_mut(&tp()).in_flight, Some(9));
        acc.check_invariants();
    }
}
