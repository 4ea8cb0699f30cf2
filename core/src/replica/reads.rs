//! Serving reads: fetches (answered at once or held for `min_bytes`), ListOffsets and
//! OffsetForLeaderEpoch.

use super::config::FetchReads;
use super::manager::{PartitionKey, ReplicaManager};
use super::partition::Partition;
use crate::api::{
    EpochEndOffset, ErrorCode, FetchPartition, FetchPartitionResponse, FetchRecords, FetchResponse,
    FileRange, ListOffsetsRequest, ListOffsetsResponse, ListedOffset, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse, Response, CONSUMER_REPLICA_ID, EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
};
use crate::bugs::{self, Bug};
use crate::controller::{BrokerId, MetadataImage};
use crate::disk::Disk;
use crate::time::Instant;

impl ReplicaManager {
    /// Answers the held fetches that read a woken partition and can be answered now, and
    /// those whose wait is over.
    pub(super) fn complete_fetches(&mut self, now: Instant, disk: &mut dyn Disk) {
        let woken = std::mem::take(&mut self.woken);
        let ids: Vec<u64> = self
            .fetches
            .iter()
            .filter(|(_, f)| f.deadline <= now || f.keys.iter().any(|k| woken.contains(k)))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.try_complete_fetch(now, disk, id);
        }
    }

    /// Ends an input that woke partitions: their held fetches are tried again now, so a fetch
    /// is answered by the input that made its records readable. Left to the next timeout, the
    /// answer would wait for the driver's timer (a tick of the real runtime's clock) instead.
    /// Every input ends here, whether it woke any or not.
    pub(super) fn complete_woken_fetches(&mut self, now: Instant, disk: &mut dyn Disk) {
        // A read that fails takes its replica offline, which wakes the replica again; each
        // replica goes offline once, so this ends.
        while !self.woken.is_empty() {
            self.complete_fetches(now, disk);
        }
    }

    /// Wakes the held fetches of `key` if its replica changed under them in a way only it
    /// knows of (see `Partition::take_wake`): called after whatever may have made that change.
    pub(super) fn wake_if_changed(&mut self, key: PartitionKey) {
        if self
            .partitions
            .get_mut(&key)
            .is_some_and(Partition::take_wake)
        {
            self.woken.insert(key);
        }
    }

    /// Answers the held fetch `id` if it has `min_bytes`, an error, news for a follower, or
    /// its wait is over.
    pub(super) fn try_complete_fetch(&mut self, now: Instant, disk: &mut dyn Disk, id: u64) {
        let Some(delayed) = self.fetches.get(&id) else {
            return;
        };
        let request = delayed.request.clone();
        let expired = delayed.deadline <= now;
        let follower = (request.replica_id != CONSUMER_REPLICA_ID).then_some(request.replica_id);
        let mut budget = request.max_bytes.max(0) as usize;
        let mut bytes = 0usize;
        let mut news = false;
        let mut answers = Vec::with_capacity(request.partitions.len());
        for wanted in &request.partitions {
            let answer = self.read_partition(disk, follower, wanted, budget);
            if answer.error != ErrorCode::None {
                news = true;
            }
            if let Some(follower) = follower {
                news |= self.hw_is_news(follower, wanted, answer.high_watermark);
            }
            bytes += answer.records.len();
            budget = budget.saturating_sub(answer.records.len());
            answers.push(answer);
        }
        let enough = bytes >= request.min_bytes.max(0) as usize && bytes > 0;
        if !(enough || news || expired || request.min_bytes <= 0) {
            return;
        }
        let delayed = self.fetches.remove(&id).expect("present");
        if let Some(follower) = follower {
            self.note_hw_sent(follower, &request.partitions, &answers);
        }
        let response = Response::Fetch(FetchResponse {
            error: ErrorCode::None,
            partitions: answers,
        });
        self.respond(delayed.client, response);
    }

    fn read_partition(
        &mut self,
        disk: &mut dyn Disk,
        follower: Option<BrokerId>,
        wanted: &FetchPartition,
        budget: usize,
    ) -> FetchPartitionResponse {
        let tp = wanted.partition.clone();
        let key = match self.key_of(&tp.topic, tp.partition) {
            Some(key) => key,
            None => return FetchPartitionResponse::error(tp, ErrorCode::UnknownTopicOrPartition),
        };
        let Some(partition) = self.partitions.get_mut(&key) else {
            return FetchPartitionResponse::error(tp, ErrorCode::NotLeaderOrFollower);
        };
        // The `Bug::ReplicaSkipFetchEpochCheck` switch serves fetches whatever leader epoch
        // they name, a planted bug the replication scenarios must catch.
        let epoch = match bugs::active(Bug::ReplicaSkipFetchEpochCheck) {
            true => None,
            false => wanted.current_leader_epoch,
        };
        if let Err(error) = partition.check_leads(epoch) {
            if follower.is_some() && error == ErrorCode::FencedLeaderEpoch {
                self.stats.fenced_follower_fetches += 1;
            }
            return FetchPartitionResponse::error(tp, error);
        }
        let state = partition.leader().expect("checked");
        let hw = partition.high_watermark;
        if follower.is_none() && hw < state.epoch_start_offset {
            // A new leader's high watermark can trail its predecessor's until its followers
            // catch up: consumers wait rather than see it go backwards (KIP-207).
            return FetchPartitionResponse::error(tp, ErrorCode::OffsetNotAvailable);
        }
        let max_offset = follower.is_none().then_some(hw);
        let max_bytes = (wanted.partition_max_bytes.max(0) as usize).min(budget);
        let log_start = partition.log.log_start_offset();
        let as_range = self.config.fetch_reads == FetchReads::FileRanges;
        let offset = wanted.fetch_offset;
        let records = if as_range {
            partition
                .read_range(disk, offset, max_bytes, max_offset)
                .map(|range| match range.len {
                    0 => FetchRecords::default(),
                    len => FetchRecords::File(FileRange {
                        path: range.path,
                        position: range.position,
                        len: u32::try_from(len)
                            .expect("a read is at most max_bytes or one batch, both int32"),
                    }),
                })
        } else {
            partition
                .read(disk, offset, max_bytes, max_offset)
                .map(|slice| FetchRecords::from(slice.bytes))
        };
        // A failed read takes the replica offline under the other fetches held on it.
        if partition.take_wake() {
            self.woken.insert(key);
        }
        match records {
            Ok(records) => FetchPartitionResponse {
                partition: tp,
                error: ErrorCode::None,
                high_watermark: hw,
                last_stable_offset: hw,
                log_start_offset: log_start,
                records,
            },
            Err(error) => {
                let mut answer = FetchPartitionResponse::error(tp, error);
                answer.high_watermark = hw;
                answer.log_start_offset = log_start;
                answer
            }
        }
    }

    fn hw_is_news(&self, follower: BrokerId, wanted: &FetchPartition, hw: i64) -> bool {
        let Some(key) = self.key_of(&wanted.partition.topic, wanted.partition.partition) else {
            return false;
        };
        let progress = self.partitions.get(&key).and_then(|p| p.leader());
        progress
            .and_then(|state| state.followers.get(&follower))
            .is_some_and(|p| hw > p.high_watermark_sent)
    }

    fn note_hw_sent(
        &mut self,
        follower: BrokerId,
        wanted: &[FetchPartition],
        answers: &[FetchPartitionResponse],
    ) {
        for (wanted, answer) in wanted.iter().zip(answers) {
            let Some(key) = self.key_of(&wanted.partition.topic, wanted.partition.partition) else {
                continue;
            };
            let state = self.partitions.get_mut(&key).and_then(|p| p.leader_mut());
            if let Some(progress) = state.and_then(|s| s.followers.get_mut(&follower)) {
                progress.high_watermark_sent =
                    progress.high_watermark_sent.max(answer.high_watermark);
            }
        }
    }

    /// The key of a partition this broker holds, by topic name.
    pub(super) fn key_of(&self, topic: &str, index: i32) -> Option<PartitionKey> {
        self.names.get(topic)?.get(&index).copied()
    }

    pub(super) fn list_offsets(
        &mut self,
        disk: &mut dyn Disk,
        image: &MetadataImage,
        request: &ListOffsetsRequest,
    ) -> ListOffsetsResponse {
        let mut answers = Vec::with_capacity(request.partitions.len());
        for wanted in &request.partitions {
            let tp = wanted.partition.clone();
            let answer = match self.leader_key(image, &tp, wanted.current_leader_epoch) {
                Err(error) => ListedOffset::error(tp, error),
                Ok(key) => {
                    let partition = self.partitions.get_mut(&key).expect("found");
                    list_offset(partition, disk, tp, wanted.timestamp)
                }
            };
            answers.push(answer);
        }
        ListOffsetsResponse {
            partitions: answers,
        }
    }

    pub(super) fn epoch_end_offsets(
        &mut self,
        image: &MetadataImage,
        request: &OffsetForLeaderEpochRequest,
    ) -> OffsetForLeaderEpochResponse {
        let mut answers = Vec::with_capacity(request.partitions.len());
        for wanted in &request.partitions {
            let tp = wanted.partition.clone();
            let answer = match self.leader_key(image, &tp, wanted.current_leader_epoch) {
                Err(error) => EpochEndOffset::error(tp, error),
                Ok(key) => {
                    let (leader_epoch, end_offset) =
                        self.partitions[&key].end_offset_for(wanted.leader_epoch);
                    EpochEndOffset {
                        partition: tp,
                        error: ErrorCode::None,
                        leader_epoch,
                        end_offset,
                    }
                }
            };
            answers.push(answer);
        }
        OffsetForLeaderEpochResponse {
            partitions: answers,
        }
    }
}

