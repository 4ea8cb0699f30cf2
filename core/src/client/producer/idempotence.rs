//! The idempotent producer (`enable.idempotence`, KIP-98): a producer id from
//! InitProducerId, a sequence per partition stamped on each batch when it is first sent and
//! kept on every retry, so a leader that already holds a retried batch answers with its offset
//! instead of appending it twice.
//!
//! When a batch's fate leaves its partition's sequence unknown or broken, the producer moves
//! to a new epoch and restarts every partition's sequence at 0, as the Java producer does for
//! an idempotent (non-transactional) producer since KIP-360: it bumps the epoch itself
//! (`TransactionManager.bumpIdempotentEpochAndResetIdIfNeeded`), and asks for a new producer
//! id only when the epoch would pass `i16::MAX`. Sluice does this whenever a batch that was
//! sent fails for good: OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
//! INVALID_PRODUCER_EPOCH, or retries and delivery timeout spent. The Java producer bumps in
//! the same cases but first tells apart the sequence errors it may retry; with one request in
//! flight per partition none of those arise, so failing the batch is simple and correct: the
//! batch's records are reported failed (indefinite if an earlier attempt may have landed) and
//! later batches start a new epoch at sequence 0, which every leader accepts.

use std::collections::BTreeMap;

use super::{Producer, ProducerOutput, Purpose};
use crate::api::{ErrorCode, InitProducerIdRequest, Request, Response, TopicPartition};
use crate::client::Disconnected;
use crate::replica::increment_sequence;
use crate::time::{Duration, Instant};

/// The idempotent producer's id, epoch and sequences.
#[derive(Clone, Debug, Default)]
pub(super) struct Idempotence {
    /// The producer id and epoch, once InitProducerId answered.
    pub(super) producer: Option<(i64, i16)>,
    /// The InitProducerId request in flight.
    pub(super) in_flight: Option<u64>,
    /// No InitProducerId before this, after a failed one.
    retry_at: Option<Instant>,
    /// InitProducerId attempts, to cycle through the brokers.
    attempts: u64,
    /// The next sequence per partition, in the current epoch.
    sequences: BTreeMap<TopicPartition, i32>,
}

impl Idempotence {
    /// The producer id, epoch and first sequence for a batch of `records` about to be built
    /// for `partition`, advancing its sequence; `None` without a producer id.
    pub(super) fn stamp(
        &mut self,
        partition: &TopicPartition,
        records: usize,
    ) -> Option<(i64, i16, i32)> {
        let (producer_id, epoch) = self.producer?;
        let records = i32::try_from(records).expect("a batch holds at most i32::MAX records");
        assert!(records > 0);
        let sequence = self.sequences.entry(partition.clone()).or_insert(0);
        let first = *sequence;
        *sequence = increment_sequence(first, records);
        Some((producer_id, epoch, first))
    }

    /// A batch stamped with `stamped` failed for good: its partition's sequence can no longer
    /// be trusted, so the producer moves to a new epoch (or a new id) with fresh sequences.
    /// A batch of an epoch already left behind changes nothing.
    pub(super) fn batch_failed(&mut self, stamped: (i64, i16, i32)) {
        let (producer_id, epoch, _) = stamped;
        if self.producer != Some((producer_id, epoch)) {
            return;
        }
        self.sequences.clear();
        // A spent epoch leaves no id: the next InitProducerId brings a new one at epoch 0.
        self.producer = epoch.checked_add(1).map(|next| (producer_id, next));
    }
}

impl Producer {
    /// Whether batches may be sent: always without idempotence, once a producer id is held
    /// with it.
    pub(super) fn may_send_batches(&self) -> bool {
        self.idempotence
            .as_ref()
            .is_none_or(|i| i.producer.is_some())
    }

    /// Sends InitProducerId when the producer needs an id and none is being asked for.
    pub(super) fn maybe_init_producer_id(&mut self, now: Instant) {
        let Some(idempotence) = self.idempotence.as_mut() else {
            return;
        };
        let waiting = idempotence.retry_at.is_some_and(|at| at > now);
        if idempotence.producer.is_some() || idempotence.in_flight.is_some() || waiting {
            return;
        }
        let deadline = now + Duration::from_millis(self.config.request_timeout_ms);
        let id = self.requests.start(deadline, Purpose::InitProducerId);
        let to = self.metadata.any_broker(idempotence.attempts);
        idempotence.attempts += 1;
        idempotence.in_flight = Some(id);
        idempotence.retry_at = None;
        let request = Request::InitProducerId(InitProducerIdRequest::idempotent());
        self.outputs
            .push_back(ProducerOutput::Request { to, id, request });
    }

    /// When the next InitProducerId is due, if one is wanted and not in flight.
    pub(super) fn init_producer_id_due(&self) -> Option<Instant> {
        let idempotence = self.idempotence.as_ref()?;
        if idempotence.producer.is_some() || idempotence.in_flight.is_some() {
            return None;
        }
        Some(idempotence.retry_at.unwrap_or(Instant::ZERO))
    }

    /// The answer to InitProducerId: an id to use, or a retry after the backoff (errors such
    /// as COORDINATOR_LOAD_IN_PROGRESS pass; a broker that never gives one leaves the records
    /// to their delivery timeout).
    pub(super) fn init_producer_id_answered(
        &mut self,
        now: Instant,
        response: Result<&Response, Disconnected>,
    ) {
        let backoff = Duration::from_millis(self.config.retry_backoff_ms);
        let idempotence = self
            .idempotence
            .as_mut()
            .expect("only idempotent producers ask");
        idempotence.in_flight = None;
        match response {
            Ok(Response::InitProducerId(answer))
                if answer.error == ErrorCode::None
                    && answer.producer_id >= 0
                    && answer.producer_epoch >= 0 =>
            {
                idempotence.producer = Some((answer.producer_id, answer.producer_epoch));
                idempotence.sequences.clear();
            }
            other => {
                idempotence.retry_at = Some(now + backoff);
                if other.is_err() {
                    self.metadata.request_refresh();
                }
            }
        }
    }
}
