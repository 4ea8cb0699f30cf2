//! Metadata (key 3): which broker leads each partition.

use super::ErrorCode;
use crate::controller::BrokerId;

/// A Metadata request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataRequest {
    /// The topics wanted, or `None` for all.
    pub topics: Option<Vec<String>>,
    /// Whether the broker may create wanted topics that do not exist, if its
    /// `auto.create.topics.enable` allows (Metadata v4+; older versions always allow).
    pub allow_auto_topic_creation: bool,
}

/// One partition's leader and replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// NONE, or LEADER_NOT_AVAILABLE while it has no leader.
    pub error: ErrorCode,
    /// The partition index.
    pub partition: i32,
    /// The leader's broker id, or -1.
    pub leader: BrokerId,
    /// The leader epoch.
    pub leader_epoch: i32,
    /// The assigned replicas.
    pub replicas: Vec<BrokerId>,
    /// The in-sync replicas.
    pub isr: Vec<BrokerId>,
}

/// One topic's partitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMetadata {
    /// NONE, or UNKNOWN_TOPIC_OR_PARTITION.
    pub error: ErrorCode,
    /// The topic's name.
    pub name: String,
    /// Its partitions in index order.
    pub partitions: Vec<PartitionMetadata>,
}

/// A Metadata response, as of the answering broker's metadata image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataResponse {
    /// The live (unfenced) brokers.
    pub brokers: Vec<BrokerId>,
    /// The topics asked for, in the order asked (or by name for all).
    pub topics: Vec<TopicMetadata>,
}
