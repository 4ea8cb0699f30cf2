//! The follower side: one fetch session per leader broker, as Kafka's replica fetcher
//! threads have. Each leader gets at most one OffsetForLeaderEpoch and one Fetch in flight;
//! partitions still agreeing with their leader on the log wait for the first, the others ride
//! the second.

use std::collections::BTreeMap;

use super::config::Durability;
use super::follower::{divergence, Divergence, Phase};
use super::manager::{PartitionKey, ReplicaManager, ReplicaOutput};
use super::partition::ReplicaRole;
use crate::api::{
    Disconnected, ErrorCode, FetchPartition, FetchRequest, FetchResponse, IsolationLevel,
    OffsetForLeaderEpochPartition, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse,
    Request, Response, TopicPartition,
};
use crate::bugs::{self, Bug};
use crate::controller::{BrokerId, NO_LEADER};
use crate::disk::Disk;
use crate::time::{Duration, Instant};

/// A request to a leader, in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    id: u64,
    deadline: Instant,
    /// Per partition: the leader epoch and, for fetches, the offset asked for (or, for an
    /// epoch query, the epoch asked about).
    asked: BTreeMap<PartitionKey, (i32, i64)>,
}

/// The follower's session with one leader broker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fetcher {
    fetch: Option<InFlight>,
    epochs: Option<InFlight>,
    backoff_until: Option<Instant>,
}

impl Fetcher {
    /// When this session next needs attention: an answer's deadline, or the end of a backoff.
    pub fn deadline(&self) -> Option<Instant> {
        let fetch = self.fetch.as_ref().map(|f| f.deadline);
        let epochs = self.epochs.as_ref().map(|f| f.deadline);
        fetch
            .into_iter()
            .chain(epochs)
            .chain(self.backoff_until)
            .min()
    }
}

impl ReplicaManager {
    /// Sends each leader the requests its followers here need, where none is in flight.
    pub(super) fn drive_fetchers(&mut self, now: Instant) {
        let backoff = Duration::from_millis(self.config.replica_fetch_backoff_ms);
        for fetcher in self.fetchers.values_mut() {
            // A request unanswered past its deadline is lost (a partition, a dead leader):
            // give up on it and try again after the backoff.
            let lost = |f: &Option<InFlight>| f.as_ref().is_some_and(|f| f.deadline <= now);
            if lost(&fetcher.fetch) || lost(&fetcher.epochs) {
                fetcher.fetch.take_if(|f| f.deadline <= now);
                fetcher.epochs.take_if(|f| f.deadline <= now);
                fetcher.backoff_until = now.checked_add(backoff);
            }
            if fetcher.backoff_until.is_some_and(|until| until <= now) {
                fetcher.backoff_until = None;
            }
        }
        let mut truncating: BTreeMap<BrokerId, Vec<(PartitionKey, i32, i32)>> = BTreeMap::new();
        let mut fetching: BTreeMap<BrokerId, Vec<(PartitionKey, i32, i64)>> = BTreeMap::new();
        for (key, partition) in &self.partitions {
            let ReplicaRole::Follower(state) = &partition.role else {
                continue;
            };
            if state.leader == NO_LEADER || partition.offline.is_some() {
                continue;
            }
            match state.phase {
                Phase::Truncating {
                    asking: Some(epoch),
                } => truncating.entry(state.leader).or_default().push((
                    *key,
                    state.leader_epoch,
                    epoch,
                )),
                Phase::Truncating { asking: None } => {}
                // A cut waits for its checkpoint before anything is written over it.
                Phase::Fetching if partition.log.cut_pending().is_some() => {}
                Phase::Fetching => fetching.entry(state.leader).or_default().push((
                    *key,
                    state.leader_epoch,
                    partition.log_end_offset(),
                )),
            }
        }
        let leaders: Vec<BrokerId> = truncating.keys().chain(fetching.keys()).copied().collect();
        for leader in leaders {
            let fetcher = self.fetchers.entry(leader).or_default();
            if fetcher.backoff_until.is_some_and(|until| until > now) {
                continue;
            }
            fetcher.backoff_until = None;
            if let Some(list) = truncating.remove(&leader) {
                if self.fetchers[&leader].epochs.is_none() {
                    self.send_epoch_query(now, leader, list);
                }
            }
            if let Some(list) = fetching.remove(&leader) {
                if self.fetchers[&leader].fetch.is_none() {
                    self.send_fetch(now, leader, list);
                }
            }
        }
    }

    fn tp(&self, key: PartitionKey) -> TopicPartition {
        TopicPartition {
            topic: self.partitions[&key].topic.clone(),
            partition: key.1,
        }
    }

