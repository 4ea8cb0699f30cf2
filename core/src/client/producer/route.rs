//! Routing: records wait for their topic's metadata, then get a partition and a batch; those
//! that wait too long fail.

use super::{Producer, SendOutcome};
use crate::api::{ErrorCode, TopicPartition};
use crate::client::accumulator::record_bytes_max;
use crate::client::metadata::TopicView;
use crate::client::partitioner::partition_for_key;
use crate::rng::SplitMix64;
use crate::time::Instant;

/// A record whose topic's partitions are not known yet.
#[derive(Clone, Debug)]
pub(super) struct Unrouted {
    pub(super) partition: Option<i32>,
    pub(super) key: Option<Vec<u8>>,
    pub(super) value: Vec<u8>,
    pub(super) timestamp: i64,
    pub(super) token: u64,
    pub(super) queued: Instant,
    /// Drawn from the caller's RNG at `send`, so the sticky pick made later, when metadata
    /// arrives, still follows the seed.
    pub(super) rng: SplitMix64,
}

impl Producer {
    /// Fails records and batches past their delivery timeout that are not in flight.
    pub(super) fn expire(&mut self, now: Instant) {
        let timeout = self.delivery_timeout();
        for (partition, batch) in self.accumulator.expire(now, timeout) {
            // The last refusal says more than "timed out" (Kafka reports a TimeoutException).
            let error = batch.last_error.unwrap_or(ErrorCode::RequestTimedOut);
            self.fail(&partition, batch, error);
        }
        let mut failed = Vec::new();
        for (topic, queue) in &mut self.unrouted {
            let missing = matches!(self.metadata.topic(topic), TopicView::Missing);
            while queue.front().is_some_and(|r| r.queued + timeout <= now) {
                let record = queue.pop_front().expect("checked just above");
                let error = if missing {
                    ErrorCode::UnknownTopicOrPartition
                } else {
                    ErrorCode::RequestTimedOut
                };
                failed.push((record.token, error));
            }
        }
        self.unrouted.retain(|_, queue| !queue.is_empty());
        for (token, error) in failed {
            let outcome = SendOutcome::Err {
                error,
                definite: true,
            };
            self.complete(token, outcome);
        }
    }

    /// Moves records whose topic is now known into batches, in `send` order.
    pub(super) fn route(&mut self, now: Instant) {
        let known: Vec<String> = self.unrouted.keys().cloned().collect();
        for topic in known {
            let (count, available) = match self.metadata.topic(&topic) {
                TopicView::Known(partitions) => {
                    let count = i32::try_from(partitions.len()).expect("partition count fits i32");
                    let available: Vec<i32> = (0..count)
                        .filter(|p| partitions[*p as usize].leader.is_some())
                        .collect();
                    (count, available)
                }
                TopicView::Unknown | TopicView::Missing => continue,
            };
            let queue = self.unrouted.remove(&topic).expect("listed above");
            for mut record in queue {
                let Some(partition) = self.choose_partition(&topic, count, &available, &mut record)
                else {
                    let outcome = SendOutcome::Err {
                        error: ErrorCode::UnknownTopicOrPartition,
                        definite: true,
                    };
                    let token = record.token;
                    self.complete(token, outcome);
                    continue;
                };
                let key = record.key.as_deref();
                let tp = TopicPartition {
                    topic: topic.clone(),
                    partition,
                };
                let (value, timestamp, token) = (&record.value, record.timestamp, record.token);
                self.accumulator
                    .append(now, &tp, key, value, timestamp, token);
            }
        }
    }

    /// The partition for `record`, or `None` for an explicit partition the topic lacks.
    fn choose_partition(
        &mut self,
        topic: &str,
        count: i32,
        available: &[i32],
        record: &mut Unrouted,
    ) -> Option<i32> {
        if let Some(partition) = record.partition {
            return (0..count).contains(&partition).then_some(partition);
        }
        if let Some(key) = &record.key {
            return Some(partition_for_key(key, count));
        }
        let rng = &mut record.rng;
        let sticky = self.partitioner.partition(topic, count, available, rng);
        let tp = TopicPartition {
            topic: topic.to_owned(),
            partition: sticky,
        };
        if !self
            .accumulator
            .starts_new_batch(&tp, record_bytes_max(None, &record.value))
        {
            return Some(sticky);
        }
        Some(
            self.partitioner
                .on_new_batch(topic, sticky, count, available, rng),
        )
    }
}
