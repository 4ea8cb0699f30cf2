//! Kafka's producer and consumer clients as sans-IO state machines, for the simulator to run
//! against simulated brokers (and, later, for the real runtime's CLI tools).
//!
//! Both follow the Java client's rules where they decide something a checker can see: murmur2
//! partitioning with sticky partitions for null keys (KIP-480), per-partition ordering, retries
//! bounded by `retries` and `delivery.timeout.ms`, `auto.offset.reset`, and truncation detection
//! with OffsetForLeaderEpoch (KIP-320).
//!
//! A [`GroupConsumer`] is a `group.id` member of the classic group protocol driving a
//! [`Consumer`]: coordinator discovery, JoinGroup/SyncGroup with the leader running an
//! [`assignor`] over the members' [`consumer_protocol`] subscriptions, heartbeats, committed
//! offsets, eager and cooperative (KIP-429) rebalances.
//!
//! # Driving a client
//!
//! The loop of every core state machine: apply one input (`send`, `assign`, `seek`,
//! `handle_response`, `handle_timeout`), drain `poll_output` until `None`, then wait until
//! `poll_timeout` (a time already past means "call `handle_timeout` now").
//!
//! A `Request { to, id, request }` output goes to broker `to`. Its answer goes back through
//! `handle_response(now, id, Ok(response))`, exactly once; a dropped connection, or a driver
//! that gives up waiting, answers `Err(Disconnected)` instead. The client also times a request
//! out itself after `request_timeout_ms`, and ignores answers to ids it no longer waits for.

mod accumulator;
pub mod assignor;
mod consumer;
pub mod consumer_protocol;
mod group;
mod metadata;
mod partitioner;
mod producer;
mod requests;

#[cfg(test)]
mod tests;

pub use consumer::{
    ConsumedRecord, Consumer, ConsumerConfig, ConsumerError, ConsumerOutput, OffsetResetPolicy,
    ResetReason,
};
pub use group::{
    CommitReason, CommitResult, CommittedOffset, GroupConsumer, GroupConsumerConfig,
    GroupConsumerOutput, GroupError,
};
pub use partitioner::{murmur2, partition_for_key, to_positive, StickyPartitioner};
pub use producer::{Producer, ProducerConfig, ProducerOutput, SendOutcome};

pub use crate::api::Disconnected;
