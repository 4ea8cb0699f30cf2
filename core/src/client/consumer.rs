//! The consumer, in assign mode (no groups yet): positions, fetching, offset resets and
//! truncation detection.

mod fetch;
mod offsets;
mod output;
mod partition;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::metadata::{MetadataCache, TopicView};
use super::requests::Outstanding;
use super::Disconnected;
use crate::api::{Request, Response, TopicPartition};
use crate::controller::BrokerId;
use crate::time::{Duration, Instant};
pub use output::{ConsumedRecord, ConsumerError, ConsumerOutput, ResetReason};
use partition::{action, Action, Assigned, Phase, Position};

/// What to do when a partition has no valid position (Kafka's `auto.offset.reset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetResetPolicy {
    /// Start from the log start offset.
    Earliest,
    /// Start from the end (the high watermark).
    Latest,
    /// Report [`ConsumerError::NoResetPolicy`] and wait for [`Consumer::seek`].
    None,
}

/// The consumer's settings, named after Kafka's (`fetch_max_wait_ms` is `fetch.max.wait.ms`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// How long a leader may hold a fetch waiting for `fetch_min_bytes`.
    pub fetch_max_wait_ms: u64,
    /// The fewest bytes worth answering a fetch with before `fetch_max_wait_ms`.
    pub fetch_min_bytes: i32,
    /// The most bytes in one fetch response.
    pub fetch_max_bytes: i32,
    /// The most bytes per partition in one fetch response.
    pub max_partition_fetch_bytes: i32,
    /// What to do without a valid position.
    pub auto_offset_reset: OffsetResetPolicy,
    /// How long to wait for an answer, beyond `fetch_max_wait_ms` for fetches.
    pub request_timeout_ms: u64,
    /// The wait before retrying a partition after an error, and between metadata refreshes.
    pub retry_backoff_ms: u64,
    /// The age at which metadata is refreshed even without a reason.
    pub metadata_max_age_ms: u64,
}

impl Default for ConsumerConfig {
    /// Kafka's defaults.
    fn default() -> ConsumerConfig {
        ConsumerConfig {
            fetch_max_wait_ms: 500,
            fetch_min_bytes: 1,
            fetch_max_bytes: 52_428_800,
            max_partition_fetch_bytes: 1_048_576,
            auto_offset_reset: OffsetResetPolicy::Latest,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            metadata_max_age_ms: 300_000,
        }
    }
}

/// What an outstanding request was for. The partitions it carries are those whose `pending`
/// names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Metadata,
    Fetch(BrokerId),
    ListOffsets,
    Validate,
}

/// A Kafka consumer in assign mode, as a sans-IO state machine.
///
/// # Call order
///
/// [`Consumer::new`], [`Consumer::assign`], optionally [`Consumer::seek`]; then any mix of
/// [`Consumer::handle_response`], [`Consumer::handle_timeout`] (when
/// [`Consumer::poll_timeout`] is due), `seek` and `assign`, each followed by draining
/// [`Consumer::poll_output`].
///
/// # Guarantees
///
/// - Per partition, [`ConsumerOutput::Records`] continue exactly where the last ended unless a
///   `seek`, [`ConsumerOutput::Reset`] or [`ConsumerOutput::Truncated`] came in between: the
///   consumer never skips or re-reads silently.
/// - After a leader change seen in metadata, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH or
///   OFFSET_OUT_OF_RANGE, a position that has a last consumed epoch is validated with
///   OffsetForLeaderEpoch before the next fetch (KIP-320).
/// - At most one fetch per broker and one request per partition is in flight.
#[derive(Clone, Debug)]
pub struct Consumer {
    config: ConsumerConfig,
    metadata: MetadataCache,
    requests: Outstanding<Purpose>,
    assigned: BTreeMap<TopicPartition, Assigned>,
    /// Brokers with a fetch in flight.
    fetching: BTreeSet<BrokerId>,
    outputs: VecDeque<ConsumerOutput>,
}

