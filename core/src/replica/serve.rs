//! The leader side of the data plane: Produce, Fetch (from consumers and followers),
//! ListOffsets, Metadata and OffsetForLeaderEpoch, and the purgatory of requests waiting for
//! the ISR or for data.

use super::manager::{PartitionKey, ReplicaManager, ReplicaOutput};
use crate::api::{
    AdminRequest, ErrorCode, FetchRequest, InitProducerIdResponse, MetadataRequest,
    MetadataResponse, PartitionMetadata, ProducePartitionResponse, ProduceRequest, ProduceResponse,
    Request, Response, TopicMetadata, TopicPartition, CONSUMER_REPLICA_ID,
};
use crate::bugs::{self, Bug};
use crate::controller::{MetadataImage, NO_LEADER};
use crate::disk::Disk;
use crate::time::{Duration, Instant};

/// A produce with acks=all waiting for the ISR to hold its batches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelayedProduce {
    pub(super) client: u64,
    pub(super) deadline: Instant,
    pub(super) responses: Vec<ProducePartitionResponse>,
    /// (response index, partition, offset the high watermark must pass, leader epoch).
    pub(super) waiting: Vec<(usize, PartitionKey, i64, i32)>,
    /// (response index, partition, offset after its batch): what the answer promises is
    /// written, and so waits to be durable where a flush of it is under way.
    pub(super) written: Vec<(usize, PartitionKey, i64)>,
}

/// A fetch waiting for `min_bytes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelayedFetch {
    pub(super) client: u64,
    pub(super) deadline: Instant,
    pub(super) request: FetchRequest,
    /// The replicas it reads, as when it arrived: a wake of one of them tries it again.
    pub(super) keys: Vec<PartitionKey>,
}

impl ReplicaManager {
    /// Serves one request; the answer comes out as [`ReplicaOutput::Respond`] with `client`.
    pub fn handle_request(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        image: &MetadataImage,
        client: u64,
        request: Request,
    ) {
        self.serve(now, wall_ms, disk, image, client, request);
        self.complete_woken_fetches(now, disk);
    }

    fn serve(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        image: &MetadataImage,
        client: u64,
        request: Request,
    ) {
        let response = match request {
            Request::Produce(request) => {
                self.produce(now, wall_ms, disk, image, client, request);
                return;
            }
            Request::Fetch(request) => {
                self.fetch(now, disk, image, client, request);
                return;
            }
            Request::ListOffsets(request) => {
                Response::ListOffsets(self.list_offsets(disk, image, &request))
            }
            Request::Metadata(request) => Response::Metadata(metadata(image, &request)),
            Request::OffsetForLeaderEpoch(request) => {
                Response::OffsetForLeaderEpoch(self.epoch_end_offsets(image, &request))
            }
            // Producer ids come from the broker's block (`crate::broker::ProducerIdBlocks`),
            // which its driver consults before the replicas; a manager alone has none.
            Request::InitProducerId(_) => Response::InitProducerId(InitProducerIdResponse::error(
                ErrorCode::CoordinatorNotAvailable,
            )),
            Request::Admin(AdminRequest::DeleteRecords(request)) => {
                let (answer, after) = self.delete_records(image, &request);
                self.respond_after(client, Response::Admin(answer), after);
                return;
            }
            // The broker serves the other admin requests itself.
            Request::Admin(request) => Response::Admin(request.refuse(ErrorCode::InvalidRequest)),
            // The broker's group coordinator serves these; a manager alone coordinates nothing.
            Request::Group(request) => {
                Response::Group(request.refuse(ErrorCode::CoordinatorNotAvailable))
            }
        };
        self.respond(client, response);
    }

    pub(super) fn respond(&mut self, client: u64, response: Response) {
        self.respond_after(client, response, None);
    }

    fn respond_after(&mut self, client: u64, response: Response, after: Option<u64>) {
        self.outputs.push_back(ReplicaOutput::Respond {
            client,
            response,
            after,
        });
    }

    /// The leader replica of `tp`, or the error a client gets instead.
    pub(super) fn leader_key(
        &mut self,
        image: &MetadataImage,
        tp: &TopicPartition,
        current_leader_epoch: Option<i32>,
    ) -> Result<PartitionKey, ErrorCode> {
        let Some(topic_id) = image.topic_id(&tp.topic) else {
            return Err(ErrorCode::UnknownTopicOrPartition);
        };
        let key = (topic_id, tp.partition);
        let Some(partition) = self.partitions.get(&key) else {
            return match image.partition(topic_id, tp.partition) {
                Some(_) => Err(ErrorCode::NotLeaderOrFollower),
                None => Err(ErrorCode::UnknownTopicOrPartition),
            };
        };
        partition.check_leads(current_leader_epoch)?;
        Ok(key)
    }

