//! Client tests against a tiny fake cluster: one log per partition, a leader and a leader
//! epoch, answering at once (a fetch with nothing to return is parked, like a long poll).

mod consumer;
mod fake_group;
mod group;
mod idempotent;
mod producer;

use std::collections::{BTreeMap, VecDeque};

use crate::api::*;
use crate::client::Disconnected;
use crate::controller::BrokerId;
use crate::record::{
    stamp_base_offset, stamp_partition_leader_epoch, BatchHeader, Compression, RecordBatchBuilder,
};
use crate::replica::{ProducerStates, SequenceCheck, PRODUCER_ID_EXPIRATION_MS_DEFAULT};
use crate::time::Instant;
use fake_group::FakeGroups;

pub(super) fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition {
        topic: topic.to_owned(),
        partition,
    }
}

/// One partition: its leader, epoch history and log of stamped batches.
#[derive(Clone, Debug)]
pub(super) struct FakePartition {
    pub(super) leader: BrokerId,
    pub(super) epoch: i32,
    /// (epoch, start offset), ascending.
    pub(super) epochs: Vec<(i32, i64)>,
    pub(super) batches: Vec<Vec<u8>>,
    pub(super) log_start: i64,
    /// Idempotent producers' state, checked as a real leader checks it.
    pub(super) producers: ProducerStates,
}

impl FakePartition {
    pub(super) fn end(&self) -> i64 {
        let last = self.batches.last();
        last.map_or(self.log_start, |b| {
            BatchHeader::parse(b).unwrap().next_offset()
        })
    }
}

/// What the fake does with the next Produce instead of appending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fault {
    Error(ErrorCode),
    /// Appends, then reports the error (as NOT_ENOUGH_REPLICAS_AFTER_APPEND does).
    AppendThenError(ErrorCode),
    /// Appends, then the connection drops before the answer.
    AppendThenDisconnect,
    /// Never answers.
    BlackHole,
}

#[derive(Clone, Debug, Default)]
pub(super) struct FakeCluster {
    pub(super) brokers: Vec<BrokerId>,
    pub(super) topics: BTreeMap<String, Vec<FakePartition>>,
    pub(super) produce_faults: VecDeque<Fault>,
    /// The next producer id InitProducerId hands out.
    pub(super) next_producer_id: i64,
    /// Answers to InitProducerId to give before handing out ids.
    pub(super) init_faults: VecDeque<ErrorCode>,
    /// The time the group coordinator answers at (its sessions and rebalances need one).
    pub(super) now: Instant,
    /// The group coordinator, led by broker 1 unless moved.
    pub(super) groups: FakeGroups,
}

impl FakeCluster {
    /// Brokers 1..=broker_count; each topic's partitions led by broker 1 in epoch 0.
    pub(super) fn new(broker_count: i32, topics: &[(&str, usize)]) -> FakeCluster {
        let mut cluster = FakeCluster {
            brokers: (1..=broker_count).collect(),
            ..FakeCluster::default()
        };
        cluster.groups.coordinator = 1;
        for (name, count) in topics {
            let partition = FakePartition {
                leader: 1,
                epoch: 0,
                epochs: vec![(0, 0)],
                batches: Vec::new(),
                log_start: 0,
                producers: ProducerStates::new(PRODUCER_ID_EXPIRATION_MS_DEFAULT),
            };
            cluster
                .topics
                .insert(name.to_string(), vec![partition; *count]);
        }
        cluster
    }

    pub(super) fn partition(&mut self, tp: &TopicPartition) -> &mut FakePartition {
        &mut self.topics.get_mut(&tp.topic).unwrap()[tp.partition as usize]
    }

    /// Appends a batch with `values` in the current epoch, as the leader would.
    pub(super) fn append(&mut self, tp: &TopicPartition, values: &[&str]) {
        let mut builder = RecordBatchBuilder::new(Compression::None);
        for value in values {
            builder.append(1_000, None, Some(value.as_bytes()), &[]);
        }
        self.append_batch(tp, builder.build());
    }

    fn append_batch(&mut self, tp: &TopicPartition, mut batch: Vec<u8>) -> i64 {
        let partition = self.partition(tp);
        let base = partition.end();
        stamp_base_offset(&mut batch, base);
        stamp_partition_leader_epoch(&mut batch, partition.epoch);
        partition
            .producers
            .record(&BatchHeader::parse(&batch).unwrap());
        partition.batches.push(batch);
        base
    }

    /// Makes `leader` the leader in a new epoch starting at the log end.
    pub(super) fn elect(&mut self, tp: &TopicPartition, leader: BrokerId) {
        let partition = self.partition(tp);
        let end = partition.end();
        partition.leader = leader;
        partition.epoch += 1;
        let epoch = partition.epoch;
        partition.epochs.push((epoch, end));
    }