fn list_offset(
    partition: &mut Partition,
    disk: &mut dyn Disk,
    tp: crate::api::TopicPartition,
    timestamp: i64,
) -> ListedOffset {
    let hw = partition.high_watermark;
    let epoch_start = partition.leader().map_or(0, |s| s.epoch_start_offset);
    let found = |offset: i64, timestamp: i64, epoch: i32| ListedOffset {
        partition: tp.clone(),
        error: ErrorCode::None,
        timestamp,
        offset,
        leader_epoch: epoch,
    };
    match timestamp {
        EARLIEST_TIMESTAMP => {
            let start = partition.log.log_start_offset();
            let epoch = partition.epochs.epoch_for_offset(start).unwrap_or(-1);
            found(start, -1, epoch)
        }
        LATEST_TIMESTAMP if hw < epoch_start => {
            ListedOffset::error(tp.clone(), ErrorCode::OffsetNotAvailable)
        }
        LATEST_TIMESTAMP => found(hw, -1, partition.leader_epoch()),
        target if target >= 0 => match partition.log.offset_for_timestamp(disk, target) {
            Ok(Some(hit)) if hit.offset < hw => {
                let epoch = partition.epochs.epoch_for_offset(hit.offset).unwrap_or(-1);
                found(hit.offset, hit.timestamp, epoch)
            }
            Ok(_) => found(-1, -1, -1),
            Err(_) => ListedOffset::error(tp.clone(), ErrorCode::KafkaStorageError),
        },
        // MAX_TIMESTAMP (ListOffsets v7) is not served yet; the protocol layer does not
        // advertise v7 until it is.
        _ => ListedOffset::error(tp.clone(), ErrorCode::UnknownServerError),
    }
}