impl Consumer {
    /// A consumer that will ask `bootstrap` brokers for metadata first.
    pub fn new(config: ConsumerConfig, bootstrap: Vec<BrokerId>) -> Consumer {
        assert!(config.max_partition_fetch_bytes > 0);
        assert!(config.fetch_max_bytes > 0);
        let backoff = Duration::from_millis(config.retry_backoff_ms);
        let max_age = Duration::from_millis(config.metadata_max_age_ms);
        Consumer {
            metadata: MetadataCache::new(bootstrap, backoff, max_age),
            requests: Outstanding::new(),
            assigned: BTreeMap::new(),
            fetching: BTreeSet::new(),
            outputs: VecDeque::new(),
            config,
        }
    }

    /// Replaces the assignment. Partitions kept keep their positions; new ones start without
    /// one and are reset by `auto_offset_reset` (with `None` they wait for [`Consumer::seek`]).
    pub fn assign(&mut self, now: Instant, partitions: Vec<TopicPartition>) {
        let mut previous = core::mem::take(&mut self.assigned);
        for tp in partitions {
            self.metadata.want(&tp.topic);
            let phase = match self.config.auto_offset_reset {
                OffsetResetPolicy::None => Phase::AwaitingSeek,
                _ => Phase::AwaitingReset(ResetReason::NoPosition),
            };
            let fresh = Assigned {
                phase,
                leader_epoch: None,
                pending: None,
                backoff_until: None,
            };
            let state = previous.remove(&tp).unwrap_or(fresh);
            self.assigned.insert(tp, state);
        }
        self.step(now);
    }

    /// Sets the position of an assigned partition; the next fetch starts there, without
    /// validation (there is no epoch to validate against). Panics if `partition` is not
    /// assigned or `offset` is negative.
    pub fn seek(&mut self, partition: &TopicPartition, offset: i64) {
        assert!(offset >= 0, "seek to a negative offset");
        let state = self
            .assigned
            .get_mut(partition)
            .expect("seek on an unassigned partition");
        let position = Position {
            offset,
            last_epoch: None,
        };
        state.enter(Phase::Fetching(position));
        state.backoff_until = None;
    }

    /// Like [`Consumer::assign`], except that new partitions wait, unfetched, for their
    /// group's committed offset: [`Consumer::seek_committed`] or
    /// [`Consumer::reset_unpositioned`] sets them going.
    pub(crate) fn assign_awaiting_position(
        &mut self,
        now: Instant,
        partitions: Vec<TopicPartition>,
    ) {
        let mut previous = core::mem::take(&mut self.assigned);
        for tp in partitions {
            self.metadata.want(&tp.topic);
            let fresh = Assigned {
                phase: Phase::AwaitingSeek,
                leader_epoch: None,
                pending: None,
                backoff_until: None,
            };
            let state = previous.remove(&tp).unwrap_or(fresh);
            self.assigned.insert(tp, state);
        }
        self.step(now);
    }

    /// Starts `partition` at a committed `offset`. With the leader epoch the commit carried,
    /// the position is validated first (KIP-320), as the Java consumer's `seekUnvalidated`
    /// does, so a log truncated below it since the commit is noticed.
    pub(crate) fn seek_committed(
        &mut self,
        partition: &TopicPartition,
        offset: i64,
        leader_epoch: Option<i32>,
    ) {
        assert!(offset >= 0, "a committed offset is not negative");
        let state = self.assigned.get_mut(partition).expect("assigned");
        let position = Position {
            offset,
            last_epoch: leader_epoch,
        };
        let phase = match leader_epoch {
            Some(_) => Phase::AwaitingValidation {
                position,
                out_of_range: false,
            },
            None => Phase::Fetching(position),
        };
        state.enter(phase);
        state.backoff_until = None;
    }

    /// `partition` has no committed offset: apply `auto_offset_reset` (with `None`, report
    /// [`ConsumerError::NoResetPolicy`] at offset -1 and wait for a seek).
    pub(crate) fn reset_unpositioned(&mut self, partition: &TopicPartition) {
        assert!(self.assigned.contains_key(partition));
        self.reset(partition, -1, ResetReason::NoPosition);
    }

