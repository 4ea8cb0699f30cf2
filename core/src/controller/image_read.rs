//! Read access to a [`MetadataImage`].

use super::config::ImageLimits;
use super::image::{BrokerRegistration, MetadataImage, PartitionState, TopicImage};
use super::record::{BrokerId, Uuid};

impl MetadataImage {
    /// The limits this image enforces.
    pub fn limits(&self) -> &ImageLimits {
        &self.limits
    }

    /// Every registered broker, by id.
    pub fn brokers(&self) -> impl Iterator<Item = &BrokerRegistration> {
        self.brokers.values()
    }

    /// One broker's registration.
    pub fn broker(&self, broker_id: BrokerId) -> Option<&BrokerRegistration> {
        self.brokers.get(&broker_id)
    }

    /// True when the broker is registered, unfenced and not in controlled shutdown.
    pub fn is_active_broker(&self, broker_id: BrokerId) -> bool {
        self.broker(broker_id)
            .is_some_and(BrokerRegistration::is_active)
    }

    /// Every topic, by id.
    pub fn topics(&self) -> impl Iterator<Item = &TopicImage> {
        self.topics.values()
    }

    /// A topic by id.
    pub fn topic(&self, topic_id: Uuid) -> Option<&TopicImage> {
        self.topics.get(&topic_id)
    }

    /// A topic's id by name.
    pub fn topic_id(&self, name: &str) -> Option<Uuid> {
        self.topic_ids.get(name).copied()
    }

    /// A topic by name.
    pub fn topic_by_name(&self, name: &str) -> Option<&TopicImage> {
        self.topic(self.topic_id(name)?)
    }

    /// One partition.
    pub fn partition(&self, topic_id: Uuid, partition: i32) -> Option<&PartitionState> {
        let index = usize::try_from(partition).ok()?;
        self.topics.get(&topic_id)?.partitions.get(index)
    }

    /// Every partition as `(topic id, index, state)`, in topic-id then index order.
    pub fn partitions(&self) -> impl Iterator<Item = (Uuid, i32, &PartitionState)> {
        self.topics.values().flat_map(|topic| {
            topic
                .partitions
                .iter()
                .enumerate()
                .map(|(index, state)| (topic.topic_id, index as i32, state))
        })
    }

    /// Partitions over all topics.
    pub fn partition_count(&self) -> usize {
        self.partition_count
    }

    /// The highest broker epoch ever registered; the next registration gets a higher one.
    pub fn broker_epoch_max(&self) -> i64 {
        self.broker_epoch_max
    }

    /// The first producer id not yet handed out.
    pub fn next_producer_id(&self) -> i64 {
        self.next_producer_id
    }

    /// Records that changed the image (no-ops included).
    pub fn records_applied(&self) -> u64 {
        self.records_applied
    }

    /// Records that did not fit and were ignored.
    pub fn records_ignored(&self) -> u64 {
        self.records_ignored
    }

    /// Applied partition changes that elected a leader from outside the ISR.
    pub fn unclean_elections(&self) -> u64 {
        self.unclean_elections
    }
}
