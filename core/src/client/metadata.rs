//! The cluster view a client routes by: which broker leads each partition it cares about, and
//! when to ask again.

use std::collections::{BTreeMap, BTreeSet};

use super::Disconnected;
use crate::api::{ErrorCode, MetadataRequest, MetadataResponse, PartitionMetadata, TopicPartition};
use crate::controller::BrokerId;
use crate::time::{Duration, Instant};

/// One partition's leader as last seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PartitionInfo {
    /// The leader, or `None` while the partition has none.
    pub(crate) leader: Option<BrokerId>,
    /// The leader epoch the leader (or its absence) belongs to.
    pub(crate) leader_epoch: i32,
}

/// What a client knows of a topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TopicView<'a> {
    /// No metadata answer has mentioned it yet.
    Unknown,
    /// The cluster says it does not exist.
    Missing,
    /// Its partitions, by index.
    Known(&'a [PartitionInfo]),
}

/// Metadata as of the last answer, and the refresh schedule: at most one Metadata request in
/// flight, none sooner than `backoff` after the last, and one at least every `max_age`.
#[derive(Clone, Debug)]
pub(crate) struct MetadataCache {
    bootstrap: BTreeSet<BrokerId>,
    brokers: BTreeSet<BrokerId>,
    /// Counts attempts, to cycle through the brokers: one that does not answer is not asked
    /// again until the others have been.
    attempts: u64,
    topics: BTreeMap<String, Vec<PartitionInfo>>,
    missing: BTreeSet<String>,
    wanted: BTreeSet<String>,
    refresh_wanted: bool,
    in_flight: Option<u64>,
    last_attempt: Option<Instant>,
    last_update: Option<Instant>,
    backoff: Duration,
    max_age: Duration,
    auto_create: bool,
}

impl MetadataCache {
    /// A cache that knows only the bootstrap brokers and wants a refresh at once.
    pub(crate) fn new(bootstrap: Vec<BrokerId>, backoff: Duration, max_age: Duration) -> Self {
        assert!(!bootstrap.is_empty(), "a client needs a bootstrap broker");
        assert!(
            bootstrap.iter().all(|id| *id >= 0),
            "broker ids are not negative"
        );
        MetadataCache {
            bootstrap: bootstrap.into_iter().collect(),
            brokers: BTreeSet::new(),
            attempts: 0,
            topics: BTreeMap::new(),
            missing: BTreeSet::new(),
            wanted: BTreeSet::new(),
            refresh_wanted: true,
            in_flight: None,
            last_attempt: None,
            last_update: None,
            backoff,
            max_age,
            auto_create: false,
        }
    }

    /// Adds `topic` to those asked about; a topic not yet known asks for a refresh.
    pub(crate) fn want(&mut self, topic: &str) {
        if self.wanted.insert(topic.to_owned()) && !self.topics.contains_key(topic) {
            self.refresh_wanted = true;
        }
    }

    /// Asks for a refresh as soon as the backoff allows.
    pub(crate) fn request_refresh(&mut self) {
        self.refresh_wanted = true;
    }

    /// Asks for a refresh unless one is in flight: for a leader that is merely unknown, the
    /// answer on its way is as good as another request.
    pub(crate) fn request_refresh_unless_in_flight(&mut self) {
        if self.in_flight.is_none() {
            self.refresh_wanted = true;
        }
    }

    /// When the next Metadata request is due, or `None` while one is in flight.
    pub(crate) fn due_at(&self) -> Option<Instant> {
        if self.in_flight.is_some() {
            return None;
        }
        let backoff_end = self
            .last_attempt
            .map_or(Instant::ZERO, |at| at + self.backoff);
        match self.last_update {
            Some(updated) if !self.refresh_wanted => Some(backoff_end.max(updated + self.max_age)),
            _ => Some(backoff_end),
        }
    }

    /// Lets Metadata requests ask the broker to create the wanted topics, as Kafka's producer
    /// always does (the broker decides, by `auto.create.topics.enable`).
    pub(crate) fn with_auto_create(mut self, auto_create: bool) -> Self {
        self.auto_create = auto_create;
        self
    }

    /// Whether a Metadata request should be sent now.
    pub(crate) fn is_due(&self, now: Instant) -> bool {
        self.due_at().is_some_and(|due| due <= now)
    }

