//! Partition replication, as Kafka does it: followers fetch from the leader; the leader tracks
//! each follower's log end, moves the high watermark to the smallest log end in the ISR,
//! shrinks and expands the ISR through the controller (KIP-497), and answers acks=all
//! producers once the ISR holds their batches. Followers truncate by leader epoch
//! (KIP-101, KIP-279), never to their high watermark.
//!
//! [`ReplicaManager`] is the entry point; see its module for the call order.

mod admin;
mod config;
mod epoch_cache;
mod fetcher;
mod flush;
mod follower;
mod invariants;
mod leader;
mod manager;
mod partition;
mod producer_state;
mod reads;
mod retention;
mod serve;

pub use crate::api::Disconnected;
pub use config::{Durability, FetchReads, ReplicaConfig};
pub use epoch_cache::{EpochCacheError, EpochEntry, LeaderEpochCache};
pub use fetcher::Fetcher;
pub use follower::{divergence, Divergence, FollowerState, Phase};
pub use leader::{LeaderState, PendingIsr, Progress};
pub use manager::{PartitionKey, ReplicaManager, ReplicaOutput, ReplicaStats, StoredRecord};
pub use partition::{LeaderAppend, Partition, ReplicaRole};
pub use producer_state::{
    increment_sequence, BatchMetadata, ProducerEntry, ProducerStates, SequenceCheck,
    BATCHES_RETAINED, PRODUCER_ID_EXPIRATION_MS_DEFAULT,
};
pub use retention::{RETENTION_CHECK_INTERVAL, RETENTION_CHECK_INTERVAL_MS};
pub(crate) use serve::metadata as metadata_response;

#[cfg(test)]
mod tests;