    /// Cuts the log back to the batch boundary `offset`, and the epoch history with it.
    pub(super) fn truncate(&mut self, tp: &TopicPartition, offset: i64) {
        let partition = self.partition(tp);
        partition
            .batches
            .retain(|b| BatchHeader::parse(b).unwrap().base_offset < offset);
        assert_eq!(partition.end(), offset, "truncate at a batch boundary");
        partition.epochs.retain(|(_, start)| *start <= offset);
    }

    /// Whether Produce records reached the log: every value appended, in offset order.
    pub(super) fn values(&mut self, tp: &TopicPartition) -> Vec<String> {
        let partition = self.partition(tp);
        let mut values = Vec::new();
        for batch in &partition.batches {
            for record in crate::record::RecordBatch::parse(batch)
                .unwrap()
                .records()
                .unwrap()
            {
                values.push(String::from_utf8(record.value.unwrap()).unwrap());
            }
        }
        values
    }

    /// The answer `to` gives `request`; `None` to leave it unanswered for now. A fetch with
    /// nothing to return is held (`None`) unless `fetch_wait_over`.
    pub(super) fn answer(
        &mut self,
        to: BrokerId,
        request: &Request,
        fetch_wait_over: bool,
    ) -> Option<Result<Response, Disconnected>> {
        match request {
            Request::Metadata(metadata) => Some(Ok(Response::Metadata(self.metadata(metadata)))),
            Request::Produce(produce) => self.produce(to, produce),
            Request::Fetch(fetch) => {
                let (answer, worth_answering) = self.fetch(to, fetch);
                (worth_answering || fetch_wait_over).then_some(Ok(Response::Fetch(answer)))
            }
            Request::ListOffsets(list) => Some(Ok(Response::ListOffsets(self.list(to, list)))),
            Request::OffsetForLeaderEpoch(epochs) => {
                let answer = self.epochs(to, epochs);
                Some(Ok(Response::OffsetForLeaderEpoch(answer)))
            }
            Request::InitProducerId(_) => {
                let answer = match self.init_faults.pop_front() {
                    Some(error) => InitProducerIdResponse::error(error),
                    None => {
                        self.next_producer_id += 1;
                        InitProducerIdResponse::fresh(self.next_producer_id - 1)
                    }
                };
                Some(Ok(Response::InitProducerId(answer)))
            }
            // The client state machines send no admin requests.
            Request::Admin(admin) => Some(Ok(Response::Admin(
                admin.refuse(crate::api::ErrorCode::InvalidRequest),
            ))),
            Request::Group(group) => self.groups.answer(self.now, to, group),
        }
    }

    fn metadata(&self, request: &MetadataRequest) -> MetadataResponse {
        let names = request.topics.clone().unwrap_or_default();
        let topics = names.into_iter().map(|name| match self.topics.get(&name) {
            None => TopicMetadata {
                error: ErrorCode::UnknownTopicOrPartition,
                name,
                partitions: Vec::new(),
            },
            Some(partitions) => TopicMetadata {
                error: ErrorCode::None,
                name,
                partitions: (0..partitions.len())
                    .map(|index| PartitionMetadata {
                        error: ErrorCode::None,
                        partition: index as i32,
                        leader: partitions[index].leader,
                        leader_epoch: partitions[index].epoch,
                        replicas: self.brokers.clone(),
                        isr: self.brokers.clone(),
                    })
                    .collect(),
            },
        });
        MetadataResponse {
            brokers: self.brokers.clone(),
            topics: topics.collect(),
        }
    }

    /// The error a request for `tp` at `to` with `current_epoch` gets before anything else.
    fn leader_error(
        &mut self,
        to: BrokerId,
        tp: &TopicPartition,
        current_epoch: Option<i32>,
    ) -> ErrorCode {
        let partition = self.partition(tp);
        match current_epoch {
            _ if partition.leader != to => ErrorCode::NotLeaderOrFollower,
            Some(epoch) if epoch < partition.epoch => ErrorCode::FencedLeaderEpoch,
            Some(epoch) if epoch > partition.epoch => ErrorCode::UnknownLeaderEpoch,
            _ => ErrorCode::None,
        }
    }

    fn produce(
        &mut self,
        to: BrokerId,
        request: &ProduceRequest,
    ) -> Option<Result<Response, Disconnected>> {
        let fault = self.produce_faults.pop_front();
        let mut partitions = Vec::new();
        for (tp, batch) in &request.partitions {
            let error = self.leader_error(to, tp, None);
            let answer = match fault {
                _ if error != ErrorCode::None => ProducePartitionResponse::error(tp.clone(), error),
                Some(Fault::Error(code)) => ProducePartitionResponse::error(tp.clone(), code),
                // Lost on the way: never appended, never answered.
                Some(Fault::BlackHole) => {
                    ProducePartitionResponse::error(tp.clone(), ErrorCode::RequestTimedOut)
                }
                Some(Fault::AppendThenError(code)) => {
                    self.append_batch(tp, batch.to_vec());
                    ProducePartitionResponse::error(tp.clone(), code)
                }
                _ => self.produce_one(tp, batch),
            };
            partitions.push(answer);
        }
        match fault {
            Some(Fault::BlackHole) => None,
            Some(Fault::AppendThenDisconnect) => Some(Err(Disconnected)),
            _ if request.acks == 0 => None,
            _ => Some(Ok(Response::Produce(ProduceResponse { partitions }))),
        }
    }

