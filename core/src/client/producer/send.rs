//! Sending batches to their leaders and settling each attempt: success, retry or failure.

use std::collections::BTreeMap;

use super::{Producer, ProducerOutput, Purpose, SendOutcome};
use crate::api::TopicPartition;
use crate::api::{ErrorCode, ProducePartitionResponse, ProduceRequest, Request, Response};
use crate::client::accumulator::ProducerBatch;
use crate::client::Disconnected;
use crate::controller::BrokerId;
use crate::time::{Duration, Instant};

impl Producer {
    /// Sends every ready front batch whose leader is known, one Produce per leader.
    pub(super) fn drain(&mut self, now: Instant) {
        if !self.may_send_batches() {
            return;
        }
        let linger = Duration::from_millis(self.config.linger_ms);
        let mut by_leader: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
        for (partition, batch) in self.accumulator.fronts() {
            if batch.ready_at(linger).is_none_or(|ready| ready > now) {
                continue;
            }
            match self.metadata.leader(partition) {
                Some((leader, _)) => by_leader.entry(leader).or_default().push(partition.clone()),
                None => self.metadata.request_refresh_unless_in_flight(),
            }
        }
        for (leader, partitions) in by_leader {
            self.send_produce(now, leader, partitions);
        }
    }

    fn send_produce(&mut self, now: Instant, to: BrokerId, partitions: Vec<TopicPartition>) {
        assert!(!partitions.is_empty());
        let acks = self.config.acks;
        let id = if acks == 0 {
            self.requests.allocate()
        } else {
            let deadline = now + Duration::from_millis(self.config.request_timeout_ms);
            self.requests
                .start(deadline, Purpose::Produce(partitions.clone()))
        };
        let mut batches = Vec::with_capacity(partitions.len());
        for tp in &partitions {
            // A batch gets its sequence when first built; a retry resends it unchanged.
            let stamp = match (
                self.idempotence.as_mut(),
                self.accumulator.front_unbuilt(tp),
            ) {
                (Some(idempotence), true) => {
                    let records = self.accumulator.front(tp).map_or(0, |b| b.tokens.len());
                    idempotence.stamp(tp, records)
                }
                _ => None,
            };
            batches.push((tp.clone(), self.accumulator.send_front(tp, id, stamp)));
        }
        let timeout_ms = i32::try_from(self.config.request_timeout_ms).unwrap_or(i32::MAX);
        let produce = ProduceRequest {
            acks,
            timeout_ms,
            partitions: batches,
        };
        let request = Request::Produce(produce);
        self.outputs
            .push_back(ProducerOutput::Request { to, id, request });
        if acks == 0 {
            // No answer will come: the batch is done once it is handed to the driver.
            for tp in &partitions {
                let batch = self.accumulator.pop_front(tp);
                self.succeed(tp.partition, -1, batch);
            }
        }
    }

    pub(super) fn answered(
        &mut self,
        now: Instant,
        id: u64,
        purpose: Purpose,
        response: Result<&Response, Disconnected>,
    ) {
        match purpose {
            Purpose::Metadata => {
                let answer = match response {
                    Ok(Response::Metadata(metadata)) => Ok(metadata),
                    _ => Err(Disconnected),
                };
                self.metadata.handle_response(now, answer);
            }
            Purpose::InitProducerId => self.init_producer_id_answered(now, response),
            Purpose::Produce(partitions) => {
                let answers = match response {
                    Ok(Response::Produce(produce)) => &produce.partitions[..],
                    _ => &[],
                };
                for tp in partitions {
                    let answer = answers.iter().find(|answer| answer.partition == tp);
                    self.produce_answered(now, &tp, id, answer.ok_or(Disconnected));
                }
            }
        }
    }

    /// Completes, retries or fails the front batch of `tp` after its attempt in request `id`.
    /// A missing answer counts as a dropped connection.
    fn produce_answered(
        &mut self,
        now: Instant,
        tp: &TopicPartition,
        id: u64,
        answer: Result<&ProducePartitionResponse, Disconnected>,
    ) {
        assert_eq!(self.accumulator.front_mut(tp).in_flight, Some(id));
        let (error, may_have_appended, retriable) = match answer {
            // Kafka's producer counts DUPLICATE_SEQUENCE_NUMBER as a success whose offset it
            // does not know; Sluice's brokers answer a duplicate NONE with its offsets.
            Ok(answer)
                if answer.error == ErrorCode::None
                    || answer.error == ErrorCode::DuplicateSequenceNumber =>
            {
                let batch = self.accumulator.pop_front(tp);
                self.succeed(tp.partition, answer.base_offset, batch);
                return;
            }
            Ok(answer) => {
                let error = answer.error;
                (
                    error,
                    error.is_indefinite_for_produce(),
                    error.is_retriable(),
                )
            }
            Err(Disconnected) => (ErrorCode::RequestTimedOut, true, true),
        };
        if answer.is_err() || invalidates_metadata(error) {
            self.metadata.request_refresh();
        }
        let (retries_max, backoff) = (self.config.retries, self.config.retry_backoff_ms);
        let delivery_end = self.accumulator.front_mut(tp).created + self.delivery_timeout();
        let batch = self.accumulator.front_mut(tp);
        batch.in_flight = None;
        batch.maybe_appended |= may_have_appended;
        batch.last_error = Some(error);
        if retriable && batch.retries < retries_max && now < delivery_end {
            batch.retries += 1;
            batch.retry_after = Some(now + Duration::from_millis(backoff));
        } else {
            let batch = self.accumulator.pop_front(tp);
            self.fail(tp, batch, error);
        }
    }

    fn succeed(&mut self, partition: i32, base_offset: i64, batch: ProducerBatch) {
        for (index, token) in batch.tokens.into_iter().enumerate() {
            let offset = if base_offset < 0 {
                -1
            } else {
                base_offset + index as i64
            };
            let outcome = SendOutcome::Ok { partition, offset };
            self.complete(token, outcome);
        }
    }

    pub(super) fn fail(&mut self, tp: &TopicPartition, batch: ProducerBatch, error: ErrorCode) {
        assert!(
            batch.in_flight.is_none(),
            "{tp:?}: a batch in flight has no outcome yet"
        );
        let definite = !batch.maybe_appended;
        if let (Some(idempotence), Some(stamped)) = (self.idempotence.as_mut(), batch.producer) {
            idempotence.batch_failed(stamped);
        }
        for token in batch.tokens {
            let outcome = SendOutcome::Err { error, definite };
            self.complete(token, outcome);
        }
    }
}

/// Errors after which Kafka's producer refreshes metadata (its `InvalidMetadataException`s).
fn invalidates_metadata(error: ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::NotLeaderOrFollower
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::KafkaStorageError
            | ErrorCode::FencedLeaderEpoch
            | ErrorCode::UnknownLeaderEpoch
    )
}