    fn produce(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        image: &MetadataImage,
        client: u64,
        request: ProduceRequest,
    ) {
        let mut responses = Vec::with_capacity(request.partitions.len());
        let mut waiting = Vec::new();
        let mut written = Vec::new();
        for (tp, batch) in request.partitions {
            let answer = self.produce_one(disk, image, wall_ms, request.acks, &tp, &batch);
            match answer {
                Ok((key, base_offset, next_offset, epoch)) => {
                    if request.acks == -1 {
                        waiting.push((responses.len(), key, next_offset, epoch));
                    }
                    written.push((responses.len(), key, next_offset));
                    let log_start = self.partitions[&key].log.log_start_offset();
                    responses.push(ProducePartitionResponse {
                        partition: tp,
                        error: ErrorCode::None,
                        base_offset,
                        log_append_time_ms: -1,
                        log_start_offset: log_start,
                    });
                    self.on_progress(key);
                }
                Err(error) => responses.push(ProducePartitionResponse::error(tp, error)),
            }
        }
        // One sync for the whole request: every partition it wrote that wants one.
        let keys: Vec<PartitionKey> = written.iter().map(|(_, key, _)| *key).collect();
        self.flush_wanted(disk, &keys, wall_ms);
        if request.acks == 0 {
            return;
        }
        let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
        let delayed = DelayedProduce {
            client,
            deadline: now.checked_add(timeout).unwrap_or(now),
            responses,
            waiting,
            written,
        };
        let id = self.next_id();
        self.produces.insert(id, delayed);
        self.try_complete_produce(id, false);
    }

    /// Appends one partition's batch; returns its key, base offset, the offset after it and
    /// the leader epoch it was appended in.
    fn produce_one(
        &mut self,
        disk: &mut dyn Disk,
        image: &MetadataImage,
        wall_ms: i64,
        acks: i16,
        tp: &TopicPartition,
        batch: &[u8],
    ) -> Result<(PartitionKey, i64, i64, i32), ErrorCode> {
        if !matches!(acks, -1..=1) {
            return Err(ErrorCode::InvalidRequiredAcks);
        }
        let key = self.leader_key(image, tp, None)?;
        let min_isr = self.config.min_insync_replicas;
        let partition = self.partitions.get_mut(&key).expect("leader_key found it");
        let min_isr = partition.min_insync_replicas.unwrap_or(min_isr);
        let state = partition.leader().expect("leader_key checked");
        if acks == -1 && state.isr.len() < min_isr {
            self.stats.not_enough_replicas += 1;
            return Err(ErrorCode::NotEnoughReplicas);
        }
        let epoch = state.leader_epoch;
        let append = partition.append_as_leader(disk, batch, wall_ms);
        // A failed write takes the replica offline under the fetches held on it.
        if partition.take_wake() {
            self.woken.insert(key);
        }
        let append = append?;
        if append.duplicate {
            self.stats.duplicate_batches += 1;
        }
        let info = append.info;
        Ok((key, info.base_offset, info.last_offset + 1, epoch))
    }

    /// Answers the produce once nothing it waits for is missing (or at its deadline).
    fn try_complete_produce(&mut self, id: u64, expired: bool) {
        let min_isr = self.config.min_insync_replicas;
        let Some(produce) = self.produces.get_mut(&id) else {
            return;
        };
        let mut still_waiting = Vec::new();
        for (index, key, required, epoch) in produce.waiting.drain(..) {
            let error = match self.partitions.get(&key) {
                Some(p) if p.leader().is_some_and(|s| s.leader_epoch == epoch) => {
                    let isr_size = p.leader().map_or(0, |s| s.isr.len());
                    // The planted bug answers once the leader alone holds the batch.
                    let held = match bugs::active(Bug::ReplicaAckBeforeIsr) {
                        true => p.log_end_offset(),
                        false => p.high_watermark,
                    };
                    if held >= required {
                        None
                    } else if !expired {
                        still_waiting.push((index, key, required, epoch));
                        continue;
                    } else if isr_size < p.min_insync_replicas.unwrap_or(min_isr) {
                        Some(ErrorCode::NotEnoughReplicasAfterAppend)
                    } else {
                        Some(ErrorCode::RequestTimedOut)
                    }
                }
                // Leadership moved while the batch waited: it may or may not survive.
                _ => Some(ErrorCode::NotLeaderOrFollower),
            };
            if let Some(error) = error {
                let response = &mut produce.responses[index];
                response.error = error;
                response.base_offset = -1;
            }
        }
        produce.waiting = still_waiting;
        if !produce.waiting.is_empty() {
            return;
        }
        let produce = self.produces.remove(&id).expect("present");
        for response in &produce.responses {
            match response.error {
                ErrorCode::NotEnoughReplicasAfterAppend => {
                    self.stats.not_enough_replicas_after_append += 1
                }
                ErrorCode::RequestTimedOut => self.stats.produce_timeouts += 1,
                _ => {}
            }
        }
        // What the answer promises written must be durable where a flush of it is under way
        // (fsync mode, `flush.messages`): the answer leaves after that sync.
        let needs: Vec<(PartitionKey, i64)> = produce
            .written
            .iter()
            .filter(|(index, _, _)| produce.responses[*index].error == ErrorCode::None)
            .map(|(_, key, end)| (*key, *end))
            .collect();
        let after = match bugs::active(Bug::ReplicaAckBeforeSync) {
            // The planted bug answers as soon as the batch is in the page cache.
            true => None,
            false => self.durable_after(&needs),
        };
        let response = Response::Produce(ProduceResponse {
            partitions: produce.responses,
        });
        self.respond_after(produce.client, response, after);
    }