    /// The position to commit for `partition`: the next offset and the leader epoch of the
    /// last record consumed, if it has a position.
    pub(crate) fn consumed_position(
        &self,
        partition: &TopicPartition,
    ) -> Option<(i64, Option<i32>)> {
        match self.assigned.get(partition)?.phase {
            Phase::Fetching(position) | Phase::AwaitingValidation { position, .. } => {
                Some((position.offset, position.last_epoch))
            }
            Phase::AwaitingReset(_) | Phase::AwaitingSeek => None,
        }
    }

    /// Adds `topic` to those the metadata covers.
    pub(crate) fn want_topic(&mut self, topic: &str) {
        self.metadata.want(topic);
    }

    /// What the metadata says of `topic`.
    pub(crate) fn topic_view(&self, topic: &str) -> TopicView<'_> {
        self.metadata.topic(topic)
    }

    /// A broker for a request any broker answers, cycling by `attempt`.
    pub(crate) fn any_broker(&self, attempt: u64) -> BrokerId {
        self.metadata.any_broker(attempt)
    }

    /// Sends whatever became due, as after any input.
    pub(crate) fn step_now(&mut self, now: Instant) {
        self.step(now);
    }

    /// The offset of the next record to be returned for `partition`, if it has one.
    pub fn position(&self, partition: &TopicPartition) -> Option<i64> {
        match self.assigned.get(partition)?.phase {
            Phase::Fetching(position) | Phase::AwaitingValidation { position, .. } => {
                Some(position.offset)
            }
            Phase::AwaitingReset(_) | Phase::AwaitingSeek => None,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.assigned.keys().cloned().collect()
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

    /// Acts on whatever is due at `now`: request timeouts, backoffs, metadata refreshes.
    pub fn handle_timeout(&mut self, now: Instant) {
        for (id, purpose) in self.requests.expire(now) {
            self.answered(now, id, purpose, Err(Disconnected));
        }
        self.step(now);
    }

    /// When [`Consumer::handle_timeout`] should next be called (a time already past means at
    /// once, as after a `seek`).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut deadlines = vec![self.requests.next_deadline(), self.metadata.due_at()];
        for (tp, state) in &self.assigned {
            let Some((action, at)) = action(state) else {
                continue;
            };
            let Some((leader, _)) = self.metadata.leader(tp) else {
                continue;
            };
            if action != Action::Fetch || !self.fetching.contains(&leader) {
                deadlines.push(Some(at));
            }
        }
        deadlines.into_iter().flatten().min()
    }

    /// The next piece of work or news for the driver.
    pub fn poll_output(&mut self) -> Option<ConsumerOutput> {
        self.outputs.pop_front()
    }

    fn answered(
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
            Purpose::Fetch(broker) => self.fetch_answered(now, id, broker, response),
            Purpose::ListOffsets => self.reset_answered(now, id, response),
            Purpose::Validate => self.validation_answered(now, id, response),
        }
    }

    /// Runs after every input: notices leader changes, then sends what is due.
    fn step(&mut self, now: Instant) {
        self.notice_leader_changes();
        let mut due: BTreeMap<(Action, BrokerId), Vec<TopicPartition>> = BTreeMap::new();
        for (tp, state) in &self.assigned {
            let Some((action, at)) = action(state) else {
                continue;
            };
            if at > now {
                continue;
            }
            let Some((leader, _)) = self.metadata.leader(tp) else {
                self.metadata.request_refresh_unless_in_flight();
                continue;
            };
            if action != Action::Fetch || !self.fetching.contains(&leader) {
                due.entry((action, leader)).or_default().push(tp.clone());
            }
        }
        for ((action, leader), partitions) in due {
            match action {
                Action::Fetch => self.send_fetch(now, leader, partitions),
                Action::Reset => self.send_list_offsets(now, leader, partitions),
                Action::Validate => self.send_validation(now, leader, partitions),
            }
        }
        if self.metadata.is_due(now) {
            let id = self.requests.start(self.deadline(now), Purpose::Metadata);
            let (to, request) = self.metadata.start_request(now, id);
            let request = Request::Metadata(request);
            self.outputs
                .push_back(ConsumerOutput::Request { to, id, request });
        }
        self.check_invariants();
    }

    fn deadline(&self, now: Instant) -> Instant {
        now + Duration::from_millis(self.config.request_timeout_ms)
    }
}
