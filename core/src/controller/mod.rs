//! The KRaft-style controller: the metadata records, the image every node builds from them,
//! and the active controller's decisions (KIP-500, KIP-631).
//!
//! - [`MetadataRecord`]: one entry of the metadata log, with a versioned binary encoding
//!   ([`MetadataRecord::encode`], [`MetadataRecord::decode`]).
//! - [`MetadataImage`]: the state built by [`MetadataImage::apply`]ing committed records in
//!   log order. Every node (broker or controller) keeps one.
//! - [`QuorumController`]: the active controller. Requests and time go in; records to propose
//!   and a response come out.
//! - [`check_invariants`]: the safety properties of an image, for the simulator.
//!
//! This module does not depend on the Raft that carries the records: the driver moves them.
//!
//! # Who may lead (KIP-966)
//!
//! A partition's leader comes from its ISR, else from its eligible leader replicas (ELR):
//! replicas that left the ISR while it was below `min.insync.replicas`, so that the high
//! watermark could not pass them. A broker registers with the epoch of its last registration
//! when its disk still holds everything it wrote under it (`previous_broker_epoch`), or -1
//! after a crash that may have lost acknowledged writes (page-cache mode); the latter leaves
//! every ISR and ELR at once, even as the last ISR member, and rejoins only by catching up.
//! A partition whose ISR and ELR hold nobody who can lead stays leaderless unless
//! `unclean.leader.election.enable` allows a replica from outside them.
//!
//! # Driver contract
//!
//! 1. Every node keeps a [`MetadataImage`] and applies each committed record to it, in log
//!    order, decoding it with [`MetadataRecord::decode`]. A record that does not fit is ignored
//!    and counted ([`MetadataImage::records_ignored`]); applying never panics.
//! 2. When a node becomes the active controller (its Raft term's first entry has committed and
//!    every earlier committed record is applied) it builds a [`QuorumController`] from its
//!    image. Each call returns a [`ControllerResult`]: propose its `records` as one Raft batch,
//!    and send its `response` only once that batch commits. Feed every committed record to
//!    [`QuorumController::replay`] instead of applying it to the image directly.
//! 3. Call [`QuorumController::tick`] when [`QuorumController::poll_timeout`] passes; it fences
//!    brokers whose lease lapsed and elects leaders.
//! 4. When the node stops being the active controller, take back the committed image with
//!    [`QuorumController::into_image`] and drop unanswered requests (answer NOT_CONTROLLER).
//! 5. After each applied record (or batch), [`check_invariants`] must hold. Records are ordered
//!    so that it holds after every single record, not only after a whole batch.

mod admin_configs;
mod admin_topics;
mod alter_partition;
mod batch;
mod brokers;
mod codec;
mod config;
#[allow(clippy::module_inception)]
mod controller;
mod election;
mod error;
mod follower;
mod image;
mod image_read;
mod invariants;
mod leaders;
mod placement;
mod record;
mod requests;
mod snapshot;
#[cfg(test)]
mod tests;
mod topics;

pub use batch::{decode_batch, encode_batch};
pub use codec::{DecodeError, ARRAY_LEN_MAX, RECORD_VERSION, STRING_BYTES_MAX};
pub use config::{
    ControllerConfig, ImageLimits, PRODUCER_ID_BLOCK_SIZE, TOPIC_CONFIGS_MAX, TOPIC_NAME_BYTES_MAX,
};
pub use controller::QuorumController;
pub use error::ControllerError;
pub use follower::{FollowError, FollowerStats, MetadataFollower, PartitionRole, Role};
pub use image::{ApplyOutcome, BrokerRegistration, MetadataImage, PartitionState, TopicImage};
pub use invariants::{check_invariants, InvariantViolation};
pub use record::{
    BrokerId, LeaderRecoveryState, Listener, MetadataRecord, PartitionChange, PartitionRecord,
    RegisterBroker, Uuid, CONFIG_RESOURCE_TOPIC, NO_LEADER,
};
pub use requests::{
    AlterPartitionRequest, ControllerResult, CreateTopicRequest, CreatedTopic, ElectionResult,
    ElectionType, HeartbeatReply, HeartbeatRequest, PartitionReply, RegisterBrokerRequest,
    TopicPartition,
};
pub use snapshot::SNAPSHOT_VERSION;