    fn send_epoch_query(
        &mut self,
        now: Instant,
        leader: BrokerId,
        list: Vec<(PartitionKey, i32, i32)>,
    ) {
        let id = self.next_id();
        let partitions = list
            .iter()
            .map(|(key, current, asking)| OffsetForLeaderEpochPartition {
                partition: self.tp(*key),
                current_leader_epoch: Some(*current),
                leader_epoch: *asking,
            })
            .collect();
        let asked = list
            .iter()
            .map(|(key, current, asking)| (*key, (*current, i64::from(*asking))))
            .collect();
        let timeout = Duration::from_millis(self.config.replica_socket_timeout_ms);
        let deadline = now.checked_add(timeout).unwrap_or(now);
        self.fetchers.get_mut(&leader).expect("created").epochs = Some(InFlight {
            id,
            deadline,
            asked,
        });
        let request = Request::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest {
            replica_id: self.me,
            partitions,
        });
        self.outputs.push_back(ReplicaOutput::Request {
            to: leader,
            id,
            request,
            after: None,
        });
    }

    fn send_fetch(&mut self, now: Instant, leader: BrokerId, list: Vec<(PartitionKey, i32, i64)>) {
        let id = self.next_id();
        let partitions = list
            .iter()
            .map(|(key, current, offset)| FetchPartition {
                partition: self.tp(*key),
                current_leader_epoch: Some(*current),
                fetch_offset: *offset,
                log_start_offset: self.partitions[key].log.log_start_offset(),
                partition_max_bytes: self.config.replica_fetch_max_bytes,
            })
            .collect();
        let asked = list
            .iter()
            .map(|(key, current, offset)| (*key, (*current, *offset)))
            .collect();
        let wait = self.config.replica_fetch_wait_max_ms.max(0) as u64;
        let timeout = Duration::from_millis(wait + self.config.replica_socket_timeout_ms);
        let deadline = now.checked_add(timeout).unwrap_or(now);
        self.fetchers.get_mut(&leader).expect("created").fetch = Some(InFlight {
            id,
            deadline,
            asked,
        });
        let request = Request::Fetch(FetchRequest {
            replica_id: self.me,
            replica_epoch: self.broker_epoch,
            max_wait_ms: self.config.replica_fetch_wait_max_ms,
            min_bytes: 1,
            max_bytes: self.config.replica_fetch_response_max_bytes,
            isolation_level: IsolationLevel::ReadUncommitted,
            partitions,
        });
        // In fsync mode the fetch offset tells the leader what this replica holds durably
        // (it counts toward the high watermark), so the fetch leaves after the sync of what
        // it names.
        let after = match self.config.durability {
            // The planted bug reports offsets whose sync is still under way.
            Durability::Fsync if !bugs::active(Bug::ReplicaAckBeforeSync) => {
                let needs: Vec<(PartitionKey, i64)> = list
                    .iter()
                    .map(|(key, _, offset)| (*key, *offset))
                    .collect();
                self.durable_after(&needs)
            }
            _ => None,
        };
        self.outputs.push_back(ReplicaOutput::Request {
            to: leader,
            id,
            request,
            after,
        });
    }

    /// A leader's answer to a request this broker sent, or the news that none will come.
    pub fn handle_response(
        &mut self,
        now: Instant,
        wall_ms: i64,
        disk: &mut dyn Disk,
        id: u64,
        answer: Result<Response, Disconnected>,
    ) {
        let found = self.fetchers.iter_mut().find_map(|(leader, f)| {
            if f.fetch.as_ref().is_some_and(|x| x.id == id) {
                Some((*leader, f.fetch.take().expect("present")))
            } else if f.epochs.as_ref().is_some_and(|x| x.id == id) {
                Some((*leader, f.epochs.take().expect("present")))
            } else {
                None
            }
        });
        let Some((leader, in_flight)) = found else {
            return;
        };
        let failed = match answer {
            Ok(Response::Fetch(response)) => {
                self.apply_fetch(wall_ms, disk, leader, &in_flight, response)
            }
            Ok(Response::OffsetForLeaderEpoch(response)) => {
                self.apply_epochs(wall_ms, disk, leader, &in_flight, response)
            }
            Ok(_) | Err(Disconnected) => true,
        };
        if failed {
            let backoff = Duration::from_millis(self.config.replica_fetch_backoff_ms);
            let fetcher = self.fetchers.entry(leader).or_default();
            fetcher.backoff_until = now.checked_add(backoff);
        }
        self.drive_fetchers(now);
        // A follower's changes wake nothing (it holds no fetch), but every input ends here.
        self.complete_woken_fetches(now, disk);
    }

    /// The follower partition `key` if it still follows `leader` in `epoch`.
    fn following(&self, key: PartitionKey, leader: BrokerId, epoch: i32) -> Option<Phase> {
        let partition = self.partitions.get(&key)?;
        match &partition.role {
            ReplicaRole::Follower(s) if s.leader == leader && s.leader_epoch == epoch => {
                Some(s.phase)
            }
            _ => None,
        }
    }

    fn set_phase(&mut self, key: PartitionKey, phase: Phase) {
        if let Some(partition) = self.partitions.get_mut(&key) {
            if let ReplicaRole::Follower(state) = &mut partition.role {
                state.phase = phase;
            }
        }
    }

    /// Truncates each partition to where it agrees with the leader. Returns whether any
    /// partition got an error (the session backs off).
    fn apply_epochs(
        &mut self,
        wall_ms: i64,
        disk: &mut dyn Disk,
        leader: BrokerId,
        in_flight: &InFlight,
        response: OffsetForLeaderEpochResponse,
    ) -> bool {
        let mut failed = false;
        for answer in response.partitions {
            let Some(key) = self.key_of(&answer.partition.topic, answer.partition.partition) else {
                continue;
            };
            let Some(&(epoch, asked)) = in_flight.asked.get(&key) else {
                continue;
            };
            let asked = asked as i32;
            if self.following(key, leader, epoch)
                != Some(Phase::Truncating {
                    asking: Some(asked),
                })
            {
                continue;
            }
            if answer.error != ErrorCode::None {
                failed = true;
                continue;
            }
            let partition = self.partitions.get_mut(&key).expect("following");
            let log_start = partition.log.log_start_offset();
            let local = |e: i32| partition.end_offset_for(e);
            match divergence(
                asked,
                (answer.leader_epoch, answer.end_offset),
                &local,
                log_start,
            ) {
                Divergence::AskAgain(lower) => {
                    self.set_phase(
                        key,
                        Phase::Truncating {
                            asking: Some(lower),
                        },
                    );
                }
                Divergence::TruncateTo(offset) => {
                    let before = partition.log_end_offset();
                    if partition.truncate_to(disk, offset, wall_ms).is_err() {
                        failed = true;
                        continue;
                    }
                    if partition.log_end_offset() < before {
                        self.stats.epoch_truncations += 1;
                    }
                    self.set_phase(key, Phase::Fetching);
                }
            }
        }
        failed
    }

    /// Appends what the leader sent and takes its high watermark. Returns whether any
    /// partition got an error (the session backs off).
    fn apply_fetch(
        &mut self,
        wall_ms: i64,
        disk: &mut dyn Disk,
        leader: BrokerId,
        in_flight: &InFlight,
        response: FetchResponse,
    ) -> bool {
        let mut failed = response.error != ErrorCode::None;
        let mut appended = Vec::new();
        for answer in response.partitions {
            let Some(key) = self.key_of(&answer.partition.topic, answer.partition.partition) else {
                continue;
            };
            let Some(&(epoch, offset)) = in_flight.asked.get(&key) else {
                continue;
            };
            if self.following(key, leader, epoch) != Some(Phase::Fetching) {
                continue;
            }
            let partition = self.partitions.get_mut(&key).expect("following");
            if partition.log_end_offset() != offset {
                continue;
            }
            let result = match answer.error {
                ErrorCode::None => {
                    appended.push(key);
                    let records = answer.records.bytes();
                    partition.append_as_follower(disk, records, answer.log_start_offset, wall_ms)
                }
                error => Err(error),
            };
            match result {
                Ok(()) => {
                    let hw = answer.high_watermark.min(partition.log_end_offset());
                    partition.raise_high_watermark(hw);
                    // Records the leader deleted (DeleteRecords) go here too, as far as this
                    // replica has them committed.
                    let start = answer.log_start_offset.min(partition.high_watermark);
                    if start > partition.log.log_start_offset() {
                        let _ = partition.raise_log_start(start);
                    }
                }
                Err(ErrorCode::OffsetOutOfRange)
                    if answer.log_start_offset > partition.log_end_offset() =>
                {
                    // The leader deleted records this replica never got (DeleteRecords,
                    // retention): nothing here can continue its log, so start over at its
                    // log start, as Kafka's follower does.
                    let start = answer.log_start_offset;
                    if partition
                        .truncate_fully_and_start_at(disk, start, wall_ms)
                        .is_err()
                    {
                        failed = true;
                        continue;
                    }
                    self.stats.restarted_at_leader_start += 1;
                }
                Err(ErrorCode::OffsetOutOfRange) => {
                    // The leader's log ends below this one, or the batches did not continue
                    // it: agree on the log again before fetching.
                    let asking = partition.epochs.latest_epoch();
                    self.set_phase(key, Phase::Truncating { asking });
                    failed = true;
                }
                Err(_) => failed = true,
            }
        }
        // One sync for the whole answer: every partition it wrote that wants one.
        self.flush_wanted(disk, &appended, wall_ms);
        failed
    }
}
