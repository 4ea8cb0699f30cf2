//! Fetching: one request per broker, and turning the answer into records at the position.

use super::{ConsumedRecord, Consumer, ConsumerError, ConsumerOutput, Phase, Position, Purpose};
use crate::api::{
    ErrorCode, FetchPartition, FetchPartitionResponse, FetchRequest, IsolationLevel, Request,
    Response, TopicPartition, CONSUMER_REPLICA_ID,
};
use crate::client::Disconnected;
use crate::controller::BrokerId;
use crate::record::{BatchError, RecordBatch};
use crate::time::{Duration, Instant};

impl Consumer {
    /// Fetches `partitions` from their leader `to`, each from its position.
    pub(super) fn send_fetch(
        &mut self,
        now: Instant,
        to: BrokerId,
        partitions: Vec<TopicPartition>,
    ) {
        assert!(!partitions.is_empty());
        assert!(self.fetching.insert(to), "one fetch per broker");
        // The leader may hold the request for fetch.max.wait.ms before answering.
        let wait = Duration::from_millis(self.config.fetch_max_wait_ms);
        let id = self
            .requests
            .start(self.deadline(now) + wait, Purpose::Fetch(to));
        let epochs = self.start_partitions(id, &partitions);
        let mut fetch_partitions = Vec::with_capacity(partitions.len());
        for (tp, current_leader_epoch) in partitions.into_iter().zip(epochs) {
            let Phase::Fetching(position) = self.assigned[&tp].phase else {
                unreachable!("only fetching partitions are fetched");
            };
            fetch_partitions.push(FetchPartition {
                partition: tp,
                current_leader_epoch,
                fetch_offset: position.offset,
                log_start_offset: -1,
                partition_max_bytes: self.config.max_partition_fetch_bytes,
            });
        }
        let request = Request::Fetch(FetchRequest {
            replica_id: CONSUMER_REPLICA_ID,
            replica_epoch: -1,
            max_wait_ms: i32::try_from(self.config.fetch_max_wait_ms).unwrap_or(i32::MAX),
            min_bytes: self.config.fetch_min_bytes,
            max_bytes: self.config.fetch_max_bytes,
            isolation_level: IsolationLevel::ReadUncommitted,
            partitions: fetch_partitions,
        });
        self.outputs
            .push_back(ConsumerOutput::Request { to, id, request });
    }

    pub(super) fn fetch_answered(
        &mut self,
        now: Instant,
        id: u64,
        broker: BrokerId,
        response: Result<&Response, Disconnected>,
    ) {
        assert!(self.fetching.remove(&broker), "fetch in flight to {broker}");
        let answers = match response {
            Ok(Response::Fetch(fetch)) => Ok(fetch),
            _ => Err(Disconnected),
        };
        for tp in self.finish_partitions(id) {
            let answer = answers.map(|fetch| {
                let found = fetch.partitions.iter().find(|p| p.partition == tp);
                (fetch.error, found)
            });
            match answer {
                Ok((ErrorCode::None, Some(answer))) => self.fetched(now, &tp, answer),
                Ok((ErrorCode::None, None)) | Err(Disconnected) => self.retry_later(now, &tp, None),
                Ok((error, _)) => self.fetch_failed(now, &tp, error),
            }
        }
    }

    fn fetched(&mut self, now: Instant, tp: &TopicPartition, answer: &FetchPartitionResponse) {
        let Phase::Fetching(position) = self.assigned[tp].phase else {
            unreachable!("a phase change clears the pending fetch");
        };
        if answer.error != ErrorCode::None {
            return self.fetch_failed(now, tp, answer.error);
        }
        let read = read_batches(answer.records.bytes(), position);
        assert!(
            read.position.offset >= position.offset,
            "positions only move forward"
        );
        self.assigned.get_mut(tp).expect("assigned").phase = Phase::Fetching(read.position);
        let output = match read.records.is_empty() {
            false => ConsumerOutput::Records {
                partition: tp.clone(),
                records: read.records,
                high_watermark: answer.high_watermark,
                log_start_offset: answer.log_start_offset,
            },
            true => ConsumerOutput::Caught {
                partition: tp.clone(),
                high_watermark: answer.high_watermark,
                log_start_offset: answer.log_start_offset,
            },
        };
        self.outputs.push_back(output);
        if read.corrupt {
            let offset = read.position.offset;
            self.report(tp, ConsumerError::CorruptBatch { offset });
            self.retry_later(now, tp, Some(ErrorCode::CorruptMessage));
        }
    }

    fn fetch_failed(&mut self, now: Instant, tp: &TopicPartition, error: ErrorCode) {
        let Phase::Fetching(position) = self.assigned[tp].phase else {
            unreachable!("a phase change clears the pending fetch");
        };
        match error {
            ErrorCode::OffsetOutOfRange => self.validate(tp, position, true),
            ErrorCode::FencedLeaderEpoch | ErrorCode::UnknownLeaderEpoch => {
                self.retry_later(now, tp, Some(error));
                self.validate(tp, position, false);
            }
            _ => self.retry_later(now, tp, Some(error)),
        }
    }

    /// Validates `position` with OffsetForLeaderEpoch before fetching again. Without a last
    /// epoch there is nothing to validate: an out-of-range position is reset, another kept.
    pub(super) fn validate(&mut self, tp: &TopicPartition, position: Position, out_of_range: bool) {
        if position.last_epoch.is_none() {
            if out_of_range {
                let reason = super::ResetReason::OffsetOutOfRange;
                return self.reset(tp, position.offset, reason);
            }
            return;
        }
        let state = self.assigned.get_mut(tp).expect("assigned");
        state.enter(Phase::AwaitingValidation {
            position,
            out_of_range,
        });
    }
}

/// What a fetch answer held at and after the position.
#[derive(Debug)]
struct Read {
    records: Vec<ConsumedRecord>,
    /// Past the last whole batch read (past records before the position too, and past
    /// control batches, which carry no records for the application).
    position: Position,
    /// Whether a batch failed its checks; reading stopped before it.
    corrupt: bool,
}

/// Reads whole batches from a fetch answer. A batch cut short at the end is normal (the
/// leader fills up to the size limit, KIP-74) and is fetched again next time.
fn read_batches(mut bytes: &[u8], mut position: Position) -> Read {
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let batch = match RecordBatch::parse(bytes) {
            Ok(batch) => batch,
            Err(BatchError::Truncated { .. }) => break,
            Err(_) => {
                return Read {
                    records,
                    position,
                    corrupt: true,
                }
            }
        };
        bytes = &bytes[batch.bytes().len()..];
        let header = *batch.header();
        if header.next_offset() <= position.offset {
            continue;
        }
        if !batch.attributes().is_control() {
            let Ok(decoded) = batch.records() else {
                return Read {
                    records,
                    position,
                    corrupt: true,
                };
            };
            let leader_epoch = header.partition_leader_epoch;
            let at_or_after = decoded.into_iter().filter(|r| r.offset >= position.offset);
            records.extend(at_or_after.map(|record| ConsumedRecord {
                offset: record.offset,
                leader_epoch,
                timestamp: record.timestamp,
                key: record.key,
                value: record.value,
            }));
        }
        let last_epoch =
            (header.partition_leader_epoch >= 0).then_some(header.partition_leader_epoch);
        position = Position {
            offset: header.next_offset(),
            last_epoch,
        };
    }
    Read {
        records,
        position,
        corrupt: false,
    }
}
