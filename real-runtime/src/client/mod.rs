//! The Kafka client the `sluice` tools use: core's sans-IO [`Producer`], [`Consumer`] and
//! [`GroupConsumer`] (partitioning, batching, retries, offset resets, group membership and
//! commits) driven over real TCP, plus one-at-a-time
//! calls for the admin requests. Requests and answers go through `sluice-net`'s client
//! direction, so the tools speak exactly the protocol other clients do.
//!
//! [`Producer`]: sluice_core::client::Producer
//! [`Consumer`]: sluice_core::client::Consumer
//! [`GroupConsumer`]: sluice_core::client::GroupConsumer

mod connection;
mod driver;
mod sessions;

pub use connection::{ClientError, Connection};
pub use driver::{Delivered, Driver};
pub use sessions::{Consumed, ConsumerSession, GroupEvent, GroupSession, ProducerSession};