    /// Checks the batch's sequence as a leader does, then appends it.
    fn produce_one(&mut self, tp: &TopicPartition, batch: &[u8]) -> ProducePartitionResponse {
        let header = BatchHeader::parse(batch).unwrap();
        let base_offset = match self.partition(tp).producers.check(&header) {
            Err(error) => return ProducePartitionResponse::error(tp.clone(), error),
            Ok(SequenceCheck::Duplicate(original)) => original.first_offset,
            Ok(SequenceCheck::Append) => self.append_batch(tp, batch.to_vec()),
        };
        let mut answer = ProducePartitionResponse::error(tp.clone(), ErrorCode::None);
        answer.base_offset = base_offset;
        answer
    }

    fn fetch(&mut self, to: BrokerId, request: &FetchRequest) -> (FetchResponse, bool) {
        let mut partitions = Vec::new();
        let mut worth_answering = false;
        for asked in &request.partitions {
            let tp = &asked.partition;
            let error = self.leader_error(to, tp, asked.current_leader_epoch);
            let partition = self.partition(tp);
            let (start, end) = (partition.log_start, partition.end());
            let out_of_range = asked.fetch_offset < start || asked.fetch_offset > end;
            let error = match error {
                ErrorCode::None if out_of_range => ErrorCode::OffsetOutOfRange,
                other => other,
            };
            let mut answer = FetchPartitionResponse::error(tp.clone(), error);
            if error == ErrorCode::None {
                answer.high_watermark = end;
                answer.log_start_offset = start;
                let mut records = Vec::new();
                for batch in &partition.batches {
                    if BatchHeader::parse(batch).unwrap().next_offset() > asked.fetch_offset {
                        records.extend_from_slice(batch);
                    }
                }
                answer.records = FetchRecords::from(records);
            }
            worth_answering |= error != ErrorCode::None || !answer.records.is_empty();
            partitions.push(answer);
        }
        let error = ErrorCode::None;
        (FetchResponse { error, partitions }, worth_answering)
    }

    fn list(&mut self, to: BrokerId, request: &ListOffsetsRequest) -> ListOffsetsResponse {
        let mut partitions = Vec::new();
        for asked in &request.partitions {
            let tp = &asked.partition;
            let error = self.leader_error(to, tp, asked.current_leader_epoch);
            if error != ErrorCode::None {
                partitions.push(ListedOffset::error(tp.clone(), error));
                continue;
            }
            let partition = self.partition(tp);
            let offset = match asked.timestamp {
                EARLIEST_TIMESTAMP => partition.log_start,
                LATEST_TIMESTAMP => partition.end(),
                other => panic!("the fake lists only earliest and latest, not {other}"),
            };
            let (error, timestamp, leader_epoch) = (ErrorCode::None, -1, partition.epoch);
            let (partition, offset) = (tp.clone(), offset);
            partitions.push(ListedOffset {
                partition,
                error,
                timestamp,
                offset,
                leader_epoch,
            });
        }
        ListOffsetsResponse { partitions }
    }

    /// KIP-101/320: the largest epoch at or below the one asked, and where it ends.
    fn epochs(
        &mut self,
        to: BrokerId,
        request: &OffsetForLeaderEpochRequest,
    ) -> OffsetForLeaderEpochResponse {
        let mut partitions = Vec::new();
        for asked in &request.partitions {
            let tp = &asked.partition;
            let error = self.leader_error(to, tp, asked.current_leader_epoch);
            if error != ErrorCode::None {
                partitions.push(EpochEndOffset::error(tp.clone(), error));
                continue;
            }
            let partition = self.partition(tp);
            let at_or_below = partition
                .epochs
                .iter()
                .rposition(|(e, _)| *e <= asked.leader_epoch);
            let answer = match at_or_below {
                None => EpochEndOffset::error(tp.clone(), ErrorCode::None),
                Some(index) => EpochEndOffset {
                    partition: tp.clone(),
                    error: ErrorCode::None,
                    leader_epoch: partition.epochs[index].0,
                    end_offset: partition
                        .epochs
                        .get(index + 1)
                        .map_or(partition.end(), |(_, start)| *start),
                },
            };
            partitions.push(answer);
        }
        OffsetForLeaderEpochResponse { partitions }
    }
}