    /// Starts the due Metadata request as request `id`: to whom, and what.
    pub(crate) fn start_request(&mut self, now: Instant, id: u64) -> (BrokerId, MetadataRequest) {
        assert!(self.is_due(now), "metadata request not due");
        let candidates: Vec<BrokerId> = self.brokers.union(&self.bootstrap).copied().collect();
        assert!(!candidates.is_empty());
        let to = candidates[(self.attempts % candidates.len() as u64) as usize];
        self.attempts += 1;
        // This request answers the wants so far; one raised while it is in flight (say, a
        // NOT_LEADER whose news the answer may predate) asks again after it.
        self.refresh_wanted = false;
        self.in_flight = Some(id);
        self.last_attempt = Some(now);
        let topics = Some(self.wanted.iter().cloned().collect());
        let request = MetadataRequest {
            topics,
            allow_auto_topic_creation: self.auto_create,
        };
        (to, request)
    }

    /// A broker to ask something any broker answers (Kafka's "least loaded node"): the known
    /// and bootstrap brokers in turn, by `attempt`.
    pub(crate) fn any_broker(&self, attempt: u64) -> BrokerId {
        let candidates: Vec<BrokerId> = self.brokers.union(&self.bootstrap).copied().collect();
        assert!(!candidates.is_empty());
        candidates[(attempt % candidates.len() as u64) as usize]
    }

    /// Whether `id` is the Metadata request in flight.
    pub(crate) fn is_in_flight(&self, id: u64) -> bool {
        self.in_flight == Some(id)
    }

    /// Takes the answer to the request in flight. Another refresh is wanted (after the backoff)
    /// if one was asked for meanwhile, or while a wanted topic or partition is missing or
    /// leaderless.
    pub(crate) fn handle_response(
        &mut self,
        now: Instant,
        response: Result<&MetadataResponse, Disconnected>,
    ) {
        assert!(self.in_flight.is_some(), "no metadata request in flight");
        self.in_flight = None;
        let Ok(response) = response else {
            self.refresh_wanted = true;
            return;
        };
        if !response.brokers.is_empty() {
            self.brokers = response
                .brokers
                .iter()
                .copied()
                .filter(|id| *id >= 0)
                .collect();
        }
        for topic in &response.topics {
            if topic.error == ErrorCode::None {
                self.missing.remove(&topic.name);
                let known = self.topics.entry(topic.name.clone()).or_default();
                merge_partitions(known, &topic.partitions);
            } else if topic.error == ErrorCode::UnknownTopicOrPartition
                && !self.topics.contains_key(&topic.name)
            {
                // A topic once seen is kept: a broker whose metadata lags may not know it yet.
                self.missing.insert(topic.name.clone());
            }
        }
        self.last_update = Some(now);
        self.refresh_wanted |= self.wanted.iter().any(|name| match self.topic(name) {
            TopicView::Known(partitions) => partitions.iter().any(|p| p.leader.is_none()),
            TopicView::Unknown | TopicView::Missing => true,
        });
    }

    /// What is known of `topic`.
    pub(crate) fn topic(&self, topic: &str) -> TopicView<'_> {
        match self.topics.get(topic) {
            Some(partitions) if !partitions.is_empty() => TopicView::Known(partitions),
            _ if self.missing.contains(topic) => TopicView::Missing,
            _ => TopicView::Unknown,
        }
    }

    /// The partition's leader and leader epoch, if it has a known leader.
    pub(crate) fn leader(&self, partition: &TopicPartition) -> Option<(BrokerId, i32)> {
        let info = self.partition(partition)?;
        info.leader.map(|leader| (leader, info.leader_epoch))
    }

    /// The partition as last seen.
    pub(crate) fn partition(&self, partition: &TopicPartition) -> Option<PartitionInfo> {
        let index = usize::try_from(partition.partition).ok()?;
        self.topics.get(&partition.topic)?.get(index).copied()
    }
}

/// Folds one answer's partitions into what is known, never letting a leader epoch go back: an
/// answer from a broker whose metadata lags must not undo a newer leader (as Kafka's
/// `Metadata.updateLatestMetadata` refuses older epochs).
fn merge_partitions(known: &mut Vec<PartitionInfo>, answer: &[PartitionMetadata]) {
    for partition in answer {
        let Ok(index) = usize::try_from(partition.partition) else {
            continue;
        };
        if index >= known.len() {
            let unknown = PartitionInfo {
                leader: None,
                leader_epoch: -1,
            };
            known.resize(index + 1, unknown);
        }
        let slot = &mut known[index];
        if partition.leader_epoch < slot.leader_epoch {
            continue;
        }
        let has_leader = partition.error == ErrorCode::None && partition.leader >= 0;
        *slot = PartitionInfo {
            leader: has_leader.then_some(partition.leader),
            leader_epoch: partition.leader_epoch,
        };
    }
}