    /// Answers every produce waiting on `key` that can be answered: its batch reached the
    /// high watermark, or this replica no longer leads `key` in that batch's epoch.
    pub(super) fn complete_produces_for(&mut self, key: PartitionKey) {
        let ids: Vec<u64> = self
            .produces
            .iter()
            .filter(|(_, p)| p.waiting.iter().any(|w| w.1 == key))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.try_complete_produce(id, false);
        }
    }

    /// After an append, a follower's fetch or an ISR change: moves the high watermark and
    /// answers whatever that unblocks.
    pub(super) fn on_progress(&mut self, key: PartitionKey) {
        self.advance_high_watermark(key);
        self.complete_produces_for(key);
        self.woken.insert(key);
    }

    fn advance_high_watermark(&mut self, key: PartitionKey) -> bool {
        let me = self.me;
        let min_isr = self.config.min_insync_replicas;
        let Some(partition) = self.partitions.get_mut(&key) else {
            return false;
        };
        let min_isr = partition.min_insync_replicas.unwrap_or(min_isr);
        let Some(state) = partition.leader() else {
            return false;
        };
        let end = partition.held_end(self.config.durability);
        match state.supported_high_watermark(me, end, min_isr) {
            Some(hw) => partition.raise_high_watermark(hw),
            None => false,
        }
    }

    /// Answers expired produces and fetches.
    pub(super) fn expire_delayed(&mut self, now: Instant, disk: &mut dyn Disk) {
        let produces: Vec<u64> = self
            .produces
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in produces {
            self.try_complete_produce(id, true);
        }
        self.complete_fetches(now, disk);
    }

    fn fetch(
        &mut self,
        now: Instant,
        disk: &mut dyn Disk,
        image: &MetadataImage,
        client: u64,
        request: FetchRequest,
    ) {
        if request.replica_id != CONSUMER_REPLICA_ID {
            self.record_follower_fetch(now, image, &request);
            // What this follower's progress unblocks is answered before its own fetch is held,
            // which is tried just below: tried among the woken too, it would be read twice.
            self.complete_woken_fetches(now, disk);
        }
        let wait = Duration::from_millis(request.max_wait_ms.max(0) as u64);
        let keys = request
            .partitions
            .iter()
            .filter_map(|wanted| self.key_of(&wanted.partition.topic, wanted.partition.partition))
            .collect();
        let delayed = DelayedFetch {
            client,
            deadline: now.checked_add(wait).unwrap_or(now),
            request,
            keys,
        };
        let id = self.next_id();
        self.fetches.insert(id, delayed);
        self.try_complete_fetch(now, disk, id);
    }

    /// A follower's fetch offset is its log end: the leader learns its progress from it, may
    /// move the high watermark, and may let it back into the ISR.
    fn record_follower_fetch(
        &mut self,
        now: Instant,
        image: &MetadataImage,
        request: &FetchRequest,
    ) {
        let follower = request.replica_id;
        for wanted in &request.partitions {
            let Ok(key) = self.leader_key(image, &wanted.partition, wanted.current_leader_epoch)
            else {
                continue;
            };
            let partition = self.partitions.get_mut(&key).expect("leader_key found it");
            let end = partition.log_end_offset();
            if wanted.fetch_offset > end {
                continue;
            }
            let state = partition.leader_mut().expect("leader_key checked");
            state.record_fetch(follower, wanted.fetch_offset, end, now);
            self.on_progress(key);
            self.propose_isr(now, key, image);
        }
    }
}

/// The Metadata answer from this broker's image.
/// Metadata as of `image`: the live brokers and the topics asked for (all when none are
/// named), a missing one UNKNOWN_TOPIC_OR_PARTITION.
pub(crate) fn metadata(image: &MetadataImage, request: &MetadataRequest) -> MetadataResponse {
    let brokers = image
        .brokers()
        .filter(|b| b.is_active())
        .map(|b| b.broker_id)
        .collect();
    let names: Vec<String> = match &request.topics {
        Some(names) => names.clone(),
        None => image.topics().map(|t| t.name.clone()).collect(),
    };
    let topics = names
        .into_iter()
        .map(|name| match image.topic_by_name(&name) {
            None => TopicMetadata {
                error: ErrorCode::UnknownTopicOrPartition,
                name,
                partitions: Vec::new(),
            },
            Some(topic) => TopicMetadata {
                error: ErrorCode::None,
                name,
                partitions: topic
                    .partitions
                    .iter()
                    .enumerate()
                    .map(|(index, state)| PartitionMetadata {
                        error: if state.leader == NO_LEADER {
                            ErrorCode::LeaderNotAvailable
                        } else {
                            ErrorCode::None
                        },
                        partition: index as i32,
                        leader: state.leader,
                        leader_epoch: state.leader_epoch,
                        replicas: state.replicas.clone(),
                        isr: state.isr.clone(),
                    })
                    .collect(),
            },
        })
        .collect();
    MetadataResponse { brokers, topics }
}
